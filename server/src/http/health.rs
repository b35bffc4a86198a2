//! Liveness and readiness probes for service managers and reverse proxies.

use axum::{Json, extract::State, http::StatusCode};
use serde_json::{Value, json};

use crate::{state::AppState, store::LoadState};

/// `GET /healthz`: the process answers.
pub async fn live() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /healthz/stream`: a `ping` event at once and another a second later, without a
/// session. `brickdesk doctor` reads it through the public URL: a proxy that buffers
/// server-sent events (the UI's live updates) delivers both together.
pub async fn stream() -> axum::response::Sse<
    impl futures_util::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>,
> {
    use futures_util::StreamExt as _;
    let ping = |n: u8| {
        axum::response::sse::Event::default()
            .event("ping")
            .data(n.to_string())
    };
    let first = futures_util::stream::once(async move { Ok(ping(1)) });
    let second = futures_util::stream::once(async move {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        Ok(ping(2))
    });
    axum::response::Sse::new(first.chain(second))
}

/// `GET /readyz`: the store takes a durable write (a tiny record, flushed: a full disk or a
/// failing one shows here), the orders index is read (`loading` with the orders read so far
/// while it is: the server listens and takes pushes meanwhile) and the job workers run.
/// `backups` says how fresh the newest scheduled backup is; a stale one does not make the
/// server unready.
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let store = match state.services.store.probe().await {
        Ok(()) => None,
        Err(err) => Some(err.to_string()),
    };
    let orders = state.services.store.orders().load_state();
    let loading = matches!(orders, LoadState::Loading { .. });
    let workers = state.services.queue.is_running();
    let failure = state.services.queue.failure();
    let now = time::OffsetDateTime::now_utc();
    let backups = {
        let (scheduler, store) = (state.scheduler.clone(), state.services.store.clone());
        tokio::task::spawn_blocking(move || scheduler.backup_health(&store, now))
            .await
            .unwrap_or_default()
    };
    let ok = store.is_none() && workers && orders == LoadState::Ready;
    let mut body = json!({
        // A store that refuses writes is unavailable, loading or not.
        "status": match (ok, loading && store.is_none()) {
            (true, _) => "ready",
            (false, true) => "loading",
            (false, false) => "unavailable",
        },
        "store": store.as_deref().unwrap_or("ok"),
        "orders": match &orders {
            LoadState::Ready => "ready".to_owned(),
            LoadState::Loading { orders } => format!("loading: {orders} orders read"),
            LoadState::Failed(reason) => format!("failed: {reason}"),
        },
        "workers": match (&failure, workers, loading) {
            (Some(reason), _, _) => format!("stopped: {reason}"),
            (None, true, _) => "running".to_owned(),
            (None, false, true) => "waiting for the orders index".to_owned(),
            (None, false, false) => "stopped".to_owned(),
        },
        "backups": backups,
        "version": crate::version::info(),
        "schema": crate::store::SCHEMA_VERSION,
    });
    if let LoadState::Loading { orders } = orders {
        body["orders_read"] = json!(orders);
    }
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}
