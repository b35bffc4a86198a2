//! The simulator as a running server on a loopback port: started in the background, stopped
//! when dropped.

use std::net::SocketAddr;

use tokio_util::sync::CancellationToken;

use super::Sim;

/// A running simulator; stops when dropped.
pub struct SimServer {
    pub addr: SocketAddr,
    pub sim: Sim,
    stop: CancellationToken,
}

impl SimServer {
    /// Binds `addr` (port 0 picks one) and serves in the background.
    pub async fn start(sim: Sim, addr: SocketAddr) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let stop = CancellationToken::new();
        let app = sim
            .router()
            .into_make_service_with_connect_info::<SocketAddr>();
        let stopped = stop.clone();
        tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(stopped.cancelled_owned())
                .await;
            if let Err(err) = served {
                tracing::error!(%err, "simulator stopped");
            }
        });
        Ok(Self { addr, sim, stop })
    }

    /// The BrickLink base URL to configure brickdesk with.
    pub fn bricklink_url(&self) -> String {
        format!("http://{}/bricklink/api/store/v1", self.addr)
    }

    /// The BrickOwl base URL to configure brickdesk with.
    pub fn brickowl_url(&self) -> String {
        format!("http://{}/brickowl/v1", self.addr)
    }

    /// Serves until `shutdown` resolves.
    pub async fn wait(&self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::select! {
            () = shutdown => {}
            () = self.stop.cancelled() => {}
        }
        self.stop.cancel();
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
