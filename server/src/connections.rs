//! A seller's marketplace connections: opening the account behind one (the saved keys,
//! unsealed, in a client) and the connection as the API shows it (status, webhook URL,
//! today's calls). Takes the store and the marketplaces it needs, nothing wider.

use app::{BrickLinkKeys, BrickOwlKeys, ConnectionStatus, ConnectionView, Marketplace, UserId};

use crate::{
    marketplace::{Marketplaces, account::Account},
    store::{Store, StoreError},
};

/// Why a connection cannot be used for calls.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0} is not connected")]
    NotConnected(Marketplace),
    #[error("{0} refused the saved keys; enter them again in Settings")]
    KeysRefused(Marketplace),
    #[error("the saved {0} keys cannot be read: {1}")]
    Unreadable(Marketplace, StoreError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The user's account on `marketplace`, or why there is none to use.
pub fn open(
    store: &Store,
    marketplaces: &Marketplaces,
    user: UserId,
    marketplace: Marketplace,
) -> Result<Account, AccountError> {
    let connections = store.connections();
    let record = connections
        .get(user, marketplace)?
        .ok_or(AccountError::NotConnected(marketplace))?;
    if !record.status.is_usable() {
        return Err(AccountError::KeysRefused(marketplace));
    }
    let unreadable = |err| AccountError::Unreadable(marketplace, err);
    Ok(match marketplace {
        Marketplace::BrickLink => {
            let keys: BrickLinkKeys = connections
                .keys(user, marketplace, &record)
                .map_err(unreadable)?;
            Account::BrickLink(marketplaces.bricklink(user, keys.into()))
        }
        Marketplace::BrickOwl => {
            let keys: BrickOwlKeys = connections
                .keys(user, marketplace, &record)
                .map_err(unreadable)?;
            Account::BrickOwl(marketplaces.brickowl(user, keys.api_key))
        }
    })
}

/// The view of one connection (absent when no keys are saved).
pub fn view(
    store: &Store,
    marketplaces: &Marketplaces,
    public_base: &str,
    user: UserId,
    marketplace: Marketplace,
) -> Result<ConnectionView, StoreError> {
    let usage = marketplaces.guard().usage(user, marketplace);
    let view = match store.connections().get(user, marketplace)? {
        Some(record) => ConnectionView {
            marketplace,
            configured: true,
            status: record.status,
            message: record.message,
            webhook_url: Some(webhook_url(public_base, marketplace, &record.webhook_token)),
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

/// `{base}/hooks/{marketplace}/{token}`.
pub fn webhook_url(base: &str, marketplace: Marketplace, token: &str) -> String {
    format!(
        "{}/hooks/{}/{token}",
        base.trim_end_matches('/'),
        marketplace.as_str()
    )
}
