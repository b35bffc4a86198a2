//! The inventory over HTTP: the lots (filters, search, sort, pages) straight from the store;
//! "read the stores again"; edits of one lot or of a selection (with a preview and the guard
//! rails), the audit log and undo. Every edit is saved at once, in the commit that queues the
//! jobs applying it to each marketplace holding the lot, and answered 202 with those jobs.

use app::{
    AtZero, BulkAnswer, BulkOperation, BulkPreview, BulkRequest, ChangeId, ChangeList, ChangeQuery,
    EditQueued, LinkRequest, Lot, LotEdit, LotId, LotList, LotQueryParams, LotValues, Marketplace,
    PreviewLine, Queued, UndoRequest, UserId, lot_changes::price_jump, validate::InvalidInput,
};
use axum::{
    extract::{Path, State},
    http::StatusCode,
};

use super::{ApiJson, ApiQuery};
use crate::{
    auth::CurrentUser,
    catalog::{ItemColor, StoredAverage, stored_average},
    error::ApiError,
    jobs::{
        self,
        fetch_price_guides::{self, FetchPriceGuides, Guide},
        import_inventory::{self, ImportInventory},
    },
    state::AppState,
    store::{EditPlan, LinkError, LotQuery, Store, edit_values, operation_values, reaches_zero},
};

/// Lots one bulk edit may name.
const BULK_LIMIT: usize = 50_000;

/// Preview lines a bulk answer carries.
const PREVIEW_LINES: usize = 200;

/// `GET /api/inventory`.
pub async fn list(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiQuery(query): ApiQuery<LotQueryParams>,
) -> Result<ApiJson<LotList>, ApiError> {
    let filter = lot_query(query)?;
    let user = current.user.id;
    let store = state.services.store.clone();
    let lots = blocking(move || Ok(store.inventory().list(user, &filter)?)).await?;
    Ok(ApiJson(lots))
}

fn lot_query(query: LotQueryParams) -> Result<LotQuery, ApiError> {
    let descending = match query.order.as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(InvalidInput::new("order", "order is asc or desc.").into()),
    };
    let text = |t: Option<String>| t.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
    Ok(LotQuery {
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
    })
}

/// Runs store work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("inventory work stopped: {e}")))?
}

/// The seller's choice for a lot reaching 0 on BrickLink outside the stockroom; moving it to
/// the stockroom is part of the lot's new values.
fn at_zero_choice(
    lot: &Lot,
    after: &mut LotValues,
    choice: Option<AtZero>,
) -> Result<Option<AtZero>, InvalidInput> {
    if !reaches_zero(lot, after) {
        return Ok(None);
    }
    match choice {
        None => Err(InvalidInput::new(
            "at_zero",
            "This lot reaches 0, and BrickLink keeps no lot at 0 outside the stockroom: choose \
             to delete it there or to move it to the stockroom.",
        )),
        Some(AtZero::Stockroom) => {
            after.stockroom = true;
            Ok(Some(AtZero::Stockroom))
        }
        Some(AtZero::Delete) => Ok(Some(AtZero::Delete)),
    }
}

/// Saves an edit and queues the jobs that apply it, in one durable commit. The caller holds
/// the inventory's write lock from reading the lots until this returns.
async fn submit(
    state: &AppState,
    user: UserId,
    by: &str,
    plans: Vec<EditPlan>,
) -> Result<EditQueued, ApiError> {
    let store = state.services.store.clone();
    let by = by.to_owned();
    let mut recorded =
        blocking(move || Ok(store.inventory().record_edit(user, &by, plans)?)).await?;
    let changes = std::mem::take(&mut recorded.changes);
    if changes.is_empty() {
        return Ok(EditQueued {
            job_ids: Vec::new(),
            edit: None,
            changes: 0,
        });
    }
    let queued = jobs::commit_lot_changes(&state.services, user, recorded).await?;
    Ok(EditQueued {
        job_ids: queued.iter().map(|q| q.id).collect(),
        edit: changes.first().map(|c| c.edit),
        changes: changes.len(),
    })
}

/// `PUT /api/inventory/{id}`: changes one lot.
pub async fn update(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<String>,
    ApiJson(edit): ApiJson<LotEdit>,
) -> Result<(StatusCode, ApiJson<EditQueued>), ApiError> {
    let user = current.user.id;
    let id = LotId(id.parse().map_err(|_| ApiError::NotFound)?);
    let inventory = state.services.store.inventory().clone();
    let _writing = inventory.writing().await;
    let lot = inventory.get(user, id)?.ok_or(ApiError::NotFound)?;
    let mut after = edit_values(&lot, &edit)?;
    if price_jump(lot.unit_price, after.unit_price) && !edit.confirm {
        return Err(ApiError::NeedsConfirmation(format!(
            "The price goes from {} to {}: more than three times higher or lower. Confirm it to \
             apply it.",
            lot.unit_price, after.unit_price
        )));
    }
    let at_zero = at_zero_choice(&lot, &mut after, edit.at_zero)?;
    let plan = EditPlan {
        lot,
        after,
        at_zero,
        undo_of: None,
        cause: None,
        only: None,
        held: false,
    };
    let queued = submit(&state, user, &current.user.username, vec![plan]).await?;
    Ok((StatusCode::ACCEPTED, ApiJson(queued)))
}

/// A bulk edit worked out: the plans, what the seller is shown, and the price guides still to
/// be read (for a price-to-the-guide edit).
fn plan_bulk(
    store: &Store,
    user: UserId,
    request: &BulkRequest,
    confirm_percent: u32,
) -> Result<(Vec<EditPlan>, BulkPreview, Vec<Guide>), ApiError> {
    let inventory = store.inventory();
    let lots: Vec<Lot> = match (&request.ids, &request.filter) {
        (Some(ids), _) => {
            if ids.is_empty() || ids.len() > BULK_LIMIT {
                return Err(InvalidInput::new(
                    "ids",
                    format!("Choose between 1 and {BULK_LIMIT} lots."),
                )
                .into());
            }
            let mut seen = std::collections::HashSet::new();
            let mut lots = Vec::with_capacity(ids.len());
            for id in ids.iter().filter(|id| seen.insert(**id)) {
                let lot = inventory.get(user, *id)?.ok_or_else(|| {
                    InvalidInput::new(
                        "ids",
                        format!("Lot {} is not in your inventory any more.", id.0),
                    )
                })?;
                lots.push(lot);
            }
            lots
        }
        (None, Some(filter)) => inventory.matching(user, &lot_query(filter.clone())?)?,
        (None, None) => {
            return Err(InvalidInput::new(
                "ids",
                "Choose the lots to change: their ids, or a filter.",
            )
            .into());
        }
    };
    let store_lots = inventory.count(user);
    let mut plans = Vec::new();
    let mut lines = Vec::new();
    let mut missing = Vec::new();
    let (mut jumps, mut reaching_zero) = (0usize, 0usize);
    for lot in lots {
        let mut after = operation_values(&lot, &request.operation)?;
        let mut note = None;
        if request.operation == BulkOperation::GuidePrice {
            let item = ItemColor {
                kind: &lot.item.item_type,
                no: &lot.item.no,
                color_id: lot.color_id,
            };
            match stored_average(store.catalog(), user, &item, lot.condition) {
                None => {
                    missing.push(Guide {
                        kind: lot.item.item_type.clone(),
                        no: lot.item.no.clone(),
                        color_id: lot.color_id,
                        condition: lot.condition,
                    });
                    continue;
                }
                // Nothing sold in six months: the price stays.
                Some(StoredAverage { price: None, .. }) => continue,
                Some(StoredAverage {
                    price: Some(price),
                    currency,
                    read_at,
                }) => {
                    after.unit_price = price;
                    note = Some(format!(
                        "BrickLink sold price guide, last 6 months, {}: average {} {}, read {}",
                        match lot.condition {
                            app::Condition::New => "new",
                            app::Condition::Used => "used",
                        },
                        price.to_wire(),
                        currency.unwrap_or_default(),
                        read_at.date()
                    ));
                }
            }
        }
        if after == lot.values() {
            continue;
        }
        jumps += usize::from(price_jump(lot.unit_price, after.unit_price));
        let at_zero = if reaches_zero(&lot, &after) {
            reaching_zero += 1;
            if request.at_zero == Some(AtZero::Stockroom) {
                after.stockroom = true;
            }
            request.at_zero
        } else {
            None
        };
        if lines.len() < PREVIEW_LINES {
            lines.push(PreviewLine {
                lot: lot.id,
                item: lot.item.clone(),
                color_name: lot.color_name.clone(),
                before: lot.values(),
                after: after.clone(),
                note,
            });
        }
        plans.push(EditPlan {
            lot,
            after,
            at_zero,
            undo_of: None,
            cause: None,
            only: None,
            held: false,
        });
    }
    let mut confirm_reasons = Vec::new();
    let share = plans.len() * 100;
    if plans.len() > 1 && share > store_lots * confirm_percent as usize {
        confirm_reasons.push(format!(
            "This changes {} of your {store_lots} lots: more than {confirm_percent} % of the \
             store.",
            plans.len()
        ));
    }
    if jumps > 0 {
        confirm_reasons.push(format!(
            "{jumps} {} more than three times higher or lower.",
            if jumps == 1 {
                "price goes"
            } else {
                "prices go"
            }
        ));
    }
    missing.sort_by(|a, b| (&a.kind, &a.no, a.color_id).cmp(&(&b.kind, &b.no, b.color_id)));
    missing.dedup();
    let preview = BulkPreview {
        lots: plans.len(),
        store_lots,
        lines,
        confirm_reasons,
        reaching_zero,
        guides_missing: missing.len(),
        job_ids: Vec::new(),
    };
    Ok((plans, preview, missing))
}

/// `POST /api/inventory/bulk`: a preview of what an operation does to a selection of lots, or
/// the edit saved and queued (202). One that trips a guard rail (too large a share of the
/// store, a price moving more than 3×) is answered with its preview until `confirm` is sent.
pub async fn bulk(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(request): ApiJson<BulkRequest>,
) -> Result<(StatusCode, ApiJson<BulkAnswer>), ApiError> {
    let user = current.user.id;
    let inventory = state.services.store.inventory().clone();
    let _writing = inventory.writing().await;
    let store = state.services.store.clone();
    let percent = state.config.inventory_confirm_percent;
    let asked = request.clone();
    let (plans, mut preview, missing) =
        blocking(move || plan_bulk(&store, user, &asked, percent)).await?;
    if !missing.is_empty() {
        // The guides are read in the background; the seller previews again once they are.
        let specs = missing
            .chunks(fetch_price_guides::PER_JOB)
            .map(|guides| {
                jobs::spec::<FetchPriceGuides>(&fetch_price_guides::Input {
                    user,
                    guides: guides.to_vec(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let queued = state.services.queue.enqueue_all(specs, Vec::new()).await?;
        preview.job_ids = queued.iter().map(|q| q.id).collect();
        preview.confirm_reasons.push(format!(
            "brickdesk is reading BrickLink's price guides for {} of these items now: preview \
             again when that is done.",
            missing.len()
        ));
        return Ok((StatusCode::OK, ApiJson(BulkAnswer::Preview(preview))));
    }
    if request.preview || (!preview.confirm_reasons.is_empty() && !request.confirm) {
        return Ok((StatusCode::OK, ApiJson(BulkAnswer::Preview(preview))));
    }
    if preview.reaching_zero > 0 && request.at_zero.is_none() {
        return Err(InvalidInput::new(
            "at_zero",
            format!(
                "{} of these lots reach 0, and BrickLink keeps no lot at 0 outside the \
                 stockroom: choose to delete them there or to move them to the stockroom.",
                preview.reaching_zero
            ),
        )
        .into());
    }
    let queued = submit(&state, user, &current.user.username, plans).await?;
    Ok((StatusCode::ACCEPTED, ApiJson(BulkAnswer::Queued(queued))))
}

/// `GET /api/inventory/changes`: the audit log, newest first.
pub async fn changes(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiQuery(query): ApiQuery<ChangeQuery>,
) -> Result<ApiJson<ChangeList>, ApiError> {
    let user = current.user.id;
    let store = state.services.store.clone();
    let list = blocking(move || Ok(store.inventory().changes(user, &query)?)).await?;
    Ok(ApiJson(list))
}

/// `POST /api/inventory/changes/{id}/undo`: puts back what a change (or its whole edit)
/// changed, as a new edit applied like any other: quantities by the opposite relative
/// change (so sales since are kept), other fields to their values from before.
pub async fn undo(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<UndoRequest>,
) -> Result<(StatusCode, ApiJson<EditQueued>), ApiError> {
    let user = current.user.id;
    let id = ChangeId(id.parse().map_err(|_| ApiError::NotFound)?);
    let inventory = state.services.store.inventory().clone();
    let _writing = inventory.writing().await;
    let change = inventory.change(user, id)?.ok_or(ApiError::NotFound)?;
    let originals = if request.whole_edit {
        inventory.edit_changes(user, change.edit)?
    } else {
        vec![change]
    };
    let single = originals.len() == 1;
    let mut plans = Vec::new();
    for original in originals {
        let refused = if original.undone_by.is_some() {
            Some("This change was undone already.")
        } else if original.cause.is_some() {
            Some(
                "Stock sync made this change for an order (a sale taken off the other \
                 marketplace, or a cancelled order's pieces put back): edit the lot if its \
                 quantity is wrong.",
            )
        } else {
            None
        };
        let lot = inventory.get(user, original.lot)?;
        let refused = refused.or(match &lot {
            None => Some(
                "This lot is gone (sold out or deleted on the marketplace): it cannot be \
                 changed back.",
            ),
            Some(lot)
                if original.at_zero == Some(AtZero::Delete) && !lot.on(Marketplace::BrickLink) =>
            {
                Some("This lot was deleted on BrickLink: undo cannot bring it back there.")
            }
            Some(_) => None,
        });
        match (refused, lot) {
            (Some(reason), _) if single => return Err(ApiError::NotAllowed(reason.into())),
            (Some(_), _) | (None, None) => {}
            (None, Some(lot)) => {
                let (before, changed) = (&original.before, &original.after);
                let mut after = lot.values();
                after.quantity = (lot.quantity - original.quantity_change()).max(0);
                if before.unit_price != changed.unit_price {
                    after.unit_price = before.unit_price;
                }
                if before.remarks != changed.remarks {
                    after.remarks.clone_from(&before.remarks);
                }
                if before.description != changed.description {
                    after.description.clone_from(&before.description);
                }
                if before.stockroom != changed.stockroom {
                    after.stockroom = before.stockroom;
                }
                // Undoing an addition to an empty lot keeps it, in the stockroom.
                let at_zero = at_zero_choice(&lot, &mut after, Some(AtZero::Stockroom))?;
                plans.push(EditPlan {
                    lot,
                    after,
                    at_zero,
                    undo_of: Some(original.id),
                    cause: None,
                    only: None,
                    held: false,
                });
            }
        }
    }
    if plans.is_empty() {
        return Err(ApiError::NotAllowed(
            "Nothing in this edit can be undone any more.".into(),
        ));
    }
    let queued = submit(&state, user, &current.user.username, plans).await?;
    Ok((StatusCode::ACCEPTED, ApiJson(queued)))
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

impl From<LinkError> for ApiError {
    fn from(err: LinkError) -> Self {
        match err {
            LinkError::NotFound => Self::NotFound,
            LinkError::Refused(why) => Self::NotAllowed(why.into()),
            LinkError::Store(err) => err.into(),
        }
    }
}

/// `POST /api/inventory/{id}/link`: joins a BrickOwl-only lot to this BrickLink-only lot (the
/// same bricks on both marketplaces); the joined lot.
pub async fn link(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<LinkRequest>,
) -> Result<ApiJson<Lot>, ApiError> {
    let user = current.user.id;
    let id = LotId(id.parse().map_err(|_| ApiError::NotFound)?);
    let inventory = state.services.store.inventory().clone();
    let _writing = inventory.writing().await;
    let store = state.services.store.clone();
    let lot = blocking(move || Ok(store.inventory().link(user, id, request.brickowl)?)).await?;
    Ok(ApiJson(lot))
}

/// `POST /api/inventory/{id}/unlink`: splits a linked lot into its BrickLink lot and a
/// BrickOwl lot of its own, kept apart from then on; the two lots.
pub async fn unlink(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<String>,
) -> Result<ApiJson<Vec<Lot>>, ApiError> {
    let user = current.user.id;
    let id = LotId(id.parse().map_err(|_| ApiError::NotFound)?);
    let inventory = state.services.store.inventory().clone();
    let _writing = inventory.writing().await;
    let store = state.services.store.clone();
    let (bricklink, brickowl) = blocking(move || Ok(store.inventory().unlink(user, id)?)).await?;
    Ok(ApiJson(vec![bricklink, brickowl]))
}
