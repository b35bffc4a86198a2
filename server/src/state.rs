//! The state every handler can reach: one cheap `Clone`, with narrow pieces via `FromRef`.

use std::sync::Arc;

use axum::extract::FromRef;

use crate::{
    auth::throttle::LoginThrottle, config::Config, events::Events, jobs::Deps,
    marketplace::Marketplaces, queue::Queue, store::Store,
};

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
    /// Marketplace clients and their guard.
    pub marketplaces: Marketplaces,
    /// Domain events for the users' open pages.
    pub events: Events,
    /// Base of URLs shown to users: the public URL, else the address actually bound.
    pub public_base: Arc<str>,
    /// Catalogue pictures.
    pub pictures: crate::pictures::Pictures,
    /// The catalogue cache.
    pub catalog: crate::catalog::Catalog,
    /// Search with its cache.
    pub search: crate::search::Search,
    /// The cron table.
    pub scheduler: crate::scheduler::Scheduler,
    /// The control token (`control.json`), for `brickdesk backup` while the server runs.
    #[from_ref(skip)]
    pub control_token: Arc<str>,
}

impl AppState {
    /// What job handlers and domain helpers reach.
    pub fn deps(&self) -> Deps {
        Deps {
            store: self.store.clone(),
            queue: self.queue.clone(),
            marketplaces: self.marketplaces.clone(),
            events: self.events.clone(),
            public_base: self.public_base.clone(),
            pictures: self.pictures.clone(),
            catalog: self.catalog.clone(),
            search: self.search.clone(),
        }
    }
}
