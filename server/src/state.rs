//! The state every handler can reach: one cheap `Clone`, with narrow pieces via `FromRef`.

use std::sync::Arc;

use axum::extract::FromRef;

use crate::{auth::throttle::LoginThrottle, config::Config, queue::Queue, store::Store};

/// Shared application state.
#[derive(Clone, FromRef)]
pub struct AppState {
    /// The sled store.
    pub store: Store,
    /// The job engine.
    pub queue: Queue,
    /// Login attempt limits.
    pub throttle: LoginThrottle,
    /// Cancelled when the server begins to stop: long-lived streams end on it.
    pub stopping: tokio_util::sync::CancellationToken,
    /// The configuration the server started with.
    pub config: Arc<Config>,
}
