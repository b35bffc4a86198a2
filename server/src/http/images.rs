//! `GET /img/{kind}/{no}/{color_id}`: catalogue pictures through brickdesk (see `pictures`), so
//! pages show them under the strict CSP and the marketplace is asked once. Answers carry an
//! ETag and may be cached by the browser for a week.

use crate::{
    auth::CurrentUser,
    error::ApiError,
    marketplace::{MarketplaceError, guard::Priority},
    state::AppState,
};
use app::ItemType;
use axum::{
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

/// The picture.
pub async fn image(
    State(state): State<AppState>,
    current: CurrentUser,
    Path((kind, no, color_id)): Path<(String, String, i64)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let kind = ItemType::parse(&kind);
    let valid_no = !no.is_empty()
        && no.len() <= 40
        && no
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    let Some(kind) = kind.filter(|_| valid_no && (0..10_000).contains(&color_id)) else {
        return Err(ApiError::NotFound);
    };
    let picture = state
        .services
        .pictures
        .get(
            current.user.id,
            kind.as_str(),
            &no,
            color_id,
            Priority::Interactive,
        )
        .await
        .map_err(|err| match err.as_ref() {
            MarketplaceError::NotFound(_) => ApiError::NotFound,
            MarketplaceError::BadCredentials(_) | MarketplaceError::Refused(_) => {
                ApiError::NotFound
            }
            other => {
                ApiError::MarketplaceDown(format!("The picture could not be fetched: {other}."))
            }
        })?;
    let quoted = format!("\"{}\"", picture.etag);
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == quoted.as_bytes())
    {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, quoted)]).into_response());
    }
    let mut response = picture.bytes.clone().into_response();
    let out = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&picture.content_type) {
        out.insert(header::CONTENT_TYPE, value);
    }
    if let Ok(value) = HeaderValue::from_str(&quoted) {
        out.insert(header::ETAG, value);
    }
    out.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=604800"),
    );
    Ok(response)
}
