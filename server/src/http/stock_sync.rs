//! Stock sync over HTTP: its settings and state (`GET/PUT /api/stock-sync`), putting a
//! cancelled order's pieces back (`POST /api/stock-sync/restock`), reconciling both stores
//! (`POST /api/stock-sync/reconcile`, a job) and settling conflicts. The sales themselves
//! arrive with the orders (`jobs::stock_sync`).

use app::{
    ChangeCause, Conflict, EditQueued, LotId, Queued, ReconcileRequest, Resolution, RestockRequest,
    StockSyncSettings, StockSyncState, validate::InvalidInput,
};
use axum::{
    extract::{Path, State},
    http::StatusCode,
};

use super::ApiJson;
use crate::{
    auth::CurrentUser,
    error::ApiError,
    jobs::{
        self,
        reconcile_stock::{self, ReconcileStock},
    },
    state::AppState,
    store::{Inventory, RecordedEdit, StoreError},
};

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
    let store = state.services.store.clone();
    // Turning sync on reads every lot (their bases): off the async threads.
    tokio::task::spawn_blocking(move || store.inventory().set_stock_sync(user, settings))
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("stock sync settings: {e}")))??;
    state.services.store.flush().await?;
    get(State(state), current).await
}

/// `POST /api/stock-sync/restock`: puts a cancelled order's pieces back on every marketplace
/// holding each lot, in the commit that queues the jobs applying it -> 202.
pub async fn restock(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(request): ApiJson<RestockRequest>,
) -> Result<(StatusCode, ApiJson<EditQueued>), ApiError> {
    let refused = format!(
        "Nothing of {} order {} waits to be put back: it is not cancelled, its pieces are back \
         already, or stock sync never took them.",
        request.marketplace.label(),
        request.order_id
    );
    order_edit(&state, current.user.id, refused, |inventory, user| {
        inventory.restock(user, request.marketplace, &request.order_id)
    })
    .await
}

/// `POST /api/stock-sync/held`: lets an order's changes a guard rail held go to the other
/// marketplace -> 202.
pub async fn release(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(request): ApiJson<RestockRequest>,
) -> Result<(StatusCode, ApiJson<EditQueued>), ApiError> {
    let refused = format!(
        "Nothing of {} order {} is held.",
        request.marketplace.label(),
        request.order_id
    );
    order_edit(&state, current.user.id, refused, |inventory, user| {
        inventory.release(user, |change| {
            matches!(&change.cause, Some(ChangeCause::Sale(sale))
                if sale.marketplace == request.marketplace && sale.order_id == request.order_id)
        })
    })
    .await
}

/// Under the inventory's write lock, the edit `make` records for one order, committed with
/// its jobs (202); 422 `not-allowed` with `refused` when there is none.
async fn order_edit(
    state: &AppState,
    user: app::UserId,
    refused: String,
    make: impl FnOnce(&Inventory, app::UserId) -> Result<Option<RecordedEdit>, StoreError>,
) -> Result<(StatusCode, ApiJson<EditQueued>), ApiError> {
    let inventory = state.services.store.inventory();
    let _writing = inventory.writing().await;
    let Some(edit) = make(inventory, user)? else {
        return Err(ApiError::NotAllowed(refused));
    };
    queue_edit(state, user, edit).await
}

/// `POST /api/stock-sync/reconcile`: reconciles both stores now -> 202 `{job_ids}`.
pub async fn reconcile(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(request): ApiJson<ReconcileRequest>,
) -> Result<(StatusCode, ApiJson<Queued>), ApiError> {
    let user = current.user.id;
    if state
        .services
        .store
        .inventory()
        .stock_sync_since(user)?
        .is_none()
    {
        return Err(ApiError::NotAllowed(
            "Stock sync is off: turn it on to reconcile your stores.".into(),
        ));
    }
    let input = reconcile_stock::Input {
        user,
        confirm: request.confirm,
    };
    let queued = jobs::enqueue::<ReconcileStock>(&state.services.queue, &input).await?;
    Ok((
        StatusCode::ACCEPTED,
        ApiJson(Queued {
            job_ids: vec![queued.id],
        }),
    ))
}

/// `GET /api/stock-sync/conflicts`.
pub async fn conflicts(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<ApiJson<Vec<Conflict>>, ApiError> {
    Ok(ApiJson(
        state
            .services
            .store
            .inventory()
            .conflicts(current.user.id)?,
    ))
}

/// `POST /api/stock-sync/conflicts/{lot}/resolve`: both marketplaces take the chosen
/// quantity, in the commit that queues the jobs applying it -> 202.
pub async fn resolve(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<String>,
    ApiJson(resolution): ApiJson<Resolution>,
) -> Result<(StatusCode, ApiJson<EditQueued>), ApiError> {
    let user = current.user.id;
    let lot = LotId(id.parse().map_err(|_| ApiError::NotFound)?);
    let inventory = state.services.store.inventory();
    let _writing = inventory.writing().await;
    let Some(edit) = inventory.resolve(user, lot, resolution)? else {
        return Err(ApiError::NotAllowed(
            "This lot is in no conflict now, or it changed since: reconcile again to see it \
             as it is."
                .into(),
        ));
    };
    queue_edit(&state, user, edit).await
}

/// `POST /api/stock-sync/conflicts/resolve`: settles every conflict by one rule
/// (`{keep: "bricklink"}` or `{keep: "brickowl"}`) -> 202.
pub async fn resolve_all(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(resolution): ApiJson<Resolution>,
) -> Result<(StatusCode, ApiJson<EditQueued>), ApiError> {
    if let Resolution::Quantity(_) = resolution {
        return Err(ApiError::InvalidInput(InvalidInput::new(
            "keep",
            "Settle every conflict by BrickLink's count or BrickOwl's; one quantity is for one \
             lot.",
        )));
    }
    let user = current.user.id;
    let inventory = state.services.store.inventory();
    let _writing = inventory.writing().await;
    let Some(edit) = inventory.resolve_all(user, resolution)? else {
        return Err(ApiError::NotAllowed(
            "No conflict waits: reconcile again to see your lots as they are.".into(),
        ));
    };
    queue_edit(&state, user, edit).await
}

/// Commits a recorded edit with the jobs applying it; the 202 answer.
async fn queue_edit(
    state: &AppState,
    user: app::UserId,
    edit: RecordedEdit,
) -> Result<(StatusCode, ApiJson<EditQueued>), ApiError> {
    let (changes, first) = (edit.changes.len(), edit.changes.first().map(|c| c.edit));
    let queued = jobs::commit_lot_changes(&state.services, user, edit).await?;
    Ok((
        StatusCode::ACCEPTED,
        ApiJson(EditQueued {
            job_ids: queued.iter().map(|q| q.id).collect(),
            edit: first,
            changes,
        }),
    ))
}
