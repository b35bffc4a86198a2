//! Serving one listener: hyper connections with a header-read timeout (a client that sends its
//! request line and headers a byte at a time is cut off), a cap on the connections one address
//! may hold open, and a graceful stop that lets answers in flight finish. `axum::serve` offers
//! neither knob, so the accept loop is here; the router and its layers are the same.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use axum::{Router, extract::ConnectInfo};
use hyper::{body::Incoming, server::conn::http1};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use tokio::net::TcpListener;
use tower::ServiceExt as _;

/// How long a graceful stop waits for connections still open (event streams end at once; a
/// client that never reads its answer does not hold the stop up for longer).
const DRAIN: Duration = Duration::from_secs(10);

/// What one listener allows its clients.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest wait for a request's line and headers, from the first byte or the previous
    /// answer on a kept-alive connection.
    pub header_timeout: Duration,
    /// Connections one client address may hold open at once; 0 means no cap.
    pub per_address: usize,
    /// Whether loopback peers are exempt from the cap: they are the reverse proxy in front
    /// (`trust_proxy_headers`), which carries every client's connections.
    pub exempt_loopback: bool,
}

/// Serves `router` on `listener` until `stop` resolves, then drains the open connections.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    stop: impl Future<Output = ()> + Send,
) {
    let open = OpenConnections::default();
    let graceful = GracefulShutdown::new();
    // HTTP/1.1 only: browsers speak HTTP/2 only over TLS, which the reverse proxy in front ends,
    // and proxies talk HTTP/1.1 to their backends unless told otherwise.
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(%err, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let Some(slot) = open.take(peer.ip(), &limits) else {
            tracing::debug!(%peer, "connection refused: too many open from this address");
            drop(stream);
            continue;
        };
        let service =
            router
                .clone()
                .map_request(move |mut request: axum::http::Request<Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(peer));
                    request
                });
        let connection =
            builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(%peer, %err, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after {DRAIN:?}; stopping anyway");
    }
}

/// Open connections per client address.
#[derive(Debug, Default, Clone)]
struct OpenConnections(Arc<Mutex<HashMap<IpAddr, usize>>>);

impl OpenConnections {
    /// A slot for one more connection from `ip`, or `None` when it holds its share already.
    fn take(&self, ip: IpAddr, limits: &Limits) -> Option<Slot> {
        let capped = limits.per_address > 0 && !(limits.exempt_loopback && ip.is_loopback());
        let mut open = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(ip).or_default();
        if capped && *count >= limits.per_address {
            return None;
        }
        *count += 1;
        Some(Slot {
            open: self.clone(),
            ip,
        })
    }
}

/// One open connection's place in the count; given back when the connection ends.
struct Slot {
    open: OpenConnections,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.open.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_address: usize, exempt_loopback: bool) -> Limits {
        Limits {
            header_timeout: Duration::from_secs(1),
            per_address,
            exempt_loopback,
        }
    }

    #[test]
    fn an_address_holds_at_most_its_share_and_gets_slots_back() {
        let open = OpenConnections::default();
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        let other: IpAddr = "203.0.113.10".parse().unwrap();
        let first = open.take(ip, &limits(2, false)).unwrap();
        let _second = open.take(ip, &limits(2, false)).unwrap();
        assert!(open.take(ip, &limits(2, false)).is_none());
        assert!(open.take(other, &limits(2, false)).is_some());
        drop(first);
        assert!(open.take(ip, &limits(2, false)).is_some());
    }

    #[test]
    fn the_trusted_proxy_on_loopback_is_not_capped() {
        let open = OpenConnections::default();
        let proxy: IpAddr = "127.0.0.1".parse().unwrap();
        let slots: Vec<_> = (0..5).map(|_| open.take(proxy, &limits(2, true))).collect();
        assert!(slots.iter().all(Option::is_some));
        assert!(open.take(proxy, &limits(0, false)).is_some());
    }
}
