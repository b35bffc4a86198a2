//! Marketplace pushes. Each answers 204 at once: the push is recorded and a coalesced job
//! queued in one durable commit, and no marketplace is called inside the request. An unknown
//! token is a 404. Tokens never reach the logs (see `loggable_path`).

use app::{ActivityEntry, Marketplace, UserId};
use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
};
use serde::Deserialize;
use time::OffsetDateTime;

use crate::{
    error::ApiError,
    jobs::{bricklink_notifications, sync_order},
    queue::Extra,
    state::AppState,
    store::Activity,
};

fn owner(state: &AppState, token: &str, marketplace: Marketplace) -> Result<UserId, ApiError> {
    if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::NotFound);
    }
    match state.store.connections().by_webhook_token(token)? {
        Some((user, m)) if m == marketplace => Ok(user),
        _ => Err(ApiError::NotFound),
    }
}

fn recorded(state: &AppState, user: UserId, entry: &ActivityEntry) -> Extra {
    let (key, value) = Activity::entry(user, entry);
    let mut batch = sled::Batch::default();
    batch.insert(key, value);
    vec![(state.store.activity().tree().clone(), batch)]
}

/// `POST /hooks/bricklink/{token}`: empty or JSON, either way a prompt to read notifications.
pub async fn bricklink(
    State(state): State<AppState>,
    Path(token): Path<String>,
    // Read (and so capped) but not needed: the notifications are fetched back, signed.
    _body: axum::body::Bytes,
) -> Result<StatusCode, ApiError> {
    let user = owner(&state, &token, Marketplace::BrickLink)?;
    let entry = ActivityEntry {
        at: OffsetDateTime::now_utc(),
        marketplace: Marketplace::BrickLink,
        kind: "push".into(),
        order_id: None,
        text: "BrickLink sent a push notification".into(),
    };
    state
        .queue
        .enqueue_with(
            bricklink_notifications::spec(user),
            recorded(&state, user, &entry),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// BrickOwl's notify query.
#[derive(Debug, Deserialize)]
pub struct Notify {
    order_id: Option<String>,
    #[allow(dead_code)] // Identifies the store; the token already does.
    store_id: Option<String>,
}

/// `GET /hooks/brickowl/{token}?order_id=&store_id=`.
pub async fn brickowl(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(notify): Query<Notify>,
) -> Result<StatusCode, ApiError> {
    let user = owner(&state, &token, Marketplace::BrickOwl)?;
    let order_id = notify
        .order_id
        .filter(|id| !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| {
            ApiError::InvalidInput(app::validate::InvalidInput::new(
                "order_id",
                "The notification needs a numeric order_id.",
            ))
        })?;
    let entry = ActivityEntry {
        at: OffsetDateTime::now_utc(),
        marketplace: Marketplace::BrickOwl,
        kind: "push".into(),
        order_id: Some(order_id.clone()),
        text: format!("BrickOwl notified order {order_id}"),
    };
    let input = sync_order::Input {
        user,
        marketplace: Marketplace::BrickOwl,
        order_id,
    };
    state
        .queue
        .enqueue_with(
            sync_order::spec(&input, app::QueueName::Critical),
            recorded(&state, user, &entry),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
