//! The index's own records (schema 2), in the `orders` tree after every order (their keys
//! start with 0xFF, above any user id): under [`ROWS`] + the order's key, each order's list
//! row in a compact binary form (postcard), and under [`ITEMS`] + a dense id, each item orders
//! sold, once. Opening reads only these ranges (a hundred-odd bytes an order) instead of every
//! full order: sled keeps in memory what a scan reads, and full orders are ten times larger.
//! One tree makes the order, its row and its new items one atomic batch. Migration step 2
//! ([`build`]) derives them for a store that has none.

use std::collections::HashMap;

use app::{OrderDetail, OrderLine, OrderStatus};
use serde::{Deserialize, Serialize};

use super::{ItemKey, StoreError, codec, nanos, numeric};

/// One order's list row as stored.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct StoredRow {
    pub ordered_at: i64,
    pub changed_at: i64,
    pub total: i64,
    pub items: u32,
    pub lots: u32,
    pub status: OrderStatus,
    pub filed: bool,
    pub marketplace_status: String,
    pub buyer: String,
    pub email: String,
    pub currency: String,
    /// Item ids (see [`ITEMS`]) and pieces.
    pub sold: Vec<(u32, u32)>,
}

/// One item as stored under [`ITEMS`].
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct StoredItem {
    pub item_type: String,
    pub item_no: String,
    pub color_id: i64,
    pub name: String,
    pub color_name: Option<String>,
}

impl StoredItem {
    pub fn from_line(line: &OrderLine) -> Self {
        Self {
            item_type: line.item_type.clone(),
            item_no: line.item_no.clone(),
            color_id: line.color_id,
            name: line.name.clone(),
            color_name: line.color_name.clone(),
        }
    }
}

/// Where rows start: `ROWS` + the order's key.
pub(super) const ROWS: [u8; 2] = [0xFF, b'r'];
/// Where items start: `ITEMS` + the item's id.
pub(super) const ITEMS: [u8; 2] = [0xFF, b'i'];
/// Order records sort below this.
pub(super) const FIRST_INDEX_KEY: [u8; 1] = [0xFF];

pub(super) fn row_key(order_key: &[u8]) -> Vec<u8> {
    [&ROWS[..], order_key].concat()
}

pub(super) fn item_key(id: u32) -> Vec<u8> {
    [&ITEMS[..], &id.to_be_bytes()[..]].concat()
}

/// The id in an item key.
pub(super) fn item_id(key: &[u8]) -> Result<u32, StoreError> {
    key.get(ITEMS.len()..)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_be_bytes)
        .ok_or_else(|| StoreError::Corrupt("an order item key is not an id".into()))
}

pub(super) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Plain structs of numbers and strings always serialise.
    postcard::to_allocvec(value).unwrap_or_else(|e| panic!("encode index row: {e}"))
}

pub(super) fn decode<T: for<'de> Deserialize<'de>>(
    tree: &sled::Tree,
    key: &[u8],
    bytes: &[u8],
) -> Result<T, StoreError> {
    postcard::from_bytes(bytes).map_err(|e| StoreError::Damaged {
        tree: String::from_utf8_lossy(&tree.name()).into_owned(),
        key: codec::readable(key),
        reason: e.to_string(),
    })
}

/// The stored row of `detail`, its items numbered by `item_id`.
pub(super) fn stored_row(
    detail: &OrderDetail,
    mut item_id: impl FnMut(&OrderLine) -> u32,
) -> StoredRow {
    let s = &detail.summary;
    StoredRow {
        ordered_at: nanos(s.ordered_at),
        changed_at: nanos(s.changed_at),
        total: s.total.0,
        items: u32::try_from(s.items.max(0)).unwrap_or(u32::MAX),
        lots: u32::try_from(s.lots.max(0)).unwrap_or(u32::MAX),
        status: s.status,
        filed: s.filed,
        marketplace_status: s.marketplace_status.clone(),
        buyer: s.buyer.clone(),
        email: detail.buyer_email.clone().unwrap_or_default(),
        currency: s.currency.clone(),
        sold: detail
            .lines
            .iter()
            .map(|line| {
                let pieces = u32::try_from(line.quantity.max(0)).unwrap_or(u32::MAX);
                (item_id(line), pieces)
            })
            .collect(),
    }
}

/// Migration step 2: the rows and items of every stored order. Safe to repeat:
/// items already numbered keep their ids, rows are written again.
pub fn build(db: &sled::Db) -> Result<(), StoreError> {
    let orders = db.open_tree("orders")?;
    let mut ids: HashMap<ItemKey, u32> = HashMap::new();
    for entry in orders.scan_prefix(ITEMS) {
        let (key, value) = entry?;
        let item: StoredItem = decode(&orders, &key, &value)?;
        ids.insert(
            (item.item_type, item.item_no, item.color_id),
            item_id(&key)?,
        );
    }
    let mut batch = sled::Batch::default();
    let mut new_items = sled::Batch::default();
    let mut pending = 0;
    for entry in orders.range(..&FIRST_INDEX_KEY[..]) {
        let (key, value) = entry?;
        let detail: OrderDetail = codec::decode_at(&orders, &key, &value)?;
        numeric(&detail.summary.order_id)?;
        let row = stored_row(&detail, |line| {
            let next = u32::try_from(ids.len()).unwrap_or(u32::MAX);
            *ids.entry((line.item_type.clone(), line.item_no.clone(), line.color_id))
                .or_insert_with(|| {
                    new_items.insert(item_key(next), encode(&StoredItem::from_line(line)));
                    next
                })
        });
        batch.insert(row_key(&key), encode(&row));
        pending += 1;
        if pending == 10_000 {
            // Items first: a row never names an item that is not stored.
            orders.apply_batch(std::mem::take(&mut new_items))?;
            orders.apply_batch(std::mem::take(&mut batch))?;
            pending = 0;
        }
    }
    orders.apply_batch(new_items)?;
    orders.apply_batch(batch)?;
    Ok(())
}
