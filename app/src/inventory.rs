//! The store's lots as brickdesk keeps them: one lot for the same bricks, with what each
//! marketplace holding it says (`GET /api/inventory`).

use serde::{Deserialize, Serialize};

use crate::{Condition, Marketplace, Money};

/// A lot's id in brickdesk (not a marketplace's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LotId(pub u64);

/// What the lot is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotItem {
    /// `PART`, `MINIFIG`, `SET`, ...
    #[serde(rename = "type")]
    pub item_type: String,
    pub no: String,
    pub name: String,
}

/// The lot on BrickLink.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrickLinkLot {
    pub inventory_id: i64,
    pub quantity: i64,
    pub unit_price: Money,
    pub stockroom: bool,
}

/// The lot on BrickOwl.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrickOwlLot {
    pub lot_id: i64,
    pub quantity: i64,
    pub price: Money,
    /// BrickOwl's item id (`<item>-<colour>` for coloured parts).
    #[serde(default)]
    pub boid: String,
    /// BrickOwl's own colour id (not BrickLink's).
    #[serde(default)]
    pub color_id: i64,
}

/// A lower price from a quantity on (BrickLink keeps up to three).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierPrice {
    /// From this many pieces in one order.
    pub quantity: i64,
    pub price: Money,
}

/// One lot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lot {
    pub id: LotId,
    pub item: LotItem,
    pub color_id: i64,
    pub color_name: Option<String>,
    pub condition: Condition,
    /// Sets: `C` complete, `B` incomplete, `S` sealed.
    pub completeness: Option<String>,
    pub quantity: i64,
    pub unit_price: Money,
    /// By sellers' convention the storage location.
    pub remarks: String,
    pub description: String,
    pub stockroom: bool,
    pub my_cost: Option<Money>,
    /// BrickLink's tier prices, lowest quantity first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tier_prices: Vec<TierPrice>,
    pub bricklink: Option<BrickLinkLot>,
    pub brickowl: Option<BrickOwlLot>,
    /// The seller unlinked it from a lot on the other marketplace: an import does not link it
    /// again by item and colour.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub kept_apart: bool,
    /// Changes saved but not yet applied on a marketplace, or refused there (never stored with
    /// the lot: read from the open changes when listed).
    #[serde(default)]
    pub pending: Vec<crate::PendingChange>,
}

impl Lot {
    /// The values an edit can change.
    pub fn values(&self) -> crate::LotValues {
        crate::LotValues {
            quantity: self.quantity,
            unit_price: self.unit_price,
            remarks: self.remarks.clone(),
            description: self.description.clone(),
            stockroom: self.stockroom,
        }
    }

    /// Whether `marketplace` holds the lot.
    pub fn on(&self, marketplace: Marketplace) -> bool {
        match marketplace {
            Marketplace::BrickLink => self.bricklink.is_some(),
            Marketplace::BrickOwl => self.brickowl.is_some(),
        }
    }
}

/// `GET /api/inventory`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotList {
    pub lots: Vec<Lot>,
    pub total: usize,
    pub page: usize,
    pub per_page: usize,
}

/// How `GET /api/inventory` sorts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LotSort {
    /// By location (remarks), numbers in order: `A-2` before `A-10`.
    #[default]
    Location,
    Item,
    Quantity,
    Price,
}

/// `GET /api/inventory` query.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotQueryParams {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marketplace: Option<Marketplace>,
    /// Words that must all be in the item number, name or remarks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// `PART`, `MINIFIG`, `SET`, ...
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub item_type: Option<String>,
    /// A BrickLink colour id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
    /// Remarks starting with this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linked: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort: Option<LotSort>,
    /// `asc` (the default) or `desc`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_page: Option<usize>,
}

impl LotQueryParams {
    /// The URL query string, percent-encoded.
    pub fn to_query_string(&self) -> String {
        serde_urlencoded::to_string(self).unwrap_or_default()
    }
}

/// What an inventory import found changed since the last one, per marketplace.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportDiff {
    pub added: usize,
    pub changed: usize,
    pub removed: usize,
    pub unchanged: usize,
}

/// `POST /api/inventory/{id}/link`: the BrickOwl-only lot to join to this BrickLink lot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRequest {
    pub brickowl: LotId,
}
