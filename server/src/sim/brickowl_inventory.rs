//! Simulated BrickOwl store inventory: `GET inventory/list` (filters `type`, `active_only`
//! (default 1: for sale with pieces), `lot_id`, `external_id_1`), `POST inventory/update` (one
//! identifier, `absolute_quantity` or `relative_quantity`, `price`, `for_sale`,
//! `personal_note`, `public_note`) and `POST bulk/batch` (up to 50 requests in one).

use axum::{
    Form, Json, Router,
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::{Value, json};

use super::{
    Sim,
    brickowl::{Args, arg, authenticate, boid, error, money},
    inventory::OwlLot,
};

pub fn router() -> Router<Sim> {
    Router::new()
        .route("/inventory/list", get(list))
        .route("/inventory/update", post(update))
        .route("/bulk/batch", post(batch))
}

/// Requests one batch may carry.
const BATCH_LIMIT: usize = 50;

fn kind(lot: &OwlLot) -> &'static str {
    if lot.kind == "MINIFIG" {
        "Minifigure"
    } else {
        "Part"
    }
}

fn lot_json(lot: &OwlLot) -> Value {
    // The lot keeps BrickLink's colour for the tests; BrickOwl says its own.
    let color = super::data::brickowl_color(lot.color_id);
    let id = boid(lot.no, color);
    json!({
        "lot_id": lot.id.to_string(),
        "boid": id,
        "type": kind(lot),
        "name": format!("LEGO {} ({})", lot.name, lot.no),
        "color_id": color.to_string(),
        "con": lot.condition,
        "full_con": lot.condition,
        "quantity": lot.quantity.to_string(),
        "price": money(lot.price),
        "for_sale": if lot.for_sale { "1" } else { "0" },
        "personal_note": lot.personal_note,
        "public_note": lot.public_note,
        // BrickOwl writes an empty object as [].
        "external_lot_ids": match lot.external_id {
            Some(id) => json!({"other": id.to_string()}),
            None => json!([]),
        },
        "ids": [{"id": lot.no, "type": "bl_item_no"}, {"id": id, "type": "boid"}],
    })
}

async fn list(State(sim): State<Sim>, Query(args): Query<Args>) -> Response {
    let account = match authenticate(&sim, &args) {
        Ok(a) => a,
        Err(e) => return e,
    };
    let active_only = match arg(&args, "active_only") {
        None | Some("1") => true,
        Some("0") => false,
        Some(_) => return error(StatusCode::BAD_REQUEST, "active_only must be 0 or 1"),
    };
    let wanted_type = arg(&args, "type");
    let lot_id: Option<i64> = arg(&args, "lot_id").and_then(|v| v.parse().ok());
    let external: Option<i64> = arg(&args, "external_id_1").and_then(|v| v.parse().ok());
    let world = sim.world();
    let lots: Vec<Value> = world.accounts[account]
        .brickowl_lots
        .values()
        .filter(|l| !active_only || (l.for_sale && l.quantity > 0))
        .filter(|l| wanted_type.is_none_or(|t| t.eq_ignore_ascii_case(kind(l))))
        .filter(|l| lot_id.is_none_or(|id| l.id == id))
        .filter(|l| external.is_none_or(|id| l.external_id == Some(id)))
        .map(lot_json)
        .collect();
    Json(Value::Array(lots)).into_response()
}

/// Applies one `inventory/update` to the account's lots: `Ok` or the refusal's status and
/// words.
fn apply(sim: &Sim, account: usize, args: &Args) -> Result<(), (StatusCode, String)> {
    let bad = |why: &str| (StatusCode::BAD_REQUEST, why.to_owned());
    let number = |name: &str| -> Result<Option<i64>, (StatusCode, String)> {
        arg(args, name)
            .map(|v| {
                v.trim()
                    .parse::<i64>()
                    .map_err(|_| bad(&format!("{name} must be a whole number")))
            })
            .transpose()
    };
    let (lot_id, external) = (number("lot_id")?, number("external_id")?);
    if lot_id.is_some() == external.is_some() {
        return Err(bad("Pass exactly one of lot_id and external_id"));
    }
    let (absolute, relative) = (number("absolute_quantity")?, number("relative_quantity")?);
    if absolute.is_some() && relative.is_some() {
        return Err(bad("Pass absolute_quantity or relative_quantity, not both"));
    }
    let price = arg(args, "price")
        .map(|p| {
            app::Money::parse(p)
                .ok()
                .filter(|m| m.0 > 0)
                .ok_or_else(|| bad("price must be a positive number"))
        })
        .transpose()?;
    let for_sale = match arg(args, "for_sale") {
        None => None,
        Some("1") => Some(true),
        Some("0") => Some(false),
        Some(_) => return Err(bad("for_sale must be 0 or 1")),
    };
    let mut world = sim.world();
    let account = &mut world.accounts[account];
    let lot = account
        .brickowl_lots
        .values_mut()
        .find(|l| Some(l.id) == lot_id || (external.is_some() && l.external_id == external))
        .ok_or((StatusCode::NOT_FOUND, "Lot not found".to_owned()))?;
    let quantity = match (absolute, relative) {
        (Some(n), _) => n,
        (_, Some(d)) => lot.quantity + d,
        _ => lot.quantity,
    };
    if quantity < 0 {
        return Err(bad("The quantity cannot drop below 0"));
    }
    lot.quantity = quantity;
    if let Some(price) = price {
        lot.price = price.0;
    }
    if let Some(for_sale) = for_sale {
        lot.for_sale = for_sale;
    }
    if let Some(note) = arg(args, "personal_note") {
        lot.personal_note = note.to_owned();
    }
    if let Some(note) = arg(args, "public_note") {
        lot.public_note = note.to_owned();
    }
    let mut said: Vec<String> = args
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "key" | "lot_id" | "external_id"))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    said.sort();
    let entry = format!("BO {} {}", lot.id, said.join(" "));
    account.inventory_writes.push(entry);
    Ok(())
}

async fn update(State(sim): State<Sim>, Form(args): Form<Args>) -> Response {
    let account = match authenticate(&sim, &args) {
        Ok(a) => a,
        Err(e) => return e,
    };
    match apply(&sim, account, &args) {
        Ok(()) => Json(json!({"status": "success"})).into_response(),
        Err((status, why)) => error(status, &why),
    }
}

/// `bulk/batch`: `requests` is `{"requests": [{"endpoint", "request_method", "params":
/// [{...}]}]}`; each answered in order, as its own call would be.
async fn batch(State(sim): State<Sim>, Form(args): Form<Args>) -> Response {
    let account = match authenticate(&sim, &args) {
        Ok(a) => a,
        Err(e) => return e,
    };
    let Some(requests) = arg(&args, "requests")
        .and_then(|r| serde_json::from_str::<Value>(r).ok())
        .and_then(|r| r["requests"].as_array().cloned())
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "requests must be JSON with a requests array",
        );
    };
    if requests.len() > BATCH_LIMIT {
        return error(StatusCode::BAD_REQUEST, "At most 50 requests in one batch");
    }
    let answers: Vec<Value> = requests
        .iter()
        .map(|request| {
            let endpoint = request["endpoint"].as_str().unwrap_or_default();
            let method = request["request_method"].as_str().unwrap_or_default();
            if (endpoint, method) != ("inventory/update", "POST") {
                return json!({"error": {"status": "Only inventory/update is simulated in a batch"}});
            }
            let params: Args = request["params"][0]
                .as_object()
                .map(|p| {
                    p.iter()
                        .map(|(k, v)| {
                            let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                            (k.clone(), text)
                        })
                        .collect()
                })
                .unwrap_or_default();
            match apply(&sim, account, &params) {
                Ok(()) => json!({"status": "success"}),
                Err((_, why)) => json!({"error": {"status": why}}),
            }
        })
        .collect();
    Json(Value::Array(answers)).into_response()
}
