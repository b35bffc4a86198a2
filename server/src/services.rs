//! The services every job and domain helper reaches: one cheap `Clone` of handles, owned by
//! [`crate::state::AppState`] and handed to job handlers and the scheduler. It sits below
//! the job layer and the HTTP layer and names nothing above it.

use std::sync::Arc;

use app::{ConnectionView, Marketplace, UserId, events::LiveEvent};

use crate::{
    catalog::Catalog,
    connections::{self, AccountError},
    events::Events,
    marketplace::{Marketplaces, account::Account},
    pictures::Pictures,
    queue::Queue,
    search::Search,
    stock_sync::StockSyncMetrics,
    store::{Store, StoreError},
};

/// Handles to the store, the queue, the marketplaces and the caches.
#[derive(Clone)]
pub struct Services {
    pub store: Store,
    /// For work that queues follow-up work.
    pub queue: Queue,
    pub marketplaces: Marketplaces,
    pub events: Events,
    /// Base of the URLs shown to users (`BRICKDESK_PUBLIC_URL`, else the listen address).
    pub public_base: Arc<str>,
    /// Catalogue pictures.
    pub pictures: Pictures,
    /// The catalogue cache.
    pub catalog: Catalog,
    /// Search with its cache.
    pub search: Search,
    /// Stock sync's counters.
    pub stock_sync: Arc<StockSyncMetrics>,
}

impl Services {
    /// The services over an open store and queue, with empty caches and no listeners.
    pub fn new(
        store: Store,
        queue: Queue,
        marketplaces: Marketplaces,
        public_base: Arc<str>,
    ) -> Self {
        let catalog = Catalog::new(store.catalog().clone());
        Self {
            pictures: Pictures::new(catalog.clone(), store.clone(), marketplaces.clone()),
            catalog,
            store,
            queue,
            marketplaces,
            events: Events::default(),
            public_base,
            search: Search::default(),
            stock_sync: Arc::default(),
        }
    }

    /// The user's account on `marketplace`, ready to call.
    pub fn account(&self, user: UserId, marketplace: Marketplace) -> Result<Account, AccountError> {
        connections::open(&self.store, &self.marketplaces, user, marketplace)
    }

    /// One connection as the API shows it.
    pub fn connection(
        &self,
        user: UserId,
        marketplace: Marketplace,
    ) -> Result<ConnectionView, StoreError> {
        connections::view(
            &self.store,
            &self.marketplaces,
            &self.public_base,
            user,
            marketplace,
        )
    }

    /// Both connections.
    pub fn connections(&self, user: UserId) -> Result<Vec<ConnectionView>, StoreError> {
        Marketplace::ALL
            .into_iter()
            .map(|m| self.connection(user, m))
            .collect()
    }

    /// Sends the current view of a connection to the user's open pages.
    pub fn publish_connection(&self, user: UserId, marketplace: Marketplace) {
        match self.connection(user, marketplace) {
            Ok(view) => self.events.publish(user, LiveEvent::Connection(view)),
            Err(err) => tracing::error!(%err, "cannot read a connection to announce it"),
        }
    }
}
