//! The web UI Trunk built, embedded by memory-serve: brotli/gzip, ETags, immutable caching for
//! Trunk's content-hashed files, `index.html` (never cached) for client-side routes such as
//! `/settings`, and the Content-Security-Policy that lets exactly this UI run.

use axum::{Router, http::StatusCode};
use memory_serve::CacheControl;

/// Hashes of the inline scripts in the embedded `index.html` (Trunk's wasm loader).
const UI_SCRIPT_HASHES: &str = env!("BRICKDESK_UI_SCRIPT_HASHES");

/// Whether this binary carries the built UI or only the "build the UI" notice.
pub fn ui_built() -> bool {
    env!("BRICKDESK_UI_BUILT") == "true"
}

/// Router serving the embedded files, with the SPA fallback.
pub fn router() -> Router {
    memory_serve::load!()
        .index_file(Some("/index.html"))
        .fallback(Some("/index.html"))
        .fallback_status(StatusCode::OK)
        .html_cache_control(CacheControl::NoCache)
        .cache_control(CacheControl::Long)
        .into_router()
}

/// The policy: own origin only, wasm compilation allowed, inline scripts only by hash.
pub fn content_security_policy() -> String {
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' {UI_SCRIPT_HASHES}; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
         font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; \
         frame-ancestors 'none'"
    )
}
