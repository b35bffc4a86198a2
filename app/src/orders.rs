//! Orders from both marketplaces in one vocabulary: a canonical status (with the mapping from
//! and back to each marketplace), list rows, the full order, and the requests that change one.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{JobId, Marketplace, Money};

/// Where an order stands, whichever marketplace it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OrderStatus {
    /// Placed, not yet looked at.
    New,
    /// Invoiced or acknowledged; waiting for the buyer to pay.
    AwaitingPayment,
    /// Paid: to pick and pack.
    Paid,
    /// Being picked.
    Picking,
    /// Packed, not shipped.
    Packed,
    Shipped,
    /// The buyer has it.
    Received,
    Completed,
    /// A problem: cancel request, non-paying buyer, on hold.
    OnHold,
    Cancelled,
    /// BrickLink purged it (items gone).
    Archived,
}

impl OrderStatus {
    /// Every status in the order of an order's life.
    pub const ALL: [Self; 11] = [
        Self::New,
        Self::AwaitingPayment,
        Self::Paid,
        Self::Picking,
        Self::Packed,
        Self::Shipped,
        Self::Received,
        Self::Completed,
        Self::OnHold,
        Self::Cancelled,
        Self::Archived,
    ];

    /// The wire form (`awaiting-payment`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::AwaitingPayment => "awaiting-payment",
            Self::Paid => "paid",
            Self::Picking => "picking",
            Self::Packed => "packed",
            Self::Shipped => "shipped",
            Self::Received => "received",
            Self::Completed => "completed",
            Self::OnHold => "on-hold",
            Self::Cancelled => "cancelled",
            Self::Archived => "archived",
        }
    }

    /// Parses the wire form.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// In a seller's words.
    pub fn label(self) -> &'static str {
        match self {
            Self::New => "New",
            Self::AwaitingPayment => "Awaiting payment",
            Self::Paid => "Paid",
            Self::Picking => "Picking",
            Self::Packed => "Packed",
            Self::Shipped => "Shipped",
            Self::Received => "Received",
            Self::Completed => "Completed",
            Self::OnHold => "On hold",
            Self::Cancelled => "Cancelled",
            Self::Archived => "Archived",
        }
    }

    /// The statuses that wait on the seller.
    pub const NEEDS_ACTION: [Self; 5] = [
        Self::New,
        Self::Paid,
        Self::Picking,
        Self::Packed,
        Self::OnHold,
    ];

    /// Whether the seller has something to do.
    pub fn needs_action(self) -> bool {
        Self::NEEDS_ACTION.contains(&self)
    }

    /// The `status` filter of the orders list for "needs action".
    pub fn needs_action_filter() -> String {
        let names: Vec<&str> = Self::NEEDS_ACTION.iter().map(|s| s.as_str()).collect();
        names.join(",")
    }

    /// Reads a comma-separated list of statuses (blank entries ignored); the error names the
    /// first one that is not a status.
    pub fn parse_list(text: &str) -> Result<Vec<Self>, String> {
        text.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| Self::parse(s).ok_or_else(|| format!("{s:?} is not an order status.")))
            .collect()
    }

    /// From BrickLink's `status` and payment status (part C of the marketplace reference).
    pub fn from_bricklink(status: &str, payment_status: Option<&str>) -> Self {
        let paid = matches!(payment_status, Some("Received" | "Completed" | "Clearing"));
        match status.to_ascii_uppercase().as_str() {
            "PENDING" | "UPDATED" | "PAID-PENDING" if paid => Self::Paid,
            "PENDING" | "UPDATED" | "PAID-PENDING" => Self::New,
            "PROCESSING" | "READY" if paid => Self::Paid,
            "PROCESSING" | "READY" => Self::AwaitingPayment,
            "PAID" => Self::Paid,
            "PACKED" => Self::Packed,
            "SHIPPED" => Self::Shipped,
            "RECEIVED" => Self::Received,
            "COMPLETED" => Self::Completed,
            "CANCELLED" => Self::Cancelled,
            "PURGED" => Self::Archived,
            _ => Self::OnHold, // OCR, NPB, NPX, NRS, NSS
        }
    }

    /// From BrickOwl's `status_id`.
    pub fn from_brickowl(status_id: i64) -> Self {
        match status_id {
            0 => Self::New,
            1 => Self::AwaitingPayment,
            2 => Self::Paid,
            3 => Self::Picking,
            4 => Self::Packed,
            5 => Self::Shipped,
            6 => Self::Received,
            8 => Self::Cancelled,
            _ => Self::OnHold,
        }
    }

    /// The BrickLink status a seller sets for this one, if the API allows it.
    pub fn to_bricklink(self) -> Option<&'static str> {
        match self {
            Self::AwaitingPayment => Some("READY"),
            Self::Paid | Self::Picking => Some("PAID"),
            Self::Packed => Some("PACKED"),
            Self::Shipped => Some("SHIPPED"),
            Self::Completed => Some("COMPLETED"),
            _ => None,
        }
    }

    /// The BrickOwl `status_id` a seller sets for this one, if the API allows it.
    pub fn to_brickowl(self) -> Option<u8> {
        match self {
            Self::AwaitingPayment => Some(1),
            Self::Paid => Some(2),
            Self::Picking => Some(3),
            Self::Packed => Some(4),
            Self::Shipped => Some(5),
            Self::Received | Self::Completed => Some(6),
            Self::OnHold => Some(7),
            _ => None,
        }
    }

    /// Statuses a seller may move an order on `marketplace` to.
    pub fn settable(marketplace: Marketplace) -> Vec<Self> {
        Self::ALL
            .into_iter()
            .filter(|s| match marketplace {
                Marketplace::BrickLink => s.to_bricklink().is_some(),
                Marketplace::BrickOwl => s.to_brickowl().is_some(),
            })
            .collect()
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// One row of the orders list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderSummary {
    pub marketplace: Marketplace,
    pub order_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub ordered_at: OffsetDateTime,
    /// When the marketplace last changed it.
    #[serde(with = "time::serde::rfc3339")]
    pub changed_at: OffsetDateTime,
    pub status: OrderStatus,
    /// The marketplace's own word for the status (`PAID`, `Processing`).
    pub marketplace_status: String,
    pub buyer: String,
    pub total: Money,
    pub currency: String,
    /// Pieces.
    pub items: i64,
    /// Lines.
    pub lots: i64,
    pub filed: bool,
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    /// BrickLink-style type: `PART`, `MINIFIG`, `SET`, ...
    pub item_type: String,
    pub item_no: String,
    pub name: String,
    pub color_id: i64,
    pub color_name: Option<String>,
    pub quantity: i64,
    /// `true` new, `false` used.
    pub new: bool,
    pub unit_price: Money,
    /// Storage location or the seller's note.
    pub remarks: Option<String>,
    /// Which "add to order" batch (BrickLink), from 1.
    pub batch: u32,
    /// A picture through brickdesk's image cache, when one is known.
    pub image: Option<String>,
    /// The marketplace's lot the line sold from, when the marketplace names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lot: Option<LineLot>,
}

/// The lot an order line sold from: its id on the order's marketplace and, on BrickOwl, the
/// BrickLink lot id a syncing tool stored with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineLot {
    pub id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bricklink_id: Option<i64>,
}

/// Where it goes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipment {
    pub name: Option<String>,
    pub address: Vec<String>,
    /// ISO 3166 alpha-2 (`GB`, never BrickLink's `UK`).
    pub country: Option<String>,
    pub method: Option<String>,
    pub tracking: Option<String>,
}

/// `GET /api/orders/{marketplace}/{order_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderDetail {
    pub summary: OrderSummary,
    pub buyer_email: Option<String>,
    pub shipment: Shipment,
    pub subtotal: Money,
    pub shipping_cost: Money,
    pub remarks: Option<String>,
    pub lines: Vec<OrderLine>,
    /// When brickdesk last fetched it.
    #[serde(with = "time::serde::rfc3339")]
    pub synced_at: OffsetDateTime,
    /// BrickOwl's id of the seller's store (its notify calls name it).
    #[serde(default)]
    pub store_id: Option<String>,
    /// VAT or sales tax the order carries, when it carries any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax: Option<OrderTax>,
}

/// VAT (or sales tax) on an order: the rate in percent and the amount, in the order's currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderTax {
    /// Percent, as money's fixed point (`19_0000` is 19 %).
    pub rate: Money,
    pub amount: Money,
}

impl OrderTax {
    /// A tax only when the amount is above zero.
    pub fn of(rate: Option<Money>, amount: Option<Money>) -> Option<Self> {
        let amount = amount.filter(|a| a.0 > 0)?;
        Some(Self {
            rate: rate.unwrap_or(Money::ZERO),
            amount,
        })
    }
}

/// `GET /api/orders`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderList {
    pub orders: Vec<OrderSummary>,
    pub total: usize,
    pub page: usize,
    pub per_page: usize,
}

/// How `GET /api/orders` sorts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderSort {
    #[default]
    Date,
    Changed,
    Total,
    Buyer,
    Status,
}

/// `GET /api/orders` query: what the browser writes and the server reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OrderQuery {
    /// Comma-separated statuses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marketplace: Option<Marketplace>,
    /// Words that must all appear in the order number, buyer or items.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// `YYYY-MM-DD` (from the start of that day, UTC) or RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// `YYYY-MM-DD` (to the end of that day, UTC) or RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort: Option<OrderSort>,
    /// `asc` or `desc` (the default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_page: Option<usize>,
}

impl OrderQuery {
    /// The URL query string, percent-encoded.
    pub fn to_query_string(&self) -> String {
        serde_urlencoded::to_string(self).unwrap_or_default()
    }
}

/// `PUT /api/orders/{marketplace}/{order_id}/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    pub status: OrderStatus,
    #[serde(default)]
    pub tracking: Option<String>,
}

/// `POST /api/sync`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    #[serde(default)]
    pub marketplace: Option<Marketplace>,
    /// Every order including filed ones, instead of what changed.
    #[serde(default)]
    pub full: bool,
}

/// The answer to `POST /api/sync` and to a status change: the queued jobs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queued {
    pub job_ids: Vec<JobId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bricklink_statuses_map_as_the_reference_says() {
        let cases = [
            ("PENDING", None, OrderStatus::New),
            ("UPDATED", Some("None"), OrderStatus::New),
            ("PAID-PENDING", Some("Sent"), OrderStatus::New),
            ("PROCESSING", Some("None"), OrderStatus::AwaitingPayment),
            ("READY", Some("Received"), OrderStatus::Paid),
            ("PAID", Some("Received"), OrderStatus::Paid),
            ("PACKED", None, OrderStatus::Packed),
            ("SHIPPED", None, OrderStatus::Shipped),
            ("RECEIVED", None, OrderStatus::Received),
            ("COMPLETED", None, OrderStatus::Completed),
            ("NPB", None, OrderStatus::OnHold),
            ("OCR", None, OrderStatus::OnHold),
            ("CANCELLED", None, OrderStatus::Cancelled),
            ("PURGED", None, OrderStatus::Archived),
        ];
        for (status, payment, expected) in cases {
            assert_eq!(
                OrderStatus::from_bricklink(status, payment),
                expected,
                "{status}"
            );
        }
    }

    #[test]
    fn brickowl_statuses_map_and_write_back() {
        let ids: Vec<OrderStatus> = (0..=8).map(OrderStatus::from_brickowl).collect();
        assert_eq!(ids[3], OrderStatus::Picking);
        assert_eq!(ids[7], OrderStatus::OnHold);
        for id in 1..=7u8 {
            let status = OrderStatus::from_brickowl(i64::from(id));
            assert_eq!(status.to_brickowl(), Some(id), "{status:?}");
        }
        assert_eq!(
            OrderStatus::Cancelled.to_brickowl(),
            None,
            "BrickOwl refuses 8"
        );
        assert_eq!(OrderStatus::New.to_brickowl(), None, "nor 0");
    }

    #[test]
    fn write_back_round_trips_through_bricklink() {
        for status in OrderStatus::settable(Marketplace::BrickLink) {
            let sent = status.to_bricklink().expect("settable");
            let back = OrderStatus::from_bricklink(sent, Some("Received"));
            let expected =
                if status == OrderStatus::Picking || status == OrderStatus::AwaitingPayment {
                    OrderStatus::Paid
                } else {
                    status
                };
            assert_eq!(back, expected, "{status:?}");
        }
        for status in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(status.as_str()), Some(status));
        }
    }
}

/// What an activity entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ActivityKind {
    /// An order brickdesk had not seen.
    #[serde(rename = "order.new")]
    OrderNew,
    /// A known order changed.
    #[serde(rename = "order.changed")]
    OrderChanged,
    /// A buyer wrote about an order.
    #[serde(rename = "message")]
    Message,
    /// Feedback was left.
    #[serde(rename = "feedback")]
    Feedback,
    /// A marketplace pushed a notification.
    #[serde(rename = "push")]
    Push,
    /// A sync found new or changed orders.
    #[serde(rename = "sync")]
    Sync,
    /// A sale took pieces the other marketplace had sold already (stock sync).
    #[serde(rename = "stock.oversold")]
    Oversold,
    /// A guard rail held a sale's changes for the seller to confirm (stock sync).
    #[serde(rename = "stock.held")]
    StockHeld,
    /// Any other marketplace event (older entries may carry its own name).
    #[serde(rename = "other", other)]
    Other,
}

/// Something that happened in the shop, for the activity feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityEntry {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub marketplace: Marketplace,
    pub kind: ActivityKind,
    pub order_id: Option<String>,
    /// In words.
    pub text: String,
}

#[cfg(test)]
mod query_tests {
    use super::*;

    #[test]
    fn an_order_query_reads_back_what_it_writes() {
        let query = OrderQuery {
            status: Some(OrderStatus::needs_action_filter()),
            marketplace: Some(Marketplace::BrickOwl),
            q: Some("anna & bricks 3001".to_owned()),
            sort: Some(OrderSort::Total),
            page: Some(2),
            ..OrderQuery::default()
        };
        let text = query.to_query_string();
        assert!(!text.contains(' ') && !text.contains("& "), "{text}");
        let back: OrderQuery = serde_urlencoded::from_str(&text).expect("reads");
        assert_eq!(back, query);
        assert_eq!(OrderQuery::default().to_query_string(), "");
    }

    #[test]
    fn status_lists_skip_blanks_and_name_what_is_wrong() {
        assert_eq!(
            OrderStatus::parse_list(" paid, ,packed"),
            Ok(vec![OrderStatus::Paid, OrderStatus::Packed])
        );
        assert_eq!(
            OrderStatus::parse_list(&OrderStatus::needs_action_filter()).map(|s| s.len()),
            Ok(OrderStatus::NEEDS_ACTION.len())
        );
        assert_eq!(
            OrderStatus::parse_list("paid,lost"),
            Err("\"lost\" is not an order status.".to_owned())
        );
    }
}
