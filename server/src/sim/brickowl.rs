//! Simulated BrickOwl API v1: the key in the query (GET) or form body (POST), bare JSON with
//! string-typed numbers and unix-time strings, `[]` for an empty object, failures as HTTP
//! statuses, and 600 requests a minute per key.

use std::time::{Duration, Instant};

use axum::{
    Form, Json, Router,
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::{Value, json};

use super::{Side, Sim, data};

pub fn router() -> Router<Sim> {
    Router::new()
        .route("/order/list", get(list))
        .route("/order/view", get(view))
        .route("/order/items", get(items))
        .route("/order/set_status", post(set_status))
        .route("/order/tracking", post(tracking))
        .route("/catalog/lookup", get(lookup))
        .route("/catalog/id_lookup", get(id_lookup))
        .route("/catalog/color_list", get(color_list))
}

pub(super) type Args = Vec<(String, String)>;

const PER_MINUTE: usize = 600;
const STATUSES: &[&str] = &[
    "Pending",
    "Payment Submitted",
    "Payment Received",
    "Processing",
    "Processed",
    "Shipped",
    "Received",
    "On Hold",
    "Cancelled",
];

pub(super) fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": {"status": message}}))).into_response()
}

pub(super) fn arg<'a>(args: &'a Args, name: &str) -> Option<&'a str> {
    args.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The account the key belongs to, within its rate.
#[allow(clippy::result_large_err)] // The error is the answer to send.
pub(super) fn authenticate(sim: &Sim, args: &Args) -> Result<usize, Response> {
    if sim.faults(Side::BrickOwl).reject_auth {
        return Err(error(StatusCode::UNAUTHORIZED, "Invalid API Key"));
    }
    let key = arg(args, "key").ok_or_else(|| error(StatusCode::UNAUTHORIZED, "Missing API Key"))?;
    let mut world = sim.world();
    let index = world
        .accounts
        .iter()
        .position(|a| a.brickowl_key == key)
        .ok_or_else(|| error(StatusCode::UNAUTHORIZED, "Invalid API Key"))?;
    let minute = &mut world.accounts[index].brickowl_minute;
    let now = Instant::now();
    while minute
        .front()
        .is_some_and(|t| now.duration_since(*t) > Duration::from_secs(60))
    {
        minute.pop_front();
    }
    if minute.len() >= PER_MINUTE {
        return Err(error(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded"));
    }
    minute.push_back(now);
    Ok(index)
}

pub(super) fn money(units: i64) -> String {
    // BrickOwl prints two or three decimals.
    let text = app::Money(units).to_wire();
    text.strip_suffix('0').unwrap_or(&text).to_owned()
}

fn status_id(order: &data::Order) -> usize {
    order.status.parse().unwrap_or(0)
}

fn summary(order: &data::Order) -> Value {
    let id = status_id(order);
    json!({
        "order_id": order.id.to_string(),
        "order_date": order.ordered.unix_timestamp().to_string(),
        "updated_time": order.changed.unix_timestamp().to_string(),
        "total_quantity": order.total_count().to_string(),
        "total_lots": order.unique_count().to_string(),
        "base_order_total": money(order.grand_total()),
        "status": STATUSES.get(id).copied().unwrap_or("Pending"),
        "status_id": id.to_string(),
    })
}

fn view_json(order: &data::Order, store_id: i64) -> Value {
    let mut value = summary(order);
    let country = if order.country == "UK" {
        "GB"
    } else {
        order.country
    };
    let extra = json!({
        "order_time": order.ordered.unix_timestamp().to_string(),
        "processed_time": order.changed.unix_timestamp().to_string(),
        "store_id": store_id.to_string(),
        "ship_method_name": "International Post",
        "ship_total": money(order.shipping),
        "base_currency": order.currency,
        "payment_currency": order.currency,
        "payment_total": money(order.grand_total()),
        "sub_total": money(order.subtotal()),
        "tax_rate": format!("{}.{:02}", order.vat / 100, order.vat % 100),
        "tax_amount": money(order.vat_amount()),
        "affiliate_fee": 0.15425,
        "tracking_number": order.tracking,
        "buyer_name": format!("{} Buyer", order.buyer),
        "customer_email": order.buyer_email,
        "customer_username": order.buyer,
        "buyer_note": "",
        "combine_with": null,
        "ship_first_name": order.buyer, "ship_last_name": "Buyer",
        "ship_street_1": "1 Brick Lane", "ship_street_2": "", "ship_city": "Springfield",
        "ship_region": "", "ship_post_code": "12345", "ship_country_code": country,
        "notices": [],
    });
    if let (Some(target), Some(extra)) = (value.as_object_mut(), extra.as_object()) {
        target.extend(extra.clone());
        target.remove("order_date");
    }
    value
}

pub(super) fn boid(no: &str, color: i64) -> String {
    let mut hash = 7u64;
    for byte in no.bytes() {
        hash = hash.wrapping_mul(31).wrapping_add(u64::from(byte));
    }
    let base = 100_000 + hash % 800_000;
    if color == 0 {
        base.to_string()
    } else {
        format!("{base}-{color}")
    }
}

async fn list(State(sim): State<Sim>, Query(args): Query<Args>) -> Response {
    let account = match authenticate(&sim, &args) {
        Ok(a) => a,
        Err(e) => return e,
    };
    if arg(&args, "list_type") == Some("customer") {
        return Json(json!([])).into_response();
    }
    let since: i64 = arg(&args, "order_time")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let limit: usize = arg(&args, "limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(500)
        .min(5_000);
    let status = arg(&args, "status").map(|s| {
        s.parse::<usize>()
            .ok()
            .or_else(|| STATUSES.iter().position(|n| n.eq_ignore_ascii_case(s)))
    });
    if status == Some(None) {
        return error(StatusCode::BAD_REQUEST, "Invalid status");
    }
    let by_updated = arg(&args, "sort_by") == Some("updated");
    let world = sim.world();
    let mut orders: Vec<&data::Order> = world.accounts[account]
        .brickowl_orders
        .values()
        .filter(|o| status.flatten().is_none_or(|s| status_id(o) == s))
        .filter(|o| if by_updated { o.changed } else { o.ordered }.unix_timestamp() >= since)
        .collect();
    orders.sort_by_key(|o| std::cmp::Reverse(if by_updated { o.changed } else { o.ordered }));
    Json(Value::Array(
        orders.into_iter().take(limit).map(summary).collect(),
    ))
    .into_response()
}

fn find<'a>(world: &'a super::World, account: usize, args: &Args) -> Option<&'a data::Order> {
    let id: i64 = arg(args, "order_id")?.parse().ok()?;
    world.accounts[account].brickowl_orders.get(&id)
}

async fn view(State(sim): State<Sim>, Query(args): Query<Args>) -> Response {
    let account = match authenticate(&sim, &args) {
        Ok(a) => a,
        Err(e) => return e,
    };
    let world = sim.world();
    match find(&world, account, &args) {
        Some(order) => Json(view_json(order, world.accounts[account].store_id)).into_response(),
        None => error(StatusCode::NOT_FOUND, "Order not found"),
    }
}

async fn items(State(sim): State<Sim>, Query(args): Query<Args>) -> Response {
    let account = match authenticate(&sim, &args) {
        Ok(a) => a,
        Err(e) => return e,
    };
    let world = sim.world();
    let Some(order) = find(&world, account, &args) else {
        return error(StatusCode::NOT_FOUND, "Order not found");
    };
    let lines: Vec<Value> = order
        .lines()
        .map(|line| {
            let boid = boid(line.no, line.color_id);
            let color = data::color(line.color_id);
            json!({
                "image_small": format!("//img.brickowl.example/files/image_cache/small/{boid}.png"),
                "condition": if line.new { "New" } else { "Used" },
                "name": format!("LEGO {} ({})", line.name, line.no),
                "boid": boid,
                "personal_note": line.remarks,
                "public_note": "",
                "bl_lot_id": line.bl_lot_id.map(|id| id.to_string()),
                // PHP's empty object is an empty list.
                "external_lot_ids": match line.bl_lot_id { Some(id) => json!({"other": id.to_string()}), None => json!([]) },
                "remaining_quantity": "10",
                "weight": "0.260",
                "ordered_quantity": line.quantity.to_string(),
                "order_item_id": line.inventory_id.to_string(),
                "base_price": money(line.unit_price),
                "color_name": color.map(|c| c.name),
                "color_id": color.map(|c| c.id.to_string()),
                "lot_id": line.inventory_id.to_string(),
                "ids": [{"id": line.no, "type": "design_id"}, {"id": boid, "type": "boid"}],
            })
        })
        .collect();
    Json(Value::Array(lines)).into_response()
}

async fn set_status(State(sim): State<Sim>, Form(args): Form<Args>) -> Response {
    let account = match authenticate(&sim, &args) {
        Ok(a) => a,
        Err(e) => return e,
    };
    let Some(status) = arg(&args, "status_id").and_then(|s| s.parse::<usize>().ok()) else {
        return error(StatusCode::BAD_REQUEST, "Invalid status_id");
    };
    if !(1..=7).contains(&status) {
        return error(
            StatusCode::BAD_REQUEST,
            "This status cannot be set through the API",
        );
    }
    let id: Option<i64> = arg(&args, "order_id").and_then(|i| i.parse().ok());
    let mut world = sim.world();
    let Some(order) = id.and_then(|id| world.accounts[account].brickowl_orders.get_mut(&id)) else {
        return error(StatusCode::NOT_FOUND, "Order not found");
    };
    order.status = status.to_string();
    order.changed = time::OffsetDateTime::now_utc();
    Json(json!({"status": "success"})).into_response()
}

async fn tracking(State(sim): State<Sim>, Form(args): Form<Args>) -> Response {
    let account = match authenticate(&sim, &args) {
        Ok(a) => a,
        Err(e) => return e,
    };
    let Some(tracking) = arg(&args, "tracking_id").filter(|t| !t.is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "Missing tracking_id");
    };
    let id: Option<i64> = arg(&args, "order_id").and_then(|i| i.parse().ok());
    let mut world = sim.world();
    let Some(order) = id.and_then(|id| world.accounts[account].brickowl_orders.get_mut(&id)) else {
        return error(StatusCode::NOT_FOUND, "Order not found");
    };
    order.tracking = Some(tracking.to_owned());
    order.changed = time::OffsetDateTime::now_utc();
    Json(json!({"status": "success"})).into_response()
}

async fn lookup(State(sim): State<Sim>, Query(args): Query<Args>) -> Response {
    if let Err(e) = authenticate(&sim, &args) {
        return e;
    }
    let wanted = arg(&args, "boid").unwrap_or_default();
    let colors = || std::iter::once(0).chain(data::COLORS.iter().map(|c| c.id));
    let found = data::PARTS
        .iter()
        .flat_map(|p| colors().map(move |c| (p, c)))
        .chain(data::MINIFIGS.iter().map(|m| (&m.item, 0)))
        .find(|(item, color)| boid(item.no, data::brickowl_color(*color)) == wanted);
    let Some((item, color)) = found else {
        return error(StatusCode::NOT_FOUND, "Item not found");
    };
    let kind = if item.kind == "MINIFIG" {
        "Minifigure"
    } else {
        "Part"
    };
    let color = data::color(color);
    Json(json!({
        "boid": wanted, "type": kind,
        "ids": [{"id": item.no, "type": "bl_item_no"}, {"id": wanted, "type": "boid"}],
        "name": format!("LEGO {} ({})", item.name, item.no),
        "url": format!("https://www.brickowl.example/catalog/{}", item.no),
        "permalink": format!("https://www.brickowl.example/boid/{wanted}"),
        "cheapest_gbp": "0.01",
        "color_name": color.map(|c| c.name),
        "color_id": color.map(|c| data::brickowl_color(c.id).to_string()),
        "color_hex": color.map(|c| c.hex.to_ascii_lowercase()),
        "cat_name_path": "Parts", "missing_data": "0",
        "images": [],
    }))
    .into_response()
}

async fn id_lookup(State(sim): State<Sim>, Query(args): Query<Args>) -> Response {
    if let Err(e) = authenticate(&sim, &args) {
        return e;
    }
    let (Some(id), Some(kind)) = (arg(&args, "id"), arg(&args, "type")) else {
        return error(StatusCode::BAD_REQUEST, "id and type are required");
    };
    let item = match kind {
        "Part" => data::find_item("PART", id),
        "Minifigure" => data::find_item("MINIFIG", id),
        _ => return error(StatusCode::BAD_REQUEST, "Invalid type"),
    };
    let Some(item) = item else {
        return Json(json!({"boids": []})).into_response();
    };
    // Every coloured BOID of the part, then the uncoloured base (as BrickOwl answers).
    let mut boids: Vec<String> = if item.kind == "PART" {
        data::COLORS
            .iter()
            .map(|c| boid(item.no, data::brickowl_color(c.id)))
            .collect()
    } else {
        Vec::new()
    };
    boids.push(boid(item.no, 0));
    Json(json!({"boids": boids})).into_response()
}

/// `catalog/color_list`: an object keyed by BrickOwl colour id, each naming the BrickLink ids
/// of the colour (`bl_ids`, strings).
async fn color_list(State(sim): State<Sim>, Query(args): Query<Args>) -> Response {
    if let Err(e) = authenticate(&sim, &args) {
        return e;
    }
    let colors: serde_json::Map<String, serde_json::Value> = data::COLORS
        .iter()
        .map(|c| {
            let id = data::brickowl_color(c.id).to_string();
            let entry = json!({
                "id": id, "name": c.name, "hex": c.hex,
                "bl_ids": [c.id.to_string()], "ldraw_ids": [],
            });
            (id, entry)
        })
        .collect();
    Json(serde_json::Value::Object(colors)).into_response()
}
