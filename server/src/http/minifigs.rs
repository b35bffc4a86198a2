//! Partial-minifig lists over HTTP, straight from the store: lists, minifigs and their parts.
//! Adding a minifig answers 202 at once with the minifig; the `fetch_minifig` job fills in its
//! parts, pictures and prices while the page watches. A catalogue look-up answers from the
//! cache, or 202 with the job that fills it.

use app::{
    CatalogMinifig, CatalogPart, Color, Condition, ItemType, ListId, ListSummary, ListUpdate,
    Marketplace, MinifigId, MinifigList, MinifigQueued, MinifigUpdate, NewList, NewMinifig,
    PartUpdate, PartialMinifig, Prices, Queued, UserId, events::LiveEvent, minifigs,
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
        fetch_minifig::{self, FetchMinifig},
    },
    services::Services,
    state::AppState,
    store::{Store, minifigs::NewMinifig as NewRecord},
};

fn id(text: &str) -> Result<u64, ApiError> {
    text.parse().map_err(|_| ApiError::NotFound)
}

/// Fails unless `user` has a BrickLink connection that can be asked.
fn require_bricklink(state: &AppState, user: UserId) -> Result<(), ApiError> {
    let live = state
        .services
        .store
        .connections()
        .get(user, Marketplace::BrickLink)?
        .is_some_and(|c| c.status.is_usable());
    if live {
        Ok(())
    } else {
        Err(ApiError::NotConnected(
            "Connect BrickLink in Settings first: minifigures and their parts come from its \
             catalogue."
                .into(),
        ))
    }
}

fn decorated(store: &Store, mut minifig: PartialMinifig) -> PartialMinifig {
    fetch_minifig::decorate(&store.catalog().color_table(), &mut minifig);
    minifig
}

/// `GET /api/minifig-lists`.
pub async fn lists(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<ApiJson<Vec<ListSummary>>, ApiError> {
    Ok(ApiJson(
        state.services.store.minifigs().lists(current.user.id)?,
    ))
}

/// `POST /api/minifig-lists`.
pub async fn create_list(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(new): ApiJson<NewList>,
) -> Result<(StatusCode, ApiJson<ListSummary>), ApiError> {
    let name = minifigs::list_name(&new.name)?;
    let description = minifigs::text("description", new.description.as_deref(), true)?;
    let list = state
        .services
        .store
        .minifigs()
        .create_list(current.user.id, name, description)?;
    Ok((StatusCode::CREATED, ApiJson(list)))
}

/// `GET /api/minifig-lists/{id}`.
pub async fn get_list(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(list): Path<String>,
) -> Result<ApiJson<MinifigList>, ApiError> {
    let mut list = state
        .services
        .store
        .minifigs()
        .list(current.user.id, ListId(id(&list)?))?
        .ok_or(ApiError::NotFound)?;
    let colors = state.services.store.catalog().color_table();
    for minifig in &mut list.minifigs {
        fetch_minifig::decorate(&colors, minifig);
    }
    Ok(ApiJson(list))
}

/// `PUT /api/minifig-lists/{id}`.
pub async fn update_list(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(list): Path<String>,
    ApiJson(update): ApiJson<ListUpdate>,
) -> Result<ApiJson<ListSummary>, ApiError> {
    let name = update
        .name
        .as_deref()
        .map(minifigs::list_name)
        .transpose()?;
    let description = update
        .description
        .as_deref()
        .map(|d| minifigs::text("description", Some(d), true))
        .transpose()?;
    let list = state
        .services
        .store
        .minifigs()
        .update_list(
            current.user.id,
            ListId(id(&list)?),
            name.as_deref(),
            description.as_ref().map(Option::as_deref),
        )?
        .ok_or(ApiError::NotFound)?;
    Ok(ApiJson(list))
}

/// `DELETE /api/minifig-lists/{id}`.
pub async fn delete_list(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(list): Path<String>,
) -> Result<StatusCode, ApiError> {
    if state
        .services
        .store
        .minifigs()
        .delete_list(current.user.id, ListId(id(&list)?))?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}

/// `POST /api/minifig-lists/{id}/minifigs`: 202 with the new minifig and the job filling it.
pub async fn add_minifig(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(list): Path<String>,
    ApiJson(new): ApiJson<NewMinifig>,
) -> Result<(StatusCode, ApiJson<MinifigQueued>), ApiError> {
    let user = current.user.id;
    let list = ListId(id(&list)?);
    if !state.services.store.minifigs().has_list(user, list)? {
        return Err(ApiError::NotFound);
    }
    let record = NewRecord {
        bricklink_id: minifigs::bricklink_id(&new.bricklink_id)?,
        condition: new.condition.unwrap_or_default(),
        reference_id: minifigs::text("reference_id", new.reference_id.as_deref(), false)?,
        notes: minifigs::text("notes", new.notes.as_deref(), true)?,
    };
    require_bricklink(&state, user)?;
    let minifig = state
        .services
        .store
        .minifigs()
        .add_minifig(user, list, record)?
        .ok_or(ApiError::NotFound)?;
    let input = fetch_minifig::Input {
        user,
        no: minifig.bricklink_id.clone(),
        target: Some((list, minifig.id)),
    };
    let job = jobs::enqueue::<FetchMinifig>(&state.services.queue, &input).await?;
    let minifig = state
        .services
        .store
        .minifigs()
        .update_minifig(user, list, minifig.id, |m| m.job = Some(job.id))?
        .unwrap_or(minifig);
    Ok((
        StatusCode::ACCEPTED,
        ApiJson(MinifigQueued {
            minifig,
            job_id: job.id,
        }),
    ))
}

fn minifig_path(path: &(String, String)) -> Result<(ListId, MinifigId), ApiError> {
    Ok((ListId(id(&path.0)?), MinifigId(id(&path.1)?)))
}

/// `GET /api/minifig-lists/{id}/minifigs/{minifig_id}`.
pub async fn get_minifig(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(path): Path<(String, String)>,
) -> Result<ApiJson<PartialMinifig>, ApiError> {
    let (list, minifig) = minifig_path(&path)?;
    let minifig = state
        .services
        .store
        .minifigs()
        .minifig(current.user.id, list, minifig)?
        .ok_or(ApiError::NotFound)?;
    Ok(ApiJson(decorated(&state.services.store, minifig)))
}

/// `PUT /api/minifig-lists/{id}/minifigs/{minifig_id}`.
pub async fn update_minifig(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(path): Path<(String, String)>,
    ApiJson(update): ApiJson<MinifigUpdate>,
) -> Result<ApiJson<PartialMinifig>, ApiError> {
    let (list, minifig) = minifig_path(&path)?;
    let reference = update
        .reference_id
        .as_deref()
        .map(|r| minifigs::text("reference_id", Some(r), false))
        .transpose()?;
    let notes = update
        .notes
        .as_deref()
        .map(|n| minifigs::text("notes", Some(n), true))
        .transpose()?;
    let mut refetch = false;
    let updated = state
        .services
        .store
        .minifigs()
        .update_minifig(current.user.id, list, minifig, |m| {
            if let Some(reference) = &reference {
                m.reference_id.clone_from(reference);
            }
            if let Some(notes) = &notes {
                m.notes.clone_from(notes);
            }
            if let Some(condition) = update.condition {
                m.condition = condition;
                // Only the guides shown were asked for: this condition may need its own.
                refetch = !m.prices.as_ref().is_some_and(|p| p.has(condition));
                if refetch {
                    m.fetch = app::FetchState::Loading { done: 0, total: 0 };
                }
            }
        })?
        .ok_or(ApiError::NotFound)?;
    if refetch {
        let input = fetch_minifig::Input {
            user: current.user.id,
            no: updated.bricklink_id.clone(),
            target: Some((list, minifig)),
        };
        jobs::enqueue::<FetchMinifig>(&state.services.queue, &input).await?;
    }
    Ok(ApiJson(decorated(&state.services.store, updated)))
}

/// `DELETE /api/minifig-lists/{id}/minifigs/{minifig_id}`.
pub async fn delete_minifig(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(path): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let (list, minifig) = minifig_path(&path)?;
    if state
        .services
        .store
        .minifigs()
        .delete_minifig(current.user.id, list, minifig)?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}

/// `PUT .../parts/{part_id}`: collected, needed, colour, condition. A new colour clears the
/// part's prices and queues the fetch of that colour's picture and prices; a condition whose
/// price guide was not asked for yet queues that.
pub async fn update_part(
    State(state): State<AppState>,
    current: CurrentUser,
    Path((list, minifig, part)): Path<(String, String, String)>,
    ApiJson(update): ApiJson<PartUpdate>,
) -> Result<ApiJson<PartialMinifig>, ApiError> {
    let user = current.user.id;
    let (list, minifig) = minifig_path(&(list, minifig))?;
    let part = u32::try_from(id(&part)?).map_err(|_| ApiError::NotFound)?;
    for (field, value) in [
        ("quantity_collected", update.quantity_collected),
        ("quantity_needed", update.quantity_needed),
    ] {
        if value.is_some_and(|v| v > 9_999) {
            return Err(app::validate::InvalidInput::new(field, "At most 9,999 pieces.").into());
        }
    }
    if update.color_id.is_some_and(|c| !(0..=10_000).contains(&c)) {
        return Err(app::validate::InvalidInput::new("color_id", "Not a BrickLink colour.").into());
    }
    if update.color_id.is_some() {
        // A new colour needs its prices fetched again: check the connection before changing it.
        require_bricklink(&state, user)?;
    }
    let mut found = false;
    let mut refetch = false;
    let updated = state
        .services
        .store
        .minifigs()
        .update_minifig(user, list, minifig, |m| {
            found = false;
            refetch = false;
            let Some(row) = m.parts.iter_mut().find(|p| p.id == part) else {
                return;
            };
            found = true;
            if let Some(needed) = update.quantity_needed {
                row.quantity_needed = needed;
            }
            if let Some(collected) = update.quantity_collected {
                row.quantity_collected = collected;
            }
            row.quantity_collected = row.quantity_collected.min(row.quantity_needed);
            if let Some(condition) = update.condition {
                row.condition = condition;
                // Only the guides shown were asked for: another condition may need its own.
                refetch |= !row.prices.as_ref().is_some_and(|p| p.has(condition));
            }
            if let Some(color) = update.color_id
                && color != row.color_id
            {
                row.color_id = color;
                row.prices = None;
                row.image = app::routes::image(&row.item_type, &row.item_no, color);
                refetch = true;
            }
            if refetch {
                // Loading until the fetch queued below has the new colour's prices, so a page
                // never shows the minifig finished without them.
                m.fetch = app::FetchState::Loading { done: 0, total: 0 };
            }
        })?
        .ok_or(ApiError::NotFound)?;
    if !found {
        return Err(ApiError::NotFound);
    }
    if refetch {
        let input = fetch_minifig::Input {
            user,
            no: updated.bricklink_id.clone(),
            target: Some((list, minifig)),
        };
        jobs::enqueue::<FetchMinifig>(&state.services.queue, &input).await?;
    }
    let updated = decorated(&state.services.store, updated);
    state
        .services
        .events
        .publish(user, LiveEvent::Minifig(Box::new(updated.clone())));
    Ok(ApiJson(updated))
}

/// `GET /api/catalog/colors`.
pub async fn colors(
    State(state): State<AppState>,
    _current: CurrentUser,
) -> Result<ApiJson<Vec<Color>>, ApiError> {
    Ok(ApiJson(state.services.store.catalog().colors()))
}

/// `GET /api/catalog/minifigs/{no}`: 200 with everything when cached, else 202 with the job
/// fetching it (watch it on `/api/events`, then ask again).
pub async fn catalog_minifig(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(no): Path<String>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse as _;
    let user = current.user.id;
    let no = minifigs::bricklink_id(&no)?;
    if let Some(found) = cached_minifig(&state.services, user, &no).await {
        return Ok(ApiJson(found).into_response());
    }
    require_bricklink(&state, user)?;
    let job = jobs::enqueue::<FetchMinifig>(
        &state.services.queue,
        &fetch_minifig::Input {
            user,
            no,
            target: None,
        },
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        ApiJson(Queued {
            job_ids: vec![job.id],
        }),
    )
        .into_response())
}

/// The look-up from the cache alone; `None` when anything is missing.
async fn cached_minifig(services: &Services, user: UserId, no: &str) -> Option<CatalogMinifig> {
    let catalog = &services.catalog;
    let item = catalog.peek_item(ItemType::Minifig.as_str(), no).await?;
    let subsets = catalog.peek_subsets(&item.no).await?;
    // A look-up shows both conditions: both guides must be cached.
    let both = |p: &Prices| p.has(Condition::New) && p.has(Condition::Used);
    let prices: Prices = catalog
        .peek_prices(user, ItemType::Minifig.as_str(), &item.no, 0)
        .await
        .filter(both)?;
    let colors = services.store.catalog().color_table();
    let mut parts = Vec::with_capacity(subsets.len());
    for part in subsets {
        let prices = catalog
            .peek_prices(user, &part.kind, &part.no, part.color_id)
            .await
            .filter(both)?;
        let color = colors.get(&part.color_id);
        parts.push(CatalogPart {
            image: app::routes::image(&part.kind, &part.no, part.color_id),
            item_type: part.kind,
            item_no: part.no,
            name: part.name,
            color_id: part.color_id,
            color_name: color.map(|c| c.name.clone()),
            color_code: color.and_then(|c| c.code.clone()),
            quantity: part.quantity,
            prices,
        });
    }
    Some(CatalogMinifig {
        image: app::routes::image(ItemType::Minifig.as_str(), &item.no, 0),
        no: item.no,
        name: item.name,
        year_released: item.year_released,
        prices,
        parts,
    })
}
