//! The state every handler can reach: one cheap `Clone`, with narrow pieces via `FromRef`.
//! It owns the [`Services`] that jobs and the scheduler share, plus what only requests need.

use std::sync::Arc;

use axum::extract::FromRef;

use crate::{
    auth::throttle::LoginThrottle, config::Config, events::Events, queue::Queue,
    services::Services, store::Store,
};

/// Shared application state.
#[derive(Clone, FromRef)]
pub struct AppState {
    /// The store, the queue, the marketplaces, the caches.
    pub services: Services,
    /// Login attempt limits.
    pub throttle: LoginThrottle,
    /// How fast marketplace pushes are taken, per connection.
    pub pushes: crate::push_gate::PushGate,
    /// Cancelled when the server begins to stop: long-lived streams end on it.
    pub stopping: tokio_util::sync::CancellationToken,
    /// The configuration the server started with.
    pub config: Arc<Config>,
    /// The cron table.
    pub scheduler: crate::scheduler::Scheduler,
    /// The control token (`control.json`), for `brickdesk backup` while the server runs.
    #[from_ref(skip)]
    pub control_token: Arc<str>,
    /// The one-time setup code while no account exists (see [`crate::setup_code`]).
    #[from_ref(skip)]
    pub setup_code: Option<Arc<str>>,
}

impl FromRef<AppState> for Store {
    fn from_ref(state: &AppState) -> Self {
        state.services.store.clone()
    }
}

impl FromRef<AppState> for Queue {
    fn from_ref(state: &AppState) -> Self {
        state.services.queue.clone()
    }
}

impl FromRef<AppState> for Events {
    fn from_ref(state: &AppState) -> Self {
        state.services.events.clone()
    }
}
