//! The simulator's own control API under `/_sim`: stats, faults, new orders, push callbacks
//! and the simulated sellers' keys; plus the router that mounts both marketplaces.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, put},
};
use serde::Deserialize;

use super::{
    AccountKeys, Faults, Side, Sim, SimStats, bricklink, bricklink_inventory, brickowl,
    brickowl_inventory, faults::observe, images, messages,
};

impl Sim {
    /// The simulator's routes.
    pub fn router(&self) -> Router {
        let bricklink = bricklink::router()
            .merge(bricklink_inventory::router())
            .merge(messages::bricklink_router())
            .route_layer(axum::middleware::from_fn_with_state(
                (self.clone(), Side::BrickLink),
                observe,
            ));
        let brickowl = brickowl::router()
            .merge(brickowl_inventory::router())
            .merge(messages::brickowl_router())
            .route_layer(axum::middleware::from_fn_with_state(
                (self.clone(), Side::BrickOwl),
                observe,
            ));
        Router::new()
            .nest("/bricklink/api/store/v1", bricklink)
            .nest("/brickowl/v1", brickowl)
            .route("/img/ItemImage/{code}/{color}/{file}", get(images::image))
            .route("/_sim/stats", get(stats).delete(reset_stats))
            .route("/_sim/faults/{side}", put(set_faults))
            .route("/_sim/orders", axum::routing::post(place_order))
            .route("/_sim/callbacks", put(set_callbacks))
            .route("/_sim/accounts", get(accounts))
            .with_state(self.clone())
    }
}

async fn stats(State(sim): State<Sim>) -> Json<SimStats> {
    Json(sim.stats())
}

async fn reset_stats(State(sim): State<Sim>) -> StatusCode {
    sim.reset_stats();
    StatusCode::NO_CONTENT
}

async fn set_faults(
    State(sim): State<Sim>,
    Path(side): Path<Side>,
    Json(faults): Json<Faults>,
) -> StatusCode {
    sim.set_faults(side, faults);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct NewOrder {
    #[serde(default)]
    account: usize,
    marketplace: Side,
    /// `[[lot id, pieces], ...]` to buy; without it the buyer picks lots in stock.
    #[serde(default)]
    lots: Option<Vec<(i64, i64)>>,
}

async fn place_order(State(sim): State<Sim>, Json(new): Json<NewOrder>) -> Response {
    let placed = match &new.lots {
        Some(picks) => sim.sell(new.account, new.marketplace, picks),
        None => sim
            .place_order(new.account, new.marketplace)
            .ok_or_else(|| format!("no account {}", new.account)),
    };
    match placed {
        Ok(id) => (
            StatusCode::CREATED,
            Json(serde_json::json!({"order_id": id})),
        )
            .into_response(),
        Err(reason) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(serde_json::json!({"error": reason})),
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
struct Callbacks {
    #[serde(default)]
    account: usize,
    bricklink: Option<String>,
    brickowl: Option<String>,
}

async fn set_callbacks(State(sim): State<Sim>, Json(callbacks): Json<Callbacks>) -> StatusCode {
    sim.set_callbacks(callbacks.account, callbacks.bricklink, callbacks.brickowl);
    StatusCode::NO_CONTENT
}

async fn accounts(State(sim): State<Sim>) -> Json<Vec<AccountKeys>> {
    Json(sim.all_keys())
}
