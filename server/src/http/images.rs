//! `GET /img/{kind}/{no}/{color_id}`: catalogue pictures through brickdesk, so pages show them
//! under the strict CSP and the marketplace is asked once. Pictures live in a moka cache
//! bounded by bytes; concurrent misses make one upstream call (`try_get_with`). Answers carry
//! an ETag and may be cached by the browser for a week.

use std::sync::Arc;

use app::Marketplace;
use axum::{
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use sha2::Digest as _;

use crate::{
    auth::CurrentUser,
    error::ApiError,
    jobs::account,
    marketplace::{MarketplaceError, account::Account, guard::Priority},
    state::AppState,
};

/// A cached picture.
#[derive(Debug, Clone)]
pub struct Picture {
    pub bytes: bytes::Bytes,
    pub content_type: String,
    pub etag: String,
}

/// The picture cache: at most 64 MiB, a week per picture.
pub type Pictures = moka::future::Cache<String, Arc<Picture>>;

/// A new, empty cache.
pub fn cache() -> Pictures {
    moka::future::Cache::builder()
        .name("pictures")
        .max_capacity(64 * 1024 * 1024)
        .weigher(|key: &String, value: &Arc<Picture>| {
            u32::try_from(key.len() + value.bytes.len()).unwrap_or(u32::MAX)
        })
        .time_to_live(std::time::Duration::from_secs(7 * 24 * 3600))
        .build()
}

const KINDS: [&str; 5] = ["PART", "MINIFIG", "SET", "GEAR", "BOOK"];

/// The picture.
pub async fn image(
    State(state): State<AppState>,
    current: CurrentUser,
    Path((kind, no, color_id)): Path<(String, String, i64)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let kind = kind.to_ascii_uppercase();
    let valid_no = !no.is_empty()
        && no.len() <= 40
        && no
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if !KINDS.contains(&kind.as_str()) || !valid_no || !(0..10_000).contains(&color_id) {
        return Err(ApiError::NotFound);
    }
    let key = format!("{kind}/{no}/{color_id}");
    let user = current.user.id;
    let picture = state
        .pictures
        .try_get_with(key, fetch(&state, user, &kind, &no, color_id))
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

async fn fetch(
    state: &AppState,
    user: app::UserId,
    kind: &str,
    no: &str,
    color_id: i64,
) -> Result<Arc<Picture>, MarketplaceError> {
    let deps = state.deps();
    let Ok(Account::BrickLink(client)) = account::open(&deps, user, Marketplace::BrickLink) else {
        return Err(MarketplaceError::NotFound(
            "no BrickLink connection to ask".into(),
        ));
    };
    let image = client
        .image(kind, no, color_id, Priority::Interactive)
        .await?;
    let (bytes, content_type) = state.marketplaces.download(&image.thumbnail_url).await?;
    let digest = sha2::Sha256::digest(&bytes);
    let etag = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    Ok(Arc::new(Picture {
        bytes,
        content_type,
        etag,
    }))
}
