//! Orders over HTTP: the list (filters, search, sort, pages) and one order, both straight from
//! the store; a status change and "sync now", both answered 202 with the jobs that do them.

use app::{
    Marketplace, OrderDetail, OrderList, OrderQuery, OrderStatus, Queued, StatusChange,
    SyncRequest, validate::InvalidInput,
};
use axum::{
    extract::{Path, State},
    http::StatusCode,
};
use time::{
    Date, OffsetDateTime, format_description::well_known::Rfc3339, macros::format_description,
};

use super::{ApiJson, ApiQuery};
use crate::{
    auth::CurrentUser,
    error::ApiError,
    jobs::{
        self, bricklink_notifications,
        import_orders::{self, ImportOrders},
        poll_orders::{self, PollOrders},
        update_order_status::{self, UpdateOrderStatus},
    },
    state::AppState,
    store::OrderFilter,
};

fn when(field: &'static str, text: &str, end_of_day: bool) -> Result<OffsetDateTime, ApiError> {
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(at);
    }
    let day = Date::parse(text, format_description!("[year]-[month]-[day]")).map_err(|_| {
        InvalidInput::new(field, format!("{text:?} is not a date; use YYYY-MM-DD."))
    })?;
    let day = if end_of_day {
        day.next_day().unwrap_or(day)
    } else {
        day
    };
    Ok(day.midnight().assume_utc())
}

/// `GET /api/orders`.
pub async fn list(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiQuery(query): ApiQuery<OrderQuery>,
) -> Result<ApiJson<OrderList>, ApiError> {
    let statuses = OrderStatus::parse_list(query.status.as_deref().unwrap_or_default())
        .map_err(|message| InvalidInput::new("status", message))?;
    let descending = match query.order.as_deref() {
        None | Some("desc") => true,
        Some("asc") => false,
        Some(_) => return Err(InvalidInput::new("order", "order is asc or desc.").into()),
    };
    let filter = OrderFilter {
        statuses,
        marketplace: query.marketplace,
        query: query.q.filter(|q| !q.trim().is_empty()),
        from: query
            .from
            .as_deref()
            .map(|t| when("from", t, false))
            .transpose()?,
        to: query
            .to
            .as_deref()
            .map(|t| when("to", t, true))
            .transpose()?,
        sort: query.sort.unwrap_or_default(),
        descending,
        page: query.page.unwrap_or(1),
        per_page: query.per_page.unwrap_or(50),
    };
    let orders = state.services.store.orders();
    // At start the index may still be read: wait for it without holding a thread.
    orders.loaded().await;
    Ok(ApiJson(orders.list(current.user.id, &filter)))
}

fn marketplace(path: &str) -> Result<Marketplace, ApiError> {
    Marketplace::parse(path).ok_or(ApiError::NotFound)
}

/// `GET /api/orders/{marketplace}/{order_id}`.
pub async fn get(
    State(state): State<AppState>,
    current: CurrentUser,
    Path((market, order_id)): Path<(String, String)>,
) -> Result<ApiJson<OrderDetail>, ApiError> {
    let order = state
        .services
        .store
        .orders()
        .get(current.user.id, marketplace(&market)?, &order_id)?
        .ok_or(ApiError::NotFound)?;
    Ok(ApiJson(order))
}

/// `PUT /api/orders/{marketplace}/{order_id}/status`.
pub async fn update_status(
    State(state): State<AppState>,
    current: CurrentUser,
    Path((market, order_id)): Path<(String, String)>,
    ApiJson(change): ApiJson<StatusChange>,
) -> Result<(StatusCode, ApiJson<Queued>), ApiError> {
    let marketplace = marketplace(&market)?;
    let user = current.user.id;
    if state
        .services
        .store
        .orders()
        .get(user, marketplace, &order_id)?
        .is_none()
    {
        return Err(ApiError::NotFound);
    }
    if !OrderStatus::settable(marketplace).contains(&change.status) {
        return Err(ApiError::NotAllowed(format!(
            "{marketplace} does not let sellers set an order to \"{}\".",
            change.status.label()
        )));
    }
    let tracking = app::fulfilment::tracking_number(change.tracking)
        .map_err(|message| InvalidInput::new("tracking", message))?;
    let input = update_order_status::Input {
        user,
        marketplace,
        order_id,
        status: change.status,
        tracking,
    };
    let job = jobs::enqueue::<UpdateOrderStatus>(&state.services.queue, &input).await?;
    Ok((
        StatusCode::ACCEPTED,
        ApiJson(Queued {
            job_ids: vec![job.id],
        }),
    ))
}

/// `POST /api/sync`: what changed (or, with `full`, everything) from each live connection.
pub async fn sync(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(request): ApiJson<SyncRequest>,
) -> Result<(StatusCode, ApiJson<Queued>), ApiError> {
    let user = current.user.id;
    let wanted: Vec<Marketplace> = match request.marketplace {
        Some(m) => vec![m],
        None => Marketplace::ALL.to_vec(),
    };
    let mut job_ids = Vec::new();
    for marketplace in wanted {
        let live = state
            .services
            .store
            .connections()
            .get(user, marketplace)?
            .is_some_and(|c| c.status.is_usable());
        if !live {
            continue;
        }
        let job = if request.full {
            jobs::enqueue::<ImportOrders>(
                &state.services.queue,
                &import_orders::Input { user, marketplace },
            )
            .await?
        } else {
            if marketplace == Marketplace::BrickLink {
                let notes = state
                    .services
                    .queue
                    .enqueue(bricklink_notifications::spec(user)?)
                    .await?;
                job_ids.push(notes.id);
            }
            jobs::enqueue::<PollOrders>(
                &state.services.queue,
                &poll_orders::Input { user, marketplace },
            )
            .await?
        };
        job_ids.push(job.id);
    }
    if job_ids.is_empty() {
        return Err(ApiError::NotConnected(
            "Connect BrickLink or BrickOwl in Settings first; there is nothing to sync yet.".into(),
        ));
    }
    Ok((StatusCode::ACCEPTED, ApiJson(Queued { job_ids })))
}
