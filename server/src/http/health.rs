//! Liveness and readiness probes for service managers and reverse proxies.

use axum::{Json, extract::State, http::StatusCode};
use serde_json::{Value, json};

use crate::state::AppState;

/// `GET /healthz`: the process answers.
pub async fn live() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: the store takes a durable write (a tiny record, flushed: a full disk or a
/// failing one shows here) and the job workers run. `backups` says how fresh the newest
/// scheduled backup is; a stale one does not make the server unready.
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let store = match state.services.store.probe().await {
        Ok(()) => None,
        Err(err) => Some(err.to_string()),
    };
    let workers = state.services.queue.is_running();
    let failure = state.services.queue.failure();
    let now = time::OffsetDateTime::now_utc();
    let backups = {
        let (scheduler, store) = (state.scheduler.clone(), state.services.store.clone());
        tokio::task::spawn_blocking(move || scheduler.backup_health(&store, now))
            .await
            .unwrap_or_default()
    };
    let ok = store.is_none() && workers;
    let body = json!({
        "status": if ok { "ready" } else { "unavailable" },
        "store": store.as_deref().unwrap_or("ok"),
        "workers": match (&failure, workers) {
            (Some(reason), _) => format!("stopped: {reason}"),
            (None, true) => "running".to_owned(),
            (None, false) => "stopped".to_owned(),
        },
        "backups": backups,
    });
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}
