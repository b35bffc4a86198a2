//! Simulated BrickLink store inventory: `GET /inventories` (the whole store in one answer,
//! filtered by type, status and colour, each a comma list with `-` to exclude), and
//! `GET`/`PUT`/`DELETE /inventories/{id}`. A `PUT` quantity is a signed change (`"+3"`,
//! `"-1"`), other fields are absolute; a lot at 0 outside a stockroom is refused.

use axum::{
    Router,
    body::Bytes,
    extract::{Path, Query, State},
    response::Response,
    routing::get,
};
use serde_json::{Value, json};

use super::{
    ListFilter as Filter, Sim,
    bricklink::{Caller, body_json, envelope, invalid, money, not_found, ok, stamp},
    data,
    inventory::{self, Change, Lot, Refused},
};

pub fn router() -> Router<Sim> {
    Router::new()
        .route("/inventories", get(list))
        .route("/inventories/{id}", get(one).put(update).delete(remove))
}

fn lot_json(lot: &Lot) -> Value {
    let tier = |n: usize| lot.tiers.get(n).copied().unwrap_or((0, 0));
    let mut value = json!({
        "inventory_id": lot.id,
        "item": {"no": lot.no, "name": lot.name, "type": lot.kind, "category_id": lot.category_id},
        "color_id": lot.color_id,
        "quantity": lot.quantity,
        "new_or_used": if lot.new { "N" } else { "U" },
        "unit_price": money(lot.unit_price),
        "bind_id": 0,
        "description": lot.description,
        "remarks": lot.remarks,
        "bulk": 1,
        "is_retain": false,
        "is_stock_room": lot.stockroom,
        "date_created": stamp(lot.created),
        "my_cost": money(lot.my_cost),
        "sale_rate": 0,
        "tier_quantity1": tier(0).0, "tier_price1": money(tier(0).1),
        "tier_quantity2": tier(1).0, "tier_price2": money(tier(1).1),
        "tier_quantity3": tier(2).0, "tier_price3": money(tier(2).1),
        "my_weight": money(0),
    });
    if let Some(color) = data::color(lot.color_id) {
        value["color_name"] = json!(color.name);
    }
    if lot.stockroom {
        value["stock_room_id"] = json!("A");
    }
    value
}

async fn list(
    State(sim): State<Sim>,
    caller: Caller,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let arg = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let kinds = Filter::parse(arg("item_type"));
    let statuses = Filter::parse(arg("status"));
    let colors = Filter::parse(arg("color_id"));
    if statuses
        .include
        .iter()
        .chain(&statuses.exclude)
        .any(|s| !matches!(s.as_str(), "Y" | "S" | "B" | "C" | "N" | "R"))
    {
        return invalid("status must be Y, S, B, C, N or R");
    }
    let world = sim.world();
    let lots: Vec<Value> = world.accounts[caller.account]
        .bricklink_lots
        .values()
        .filter(|l| kinds.admits(l.kind))
        .filter(|l| statuses.admits(if l.stockroom { "S" } else { "Y" }))
        .filter(|l| colors.admits(&l.color_id.to_string()))
        .map(lot_json)
        .collect();
    ok(Value::Array(lots))
}

fn lot_id(id: &str) -> Option<i64> {
    id.parse().ok()
}

async fn one(State(sim): State<Sim>, caller: Caller, Path(id): Path<String>) -> Response {
    let world = sim.world();
    match lot_id(&id).and_then(|id| world.accounts[caller.account].bricklink_lots.get(&id)) {
        Some(lot) => ok(lot_json(lot)),
        None => not_found(),
    }
}

/// The change a `PUT` body asks for.
fn change(body: &Value) -> Result<Change, String> {
    let quantity = match &body["quantity"] {
        Value::Null => None,
        Value::String(text) => {
            let signed = text.starts_with('+') || text.starts_with('-');
            let n: i64 = text
                .trim_start_matches('+')
                .parse()
                .map_err(|_| format!("quantity {text:?} is not a signed number"))?;
            if !signed && n != 0 {
                return Err("quantity is a change: \"+3\" or \"-1\"".into());
            }
            Some(n)
        }
        Value::Number(n) => Some(n.as_i64().ok_or("quantity is not a whole number")?),
        _ => return Err("quantity must be a string like \"+3\"".into()),
    };
    let unit_price = match &body["unit_price"] {
        Value::Null => None,
        Value::String(text) => Some(
            app::Money::parse(text)
                .map_err(|_| format!("unit_price {text:?} is not a price"))?
                .0,
        ),
        _ => return Err("unit_price must be a string like \"0.2500\"".into()),
    };
    let text = |name: &str| body[name].as_str().map(str::to_owned);
    Ok(Change {
        quantity,
        unit_price,
        remarks: text("remarks"),
        description: text("description"),
        stockroom: body["is_stock_room"].as_bool(),
    })
}

async fn update(
    State(sim): State<Sim>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Some(body) = body_json(&body) else {
        return invalid("The body is not JSON.");
    };
    let change = match change(&body) {
        Ok(change) => change,
        Err(reason) => return invalid(&reason),
    };
    let mut world = sim.world();
    let account = &mut world.accounts[caller.account];
    let Some(lot) = lot_id(&id).and_then(|id| account.bricklink_lots.get_mut(&id)) else {
        return not_found();
    };
    match inventory::apply(lot, &change) {
        Ok(()) => {
            let answer = ok(lot_json(lot));
            account
                .inventory_writes
                .push(format!("BL PUT {id} {}", body_sorted(&body)));
            answer
        }
        Err(Refused::Negative) => invalid("The quantity cannot drop below 0."),
        Err(Refused::ZeroOutsideStockroom) => envelope(
            400,
            "RESOURCE_UPDATE_NOT_ALLOWED",
            "Lot's quantity cannot be 0 without being in stockroom",
            None,
        ),
    }
}

async fn remove(State(sim): State<Sim>, caller: Caller, Path(id): Path<String>) -> Response {
    let mut world = sim.world();
    let account = &mut world.accounts[caller.account];
    match lot_id(&id).and_then(|id| account.bricklink_lots.remove(&id)) {
        Some(_) => {
            account.inventory_writes.push(format!("BL DELETE {id}"));
            envelope(204, "OK", "OK", None)
        }
        None => not_found(),
    }
}

/// A JSON body with its keys in order, for the journal.
fn body_sorted(body: &Value) -> String {
    let sorted: std::collections::BTreeMap<&String, &Value> = body
        .as_object()
        .map(|o| o.iter().collect())
        .unwrap_or_default();
    serde_json::to_string(&sorted).unwrap_or_default()
}
