//! `GET /metrics`: Prometheus text. Not behind a login, like every exporter: keep brickdesk
//! on loopback or let the reverse proxy restrict this path. It carries no user data.

use axum::{
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};

use crate::{error::ApiError, queue::Queue};

/// The exposition.
pub async fn scrape(State(queue): State<Queue>) -> Result<Response, ApiError> {
    let text = queue.metrics_text()?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}
