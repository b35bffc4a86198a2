//! The domain work the queue runs, one file per job kind, each with a typed `enqueue` helper
//! so no call site builds a payload by hand.

pub mod account;
pub mod bricklink_notifications;
pub mod fetch_minifig;
pub mod import_orders;
pub mod poll_orders;
pub mod prefetch_pictures;
pub mod sync_colors;
pub mod sync_order;
pub mod update_order_status;
pub mod validate_connection;

use std::sync::Arc;

use crate::{events::Events, marketplace::Marketplaces, queue::Queue, store::Store};

/// What handlers reach.
#[derive(Clone)]
pub struct Deps {
    pub store: Store,
    /// For handlers that queue follow-up work.
    pub queue: Queue,
    pub marketplaces: Marketplaces,
    pub events: Events,
    /// Base of the URLs shown to users (`BRICKDESK_PUBLIC_URL`, else the listen address).
    pub public_base: Arc<str>,
    /// Catalogue pictures.
    pub pictures: crate::pictures::Pictures,
    /// The catalogue cache.
    pub catalog: crate::catalog::Catalog,
    /// Search with its cache.
    pub search: crate::search::Search,
}

/// Registers every job kind on `queue`.
pub fn register_all(queue: &Queue, deps: &Deps) {
    validate_connection::register(queue, deps.clone());
    bricklink_notifications::register(queue, deps.clone());
    sync_order::register(queue, deps.clone());
    poll_orders::register(queue, deps.clone());
    import_orders::register(queue, deps);
    update_order_status::register(queue, deps.clone());
    prefetch_pictures::register(queue, deps.clone());
    fetch_minifig::register(queue, deps.clone());
    sync_colors::register(queue, deps.clone());
}
