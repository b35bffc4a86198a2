//! Fulfilment: pick lists across both marketplaces (lines merged by lot, in location order,
//! ticked off by whoever picks), the picked -> packed -> shipped flow of an order, and shipping
//! many orders at once.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{LotId, Marketplace};

/// A pick list's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PickListId(pub u64);

/// One order, on its marketplace.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OrderRef {
    pub marketplace: Marketplace,
    pub order_id: String,
}

/// `POST /api/pick-lists`: the orders to pick, or every paid order not yet picked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPickList {
    #[serde(default)]
    pub orders: Vec<OrderRef>,
    /// Every order that is paid (or being picked) and on no open pick list.
    #[serde(default)]
    pub all_paid: bool,
}

/// The most orders one pick list takes.
pub const MAX_PICK_ORDERS: usize = 500;

/// Whether a pick list is still being picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PickListState {
    Open,
    Closed,
}

/// One order's share of a pick line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PickShare {
    pub marketplace: Marketplace,
    pub order_id: String,
    pub buyer: String,
    pub quantity: i64,
}

/// What the picker found for a line, and who ticked it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PickTick {
    /// Pieces found; fewer than the line needs is a short pick.
    pub found: i64,
    pub by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// One line to pick: every order's pieces of one lot together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PickLine {
    /// From 1, in picking order.
    pub line: u32,
    pub item_type: String,
    pub item_no: String,
    pub name: String,
    pub color_id: i64,
    pub color_name: Option<String>,
    /// Hex RGB without `#`, when the colour table has it.
    pub color_code: Option<String>,
    pub new: bool,
    /// Where it is stored: the lot's remarks (BrickOwl: personal note) through the location
    /// pattern; empty when unknown.
    pub location: String,
    pub image: Option<String>,
    /// brickdesk's lot, when the orders' lines name one it knows.
    pub lot: Option<LotId>,
    /// Pieces needed.
    pub quantity: i64,
    pub orders: Vec<PickShare>,
    pub tick: Option<PickTick>,
}

impl PickLine {
    /// Ticked with fewer pieces than needed.
    pub fn is_short(&self) -> bool {
        self.tick.as_ref().is_some_and(|t| t.found < self.quantity)
    }
}

/// `GET /api/pick-lists/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PickList {
    pub id: PickListId,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub created_by: String,
    pub state: PickListState,
    #[serde(with = "time::serde::rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
    pub orders: Vec<OrderRef>,
    pub lines: Vec<PickLine>,
}

impl PickList {
    /// The list in a line.
    pub fn summary(&self) -> PickListSummary {
        PickListSummary {
            id: self.id,
            created_at: self.created_at,
            created_by: self.created_by.clone(),
            state: self.state,
            orders: self.orders.len(),
            lines: self.lines.len(),
            pieces: self.lines.iter().map(|l| l.quantity).sum(),
            ticked: self.lines.iter().filter(|l| l.tick.is_some()).count(),
            short: self.lines.iter().filter(|l| l.is_short()).count(),
        }
    }
}

/// `GET /api/pick-lists`: one list in a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PickListSummary {
    pub id: PickListId,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub created_by: String,
    pub state: PickListState,
    pub orders: usize,
    pub lines: usize,
    pub pieces: i64,
    pub ticked: usize,
    pub short: usize,
}

/// `PUT /api/pick-lists/{id}/lines/{line}`: what was found, or `null` to untick.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TickRequest {
    pub found: Option<i64>,
}

/// SSE event name of a ticked (or unticked) pick line; the data is a [`PickTicked`].
pub const PICK_TICKED: &str = "pick.ticked";

/// A line of a pick list was ticked or unticked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PickTicked {
    pub list: PickListId,
    pub line: u32,
    pub tick: Option<PickTick>,
}

/// `GET/PUT /api/fulfilment/settings`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FulfilmentSettings {
    /// A regular expression that finds the location in a lot's remarks (its first group, or
    /// the whole match); empty takes the remarks whole.
    #[serde(default)]
    pub location_pattern: String,
}

/// Where an order is on its way out, as brickdesk saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderFlow {
    /// The pick list it was picked on, once that list closed with all its lines found.
    pub picked_on: Option<PickListId>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub picked_at: Option<OffsetDateTime>,
    /// Lines picked short: what to tell the buyer.
    #[serde(default)]
    pub short: Vec<ShortLine>,
}

/// A line of an order that was picked short.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShortLine {
    pub item_no: String,
    pub name: String,
    pub color_name: Option<String>,
    pub ordered: i64,
    pub found: i64,
}

/// One order to ship, with its tracking number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipOrder {
    pub marketplace: Marketplace,
    pub order_id: String,
    #[serde(default)]
    pub tracking: Option<String>,
}

/// `POST /api/orders/ship`: mark many orders shipped at once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipRequest {
    pub orders: Vec<ShipOrder>,
}

/// Checks a tracking number: at most 80 plain characters, trimmed; empty is none.
pub fn tracking_number(text: Option<String>) -> Result<Option<String>, &'static str> {
    let tracking = text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
    if tracking.as_ref().is_some_and(|t| {
        t.chars().count() > 80
            || t.chars()
                .any(|c| c == '\n' || crate::validate::is_hidden_control(c))
    }) {
        return Err("A tracking number is at most 80 plain characters.");
    }
    Ok(tracking)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tracking_number_is_trimmed_and_checked() {
        assert_eq!(tracking_number(Some("  ".into())), Ok(None));
        assert_eq!(
            tracking_number(Some(" 1Z999 ".into())),
            Ok(Some("1Z999".into()))
        );
        assert!(tracking_number(Some("a\nb".into())).is_err());
        assert!(tracking_number(Some("x".repeat(81))).is_err());
    }
}
