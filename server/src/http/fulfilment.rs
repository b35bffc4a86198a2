//! Fulfilment over HTTP: pick lists (make, read, tick a line, close), the location pattern,
//! an order's flow, and shipping many orders at once (the status jobs do the marketplace
//! calls: 202).

use app::{
    FulfilmentSettings, NewPickList, OrderFlow, OrderStatus, PickList, PickListId, PickListSummary,
    PickTicked, Queued, ShipRequest, TickRequest, events::LiveEvent, validate::InvalidInput,
};
use axum::{
    extract::{Path, State},
    http::StatusCode,
};

use super::ApiJson;
use crate::{
    auth::CurrentUser,
    error::ApiError,
    jobs::{self, update_order_status::UpdateOrderStatus},
    picking::{self, BuildError, Locator},
    state::AppState,
    store::PickError,
};

impl From<BuildError> for ApiError {
    fn from(err: BuildError) -> Self {
        match err {
            BuildError::Store(err) => err.into(),
            BuildError::Pattern(_) => InvalidInput::new("location_pattern", err.to_string()).into(),
            BuildError::TooMany | BuildError::NoOrders => {
                InvalidInput::new("orders", err.to_string()).into()
            }
            BuildError::Unknown(_) | BuildError::NothingPaid => Self::NotAllowed(err.to_string()),
        }
    }
}

impl From<PickError> for ApiError {
    fn from(err: PickError) -> Self {
        match err {
            PickError::NoList | PickError::NoLine(_) => Self::NotFound,
            PickError::Closed => Self::NotAllowed(err.to_string()),
            PickError::Found { .. } => InvalidInput::new("found", err.to_string()).into(),
            PickError::Store(err) => err.into(),
        }
    }
}

fn blocking_failed(what: &str, err: &tokio::task::JoinError) -> ApiError {
    ApiError::Internal(anyhow::anyhow!("{what}: {err}"))
}

/// `GET /api/pick-lists`: newest first.
pub async fn lists(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<ApiJson<Vec<PickListSummary>>, ApiError> {
    Ok(ApiJson(
        state.services.store.fulfilment().list(current.user.id)?,
    ))
}

/// `POST /api/pick-lists`: one list over the chosen orders (or every paid order not on an
/// open list) -> 201 with the list.
pub async fn create(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(request): ApiJson<NewPickList>,
) -> Result<(StatusCode, ApiJson<PickList>), ApiError> {
    let user = current.user.id;
    let by = current.user.username.clone();
    let store = state.services.store.clone();
    store.orders().loaded().await;
    // Reads every chosen order and its lots: off the async threads.
    let list = tokio::task::spawn_blocking(move || -> Result<PickList, ApiError> {
        let settings = store.fulfilment().settings(user)?;
        let locator = Locator::new(&settings.location_pattern)?;
        let orders = picking::chosen_orders(&store, user, &request)?;
        let lines = picking::build(&store, user, &orders, &locator)?;
        Ok(store.fulfilment().create(user, &by, orders, lines)?)
    })
    .await
    .map_err(|e| blocking_failed("pick list", &e))??;
    Ok((StatusCode::CREATED, ApiJson(list)))
}

/// `GET /api/pick-lists/{id}`.
pub async fn get(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<u64>,
) -> Result<ApiJson<PickList>, ApiError> {
    state
        .services
        .store
        .fulfilment()
        .get(current.user.id, PickListId(id))?
        .map(ApiJson)
        .ok_or(ApiError::NotFound)
}

/// `PUT /api/pick-lists/{id}/lines/{line}`: what was found (`null` unticks); everyone with
/// the list open sees it at once.
pub async fn tick(
    State(state): State<AppState>,
    current: CurrentUser,
    Path((id, line)): Path<(u64, u32)>,
    ApiJson(request): ApiJson<TickRequest>,
) -> Result<ApiJson<PickTicked>, ApiError> {
    let user = current.user.id;
    let list = PickListId(id);
    let tick = state.services.store.fulfilment().tick(
        user,
        list,
        line,
        request.found,
        &current.user.username,
    )?;
    let ticked = PickTicked { list, line, tick };
    state
        .services
        .events
        .publish(user, LiveEvent::PickTicked(ticked.clone()));
    Ok(ApiJson(ticked))
}

/// `POST /api/pick-lists/{id}/close`: orders whose lines were all found are picked; short
/// lines stay with their orders.
pub async fn close(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<u64>,
) -> Result<ApiJson<PickList>, ApiError> {
    Ok(ApiJson(
        state
            .services
            .store
            .fulfilment()
            .close(current.user.id, PickListId(id))?,
    ))
}

/// `GET /api/fulfilment/settings`.
pub async fn settings(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<ApiJson<FulfilmentSettings>, ApiError> {
    Ok(ApiJson(
        state
            .services
            .store
            .fulfilment()
            .settings(current.user.id)?,
    ))
}

/// `PUT /api/fulfilment/settings`: a pattern that does not compile is refused.
pub async fn save_settings(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(settings): ApiJson<FulfilmentSettings>,
) -> Result<ApiJson<FulfilmentSettings>, ApiError> {
    Locator::new(&settings.location_pattern)?;
    state
        .services
        .store
        .fulfilment()
        .set_settings(current.user.id, &settings)?;
    Ok(ApiJson(settings))
}

/// `GET /api/orders/{marketplace}/{order_id}/flow`.
pub async fn flow(
    State(state): State<AppState>,
    current: CurrentUser,
    Path((market, order_id)): Path<(String, String)>,
) -> Result<ApiJson<OrderFlow>, ApiError> {
    let user = current.user.id;
    let order = super::messages::known(&state, user, &market, order_id)?;
    Ok(ApiJson(
        state.services.store.fulfilment().flow(user, &order)?,
    ))
}

/// `POST /api/orders/ship`: every order named is checked first (known, not shipped yet, a
/// valid tracking number); then one status job each, in one commit -> 202.
pub async fn ship(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(request): ApiJson<ShipRequest>,
) -> Result<(StatusCode, ApiJson<Queued>), ApiError> {
    let user = current.user.id;
    if request.orders.is_empty() {
        return Err(InvalidInput::new("orders", "Choose at least one order to ship.").into());
    }
    if request.orders.len() > app::fulfilment::MAX_PICK_ORDERS {
        return Err(InvalidInput::new(
            "orders",
            format!(
                "Ship at most {} orders at once.",
                app::fulfilment::MAX_PICK_ORDERS
            ),
        )
        .into());
    }
    let orders = state.services.store.orders();
    let mut specs = Vec::with_capacity(request.orders.len());
    for order in request.orders {
        let Some(known) = orders.get(user, order.marketplace, &order.order_id)? else {
            return Err(ApiError::NotAllowed(format!(
                "There is no {} order {}; nothing was shipped.",
                order.marketplace, order.order_id
            )));
        };
        if matches!(
            known.summary.status,
            OrderStatus::Cancelled | OrderStatus::Archived
        ) || !picking::can_ship(order.marketplace)
        {
            return Err(ApiError::NotAllowed(format!(
                "{} order {} is {} and cannot be shipped; nothing was shipped.",
                order.marketplace,
                order.order_id,
                known.summary.status.label().to_lowercase()
            )));
        }
        let tracking = app::fulfilment::tracking_number(order.tracking)
            .map_err(|message| InvalidInput::new("tracking", message))?;
        specs.push(jobs::spec::<UpdateOrderStatus>(
            &jobs::update_order_status::Input {
                user,
                marketplace: order.marketplace,
                order_id: order.order_id,
                status: OrderStatus::Shipped,
                tracking,
            },
        )?);
    }
    let queued = state.services.queue.enqueue_all(specs, Vec::new()).await?;
    Ok((
        StatusCode::ACCEPTED,
        ApiJson(Queued {
            job_ids: queued.iter().map(|q| q.id).collect(),
        }),
    ))
}
