//! Faults on demand: what goes wrong and how often, and the middleware that counts every
//! call (and the most in flight) and answers with a fault instead when the dice say so.

use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use axum::{
    extract::{MatchedPath, Request, State},
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};

use super::{Side, Sim, lock};

/// What goes wrong, and how often (rates are 0.0–1.0 per request).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Added to every answer.
    pub latency_ms: u64,
    /// Held after the request was carried out, before its answer leaves: the moment a caller
    /// cut off has changed the store without hearing so.
    pub hold_answer_ms: u64,
    /// HTTP 503 with nginx's HTML page.
    pub unavailable: f64,
    /// A bare HTTP 429.
    pub rate_limited: f64,
    /// No answer for `hang_ms` (default a minute).
    pub timeout: f64,
    pub hang_ms: Option<u64>,
    /// A cut-off JSON body.
    pub malformed: f64,
    /// The answer starts, then the connection drops mid-body.
    pub cut_off: f64,
    /// Seconds BrickLink's clock is ahead of the caller's (OAuth timestamps are checked
    /// against it): past five minutes every signed call is refused.
    pub clock_skew_s: i64,
    /// Every request's credentials are refused.
    pub reject_auth: bool,
    /// Pushes (callbacks, notifies) silently not sent.
    pub drop_pushes: f64,
    /// BrickLink's push body: `false` empty (what BrickLink does today), `true` the JSON list.
    pub push_body: bool,
}

/// Counts the call, holds it for the latency, and maybe answers with a fault instead.
pub(super) async fn observe(
    State((sim, side)): State<(Sim, Side)>,
    matched: Option<MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    let counters = sim.counters(side);
    let path = matched.as_ref().map_or("?", MatchedPath::as_str);
    let path = ["/bricklink/api/store/v1", "/brickowl/v1"]
        .iter()
        .find_map(|prefix| path.strip_prefix(prefix))
        .unwrap_or(path);
    let name = format!("{} {path}", request.method());
    *lock(&counters.calls).entry(name).or_default() += 1;
    counters.total.fetch_add(1, Ordering::SeqCst);
    let now = counters.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    counters.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let _leave = InFlight(&counters.in_flight);

    let faults = sim.faults(side);
    if faults.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
    }
    let roll = {
        let mut rng = lock(&sim.inner.fault_rng);
        [
            faults.unavailable,
            faults.rate_limited,
            faults.timeout,
            faults.malformed,
            faults.cut_off,
        ]
        .map(|p| rng.chance(p))
    };
    if roll[0] {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [("content-type", "text/html")],
            "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
        )
            .into_response();
    }
    if roll[1] {
        return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")]).into_response();
    }
    if roll[2] {
        tokio::time::sleep(Duration::from_millis(faults.hang_ms.unwrap_or(60_000))).await;
        return StatusCode::GATEWAY_TIMEOUT.into_response();
    }
    if roll[3] {
        return (
            [("content-type", "application/json")],
            "{\"meta\":{\"description\":\"OK\",\"message\":\"OK\",\"code\":200},\"data\":[{\"order_id\":",
        )
            .into_response();
    }
    if roll[4] {
        let head = futures_util::stream::iter([
            Ok(bytes::Bytes::from_static(
                b"{\"meta\":{\"code\":200},\"data\":[",
            )),
            Err(std::io::Error::other("connection dropped")),
        ]);
        return (
            [
                ("content-type", "application/json"),
                ("content-length", "4096"),
            ],
            axum::body::Body::from_stream(head),
        )
            .into_response();
    }
    let answer = next.run(request).await;
    if faults.hold_answer_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.hold_answer_ms)).await;
    }
    answer
}

struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
