//! Stock sync's counters for `/metrics` (`brickdesk_stock_sync_*`): sale lines recorded, taken
//! off the other marketplace, refused there, and oversold. The work itself: the store's
//! `Inventory::record_sales`, `jobs::stock_sync` and `apply_lot_changes`.

use std::sync::{Mutex, PoisonError};

use app::{Marketplace, UserId};
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family},
    registry::Registry,
};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Label {
    user: String,
    /// The marketplace of the sale.
    marketplace: String,
}

fn label(user: UserId, marketplace: Marketplace) -> Label {
    Label {
        user: user.to_string(),
        marketplace: marketplace.as_str().to_owned(),
    }
}

/// The counters; one per process, in `Services`.
pub struct StockSyncMetrics {
    registry: Mutex<Registry>,
    sales: Family<Label, Counter>,
    propagated: Family<Label, Counter>,
    failed: Family<Label, Counter>,
    oversold: Family<Label, Counter>,
}

impl Default for StockSyncMetrics {
    fn default() -> Self {
        let metrics = Self {
            registry: Mutex::new(Registry::with_prefix("brickdesk_stock_sync")),
            sales: Family::default(),
            propagated: Family::default(),
            failed: Family::default(),
            oversold: Family::default(),
        };
        {
            let mut registry = metrics
                .registry
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            registry.register(
                "sales",
                "Sale lines recorded, per user and marketplace of the sale",
                metrics.sales.clone(),
            );
            registry.register(
                "propagated",
                "Sale lines taken off the other marketplace",
                metrics.propagated.clone(),
            );
            registry.register(
                "failed",
                "Sale lines the other marketplace refused to take off",
                metrics.failed.clone(),
            );
            registry.register(
                "oversold",
                "Sales of pieces the other marketplace had sold already",
                metrics.oversold.clone(),
            );
        }
        metrics
    }
}

impl StockSyncMetrics {
    /// Sale lines of `user` on `marketplace` recorded.
    pub fn sold(&self, user: UserId, marketplace: Marketplace, lines: usize) {
        self.sales
            .get_or_create(&label(user, marketplace))
            .inc_by(lines as u64);
    }

    /// A sale's change applied on the other marketplace (`true`) or refused there.
    pub fn propagated(&self, user: UserId, marketplace: Marketplace, applied: bool) {
        let family = if applied {
            &self.propagated
        } else {
            &self.failed
        };
        family.get_or_create(&label(user, marketplace)).inc();
    }

    /// Oversold sales found.
    pub fn oversold(&self, user: UserId, marketplace: Marketplace, found: usize) {
        self.oversold
            .get_or_create(&label(user, marketplace))
            .inc_by(found as u64);
    }

    /// The exposition text.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        let registry = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(err) = prometheus_client::encoding::text::encode(&mut text, &registry) {
            tracing::error!(%err, "cannot encode stock sync metrics");
        }
        text
    }
}
