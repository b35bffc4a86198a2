//! A seller's marketplace connections as the API shows them: status, webhook URL and today's
//! calls, assembled from the store and the guard; and the `connection.updated` event.

use app::{ConnectionStatus, ConnectionView, Marketplace, UserId, events::CONNECTION_UPDATED};

use crate::{jobs::Deps, store::StoreError};

/// The view of one connection (absent when no keys are saved).
pub fn view(
    deps: &Deps,
    user: UserId,
    marketplace: Marketplace,
) -> Result<ConnectionView, StoreError> {
    let usage = deps.marketplaces.guard().usage(user, marketplace);
    let view = match deps.store.connections().get(user, marketplace)? {
        Some(record) => ConnectionView {
            marketplace,
            configured: true,
            status: record.status,
            message: record.message,
            webhook_url: Some(webhook_url(
                &deps.public_base,
                marketplace,
                &record.webhook_token,
            )),
            last_sync_at: record.last_sync_at,
            checked_at: record.checked_at,
            usage,
            generation: record.generation,
        },
        None => ConnectionView {
            marketplace,
            configured: false,
            status: ConnectionStatus::Absent,
            message: None,
            webhook_url: None,
            last_sync_at: None,
            checked_at: None,
            usage,
            generation: 0,
        },
    };
    Ok(view)
}

/// Both connections.
pub fn views(deps: &Deps, user: UserId) -> Result<Vec<ConnectionView>, StoreError> {
    Marketplace::ALL
        .into_iter()
        .map(|m| view(deps, user, m))
        .collect()
}

/// Sends the current view to the user's open pages.
pub fn publish(deps: &Deps, user: UserId, marketplace: Marketplace) {
    match view(deps, user, marketplace) {
        Ok(view) => deps.events.publish(user, CONNECTION_UPDATED, &view),
        Err(err) => tracing::error!(%err, "cannot read a connection to announce it"),
    }
}

/// `{base}/hooks/{marketplace}/{token}`.
pub fn webhook_url(base: &str, marketplace: Marketplace, token: &str) -> String {
    format!(
        "{}/hooks/{}/{token}",
        base.trim_end_matches('/'),
        marketplace.as_str()
    )
}
