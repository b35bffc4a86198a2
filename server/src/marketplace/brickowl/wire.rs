//! BrickOwl API v1 JSON as sent: bare (no envelope), nearly every scalar a string, times as
//! unix-second strings, and PHP's `[]` where an empty object was meant.

use std::collections::BTreeMap;

use app::Money;
use serde::{Deserialize, Deserializer};

use crate::marketplace::de;

/// `GET order/list` element.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OrderSummary {
    #[serde(deserialize_with = "de::text")]
    pub order_id: String,
    /// Unix seconds.
    #[serde(deserialize_with = "de::int")]
    pub order_date: i64,
    #[serde(default, deserialize_with = "de::int_opt")]
    pub updated_time: Option<i64>,
    #[serde(default, deserialize_with = "de::int_opt")]
    pub total_quantity: Option<i64>,
    #[serde(default, deserialize_with = "de::int_opt")]
    pub total_lots: Option<i64>,
    #[serde(default, deserialize_with = "de::money_opt")]
    pub base_order_total: Option<Money>,
    #[serde(default)]
    pub status: String,
    #[serde(deserialize_with = "de::int")]
    pub status_id: i64,
}

/// `GET order/view`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Order {
    #[serde(deserialize_with = "de::text")]
    pub order_id: String,
    #[serde(deserialize_with = "de::int")]
    pub order_time: i64,
    #[serde(default, deserialize_with = "de::int_opt")]
    pub updated_time: Option<i64>,
    #[serde(default, deserialize_with = "de::int_opt")]
    pub processed_time: Option<i64>,
    #[serde(default, deserialize_with = "opt_text")]
    pub store_id: Option<String>,
    #[serde(default)]
    pub status: String,
    #[serde(deserialize_with = "de::int")]
    pub status_id: i64,
    #[serde(default)]
    pub base_currency: Option<String>,
    #[serde(default, deserialize_with = "de::money_opt")]
    pub base_order_total: Option<Money>,
    #[serde(default, deserialize_with = "de::money_opt")]
    pub payment_total: Option<Money>,
    #[serde(default, deserialize_with = "de::money_opt")]
    pub sub_total: Option<Money>,
    #[serde(default, deserialize_with = "de::money_opt")]
    pub ship_total: Option<Money>,
    #[serde(default, deserialize_with = "de::money_opt")]
    pub tax_rate: Option<Money>,
    #[serde(default, deserialize_with = "de::money_opt")]
    pub tax_amount: Option<Money>,
    #[serde(default, deserialize_with = "de::int_opt")]
    pub total_quantity: Option<i64>,
    #[serde(default, deserialize_with = "de::int_opt")]
    pub total_lots: Option<i64>,
    #[serde(default)]
    pub ship_method_name: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub tracking_number: Option<String>,
    #[serde(default)]
    pub buyer_name: Option<String>,
    #[serde(default)]
    pub customer_email: Option<String>,
    #[serde(default)]
    pub customer_username: Option<String>,
    #[serde(default)]
    pub buyer_note: Option<String>,
    #[serde(default)]
    pub ship_first_name: Option<String>,
    #[serde(default)]
    pub ship_last_name: Option<String>,
    #[serde(default)]
    pub ship_street_1: Option<String>,
    #[serde(default)]
    pub ship_street_2: Option<String>,
    #[serde(default)]
    pub ship_city: Option<String>,
    #[serde(default)]
    pub ship_region: Option<String>,
    #[serde(default)]
    pub ship_post_code: Option<String>,
    #[serde(default)]
    pub ship_country_code: Option<String>,
    #[serde(default)]
    pub ship_country: Option<String>,
}

/// `GET order/items` element.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OrderItem {
    #[serde(deserialize_with = "de::text")]
    pub order_item_id: String,
    #[serde(default)]
    pub boid: Option<String>,
    pub name: String,
    #[serde(default)]
    pub condition: Option<String>,
    #[serde(default)]
    pub color_name: Option<String>,
    #[serde(default, deserialize_with = "de::int_opt")]
    pub color_id: Option<i64>,
    #[serde(deserialize_with = "de::int")]
    pub ordered_quantity: i64,
    #[serde(deserialize_with = "de::money")]
    pub base_price: Money,
    #[serde(default)]
    pub image_small: Option<String>,
    #[serde(default)]
    pub personal_note: Option<String>,
    #[serde(default)]
    pub public_note: Option<String>,
    /// `{"other": "55984791"}`, or `[]` when there are none.
    #[serde(default, deserialize_with = "map_or_empty_list")]
    pub external_lot_ids: BTreeMap<String, String>,
    #[serde(default)]
    pub ids: Vec<CatalogId>,
    /// The lot the line sold from.
    #[serde(default, deserialize_with = "de::int_opt")]
    pub lot_id: Option<i64>,
    /// The BrickLink lot id a syncing tool stored with that lot.
    #[serde(default, deserialize_with = "de::int_opt")]
    pub bl_lot_id: Option<i64>,
}

/// One of an item's numbers in another catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CatalogId {
    #[serde(deserialize_with = "de::text")]
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// `GET catalog/lookup`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CatalogItem {
    pub boid: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub ids: Vec<CatalogId>,
    #[serde(default)]
    pub color_name: Option<String>,
    #[serde(default, deserialize_with = "de::int_opt")]
    pub color_id: Option<i64>,
    #[serde(default)]
    pub color_hex: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub images: Vec<Images>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Images {
    #[serde(default)]
    pub small: Option<String>,
    #[serde(default)]
    pub medium: Option<String>,
    #[serde(default)]
    pub large: Option<String>,
}

/// `GET catalog/id_lookup`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IdLookup {
    pub boids: Vec<String>,
}

/// `{"status": "success"}` from every POST that worked.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Status {
    pub status: String,
}

fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    struct Wrap(#[serde(deserialize_with = "de::text")] String);
    Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
}

/// `GET inventory/list` element: one lot of the store.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct InventoryLot {
    #[serde(deserialize_with = "de::int")]
    pub lot_id: i64,
    #[serde(default)]
    pub boid: String,
    /// `Part`, `Minifigure`, `Set`, ...
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "de::int_opt")]
    pub color_id: Option<i64>,
    /// `new`, `usedg`, ... (BrickOwl's condition ids).
    #[serde(default)]
    pub con: String,
    #[serde(deserialize_with = "de::int")]
    pub quantity: i64,
    #[serde(deserialize_with = "de::money")]
    pub price: Money,
    #[serde(default, deserialize_with = "de::int_opt")]
    pub for_sale: Option<i64>,
    #[serde(default)]
    pub personal_note: Option<String>,
    #[serde(default)]
    pub public_note: Option<String>,
    /// `{"other": "310000012"}`, or `[]` when there are none.
    #[serde(default, deserialize_with = "map_or_empty_list")]
    pub external_lot_ids: BTreeMap<String, String>,
    #[serde(default)]
    pub ids: Vec<CatalogId>,
}

fn map_or_empty_list<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum MapOrList {
        Map(BTreeMap<String, serde_json::Value>),
        List(#[allow(dead_code)] Vec<serde_json::Value>),
    }
    Ok(match Option::<MapOrList>::deserialize(d)? {
        Some(MapOrList::Map(map)) => map
            .into_iter()
            .map(|(k, v)| {
                let text = match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, text)
            })
            .collect(),
        Some(MapOrList::List(_)) | None => BTreeMap::new(),
    })
}

/// `GET catalog/color_list` element: a BrickOwl colour and the BrickLink ids it stands for.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Color {
    #[serde(deserialize_with = "de::int")]
    pub id: i64,
    #[serde(default)]
    pub name: String,
    /// BrickLink colour ids, as strings or numbers.
    #[serde(default)]
    pub bl_ids: Vec<serde_json::Value>,
}

impl Color {
    /// The BrickLink colour ids this colour stands for.
    pub fn bricklink_ids(&self) -> Vec<i64> {
        self.bl_ids
            .iter()
            .filter_map(|v| match v {
                serde_json::Value::Number(n) => n.as_i64(),
                serde_json::Value::String(s) => s.trim().parse().ok(),
                _ => None,
            })
            .collect()
    }
}

/// `GET catalog/color_list`: an object keyed by colour id (as BrickOwl answers), or a list.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ColorList {
    Keyed(BTreeMap<String, Color>),
    Listed(Vec<Color>),
}

impl ColorList {
    pub fn into_colors(self) -> Vec<Color> {
        match self {
            Self::Keyed(map) => map.into_values().collect(),
            Self::Listed(list) => list,
        }
    }
}
