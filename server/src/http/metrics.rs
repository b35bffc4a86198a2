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
    let stock_sync = state.services.stock_sync.encode();
    // One exposition: each part's `# EOF` goes but the last.
    let text = format!(
        "{}\n{}\n{guard}",
        queue.trim_end().trim_end_matches("# EOF").trim_end(),
        stock_sync.trim_end().trim_end_matches("# EOF").trim_end()
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
