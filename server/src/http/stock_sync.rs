//! Stock sync over HTTP: its settings and state (`GET/PUT /api/stock-sync`). The sales
//! themselves arrive with the orders (`jobs::stock_sync`).

use app::{StockSyncSettings, StockSyncState};
use axum::extract::State;

use super::ApiJson;
use crate::{auth::CurrentUser, error::ApiError, state::AppState};

/// `GET /api/stock-sync`.
pub async fn get(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<ApiJson<StockSyncState>, ApiError> {
    let user = current.user.id;
    let store = state.services.store.clone();
    let answer = tokio::task::spawn_blocking(move || store.inventory().stock_sync_state(user))
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("stock sync state: {e}")))??;
    Ok(ApiJson(answer))
}

/// `PUT /api/stock-sync`: saves the settings; turning sync on starts it from now (orders
/// placed before are not propagated: the stores were read with them taken off).
pub async fn put(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(settings): ApiJson<StockSyncSettings>,
) -> Result<ApiJson<StockSyncState>, ApiError> {
    let user = current.user.id;
    let inventory = state.services.store.inventory();
    inventory.set_stock_sync(user, settings)?;
    state.services.store.flush().await?;
    get(State(state), current).await
}
