//! Marketplace connections: list both, save keys (202: stored sealed at once, checked in the
//! background by `validate_connection`), disconnect, and rotate the webhook URL. Secrets are
//! never returned or logged.

use app::{BrickLinkKeys, BrickOwlKeys, ConnectionView, Marketplace};
use axum::{
    extract::{Path, State},
    http::StatusCode,
};
use time::OffsetDateTime;

use super::ApiJson;
use crate::{
    auth::CurrentUser,
    error::ApiError,
    jobs::{
        self,
        validate_connection::{Input, ValidateConnection},
    },
    state::AppState,
};

fn marketplace(path: &str) -> Result<Marketplace, ApiError> {
    Marketplace::parse(path).ok_or(ApiError::NotFound)
}

/// `GET /api/connections`.
pub async fn list(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<ApiJson<Vec<ConnectionView>>, ApiError> {
    Ok(ApiJson(state.services.connections(current.user.id)?))
}

/// `PUT /api/connections/{marketplace}`: saves the keys and queues their check.
#[tracing::instrument(skip_all, fields(marketplace = %path))]
pub async fn save(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(path): Path<String>,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> Result<(StatusCode, ApiJson<ConnectionView>), ApiError> {
    let marketplace = marketplace(&path)?;
    let user = current.user.id;
    let now = OffsetDateTime::now_utc();
    let shape =
        |e: serde_json::Error| ApiError::InvalidJson(format!("The keys are incomplete: {e}."));
    let record = match marketplace {
        Marketplace::BrickLink => {
            let keys = serde_json::from_value::<BrickLinkKeys>(body)
                .map_err(shape)?
                .parse()?;
            state
                .services
                .store
                .connections()
                .save_keys(user, marketplace, &keys, now)?
        }
        Marketplace::BrickOwl => {
            let keys = serde_json::from_value::<BrickOwlKeys>(body)
                .map_err(shape)?
                .parse()?;
            state
                .services
                .store
                .connections()
                .save_keys(user, marketplace, &keys, now)?
        }
    };
    state
        .services
        .marketplaces
        .guard()
        .reset_breaker(user, marketplace);
    // The enqueue's durable commit flushes the saved keys with it.
    let input = Input {
        user,
        marketplace,
        generation: record.generation,
    };
    jobs::enqueue::<ValidateConnection>(&state.services.queue, &input).await?;
    tracing::info!(user_id = user.0, "keys saved; check queued");
    state.services.publish_connection(user, marketplace);
    Ok((
        StatusCode::ACCEPTED,
        ApiJson(state.services.connection(user, marketplace)?),
    ))
}

/// `DELETE /api/connections/{marketplace}`.
pub async fn remove(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(path): Path<String>,
) -> Result<StatusCode, ApiError> {
    let marketplace = marketplace(&path)?;
    let user = current.user.id;
    if !state
        .services
        .store
        .connections()
        .remove(user, marketplace)?
    {
        return Err(ApiError::NotFound);
    }
    state.services.publish_connection(user, marketplace);
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/connections/{marketplace}/rotate-webhook`.
pub async fn rotate_webhook(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(path): Path<String>,
) -> Result<ApiJson<ConnectionView>, ApiError> {
    let marketplace = marketplace(&path)?;
    let user = current.user.id;
    if state
        .services
        .store
        .connections()
        .rotate_webhook(user, marketplace)?
        .is_none()
    {
        return Err(ApiError::NotFound);
    }
    state.services.publish_connection(user, marketplace);
    Ok(ApiJson(state.services.connection(user, marketplace)?))
}
