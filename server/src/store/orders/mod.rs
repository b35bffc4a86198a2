//! Orders per user and marketplace. The `orders` tree holds each order in full (key: user id |
//! marketplace tag | order id); a compact in-memory index of the list rows, rebuilt at open
//! (in the background when serving: `load.rs`), answers filtered, sorted, searched and paged
//! lists without touching the disk. Upserts are idempotent: the same order fetched twice
//! changes nothing.

mod load;
mod rows;
mod search;
mod shared;
mod stats;
mod table;
mod texts;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard},
};

use app::{
    Marketplace, NeedsAction, OrderDetail, OrderList, OrderSort, OrderStatus, OrderSummary, Sales,
    TopItem, UserId,
};
use time::OffsetDateTime;

use super::{StoreError, codec, keys};
use load::Load;
pub use load::LoadState;
pub use rows::build as build_index_trees;
use rows::{StoredItem, StoredRow};
pub use search::{BuyerMatch, ItemMatch, OrderMatches, text_score};
use shared::{Buyer, Item, ItemKey, Labels, Matcher, Shared};
use table::Table;

/// Filters of `GET /api/orders`.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub statuses: Vec<OrderStatus>,
    pub marketplace: Option<Marketplace>,
    /// Words that must all appear in the order number, buyer or items.
    pub query: Option<String>,
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    pub sort: OrderSort,
    pub descending: bool,
    pub page: usize,
    pub per_page: usize,
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    New,
    Changed,
    Unchanged,
}

/// One order as the index keeps it: numbers, dates and handles to what many orders share
/// (buyer, currency and marketplace status), 72 bytes, and what it sold packed in its table's
/// chunk (about two bytes a line, `table::Lines`), so a million orders fit in a small
/// server's memory. The full order stays on disk.
struct Row {
    id: u64,
    /// Unix nanoseconds (UTC).
    ordered_at: i64,
    changed_at: i64,
    total: app::Money,
    buyer: Arc<Buyer>,
    labels: Arc<Labels>,
    /// The buyer's id (in the padding: a scan reads it without following `buyer`).
    buyer_id: u32,
    items: u32,
    lots: u32,
    /// Where what it sold starts in its chunk's bytes, and how many bytes: item ids in the
    /// interner and pieces, packed (`table::Lines`).
    sold_at: u32,
    sold_len: u32,
    marketplace: Marketplace,
    status: OrderStatus,
    filed: bool,
}

// The buyer's id sits in what would be padding.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Row>() == 72);

impl Row {
    /// The list row the API shows.
    fn summary(&self) -> OrderSummary {
        OrderSummary {
            marketplace: self.marketplace,
            order_id: self.id.to_string(),
            ordered_at: at(self.ordered_at),
            changed_at: at(self.changed_at),
            status: self.status,
            marketplace_status: self.labels.marketplace_status.to_string(),
            buyer: self.buyer.name.clone(),
            total: self.total,
            currency: self.labels.currency.to_string(),
            items: i64::from(self.items),
            lots: i64::from(self.lots),
            filed: self.filed,
        }
    }

    /// The lower-cased buyer, the sort key.
    fn buyer_key(&self) -> &str {
        &self.buyer.name_key
    }
}

fn nanos(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos()).unwrap_or(i64::MAX)
}

fn at(nanos: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Sales, orders waiting on the seller, and the best sellers, from the index.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrderStats {
    pub sales: Vec<Sales>,
    pub needs_action: NeedsAction,
    pub top_items: Vec<TopItem>,
}

/// Days in the sales chart (and the longest sales window).
pub const CHART_DAYS: usize = 30;

/// The orders tree and its index.
#[derive(Clone)]
pub struct Orders {
    tree: sled::Tree,
    index: Arc<RwLock<HashMap<UserId, Table>>>,
    shared: Arc<Mutex<Shared>>,
    revisions: super::Revisions,
    load: Arc<Load>,
}

fn numeric(order_id: &str) -> Result<u64, StoreError> {
    order_id
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("order id {order_id:?} is not a number")))
}

fn key(user: UserId, marketplace: Marketplace, id: u64) -> Vec<u8> {
    let mut suffix = vec![marketplace.tag()];
    suffix.extend_from_slice(&id.to_be_bytes());
    keys::user_scoped(user, &suffix)
}

/// The order as the index stores it, and the items it sold that are not stored yet.
fn stored(detail: &OrderDetail, shared: &mut Shared) -> (StoredRow, Vec<(u32, Vec<u8>)>) {
    let row = rows::stored_row(detail, |line| shared.item(line));
    let unsaved = row
        .sold
        .iter()
        .filter(|(id, _)| shared.unsaved.contains(id))
        .filter_map(|(id, _)| {
            let item = shared.items.get(*id as usize)?;
            let stored = StoredItem {
                item_type: item.item_type.clone(),
                item_no: item.item_no.clone(),
                color_id: item.color_id,
                name: item.name.clone(),
                color_name: item.color_name.clone(),
            };
            Some((*id, rows::encode(&stored)))
        })
        .collect();
    (row, unsaved)
}

/// Puts the index read in place and opens the gate; a failure is kept for whoever waits.
fn land(
    index: &RwLock<HashMap<UserId, Table>>,
    shared: &Mutex<Shared>,
    load: &Load,
    read: Result<(HashMap<UserId, Table>, Shared), StoreError>,
) -> Result<(), StoreError> {
    match read {
        Ok((read_index, read_shared)) => {
            *index.write().unwrap_or_else(PoisonError::into_inner) = read_index;
            *shared.lock().unwrap_or_else(PoisonError::into_inner) = read_shared;
            load.end(None);
            Ok(())
        }
        Err(err) => {
            load.end(Some(err.to_string()));
            Err(err)
        }
    }
}

/// Where an order's key points: user, marketplace, order id.
fn parse_key(key: &[u8]) -> Result<(UserId, Marketplace, u64), StoreError> {
    let user = keys::user_from(key)?;
    let marketplace = key
        .get(8)
        .and_then(|tag| Marketplace::from_tag(*tag))
        .ok_or_else(|| StoreError::Corrupt("an order key without its marketplace".into()))?;
    let id = key
        .get(9..17)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| StoreError::Corrupt("an order key without its number".into()))?;
    Ok((user, marketplace, id))
}

impl Orders {
    /// Opens the orders with an index still to be read ([`Orders::read_index`]); whatever
    /// needs it waits until then.
    pub(super) fn open(db: &sled::Db, revisions: super::Revisions) -> Result<Self, StoreError> {
        Ok(Self {
            tree: db.open_tree("orders")?,
            index: Arc::default(),
            shared: Arc::default(),
            revisions,
            load: Arc::new(Load::new()),
        })
    }

    /// Reads the index from the stored rows and items (never from the full orders: see
    /// `rows.rs`) and opens the gate, also when it fails (a damaged record, named).
    pub fn read_index(&self) -> Result<(), StoreError> {
        land(&self.index, &self.shared, &self.load, self.read_rows())
    }

    /// Reads the index on a thread of its own. The thread lets go of the database before it
    /// opens the gate, so a store dropped after [`Orders::loaded`] is closed.
    pub fn read_index_in_background(&self) {
        let orders = self.clone();
        std::thread::spawn(move || {
            let read = orders.read_rows();
            let (index, shared, load) = (orders.index, orders.shared, orders.load);
            drop(orders.tree);
            if let Err(err) = land(&index, &shared, &load, read) {
                tracing::error!(%err, "cannot read the orders index");
            }
        });
    }

    fn read_rows(&self) -> Result<(HashMap<UserId, Table>, Shared), StoreError> {
        let tree = &self.tree;
        let mut shared = Shared::default();
        for entry in tree.scan_prefix(rows::ITEMS) {
            let (key, value) = entry?;
            shared.put_item(rows::item_id(&key)?, rows::decode(tree, &key, &value)?);
        }
        let known = shared.items.len();
        let mut index: HashMap<UserId, Table> = HashMap::new();
        for (read, entry) in (1..).zip(tree.scan_prefix(rows::ROWS)) {
            let (key, value) = entry?;
            let (user, marketplace, id) = parse_key(&key[rows::ROWS.len()..])?;
            let stored: StoredRow = rows::decode(tree, &key, &value)?;
            if stored.sold.iter().any(|(item, _)| *item as usize >= known) {
                return Err(StoreError::Damaged {
                    tree: "orders".into(),
                    key: codec::readable(&key),
                    reason: "the row names an item that is not stored".into(),
                });
            }
            let (row, sold) = shared.row(marketplace, id, stored);
            index.entry(user).or_default().put(row, sold);
            if read % 4096 == 0 {
                self.load.progress(read);
            }
        }
        index.values_mut().for_each(Table::trim);
        shared.trim();
        Ok((index, shared))
    }

    /// How far reading the index got.
    pub fn load_state(&self) -> LoadState {
        self.load.state()
    }

    /// Resolves once the index is read (or could not be), without holding a thread: async
    /// callers await this before they use the index.
    pub async fn loaded(&self) -> LoadState {
        self.load.ended().await
    }

    /// The index, once read.
    fn rows(&self) -> RwLockReadGuard<'_, HashMap<UserId, Table>> {
        self.load.wait();
        self.index.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn rows_mut(&self) -> RwLockWriteGuard<'_, HashMap<UserId, Table>> {
        self.load.wait();
        self.index.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// What rows share, once read.
    fn shared(&self) -> MutexGuard<'_, Shared> {
        self.load.wait();
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores the order as fetched; `Unchanged` when it is what was stored (apart from the
    /// sync time).
    pub fn upsert(&self, user: UserId, detail: &OrderDetail) -> Result<Upserted, StoreError> {
        let marketplace = detail.summary.marketplace;
        let id = numeric(&detail.summary.order_id)?;
        let record_key = key(user, marketplace, id);
        // Upserts of one store run one at a time under the index lock, so the stored order and
        // its index row always hold the same, winning, copy.
        let mut index = self.rows_mut();
        if let LoadState::Failed(reason) = self.load.state() {
            return Err(StoreError::Corrupt(reason));
        }
        let current = self.tree.get(&record_key)?;
        let outcome = match &current {
            None => Upserted::New,
            Some(bytes) => {
                let mut old: OrderDetail = codec::decode(bytes)?;
                // A fetch that started before a newer one finished never writes over it.
                if old.summary.changed_at > detail.summary.changed_at {
                    return Ok(Upserted::Unchanged);
                }
                old.synced_at = detail.synced_at;
                if old == *detail {
                    Upserted::Unchanged
                } else {
                    Upserted::Changed
                }
            }
        };
        // Upserts run one at a time under the index lock: what `current` read is still stored.
        drop(current);
        let (stored, new_items) = stored(detail, &mut self.shared());
        // The order, its row and the items it sold first seen: one atomic batch.
        let mut batch = sled::Batch::default();
        for (id, bytes) in &new_items {
            batch.insert(rows::item_key(*id), bytes.as_slice());
        }
        batch.insert(rows::row_key(&record_key), rows::encode(&stored));
        batch.insert(record_key.as_slice(), codec::encode(detail));
        self.tree.apply_batch(batch)?;
        let mut shared = self.shared();
        for (item, _) in &new_items {
            shared.unsaved.remove(item);
        }
        let (row, sold) = shared.row(marketplace, id, stored);
        drop(shared);
        index.entry(user).or_default().put(row, sold);
        drop(index);
        if outcome != Upserted::Unchanged {
            self.revisions.bump(user);
        }
        Ok(outcome)
    }

    /// One order.
    pub fn get(
        &self,
        user: UserId,
        marketplace: Marketplace,
        order_id: &str,
    ) -> Result<Option<OrderDetail>, StoreError> {
        let Ok(id) = order_id.parse::<u64>() else {
            return Ok(None);
        };
        let key = key(user, marketplace, id);
        self.tree
            .get(&key)?
            .map(|v| codec::decode_at(&self.tree, &key, &v))
            .transpose()
    }

    /// When each stored order of `user` on `marketplace` last changed and its marketplace
    /// status, by order id: what a sync compares the marketplace's list with.
    pub fn known(
        &self,
        user: UserId,
        marketplace: Marketplace,
    ) -> HashMap<String, (OffsetDateTime, String, OrderStatus)> {
        let index = self.rows();
        index
            .get(&user)
            .map(|rows| {
                rows.of(marketplace)
                    .map(|r| {
                        (
                            r.id.to_string(),
                            (
                                at(r.changed_at),
                                r.labels.marketplace_status.to_string(),
                                r.status,
                            ),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The lowest id among `user`'s stored orders on `marketplace`, if any.
    pub fn lowest_id(&self, user: UserId, marketplace: Marketplace) -> Option<u64> {
        let index = self.rows();
        index
            .get(&user)
            .and_then(|rows| rows.of(marketplace).map(|r| r.id).min())
    }

    /// How many orders `user` has.
    pub fn count(&self, user: UserId) -> usize {
        let index = self.rows();
        index.get(&user).map_or(0, Table::len)
    }

    /// One page of `user`'s orders.
    pub fn list(&self, user: UserId, filter: &OrderFilter) -> OrderList {
        let query = filter.query.as_deref().unwrap_or_default().to_lowercase();
        let words: Vec<&str> = query.split_whitespace().collect();
        let matcher = (!words.is_empty()).then(|| self.shared().matcher(&words));
        let (from, to) = (filter.from.map(nanos), filter.to.map(nanos));
        let index = self.rows();
        let mut hits: Vec<&Row> = index
            .get(&user)
            .into_iter()
            .flat_map(Table::iter)
            .filter(|(r, _)| filter.marketplace.is_none_or(|m| r.marketplace == m))
            .filter(|(r, _)| filter.statuses.is_empty() || filter.statuses.contains(&r.status))
            .filter(|(r, _)| from.is_none_or(|from| r.ordered_at >= from))
            .filter(|(r, _)| to.is_none_or(|to| r.ordered_at < to))
            .filter(|(r, sold)| matcher.as_ref().is_none_or(|m| m.holds_all(r, *sold)))
            .map(|(r, _)| r)
            .collect();
        let by = |a: &&Row, b: &&Row| {
            match filter.sort {
                OrderSort::Date => a.ordered_at.cmp(&b.ordered_at),
                OrderSort::Changed => a.changed_at.cmp(&b.changed_at),
                OrderSort::Total => a.total.cmp(&b.total),
                OrderSort::Buyer => a.buyer_key().cmp(b.buyer_key()),
                OrderSort::Status => a.status.cmp(&b.status),
            }
            .then_with(|| (a.id, a.marketplace).cmp(&(b.id, b.marketplace)))
        };
        let order = |a: &&Row, b: &&Row| {
            if filter.descending {
                by(b, a)
            } else {
                by(a, b)
            }
        };
        let per_page = filter.per_page.clamp(1, 500);
        let page = filter.page.max(1);
        let total = hits.len();
        // Only the rows up to this page need sorting: select them in linear time first.
        let wanted = page.saturating_mul(per_page).min(total);
        if wanted > 0 && wanted < total {
            hits.select_nth_unstable_by(wanted - 1, order);
            hits.truncate(wanted);
        }
        hits.sort_unstable_by(order);
        OrderList {
            total,
            orders: hits
                .into_iter()
                .skip((page - 1).saturating_mul(per_page))
                .take(per_page)
                .map(Row::summary)
                .collect(),
            page,
            per_page,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
