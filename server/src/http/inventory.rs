//! The inventory over HTTP: the lots (filters, search, sort, pages) straight from the store,
//! and "read the stores again", answered 202 with the job that does it.

use app::{LotList, LotQueryParams, Marketplace, Queued, validate::InvalidInput};
use axum::{extract::State, http::StatusCode};

use super::{ApiJson, ApiQuery};
use crate::{
    auth::CurrentUser,
    error::ApiError,
    jobs::{
        self,
        import_inventory::{self, ImportInventory},
    },
    state::AppState,
    store::LotQuery,
};

/// `GET /api/inventory`.
pub async fn list(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiQuery(query): ApiQuery<LotQueryParams>,
) -> Result<ApiJson<LotList>, ApiError> {
    let descending = match query.order.as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(InvalidInput::new("order", "order is asc or desc.").into()),
    };
    let text = |t: Option<String>| t.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
    let filter = LotQuery {
        marketplace: query.marketplace,
        text: text(query.q),
        item_type: text(query.item_type),
        color_id: query.color,
        condition: query.condition,
        location: text(query.location),
        linked: query.linked,
        sort: query.sort.unwrap_or_default(),
        descending,
        page: query.page.unwrap_or(1),
        per_page: query.per_page.unwrap_or(100),
    };
    let user = current.user.id;
    let store = state.services.store.clone();
    let lots = tokio::task::spawn_blocking(move || store.inventory().list(user, &filter))
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("the inventory list stopped: {e}")))??;
    Ok(ApiJson(lots))
}

/// `POST /api/inventory/import`: reads the connected stores again (BrickLink, then BrickOwl).
pub async fn import(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<(StatusCode, ApiJson<Queued>), ApiError> {
    let user = current.user.id;
    let mut connected = false;
    for marketplace in Marketplace::ALL {
        connected |= state
            .services
            .store
            .connections()
            .get(user, marketplace)?
            .is_some_and(|c| c.status.is_usable());
    }
    if !connected {
        return Err(ApiError::NotConnected(
            "Connect BrickLink or BrickOwl in Settings first: the inventory is read from your \
             stores there."
                .into(),
        ));
    }
    let job =
        jobs::enqueue::<ImportInventory>(&state.services.queue, &import_inventory::Input { user })
            .await?;
    Ok((
        StatusCode::ACCEPTED,
        ApiJson(Queued {
            job_ids: vec![job.id],
        }),
    ))
}
