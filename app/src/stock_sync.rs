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
    /// A cancelled order's pieces go back on both marketplaces by themselves; else the seller
    /// puts them back with one click (`POST /api/stock-sync/restock`).
    #[serde(default)]
    pub restock_cancelled: bool,
    /// A reconcile taking more lots than this to 0 waits for a confirmation.
    #[serde(default = "default_removed_lots")]
    pub max_removed_lots: usize,
    /// A reconcile taking more than this share (%) of the store's pieces away waits for a
    /// confirmation.
    #[serde(default = "default_removed_percent")]
    pub max_removed_percent: u8,
}

fn default_removed_lots() -> usize {
    20
}

fn default_removed_percent() -> u8 {
    10
}

impl Default for StockSyncSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            bricklink_at_zero: AtZero::Delete,
            restock_cancelled: false,
            max_removed_lots: default_removed_lots(),
            max_removed_percent: default_removed_percent(),
        }
    }
}

/// What a reconcile found and did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileSummary {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Lots on both marketplaces that agree with the last state seen in step (or moved the
    /// same way on both).
    pub in_step: usize,
    /// Lots changed on one marketplace only, the change now taken to the other.
    pub propagated: usize,
    /// Lots changed differently on both: the seller settles them.
    pub conflicts: usize,
    /// Lots seen on both for the first time: their state now is the base.
    pub new: usize,
    /// Lots with changes still on their way: left for the next reconcile.
    pub skipped: usize,
    /// Set when a guard rail held the changes: nothing was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<HeldReconcile>,
}

/// A reconcile held by a guard rail, with what it would have done.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldReconcile {
    /// Why, in words.
    pub reasons: Vec<String>,
    /// Lots it would take to 0, and pieces it would take away.
    pub lots_to_zero: usize,
    pub pieces_removed: i64,
    /// Its changes (the first 200).
    pub lines: Vec<ReconcileLine>,
}

/// One lot a reconcile changes: what each marketplace held in step, holds now, and will hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileLine {
    pub lot: LotId,
    pub item: LotItem,
    pub color_name: Option<String>,
    /// BrickLink, then BrickOwl.
    pub base: [i64; 2],
    pub now: [i64; 2],
    pub after: [i64; 2],
}

/// A lot both marketplaces changed differently since they were last in step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    pub lot: LotId,
    pub item: LotItem,
    pub color_name: Option<String>,
    /// BrickLink, then BrickOwl: in step, and now.
    pub base: [i64; 2],
    pub now: [i64; 2],
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// `POST /api/stock-sync/conflicts/{lot}/resolve`: which quantity both marketplaces take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "keep", content = "quantity", rename_all = "snake_case")]
pub enum Resolution {
    /// BrickLink's quantity, on both.
    Bricklink,
    /// BrickOwl's quantity, on both.
    Brickowl,
    /// This quantity, on both.
    Quantity(i64),
}

/// `POST /api/stock-sync/reconcile`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileRequest {
    /// Apply even past the guard rails (after the seller saw what is held).
    #[serde(default)]
    pub confirm: bool,
}

/// A cancelled order whose sold pieces wait to be put back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelledOrder {
    pub marketplace: Marketplace,
    pub order_id: String,
    /// Lots it sold from, and pieces in all.
    pub lots: usize,
    pub pieces: i64,
}

/// An order whose changes a guard rail holds: taking them to the other marketplace waits for
/// the seller (`POST /api/stock-sync/held`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldSale {
    pub marketplace: Marketplace,
    pub order_id: String,
    pub lots: usize,
    /// Lots it would take to 0 on the other marketplace.
    pub lots_to_zero: usize,
    pub pieces: i64,
}

/// `POST /api/stock-sync/restock` (put a cancelled order's pieces back) and
/// `POST /api/stock-sync/held` (let an order's held changes go): which order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestockRequest {
    pub marketplace: Marketplace,
    pub order_id: String,
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
    /// Cancelled orders whose pieces wait to be put back.
    #[serde(default)]
    pub cancelled: Vec<CancelledOrder>,
    /// Orders whose changes a guard rail holds.
    #[serde(default)]
    pub held_sales: Vec<HeldSale>,
    /// The last reconcile.
    #[serde(default)]
    pub last_reconcile: Option<ReconcileSummary>,
    /// Lots both marketplaces changed differently (`GET /api/stock-sync/conflicts`).
    #[serde(default)]
    pub conflicts: usize,
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
    /// A cancelled sale's pieces, put back on both marketplaces.
    Cancellation(SaleRef),
    /// A reconcile took a change made on one marketplace to the other.
    Reconcile { from: Marketplace },
    /// The seller settled a conflict.
    Settled,
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
            Self::Cancellation(sale) => format!(
                "{} order {} cancelled: {} put back",
                sale.marketplace.label(),
                sale.order_id,
                sale.quantity
            ),
            Self::Reconcile { from } => format!("changed on {}: reconciled", from.label()),
            Self::Settled => "conflict settled".to_owned(),
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
