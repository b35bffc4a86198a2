//! Simulated messages and feedback. BrickLink: `GET /orders/{id}/messages`
//! (`[{subject, body, from, to, dateSent}]`), `GET /orders/{id}/feedback`, `GET /feedback/{id}`,
//! `POST /feedback` (`{order_id, rating, comment}`, one per order and side) and
//! `POST /feedback/{id}/reply`; a buyer's message or feedback queues a `Message` (resource: the
//! order) or `Feedback` (resource: the feedback) notification and pushes. BrickLink's API has
//! no call to send a message. BrickOwl: `POST order/feedback` (`order_id`, `rating` 1/0/-1,
//! `comment` ≤ 120 characters, once per order); it has no API to read messages or feedback.

use axum::{
    Form, Json, Router,
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{
    Side, Sim,
    bricklink::{Caller, body_json, envelope, invalid, not_found, ok, stamp},
    brickowl::{Args, arg, authenticate, error},
    lock,
};

/// A message on a simulated order.
#[derive(Debug, Clone)]
pub struct Message {
    pub subject: String,
    pub body: String,
    pub from: String,
    pub to: String,
    pub at: OffsetDateTime,
}

/// Feedback on a simulated BrickLink order.
#[derive(Debug, Clone)]
pub struct Feedback {
    pub id: i64,
    pub order_id: i64,
    pub from: String,
    pub to: String,
    pub at: OffsetDateTime,
    /// 0 praise, 1 neutral, 2 complaint.
    pub rating: i64,
    /// `S`: of the seller (left by the buyer); `B`: of the buyer (left by the seller).
    pub rating_of: &'static str,
    pub comment: String,
    pub reply: Option<String>,
}

/// Feedback left on a simulated BrickOwl order: rating (1/0/-1) and comment.
pub type OwlFeedback = (i64, String);

pub fn bricklink_router() -> Router<Sim> {
    Router::new()
        .route("/orders/{id}/messages", get(messages))
        .route("/orders/{id}/feedback", get(order_feedback))
        .route("/feedback", post(leave))
        .route("/feedback/{id}", get(one_feedback))
        .route("/feedback/{id}/reply", post(reply))
}

pub fn brickowl_router() -> Router<Sim> {
    Router::new().route("/order/feedback", post(owl_feedback))
}

impl Sim {
    /// The buyer of BrickLink order `order` of account `index` writes to the seller: the
    /// message is kept, a `Message` notification queued and a push sent. Whether the order
    /// exists.
    pub fn buyer_writes(&self, index: usize, order: i64, subject: &str, body: &str) -> bool {
        let now = OffsetDateTime::now_utc();
        let push = {
            let mut world = lock(&self.inner.world);
            let Some(account) = world.accounts.get_mut(index) else {
                return false;
            };
            let Some(buyer) = account
                .bricklink_orders
                .get(&order)
                .map(|o| o.buyer.clone())
            else {
                return false;
            };
            let message = Message {
                subject: subject.to_owned(),
                body: body.to_owned(),
                from: buyer,
                to: account.seller.clone(),
                at: now,
            };
            account.messages.entry(order).or_default().push(message);
            account.notifications.push(("Message".into(), order, now));
            account.bricklink_callback.clone()
        };
        if let Some(url) = push {
            self.push(url, Side::BrickLink, order, now);
        }
        true
    }

    /// The buyer of BrickLink order `order` rates the seller (0 praise, 1 neutral, 2
    /// complaint): a `Feedback` notification and a push. The feedback's id, if the order
    /// exists.
    pub fn buyer_rates(&self, index: usize, order: i64, rating: i64, comment: &str) -> Option<i64> {
        let now = OffsetDateTime::now_utc();
        let (id, push) = {
            let mut world = lock(&self.inner.world);
            let account = world.accounts.get_mut(index)?;
            let buyer = account.bricklink_orders.get(&order)?.buyer.clone();
            let id = 7_700_000 + account.feedback.len() as i64;
            account.feedback.push(Feedback {
                id,
                order_id: order,
                from: buyer,
                to: account.seller.clone(),
                at: now,
                rating,
                rating_of: "S",
                comment: comment.to_owned(),
                reply: None,
            });
            account.notifications.push(("Feedback".into(), id, now));
            (id, account.bricklink_callback.clone())
        };
        if let Some(url) = push {
            self.push(url, Side::BrickLink, order, now);
        }
        Some(id)
    }

    /// Feedback on BrickLink order `order` of account `index`, both ways.
    pub fn feedback_on(&self, index: usize, order: i64) -> Vec<Feedback> {
        let world = lock(&self.inner.world);
        world.accounts.get(index).map_or_else(Vec::new, |a| {
            a.feedback
                .iter()
                .filter(|f| f.order_id == order)
                .cloned()
                .collect()
        })
    }

    /// Feedback the seller left on BrickOwl order `order` of account `index`.
    pub fn brickowl_feedback(&self, index: usize, order: i64) -> Option<OwlFeedback> {
        let world = lock(&self.inner.world);
        world
            .accounts
            .get(index)?
            .brickowl_feedback
            .get(&order)
            .cloned()
    }
}

fn feedback_json(f: &Feedback) -> Value {
    let mut value = json!({
        "feedback_id": f.id, "order_id": f.order_id, "from": f.from, "to": f.to,
        "date_rated": stamp(f.at), "rating": f.rating, "rating_of_bs": f.rating_of,
        "comment": f.comment,
    });
    if let Some(reply) = &f.reply {
        value["reply"] = json!(reply);
    }
    value
}

fn order_id(id: &str) -> Option<i64> {
    id.parse().ok()
}

async fn messages(State(sim): State<Sim>, caller: Caller, Path(id): Path<String>) -> Response {
    let world = sim.world();
    let account = &world.accounts[caller.account];
    let Some(order) = order_id(&id).filter(|id| account.bricklink_orders.contains_key(id)) else {
        return not_found();
    };
    let all = account.messages.get(&order).cloned().unwrap_or_default();
    ok(Value::Array(
        all.iter()
            .map(|m| json!({"subject": m.subject, "body": m.body, "from": m.from, "to": m.to, "dateSent": stamp(m.at)}))
            .collect(),
    ))
}

async fn order_feedback(
    State(sim): State<Sim>,
    caller: Caller,
    Path(id): Path<String>,
) -> Response {
    let world = sim.world();
    let account = &world.accounts[caller.account];
    let Some(order) = order_id(&id).filter(|id| account.bricklink_orders.contains_key(id)) else {
        return not_found();
    };
    ok(Value::Array(
        account
            .feedback
            .iter()
            .filter(|f| f.order_id == order)
            .map(feedback_json)
            .collect(),
    ))
}

async fn one_feedback(State(sim): State<Sim>, caller: Caller, Path(id): Path<String>) -> Response {
    let world = sim.world();
    let found = world.accounts[caller.account]
        .feedback
        .iter()
        .find(|f| Some(f.id) == order_id(&id))
        .map(feedback_json);
    found.map_or_else(not_found, ok)
}

async fn leave(State(sim): State<Sim>, caller: Caller, body: Bytes) -> Response {
    let Some(body) = body_json(&body) else {
        return invalid("the body is not JSON");
    };
    let (Some(order), Some(rating), Some(comment)) = (
        body["order_id"].as_i64(),
        body["rating"].as_i64(),
        body["comment"].as_str(),
    ) else {
        return invalid("order_id, rating and comment are required");
    };
    if !(0..=2).contains(&rating) || comment.trim().is_empty() {
        return invalid("rating is 0, 1 or 2 and comment is required");
    }
    let mut world = sim.world();
    let account = &mut world.accounts[caller.account];
    let Some(buyer) = account
        .bricklink_orders
        .get(&order)
        .map(|o| o.buyer.clone())
    else {
        return not_found();
    };
    if account
        .feedback
        .iter()
        .any(|f| f.order_id == order && f.rating_of == "B")
    {
        return envelope(
            422,
            "RESOURCE_UPDATE_NOT_ALLOWED",
            "Feedback for this order was already left.",
            None,
        );
    }
    let feedback = Feedback {
        id: 7_700_000 + account.feedback.len() as i64,
        order_id: order,
        from: account.seller.clone(),
        to: buyer,
        at: OffsetDateTime::now_utc(),
        rating,
        rating_of: "B",
        comment: comment.to_owned(),
        reply: None,
    };
    let answer = feedback_json(&feedback);
    account.feedback.push(feedback);
    ok(answer)
}

async fn reply(
    State(sim): State<Sim>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Some(text) = body_json(&body).and_then(|b| b["reply"].as_str().map(str::to_owned)) else {
        return invalid("reply is required");
    };
    let mut world = sim.world();
    let account = &mut world.accounts[caller.account];
    let Some(feedback) = account
        .feedback
        .iter_mut()
        .find(|f| Some(f.id) == order_id(&id))
    else {
        return not_found();
    };
    if feedback.rating_of != "S" || feedback.reply.is_some() {
        return envelope(
            422,
            "RESOURCE_UPDATE_NOT_ALLOWED",
            "Only feedback from a buyer can be replied to, once.",
            None,
        );
    }
    feedback.reply = Some(text);
    envelope(204, "OK_NO_CONTENT", "OK_NO_CONTENT", Some(json!({})))
}

async fn owl_feedback(State(sim): State<Sim>, Form(args): Form<Args>) -> Response {
    let account = match authenticate(&sim, &args) {
        Ok(a) => a,
        Err(e) => return e,
    };
    let order = arg(&args, "order_id").and_then(|o| o.parse::<i64>().ok());
    let rating = arg(&args, "rating").and_then(|r| r.parse::<i64>().ok());
    let comment = arg(&args, "comment").unwrap_or_default();
    let (Some(order), Some(rating)) = (order, rating) else {
        return error(StatusCode::BAD_REQUEST, "Missing order_id or rating");
    };
    if !(-1..=1).contains(&rating) || comment.chars().count() > 120 {
        return error(
            StatusCode::BAD_REQUEST,
            "rating is 1, 0 or -1 and comment at most 120 characters",
        );
    }
    let mut world = sim.world();
    let account = &mut world.accounts[account];
    if !account.brickowl_orders.contains_key(&order) {
        return error(StatusCode::NOT_FOUND, "Order not found");
    }
    if account.brickowl_feedback.contains_key(&order) {
        return error(StatusCode::BAD_REQUEST, "Feedback already left");
    }
    account
        .brickowl_feedback
        .insert(order, (rating, comment.to_owned()));
    Json(json!({"status": "success"})).into_response()
}
