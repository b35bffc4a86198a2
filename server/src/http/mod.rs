//! The HTTP surface: the one place that lists paths and adds layers. Handlers live one file per
//! noun; JSON errors for unknown `/api` paths; everything else falls through to the embedded UI.

mod accounts;
pub mod assets;
mod backup;
mod connections;
pub mod dashboard;
mod documents;
mod events;
mod fulfilment;
mod health;
mod hooks;
pub mod images;
mod inventory;
mod jobs;
mod json;
mod messages;
mod metrics;
mod minifigs;
mod orders;
pub mod serve;
mod stock_sync;
mod users;

use std::time::Duration;

use app::routes;
use axum::{
    Router,
    extract::{DefaultBodyLimit, Request, State},
    http::{HeaderName, HeaderValue, Method, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post, put},
};
use tower::{ServiceBuilder, ServiceExt as _};
use tower_http::{
    classify::ServerErrorsFailureClass,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    sensitive_headers::SetSensitiveRequestHeadersLayer,
    set_header::SetResponseHeaderLayer,
    trace::{DefaultOnResponse, TraceLayer},
};
use tracing::Level;

pub use json::{ApiJson, ApiQuery};

use crate::{error::ApiError, state::AppState, store::Store};

/// Largest push body accepted: BrickLink sends an empty body or a short JSON list.
const HOOK_BODY_LIMIT: usize = 16 * 1024;

/// The whole application router.
pub fn router(state: AppState) -> Router {
    let max_body = state.config.max_body_bytes;
    let ui = assets::router();
    let csp = HeaderValue::from_str(&assets::content_security_policy())
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"));
    let request_id = HeaderName::from_static("x-request-id");
    let hsts = state.config.hsts();
    Router::new()
        .route(routes::HEALTHZ, get(health::live))
        .route(routes::HEALTHZ_STREAM, get(health::stream))
        .route(routes::READYZ, get(health::ready))
        .route(routes::METRICS, get(metrics::scrape))
        .route(
            routes::SETUP,
            get(accounts::setup_status).post(accounts::setup),
        )
        .route(
            routes::SESSION,
            post(accounts::login).delete(accounts::logout),
        )
        .route(routes::ME, get(accounts::me).put(accounts::update_profile))
        .route(routes::ME_PASSWORD, post(accounts::change_password))
        .route(routes::CONNECTIONS, get(connections::list))
        .route(
            routes::CONNECTION,
            put(connections::save).delete(connections::remove),
        )
        .route(
            routes::CONNECTION_ROTATE_WEBHOOK,
            post(connections::rotate_webhook),
        )
        .route(routes::ORDERS, get(orders::list))
        .route(routes::INVENTORY, get(inventory::list))
        .route(routes::INVENTORY_IMPORT, post(inventory::import))
        .route(routes::INVENTORY_LOT, put(inventory::update))
        .route(routes::INVENTORY_BULK, post(inventory::bulk))
        .route(routes::INVENTORY_LINK, post(inventory::link))
        .route(routes::INVENTORY_UNLINK, post(inventory::unlink))
        .route(routes::INVENTORY_CHANGES, get(inventory::changes))
        .route(routes::INVENTORY_CHANGE_UNDO, post(inventory::undo))
        .route(
            routes::STOCK_SYNC,
            get(stock_sync::get).put(stock_sync::put),
        )
        .route(routes::STOCK_SYNC_RESTOCK, post(stock_sync::restock))
        .route(routes::STOCK_SYNC_HELD, post(stock_sync::release))
        .route(routes::STOCK_SYNC_RECONCILE, post(stock_sync::reconcile))
        .route(routes::STOCK_SYNC_CONFLICTS, get(stock_sync::conflicts))
        .route(routes::STOCK_SYNC_RESOLVE, post(stock_sync::resolve))
        .route(
            routes::STOCK_SYNC_RESOLVE_ALL,
            post(stock_sync::resolve_all),
        )
        .route(routes::ORDERS_SHIP, post(fulfilment::ship))
        .route(
            routes::DOCUMENT_TEMPLATE,
            get(documents::template).put(documents::save_template),
        )
        .route(routes::DOCUMENTS, get(documents::render))
        .route(routes::ORDER_FLOW, get(fulfilment::flow))
        .route(routes::ORDER_MESSAGES, get(messages::get))
        .route(routes::ORDER_MESSAGES_FETCH, post(messages::fetch))
        .route(routes::ORDER_FEEDBACK, post(messages::leave))
        .route(routes::ORDER_FEEDBACK_REPLY, post(messages::reply))
        .route(
            routes::PICK_LISTS,
            get(fulfilment::lists).post(fulfilment::create),
        )
        .route(routes::PICK_LIST, get(fulfilment::get))
        .route(routes::PICK_LINE, put(fulfilment::tick))
        .route(routes::PICK_LIST_CLOSE, post(fulfilment::close))
        .route(
            routes::FULFILMENT_SETTINGS,
            get(fulfilment::settings).put(fulfilment::save_settings),
        )
        .route(routes::ORDER, get(orders::get))
        .route(routes::ORDER_STATUS, put(orders::update_status))
        .route(routes::SYNC, post(orders::sync))
        .route(
            routes::MINIFIG_LISTS,
            get(minifigs::lists).post(minifigs::create_list),
        )
        .route(
            routes::MINIFIG_LIST,
            get(minifigs::get_list)
                .put(minifigs::update_list)
                .delete(minifigs::delete_list),
        )
        .route(routes::LIST_MINIFIGS, post(minifigs::add_minifig))
        .route(
            routes::LIST_MINIFIG,
            get(minifigs::get_minifig)
                .put(minifigs::update_minifig)
                .delete(minifigs::delete_minifig),
        )
        .route(routes::MINIFIG_PART, put(minifigs::update_part))
        .route(routes::CATALOG_MINIFIG, get(minifigs::catalog_minifig))
        .route(routes::CATALOG_COLORS, get(minifigs::colors))
        .route(routes::ADMIN_BACKUP, post(backup::backup))
        .route(routes::USERS, get(users::list).post(users::create))
        .route(routes::USER, put(users::update))
        .route(routes::USER_PASSWORD, post(users::reset_password))
        .route(routes::DASHBOARD, get(dashboard::dashboard))
        .route(routes::SEARCH, get(dashboard::search))
        .route(routes::SCHEDULES, get(dashboard::schedules))
        .route(
            routes::HOOK_BRICKLINK,
            post(hooks::bricklink).layer(DefaultBodyLimit::max(HOOK_BODY_LIMIT)),
        )
        .route(routes::HOOK_BRICKOWL, get(hooks::brickowl))
        .route(routes::IMAGE, get(images::image))
        .route(routes::JOBS, get(jobs::list))
        .route(routes::JOB, get(jobs::get).delete(jobs::delete))
        .route(routes::JOB_RETRY, post(jobs::retry))
        .route(routes::JOB_CANCEL, post(jobs::cancel))
        .route(routes::QUEUES, get(jobs::queues))
        .route(routes::EVENTS, get(events::stream))
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .fallback(move |request: Request| {
            let ui = ui.clone();
            async move {
                if is_api(request.uri().path()) {
                    return ApiError::NotFound.into_response();
                }
                match ui.oneshot(request).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                }
            }
        })
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn_with_state(
            state.services.store.clone(),
            durable,
        ))
        .layer(middleware::from_fn_with_state(
            Duration::from_secs(state.config.request_timeout_seconds.max(1)),
            deadline,
        ))
        .layer(middleware::from_fn(api_no_store))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(SetSensitiveRequestHeadersLayer::new([
                    header::COOKIE,
                    header::AUTHORIZATION,
                    HeaderName::from_static(routes::CSRF_HEADER),
                ]))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(request_span)
                        .on_response(DefaultOnResponse::new().level(Level::INFO))
                        .on_failure(on_failure),
                )
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::CONTENT_SECURITY_POLICY,
                    csp,
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    header::X_FRAME_OPTIONS,
                    HeaderValue::from_static("DENY"),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("same-origin"),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    HeaderName::from_static("cross-origin-opener-policy"),
                    HeaderValue::from_static("same-origin"),
                ))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::STRICT_TRANSPORT_SECURITY,
                    move |_: &Response| hsts.map(HeaderValue::from_static),
                )),
        )
        .with_state(state)
}

/// The optional listener for BrickOwl's fixed notify address (`:42500`): one path, nothing else.
pub fn brickowl_notify_router(state: AppState) -> Router {
    Router::new()
        .route("/brick_owl_order_notify", get(hooks::brickowl_fixed))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Logs a failed response as an error, except a 503: "not ready yet" (`/readyz` while the
/// orders index loads, polled every few seconds by a health check) and "busy" are states, not
/// faults, and the response line already says so.
#[expect(
    clippy::needless_pass_by_value,
    reason = "the signature tower_http's `OnFailure` calls"
)]
fn on_failure(class: ServerErrorsFailureClass, latency: Duration, _: &tracing::Span) {
    if !matches!(
        class,
        ServerErrorsFailureClass::StatusCode(StatusCode::SERVICE_UNAVAILABLE)
    ) {
        tracing::error!(
            classification = %class,
            latency = %format_args!("{} ms", latency.as_millis()),
            "response failed"
        );
    }
}

fn is_api(path: &str) -> bool {
    path == routes::API || path.starts_with("/api/")
}

/// Durable by construction (docs/durability.md): a request that may change something is
/// answered only once everything written so far is on disk. One flush per request, here, so no
/// handler can answer before its writes are durable; a flush that fails turns the answer into
/// a 500 instead of an acknowledgement.
async fn durable(State(store): State<Store>, request: Request, next: Next) -> Response {
    let writes = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let response = next.run(request).await;
    if writes && let Err(err) = store.flush().await {
        tracing::error!(%err, "a change could not be made durable");
        return ApiError::from(err).into_response();
    }
    response
}

/// A request must arrive whole and be answered within `request_timeout_seconds`, so a client
/// that trickles its body holds no task for long. Event streams answer at once and then stream,
/// so they are not cut; the control backup (`brickdesk backup` beside a running server) writes
/// the whole store before it answers and is left alone.
async fn deadline(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    if request.uri().path() == routes::ADMIN_BACKUP {
        return next.run(request).await;
    }
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::RequestTimeout.into_response(),
    }
}

/// API answers are per-user and live: no cache may keep them.
async fn api_no_store(request: Request, next: Next) -> Response {
    let api = is_api(request.uri().path());
    let mut response = next.run(request).await;
    if api {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// One span per request, carrying the request id (set by the layer above unless a proxy sent
/// one, and echoed in the response) and, once known, the user id.
fn request_span(request: &Request) -> tracing::Span {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        id,
        method = %request.method(),
        path = loggable_path(request.uri().path()),
        user_id = tracing::field::Empty,
    )
}

/// Webhook paths end in a secret token; keep it out of logs.
fn loggable_path(path: &str) -> &str {
    match path.strip_prefix("/hooks/") {
        Some(rest) => match rest.find('/') {
            Some(slash) => &path[..7 + slash + 1],
            None => path,
        },
        None => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_tokens_are_cut_from_logged_paths() {
        assert_eq!(
            loggable_path("/hooks/bricklink/s3cr3t"),
            "/hooks/bricklink/"
        );
        assert_eq!(loggable_path("/api/me"), "/api/me");
    }

    #[test]
    fn api_paths_are_recognised() {
        assert!(is_api("/api"));
        assert!(is_api("/api/nope"));
        assert!(!is_api("/apiary"));
        assert!(!is_api("/orders"));
    }

    /// A 503 (not ready yet, busy) is a state the response line reports: only other failures
    /// are logged as errors.
    #[test]
    fn only_failures_that_are_faults_are_logged_as_errors() {
        use std::sync::{Arc, Mutex};

        #[derive(Clone, Default)]
        struct Captured(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Captured {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::Span::none();
            for status in [
                StatusCode::SERVICE_UNAVAILABLE,
                StatusCode::INTERNAL_SERVER_ERROR,
            ] {
                on_failure(
                    ServerErrorsFailureClass::StatusCode(status),
                    Duration::from_millis(3),
                    &span,
                );
            }
        });
        let logs = String::from_utf8_lossy(
            &captured
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
        .into_owned();
        assert_eq!(logs.matches("response failed").count(), 1, "{logs}");
        assert!(logs.contains("ERROR") && logs.contains("500"), "{logs}");
        assert!(!logs.contains("503"), "{logs}");
    }
}
