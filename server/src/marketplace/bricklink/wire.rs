//! BrickLink Store API v1 JSON, mirrored as sent: money as four-decimal strings, nulls omitted,
//! batches of items as nested arrays. Nothing outside the client sees these types raw.

use app::Money;
use serde::Deserialize;
use time::OffsetDateTime;

use crate::marketplace::de;

/// `{"meta": {...}, "data": ...}`; error bodies may lack `data`.
#[derive(Debug, Deserialize)]
pub struct Envelope<T = serde_json::Value> {
    pub meta: Meta,
    #[serde(default = "Option::default")]
    pub data: Option<T>,
}

/// The real outcome of a call, even when HTTP said 200.
#[derive(Debug, Deserialize)]
pub struct Meta {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub message: String,
    #[serde(deserialize_with = "de::int")]
    pub code: i64,
}

/// `GET /orders` element, as much of it as brickdesk reads: whether the order changed. The
/// list is the whole store, so the rest (buyer, counts, cost) is skipped while decoding
/// rather than kept for every order (about 400 bytes an order; 110 now). The order itself is
/// read with `GET /orders/{id}` ([`Order`]).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OrderSummary {
    pub order_id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub date_ordered: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub date_status_changed: Option<OffsetDateTime>,
    pub status: String,
    #[serde(default)]
    pub payment: Option<PaymentStatus>,
}

/// The payment's status in a `GET /orders` element (`Sent`, `Received`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PaymentStatus {
    #[serde(default)]
    pub status: Option<String>,
}

/// `GET /orders/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Order {
    pub order_id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub date_ordered: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub date_status_changed: Option<OffsetDateTime>,
    #[serde(default)]
    pub seller_name: String,
    #[serde(default)]
    pub store_name: String,
    #[serde(default)]
    pub buyer_name: String,
    #[serde(default)]
    pub buyer_email: Option<String>,
    pub status: String,
    #[serde(default)]
    pub is_invoiced: bool,
    #[serde(default)]
    pub is_filed: bool,
    #[serde(default)]
    pub remarks: Option<String>,
    #[serde(default)]
    pub total_count: i64,
    #[serde(default)]
    pub unique_count: i64,
    #[serde(default)]
    pub total_weight: Option<String>,
    #[serde(default)]
    pub payment: Option<Payment>,
    #[serde(default)]
    pub shipping: Option<Shipping>,
    pub cost: Cost,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Payment {
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub currency_code: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub date_paid: Option<OffsetDateTime>,
    #[serde(default)]
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Shipping {
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default, deserialize_with = "de::int_opt")]
    pub method_id: Option<i64>,
    #[serde(default)]
    pub tracking_no: Option<String>,
    #[serde(default)]
    pub tracking_link: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub date_shipped: Option<OffsetDateTime>,
    #[serde(default)]
    pub address: Option<Address>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Address {
    #[serde(default)]
    pub name: Option<Name>,
    #[serde(default)]
    pub full: Option<String>,
    #[serde(default)]
    pub address1: Option<String>,
    #[serde(default)]
    pub address2: Option<String>,
    /// ISO 3166 alpha-2, except that BrickLink says `UK` for the United Kingdom.
    #[serde(default)]
    pub country_code: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub postal_code: Option<String>,
    #[serde(default)]
    pub phone_number: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Name {
    #[serde(default)]
    pub full: Option<String>,
    #[serde(default)]
    pub first: Option<String>,
    #[serde(default)]
    pub last: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Cost {
    pub currency_code: String,
    #[serde(deserialize_with = "de::money")]
    pub subtotal: Money,
    /// The docs say `grandtotal`; real answers say `grand_total`.
    #[serde(alias = "grandtotal", deserialize_with = "de::money")]
    pub grand_total: Money,
    #[serde(default, deserialize_with = "de::money_opt")]
    pub final_total: Option<Money>,
    #[serde(default, deserialize_with = "de::money_opt")]
    pub shipping: Option<Money>,
    #[serde(default, deserialize_with = "de::money_opt")]
    pub insurance: Option<Money>,
    #[serde(default, deserialize_with = "de::money_opt")]
    pub credit: Option<Money>,
    #[serde(default, deserialize_with = "de::money_opt")]
    pub coupon: Option<Money>,
    #[serde(default, deserialize_with = "de::money_opt")]
    pub vat_amount: Option<Money>,
    #[serde(default, deserialize_with = "de::money_opt")]
    pub vat_rate: Option<Money>,
}

/// One line of `GET /orders/{id}/items` (which nests them in batches).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OrderItem {
    pub inventory_id: i64,
    pub item: ItemRef,
    #[serde(default)]
    pub color_id: i64,
    #[serde(default)]
    pub color_name: Option<String>,
    pub quantity: i64,
    /// `N` new, `U` used.
    pub new_or_used: String,
    #[serde(default)]
    pub completeness: Option<String>,
    #[serde(deserialize_with = "de::money")]
    pub unit_price: Money,
    #[serde(deserialize_with = "de::money")]
    pub unit_price_final: Money,
    #[serde(default)]
    pub currency_code: Option<String>,
    #[serde(default)]
    pub remarks: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub weight: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ItemRef {
    pub no: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub category_id: Option<i64>,
}

/// `GET /inventories` element, `GET`/`PUT /inventories/{id}`: one lot of the store.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct InventoryLot {
    pub inventory_id: i64,
    pub item: ItemRef,
    #[serde(default)]
    pub color_id: i64,
    #[serde(default)]
    pub color_name: Option<String>,
    pub quantity: i64,
    /// `N` new, `U` used.
    pub new_or_used: String,
    /// Sets: `C` complete, `B` incomplete, `S` sealed.
    #[serde(default)]
    pub completeness: Option<String>,
    #[serde(deserialize_with = "de::money")]
    pub unit_price: Money,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub remarks: Option<String>,
    #[serde(default)]
    pub is_stock_room: bool,
    #[serde(default)]
    pub stock_room_id: Option<String>,
    #[serde(default, deserialize_with = "de::money_opt")]
    pub my_cost: Option<Money>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub date_created: Option<OffsetDateTime>,
    /// Tier prices: from `tier_quantityN` pieces, `tier_priceN` each (0: no tier).
    #[serde(default)]
    pub tier_quantity1: i64,
    #[serde(default, deserialize_with = "de::money_opt")]
    pub tier_price1: Option<Money>,
    #[serde(default)]
    pub tier_quantity2: i64,
    #[serde(default, deserialize_with = "de::money_opt")]
    pub tier_price2: Option<Money>,
    #[serde(default)]
    pub tier_quantity3: i64,
    #[serde(default, deserialize_with = "de::money_opt")]
    pub tier_price3: Option<Money>,
}

impl InventoryLot {
    /// The tiers in use, in order.
    pub fn tiers(&self) -> Vec<app::TierPrice> {
        [
            (self.tier_quantity1, self.tier_price1),
            (self.tier_quantity2, self.tier_price2),
            (self.tier_quantity3, self.tier_price3),
        ]
        .into_iter()
        .filter_map(|(quantity, price)| {
            Some(app::TierPrice {
                quantity,
                price: price?,
            })
            .filter(|t| t.quantity > 0 && t.price.0 > 0)
        })
        .collect()
    }
}

/// `GET /orders/{id}/messages` element.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Message {
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(rename = "dateSent", with = "time::serde::rfc3339")]
    pub date_sent: OffsetDateTime,
}

/// A feedback resource (`GET /feedback/{id}`, `GET /orders/{id}/feedback`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Feedback {
    pub feedback_id: i64,
    #[serde(default, deserialize_with = "de::int_opt")]
    pub order_id: Option<i64>,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(with = "time::serde::rfc3339")]
    pub date_rated: OffsetDateTime,
    #[serde(deserialize_with = "de::int")]
    pub rating: i64,
    /// `S`: of the seller (the buyer left it); `B`: of the buyer (the seller left it).
    #[serde(default)]
    pub rating_of_bs: String,
    #[serde(default)]
    pub comment: String,
    #[serde(default)]
    pub reply: Option<String>,
}

/// `GET /notifications` element.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Notification {
    /// `Order`, `Message` or `Feedback`.
    pub event_type: String,
    pub resource_id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
}

/// `GET /items/{type}/{no}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CatalogItem {
    pub no: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub category_id: Option<i64>,
    #[serde(default)]
    pub image_url: Option<String>,
    #[serde(default)]
    pub thumbnail_url: Option<String>,
    #[serde(default)]
    pub weight: Option<String>,
    #[serde(default)]
    pub year_released: Option<i64>,
    #[serde(default)]
    pub is_obsolete: bool,
}

/// `GET /items/{type}/{no}/images/{color_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ItemImage {
    pub no: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub thumbnail_url: String,
}

/// `GET /items/{type}/{no}/subsets` element: a match group (`match_no` 0 has no alternates).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SubsetGroup {
    pub match_no: i64,
    pub entries: Vec<SubsetEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SubsetEntry {
    pub item: ItemRef,
    #[serde(default)]
    pub color_id: i64,
    pub quantity: i64,
    #[serde(default)]
    pub extra_quantity: i64,
    #[serde(default)]
    pub is_alternate: bool,
    #[serde(default)]
    pub is_counterpart: bool,
}

/// `GET /items/{type}/{no}/price`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PriceGuide {
    pub new_or_used: String,
    pub currency_code: String,
    #[serde(deserialize_with = "de::money")]
    pub min_price: Money,
    #[serde(deserialize_with = "de::money")]
    pub max_price: Money,
    #[serde(deserialize_with = "de::money")]
    pub avg_price: Money,
    #[serde(deserialize_with = "de::money")]
    pub qty_avg_price: Money,
    #[serde(default)]
    pub unit_quantity: i64,
    #[serde(default)]
    pub total_quantity: i64,
}

/// `GET /colors` element.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Color {
    pub color_id: i64,
    pub color_name: String,
    #[serde(default)]
    pub color_code: Option<String>,
    #[serde(default)]
    pub color_type: Option<String>,
}
