//! Liveness and readiness probes for service managers and reverse proxies.

use axum::{Json, extract::State, http::StatusCode};
use serde_json::{Value, json};

use crate::state::AppState;

/// `GET /healthz`: the process answers.
pub async fn live() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: the store answers reads and the job workers run.
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let store = state.store.is_ready();
    let workers = state.queue.is_running();
    let body = json!({
        "status": if store && workers { "ready" } else { "unavailable" },
        "store": if store { "ok" } else { "error" },
        "workers": if workers { "running" } else { "stopped" },
    });
    let status = if store && workers {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}
