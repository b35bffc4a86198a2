//! Stock sync: a sale on one marketplace takes the pieces off the lot's other marketplace.
//! Settings and state (`GET/PUT /api/stock-sync`), the cause a lot change carries, and the
//! oversold sales brickdesk tells the seller about.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{AtZero, LotId, LotItem, Marketplace};

/// The seller's stock sync settings (`PUT /api/stock-sync`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockSyncSettings {
    /// Sales propagate while on.
    pub enabled: bool,
    /// What happens on BrickLink when a sale on BrickOwl leaves a lot there at 0 (BrickLink
    /// keeps no lot at 0 for sale): deleted, as BrickLink does with a lot sold out there, or
    /// moved to the stockroom at 0.
    pub bricklink_at_zero: AtZero,
}

impl Default for StockSyncSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            bricklink_at_zero: AtZero::Delete,
        }
    }
}

/// `GET /api/stock-sync`: the settings and what stock sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockSyncState {
    pub settings: StockSyncSettings,
    /// When it was last turned on: orders placed before are not propagated (the stores were
    /// read with those sales already taken off).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub since: Option<OffsetDateTime>,
    /// Sale lines taken off the other marketplace today (UTC).
    pub propagated_today: usize,
    /// Sale lines whose change is still on its way to the other marketplace.
    pub waiting: usize,
    /// Sale lines the other marketplace refused.
    pub failed: usize,
    /// Sale lines no lot of brickdesk's matches (the store was not read since the lot was
    /// listed, or the line names no lot).
    pub unmatched: usize,
    /// Lots on one marketplace only: their sales stay there.
    pub needs_linking: usize,
    /// Sales of pieces the other marketplace had sold already, newest first.
    pub oversold: Vec<Oversold>,
}

/// A marketplace order line that sold pieces of a lot.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SaleRef {
    pub marketplace: Marketplace,
    pub order_id: String,
    /// The line's place in the order, from 1.
    pub line: u32,
    pub quantity: i64,
}

/// Why a lot changed when brickdesk changed it by itself rather than for a person's edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChangeCause {
    /// A sale on one marketplace, taken off the other.
    Sale(SaleRef),
}

impl ChangeCause {
    /// In a seller's words.
    pub fn describe(&self) -> String {
        match self {
            Self::Sale(sale) => format!(
                "{} order {} sold {}",
                sale.marketplace.label(),
                sale.order_id,
                sale.quantity
            ),
        }
    }
}

/// Pieces sold on one marketplace that the other had sold already: the seller has to settle
/// it with one of the buyers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Oversold {
    pub lot: LotId,
    pub item: LotItem,
    pub color_name: Option<String>,
    /// The sale that found the pieces gone.
    pub sale: SaleRef,
    /// The other marketplace's last sale of the lot, when brickdesk saw one.
    pub other: Option<SaleRef>,
    /// Pieces sold that were not there.
    pub short: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

impl Oversold {
    /// In a seller's words, naming both orders.
    pub fn describe(&self) -> String {
        let sold = format!(
            "{} order {} sold {} of {} {} that {} no longer had",
            self.sale.marketplace.label(),
            self.sale.order_id,
            self.short,
            self.color_name.as_deref().unwrap_or_default(),
            self.item.name,
            self.sale.marketplace.other().label(),
        );
        match &self.other {
            Some(other) => format!(
                "{sold}: {} order {} took them first.",
                other.marketplace.label(),
                other.order_id
            ),
            None => format!("{sold}."),
        }
    }
}
