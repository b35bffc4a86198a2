//! Marketplace pushes. Each answers 204 at once: the push is recorded and a coalesced job
//! queued in one durable commit, and no marketplace is called inside the request. An unknown
//! token is a 404. Tokens never reach the logs (see `loggable_path`). Pushes are taken at a
//! bounded rate per connection ([`PushGate`]); beyond it they fold into one catch-up job, so a
//! leaked address or a flood grows neither the queue nor the activity log.

use app::{ActivityEntry, ActivityKind, Marketplace, UserId};
use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
};
use serde::Deserialize;
use time::OffsetDateTime;

use crate::{
    error::ApiError,
    jobs::{
        self, bricklink_notifications,
        poll_orders::{self, PollOrders},
        sync_order::{self, SyncOrder},
    },
    push_gate::Admission,
    state::AppState,
};

fn owner(state: &AppState, token: &str, marketplace: Marketplace) -> Result<UserId, ApiError> {
    if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::NotFound);
    }
    match state.services.store.connections().by_webhook_token(token)? {
        // A disabled account's connections rest: its pushes are not taken.
        Some((user, m)) if m == marketplace && active(state, user)? => Ok(user),
        _ => Err(ApiError::NotFound),
    }
}

fn active(state: &AppState, user: UserId) -> Result<bool, ApiError> {
    Ok(state
        .services
        .store
        .users()
        .get(user)?
        .is_some_and(|u| !u.disabled))
}

/// `POST /hooks/bricklink/{token}`: empty or JSON, either way a prompt to read notifications.
pub async fn bricklink(
    State(state): State<AppState>,
    Path(token): Path<String>,
    // Read (and so capped) but not needed: the notifications are fetched back, signed.
    _body: axum::body::Bytes,
) -> Result<StatusCode, ApiError> {
    let user = owner(&state, &token, Marketplace::BrickLink)?;
    let spec = bricklink_notifications::spec(user)?;
    match state.pushes.admit(user, Marketplace::BrickLink) {
        Admission::Now => {
            let entry = ActivityEntry {
                at: OffsetDateTime::now_utc(),
                marketplace: Marketplace::BrickLink,
                kind: ActivityKind::Push,
                order_id: None,
                text: "BrickLink sent a push notification".into(),
            };
            state
                .services
                .queue
                .enqueue_with(spec, state.services.store.activity().recorded(user, &entry))
                .await?;
        }
        // One notifications read answers every push since the last: the catch-up merges into
        // the read already waiting, if there is one.
        Admission::Later(wait) => {
            let at = OffsetDateTime::now_utc() + wait;
            state.services.queue.enqueue(spec.run_at(at)).await?;
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

/// BrickOwl's notify query.
#[derive(Debug, Deserialize)]
pub struct Notify {
    order_id: Option<String>,
    /// The seller's BrickOwl store (needed only on the fixed-port listener).
    store_id: Option<String>,
}

/// `GET /hooks/brickowl/{token}?order_id=&store_id=`.
pub async fn brickowl(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(notify): Query<Notify>,
) -> Result<StatusCode, ApiError> {
    let user = owner(&state, &token, Marketplace::BrickOwl)?;
    notified(&state, user, notify.order_id).await
}

/// BrickOwl's own notify, `GET :42500/brick_owl_order_notify?order_id=&store_id=` on the
/// optional listener (`brickowl_notify_listen`): it carries no token, so the store id (learnt
/// from synced orders) says whose order it is; with a single BrickOwl connection, that one,
/// unless its store is known and the notify names another.
pub async fn brickowl_fixed(
    State(state): State<AppState>,
    Query(notify): Query<Notify>,
) -> Result<StatusCode, ApiError> {
    let live: Vec<(UserId, Option<String>)> = state
        .services
        .store
        .connections()
        .all()?
        .into_iter()
        .filter(|(_, m, r)| *m == Marketplace::BrickOwl && r.status.is_usable())
        .map(|(user, _, r)| (user, r.store_id))
        .collect();
    let named = notify.store_id.as_deref().filter(|s| !s.is_empty());
    let by_store = named
        .and_then(|id| live.iter().find(|(_, s)| s.as_deref() == Some(id)))
        .map(|(user, _)| *user);
    let user = match (by_store, live.as_slice()) {
        (Some(user), _) => user,
        (None, [(only, known)]) if named.is_none() || known.is_none() => *only,
        _ => return Err(ApiError::NotFound),
    };
    notified(&state, user, notify.order_id).await
}

async fn notified(
    state: &AppState,
    user: UserId,
    order_id: Option<String>,
) -> Result<StatusCode, ApiError> {
    let id = order_id
        .as_deref()
        .filter(|id| (1..=12).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|id| id.parse::<u64>().ok())
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            ApiError::InvalidInput(app::validate::InvalidInput::new(
                "order_id",
                "The notification needs a numeric order_id.",
            ))
        })?;
    // BrickOwl numbers orders upwards: one this store can have is stored already or newer than
    // the oldest stored one.
    let orders = state.services.store.orders();
    orders.loaded().await;
    if orders
        .lowest_id(user, Marketplace::BrickOwl)
        .is_some_and(|lowest| id < lowest)
    {
        return Err(ApiError::NotFound);
    }
    let order_id = id.to_string();
    if let Admission::Later(wait) = state.pushes.admit(user, Marketplace::BrickOwl) {
        // Over the rate: one poll of the store (merged with any waiting) finds what changed.
        let input = poll_orders::Input {
            user,
            marketplace: Marketplace::BrickOwl,
        };
        let at = OffsetDateTime::now_utc() + wait;
        let spec = jobs::spec::<PollOrders>(&input)?.run_at(at);
        state.services.queue.enqueue(spec).await?;
        return Ok(StatusCode::NO_CONTENT);
    }
    let entry = ActivityEntry {
        at: OffsetDateTime::now_utc(),
        marketplace: Marketplace::BrickOwl,
        kind: ActivityKind::Push,
        order_id: Some(order_id.clone()),
        text: format!("BrickOwl notified order {order_id}"),
    };
    let input = sync_order::Input {
        user,
        marketplace: Marketplace::BrickOwl,
        order_id,
        background: false,
    };
    state
        .services
        .queue
        .enqueue_with(
            jobs::spec::<SyncOrder>(&input)?.queue(app::QueueName::Critical),
            state.services.store.activity().recorded(user, &entry),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
