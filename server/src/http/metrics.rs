//! `GET /metrics`: Prometheus text, for a scraper holding the configured bearer token
//! (`metrics_token`); off while none is set. Labels carry user ids, never names.

use axum::{
    extract::State,
    http::{HeaderMap, header},
    response::{IntoResponse, Response},
};
use subtle::ConstantTimeEq as _;

use crate::{error::ApiError, state::AppState};

/// The exposition.
pub async fn scrape(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some(token) = state
        .config
        .metrics_token
        .as_deref()
        .filter(|t| !t.is_empty())
    else {
        return Err(ApiError::NotFound);
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !bool::from(presented.as_bytes().ct_eq(token.as_bytes())) {
        return Err(ApiError::NotLoggedIn);
    }
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
