//! Simulated BrickLink Store API v1: HTTP 200 with a `{meta, data}` envelope for every
//! API-level outcome, errors without `data`, money as four-decimal strings, nulls omitted,
//! `UK` for the United Kingdom, items in batches, protocol-relative image URLs.

// Refusals are the answers to send; boxing them would only add noise to a simulator.
#![allow(clippy::result_large_err)]

use std::net::SocketAddr;

use axum::{
    Json, Router,
    body::Bytes,
    extract::{ConnectInfo, FromRequestParts, OriginalUri, Path, Query, State},
    http::{HeaderMap, request::Parts},
    response::{IntoResponse, Response},
    routing::{get, put},
};
use serde_json::{Value, json};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use super::{Sim, data, lock, oauth};

pub fn router() -> Router<Sim> {
    Router::new()
        .route("/orders", get(orders))
        .route("/orders/{id}", get(order).put(update_order))
        .route("/orders/{id}/items", get(items))
        .route("/orders/{id}/status", put(update_status))
        .route("/orders/{id}/payment_status", put(update_payment))
        .route("/notifications", get(notifications))
        .route("/items/{kind}/{no}", get(item))
        .route("/items/{kind}/{no}/images/{color}", get(image))
        .route("/items/{kind}/{no}/subsets", get(subsets))
        .route("/items/{kind}/{no}/price", get(price))
        .route("/colors", get(colors))
        .route("/colors/{id}", get(color))
}

pub(super) fn envelope(
    code: i64,
    message: &str,
    description: &str,
    data: Option<Value>,
) -> Response {
    let meta = json!({"description": description, "message": message, "code": code});
    let body = match data {
        Some(data) => json!({"meta": meta, "data": data}),
        None => json!({"meta": meta}),
    };
    Json(body).into_response()
}

pub(super) fn ok(data: Value) -> Response {
    envelope(200, "OK", "OK", Some(data))
}

pub(super) fn not_found() -> Response {
    envelope(
        404,
        "RESOURCE_NOT_FOUND",
        "The resource you requested does not exist.",
        None,
    )
}

pub(super) fn invalid(description: &str) -> Response {
    envelope(400, "PARAMETER_MISSING_OR_INVALID", description, None)
}

pub(super) fn money(units: i64) -> String {
    app::Money(units).to_wire()
}

pub(super) fn stamp(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// The caller, authenticated: which account it is.
pub struct Caller {
    pub(super) account: usize,
    host: String,
}

impl FromRequestParts<Sim> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, sim: &Sim) -> Result<Self, Response> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(std::net::IpAddr::from([127, 0, 0, 1]), |c| c.0.ip());
        let uri = parts
            .extensions
            .get::<OriginalUri>()
            .map_or_else(|| parts.uri.clone(), |o| o.0.clone());
        let host = header(&parts.headers, "host")
            .unwrap_or("localhost")
            .to_owned();
        let refused = |description: String| envelope(401, "BAD_OAUTH_REQUEST", &description, None);
        if sim.faults(super::Side::BrickLink).reject_auth {
            return Err(refused("SIGNATURE_INVALID: Invalid Signature".into()));
        }
        let query: Vec<(String, String)> =
            url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
                .into_owned()
                .collect();
        let presented = match header(&parts.headers, "authorization") {
            Some(value) => oauth::from_header(value),
            None => query
                .iter()
                .find(|(k, _)| k == "Authorization")
                .and_then(|(_, v)| oauth::from_query_json(v)),
        }
        .ok_or_else(|| refused("No OAuth credentials were sent.".into()))?;
        let issued: Vec<oauth::Issued> = sim
            .world()
            .accounts
            .iter()
            .map(|a| a.issued.clone())
            .collect();
        let base_uri = format!("http://{host}{}", uri.path());
        let now = OffsetDateTime::now_utc().unix_timestamp()
            + sim.faults(super::Side::BrickLink).clock_skew_s;
        let mut nonces = lock(&sim.inner.nonces);
        let request = oauth::Request {
            method: parts.method.as_str(),
            base_uri: &base_uri,
            query: &query,
            peer,
            now,
        };
        let account = oauth::verify(&presented, &request, &issued, &mut nonces).map_err(refused)?;
        Ok(Self { account, host })
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn summary(order: &data::Order) -> Value {
    let mut value = json!({
        "order_id": order.id,
        "date_ordered": stamp(order.ordered),
        "date_status_changed": stamp(order.changed),
        "seller_name": "sim_seller",
        "store_name": "Simulated Bricks",
        "buyer_name": order.buyer,
        "status": order.status,
        "total_count": order.total_count(),
        "unique_count": order.unique_count(),
        "is_filed": order.filed,
        "payment": payment(order),
        "cost": {"currency_code": order.currency, "subtotal": money(order.subtotal()),
                 "grand_total": money(order.grand_total())},
        "disp_cost": {"currency_code": order.currency, "subtotal": money(order.subtotal()),
                      "grand_total": money(order.grand_total())},
    });
    if order.status == "PURGED" {
        value["total_count"] = json!(0);
    }
    value
}

fn payment(order: &data::Order) -> Value {
    let mut payment = json!({"method": "PayPal.com", "currency_code": order.currency, "status": order.payment_status});
    // Unpaid orders have no date: the field is left out, not null.
    if matches!(
        order.status.as_str(),
        "PAID" | "PACKED" | "SHIPPED" | "RECEIVED" | "COMPLETED"
    ) {
        payment["date_paid"] = json!(stamp(order.changed));
    }
    payment
}

fn detail(order: &data::Order, account: &super::Account) -> Value {
    let mut value = summary(order);
    let subtotal = order.subtotal();
    value["seller_name"] = json!(account.seller);
    value["buyer_email"] = json!(order.buyer_email);
    value["buyer_order_count"] = json!(1);
    value["require_insurance"] = json!(false);
    value["is_invoiced"] = json!(!matches!(
        order.status.as_str(),
        "PENDING" | "UPDATED" | "PROCESSING"
    ));
    value["drive_thru_sent"] = json!(false);
    value["salesTax_collected_by_bl"] = json!(false);
    value["remarks"] = json!("");
    value["total_weight"] = json!("12.34");
    let mut shipping = json!({
        "method_id": 17862, "method": "Standard",
        "address": {"name": {"full": format!("{} Buyer", order.buyer)}, "full": "1 Brick Lane, Springfield",
                    "country_code": order.country},
    });
    if let Some(tracking) = &order.tracking {
        shipping["tracking_no"] = json!(tracking);
    }
    value["shipping"] = shipping;
    value["cost"] = json!({
        "currency_code": order.currency, "subtotal": money(subtotal),
        "grand_total": money(order.grand_total()), "final_total": money(order.grand_total()),
        "salesTax_collected_by_BL": "0.0000", "etc1": "0.0000", "etc2": "0.0000", "insurance": "0.0000",
        "shipping": money(order.shipping), "credit": "0.0000", "coupon": "0.0000",
        "vat_rate": format!("{}.{:02}", order.vat / 100, order.vat % 100),
        "vat_amount": money(order.vat_amount()),
    });
    value
}

fn line(line: &data::Line, currency: &str) -> Value {
    let mut value = json!({
        "inventory_id": line.inventory_id,
        "item": {"no": line.no, "name": line.name, "type": line.kind, "category_id": line.category_id},
        "color_id": line.color_id,
        "quantity": line.quantity,
        "new_or_used": if line.new { "N" } else { "U" },
        "unit_price": money(line.unit_price),
        "unit_price_final": money(line.unit_price),
        "disp_unit_price": money(line.unit_price),
        "disp_unit_price_final": money(line.unit_price),
        "currency_code": currency,
        "disp_currency_code": currency,
        "remarks": line.remarks,
        "description": "",
        "weight": "0.50",
    });
    if let Some(color) = data::color(line.color_id) {
        value["color_name"] = json!(color.name);
    }
    value
}

async fn orders(
    State(sim): State<Sim>,
    caller: Caller,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let arg = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let direction = arg("direction").unwrap_or_else(|| "in".into());
    if direction != "in" && direction != "out" {
        return invalid("direction must be in or out");
    }
    let filed = match arg("filed").as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return invalid("filed must be true or false"),
    };
    let statuses = super::ListFilter::parse(arg("status").as_deref());
    if direction == "out" {
        return ok(json!([]));
    }
    let world = sim.world();
    let account = &world.accounts[caller.account];
    let list: Vec<Value> = account
        .bricklink_orders
        .values()
        .filter(|o| o.filed == filed)
        .filter(|o| statuses.admits(&o.status))
        .map(summary)
        .collect();
    ok(Value::Array(list))
}

async fn order(State(sim): State<Sim>, caller: Caller, Path(id): Path<String>) -> Response {
    let world = sim.world();
    let account = &world.accounts[caller.account];
    match id
        .parse()
        .ok()
        .and_then(|id: i64| account.bricklink_orders.get(&id))
    {
        Some(order) => ok(detail(order, account)),
        None => not_found(),
    }
}

async fn items(State(sim): State<Sim>, caller: Caller, Path(id): Path<String>) -> Response {
    let world = sim.world();
    let account = &world.accounts[caller.account];
    let Some(order) = id
        .parse()
        .ok()
        .and_then(|id: i64| account.bricklink_orders.get(&id))
    else {
        return not_found();
    };
    if order.status == "PURGED" {
        return ok(json!([]));
    }
    let batches: Vec<Value> = order
        .batches
        .iter()
        .map(|batch| Value::Array(batch.iter().map(|l| line(l, order.currency)).collect()))
        .collect();
    ok(Value::Array(batches))
}

/// A PUT body: raw JSON, or the documented "URL-encoded JSON".
pub(super) fn body_json(body: &Bytes) -> Option<Value> {
    serde_json::from_slice(body).ok().or_else(|| {
        let text = std::str::from_utf8(body).ok()?;
        let decoded: String = url::form_urlencoded::parse(format!("x={text}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())?;
        serde_json::from_str(&decoded).ok()
    })
}

const SELLER_SETS: &[&str] = &[
    "PENDING",
    "PROCESSING",
    "READY",
    "PAID",
    "PACKED",
    "SHIPPED",
    "COMPLETED",
];

/// Applies a PUT to one of the caller's orders: the body read (raw or URL-encoded JSON), the
/// order found, then `change` checks the patch and applies it.
fn patch_order(
    sim: &Sim,
    caller: &Caller,
    id: &str,
    body: &Bytes,
    change: impl FnOnce(&mut data::Order, &Value) -> Result<(), Response>,
) -> Result<data::Order, Response> {
    patch(sim, caller, id, body, true, change)
}

/// [`patch_order`] that leaves `date_status_changed` alone when `status_changes` is false:
/// BrickLink moves it for status changes only, not for a payment.
fn patch(
    sim: &Sim,
    caller: &Caller,
    id: &str,
    body: &Bytes,
    status_changes: bool,
    change: impl FnOnce(&mut data::Order, &Value) -> Result<(), Response>,
) -> Result<data::Order, Response> {
    let patch = body_json(body).ok_or_else(|| {
        envelope(
            400,
            "INVALID_REQUEST_BODY",
            "A request has been made with a malformed JSON body.",
            None,
        )
    })?;
    let mut world = sim.world();
    let order = id
        .parse()
        .ok()
        .and_then(|id: i64| world.accounts[caller.account].bricklink_orders.get_mut(&id))
        .ok_or_else(not_found)?;
    change(order, &patch)?;
    if status_changes {
        order.changed = OffsetDateTime::now_utc();
    }
    Ok(order.clone())
}

fn no_content(outcome: Result<data::Order, Response>) -> Response {
    outcome.map_or_else(
        |refused| refused,
        |_| envelope(204, "OK_NO_CONTENT", "OK_NO_CONTENT", Some(json!({}))),
    )
}

async fn update_status(
    State(sim): State<Sim>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    no_content(patch_order(&sim, &caller, &id, &body, |order, patch| {
        let (Some("status"), Some(value)) = (patch["field"].as_str(), patch["value"].as_str())
        else {
            return Err(invalid("field must be status and value a status"));
        };
        let value = value.to_ascii_uppercase();
        if !data::BRICKLINK_STATUSES.contains(&value.as_str()) {
            return Err(invalid("unknown status"));
        }
        if !SELLER_SETS.contains(&value.as_str())
            || matches!(order.status.as_str(), "CANCELLED" | "PURGED")
        {
            return Err(envelope(
                422,
                "RESOURCE_UPDATE_NOT_ALLOWED",
                "Your post/put request was denied (attempt to update an order status to unavailable value...).",
                None,
            ));
        }
        order.status = value;
        Ok(())
    }))
}

async fn update_payment(
    State(sim): State<Sim>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    no_content(patch(&sim, &caller, &id, &body, false, |order, patch| {
        let value = patch["value"].as_str().unwrap_or_default();
        if patch["field"] != "payment_status"
            || !["Received", "Clearing", "Returned", "Bounced", "Completed"].contains(&value)
        {
            return Err(invalid(
                "field must be payment_status and value a payment status the seller may set",
            ));
        }
        order.payment_status = value.to_owned();
        Ok(())
    }))
}

async fn update_order(
    State(sim): State<Sim>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let patched = patch_order(&sim, &caller, &id, &body, |order, patch| {
        if let Some(tracking) = patch["shipping"]["tracking_no"].as_str() {
            order.tracking = Some(tracking.to_owned());
        }
        if let Some(filed) = patch["is_filed"].as_bool() {
            order.filed = filed;
        }
        Ok(())
    });
    match patched {
        Ok(order) => ok(detail(&order, &sim.world().accounts[caller.account])),
        Err(refused) => refused,
    }
}

async fn notifications(State(sim): State<Sim>, caller: Caller) -> Response {
    let mut world = sim.world();
    let unread = std::mem::take(&mut world.accounts[caller.account].notifications);
    ok(Value::Array(
        unread
            .into_iter()
            .map(|(event, id, at)| json!({"event_type": event, "resource_id": id, "timestamp": stamp(at)}))
            .collect(),
    ))
}

fn image_url(host: &str, kind: &str, no: &str, color: i64) -> String {
    let (code, color) = if kind.eq_ignore_ascii_case("MINIFIG") {
        ("MN", 0)
    } else {
        ("PN", color)
    };
    // As on BrickLink, a few older pictures are JPEGs: only the API knows their address.
    let extension = if data::JPEG_PICTURES.contains(&no) {
        "jpg"
    } else {
        "png"
    };
    format!("//{host}/img/ItemImage/{code}/{color}/{no}.{extension}")
}

async fn item(caller: Caller, Path((kind, no)): Path<(String, String)>) -> Response {
    let Some(item) = data::find_item(&kind, &no) else {
        return not_found();
    };
    ok(json!({
        "no": item.no, "name": item.name, "type": item.kind, "category_id": item.category_id,
        "image_url": image_url(&caller.host, item.kind, item.no, item.color_id),
        "thumbnail_url": image_url(&caller.host, item.kind, item.no, item.color_id),
        "weight": "3.50", "dim_x": "0.00", "dim_y": "0.00", "dim_z": "0.00",
        "year_released": item.year, "is_obsolete": false,
    }))
}

async fn image(caller: Caller, Path((kind, no, color)): Path<(String, String, i64)>) -> Response {
    let Some(item) = data::find_item(&kind, &no) else {
        return not_found();
    };
    ok(
        json!({"no": item.no, "type": item.kind, "thumbnail_url": image_url(&caller.host, item.kind, item.no, color)}),
    )
}

async fn subsets(_caller: Caller, Path((kind, no)): Path<(String, String)>) -> Response {
    if !kind.eq_ignore_ascii_case("MINIFIG") {
        return data::find_item(&kind, &no).map_or_else(not_found, |_| ok(json!([])));
    }
    let Some(minifig) = data::minifig(&no) else {
        return not_found();
    };
    let groups: Vec<Value> = minifig
        .parts
        .iter()
        .filter_map(|(no, color, quantity)| {
            let part = data::find_item("PART", no)?;
            Some(json!({"match_no": 0, "entries": [{
                "item": {"no": part.no, "name": part.name, "type": "PART", "category_id": part.category_id},
                "color_id": color, "quantity": quantity, "extra_quantity": 0,
                "is_alternate": false, "is_counterpart": false,
            }]}))
        })
        .collect();
    ok(Value::Array(groups))
}

async fn price(
    _caller: Caller,
    Path((kind, no)): Path<(String, String)>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let arg = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let Some(item) = data::find_item(&kind, &no) else {
        return not_found();
    };
    if arg("vat").is_some_and(|v| !["N", "Y", "O"].contains(&v)) {
        return invalid("vat must be N, Y or O");
    }
    let new = match arg("new_or_used").unwrap_or("N") {
        "N" => true,
        "U" => false,
        _ => return invalid("new_or_used must be N or U"),
    };
    let sold = match arg("guide_type").unwrap_or("stock") {
        "sold" => true,
        "stock" => false,
        _ => return invalid("guide_type must be sold or stock"),
    };
    let color: i64 = arg("color_id")
        .and_then(|c| c.parse().ok())
        .unwrap_or(item.color_id);
    let avg = data::price(item.no, color, new) + if sold { 0 } else { 700 };
    ok(json!({
        "item": {"no": item.no, "type": item.kind},
        "new_or_used": if new { "N" } else { "U" },
        "currency_code": "USD",
        "min_price": money(avg / 2), "max_price": money(avg * 3),
        "avg_price": money(avg), "qty_avg_price": money(avg - avg / 10),
        "unit_quantity": 12, "total_quantity": 57,
        "price_detail": [{"quantity": 3, "unit_price": money(avg), "seller_country_code": "DE",
                          "buyer_country_code": "US", "date_ordered": "2026-10-02T10:00:00.000Z"}],
    }))
}

fn color_json(color: &data::Color) -> Value {
    json!({"color_id": color.id, "color_name": color.name, "color_code": color.hex.to_ascii_lowercase(), "color_type": color.kind})
}

async fn colors(_caller: Caller) -> Response {
    ok(Value::Array(data::COLORS.iter().map(color_json).collect()))
}

async fn color(_caller: Caller, Path(id): Path<String>) -> Response {
    match id.parse().ok().and_then(data::color) {
        Some(color) => ok(color_json(color)),
        None => not_found(),
    }
}
