//! `GET /metrics`: Prometheus text. Not behind a login, like every exporter: keep brickdesk
//! on loopback or let the reverse proxy restrict this path. It carries no user data.

use axum::{
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};

use crate::{error::ApiError, state::AppState};

/// The exposition.
pub async fn scrape(State(state): State<AppState>) -> Result<Response, ApiError> {
    let queue = state.services.queue.metrics_text()?;
    let guard = state.services.marketplaces.guard().metrics_text();
    // One exposition: the queue's `# EOF` goes, the guard's ends it.
    let text = format!(
        "{}\n{guard}",
        queue.trim_end().trim_end_matches("# EOF").trim_end()
    );
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}
