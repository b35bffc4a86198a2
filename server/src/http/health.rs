//! Liveness and readiness probes for service managers and reverse proxies.

use axum::{Json, extract::State, http::StatusCode};
use serde_json::{Value, json};

use crate::store::Store;

/// `GET /healthz`: the process answers.
pub async fn live() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: the store answers reads.
pub async fn ready(State(store): State<Store>) -> (StatusCode, Json<Value>) {
    if store.is_ready() {
        (
            StatusCode::OK,
            Json(json!({ "status": "ready", "store": "ok" })),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "store": "error" })),
        )
    }
}
