//! Orders per user and marketplace. The `orders` tree holds each order in full (key: user id |
//! marketplace tag | order id); a compact in-memory index of the list rows, rebuilt at open,
//! answers filtered, sorted, searched and paged lists without touching the disk. Upserts are
//! idempotent: the same order fetched twice changes nothing.

mod search;
mod stats;

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::{Arc, Mutex, RwLock},
};

use app::{
    Marketplace, NeedsAction, OrderDetail, OrderList, OrderSort, OrderStatus, OrderSummary, Sales,
    TopItem, UserId,
};
use time::OffsetDateTime;

use super::{StoreError, codec, keys};
pub use search::{BuyerMatch, ItemMatch, OrderMatches, text_score};

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
/// (buyer, item, currency, marketplace status), about a hundred bytes plus eight per line, so
/// a million orders fit in a small server's memory. The full order stays on disk.
struct Row {
    id: u64,
    /// Unix nanoseconds (UTC).
    ordered_at: i64,
    changed_at: i64,
    total: app::Money,
    items: u32,
    lots: u32,
    buyer: Arc<Buyer>,
    currency: Arc<str>,
    marketplace_status: Arc<str>,
    marketplace: Marketplace,
    status: OrderStatus,
    filed: bool,
    /// What it sold: item ids in the interner, and pieces.
    sold: Box<[(u32, u32)]>,
}

impl Row {
    /// The list row the API shows.
    fn summary(&self) -> OrderSummary {
        OrderSummary {
            marketplace: self.marketplace,
            order_id: self.id.to_string(),
            ordered_at: at(self.ordered_at),
            changed_at: at(self.changed_at),
            status: self.status,
            marketplace_status: self.marketplace_status.to_string(),
            buyer: self.buyer.name.clone(),
            total: self.total,
            currency: self.currency.to_string(),
            items: i64::from(self.items),
            lots: i64::from(self.lots),
            filed: self.filed,
        }
    }

    /// The lower-cased buyer, the sort key.
    fn buyer_key(&self) -> &str {
        &self.buyer.name_key
    }

    /// Whether every word (lower case) is in the order number, the buyer, their email or an
    /// item sold; `items[w][id]` says whether item `id` holds word `w`.
    fn holds_all(&self, words: &[&str], items: &[Vec<bool>]) -> bool {
        let mut digits = itoa::Buffer::new();
        let id = digits.format(self.id);
        words.iter().zip(items).all(|(word, items)| {
            id.contains(word)
                || self.buyer.name_key.contains(word)
                || self.buyer.email_key.contains(word)
                || self
                    .sold
                    .iter()
                    .any(|(item, _)| items.get(*item as usize).copied().unwrap_or(false))
        })
    }
}

fn nanos(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos()).unwrap_or(i64::MAX)
}

fn at(nanos: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A buyer as orders name them, stored once however many orders are theirs.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Buyer {
    name: String,
    /// Lower-cased name (the sort and search key) and email.
    name_key: String,
    email_key: String,
}

/// A catalogue item as orders sell it, stored once however many orders hold it.
#[derive(Debug)]
struct Item {
    item_type: String,
    item_no: String,
    name: String,
    color_id: i64,
    color_name: Option<String>,
    /// Lower-cased number and name, for search.
    no_key: String,
    name_key: String,
}

type ItemKey = (String, String, i64);

/// What rows share, each stored once: items (numbered in the order they were first seen, so
/// counts over items are plain vectors), buyers, and short texts.
#[derive(Default)]
struct Shared {
    item_ids: HashMap<ItemKey, u32>,
    items: Vec<Arc<Item>>,
    buyers: HashSet<Arc<Buyer>>,
    texts: HashSet<Arc<str>>,
}

impl Shared {
    fn item(&mut self, line: &app::OrderLine) -> u32 {
        let key = (line.item_type.clone(), line.item_no.clone(), line.color_id);
        if let Some(id) = self.item_ids.get(&key) {
            return *id;
        }
        let id = u32::try_from(self.items.len()).unwrap_or(u32::MAX);
        self.items.push(Arc::new(Item {
            item_type: line.item_type.clone(),
            item_no: line.item_no.clone(),
            name: line.name.clone(),
            color_id: line.color_id,
            color_name: line.color_name.clone(),
            no_key: line.item_no.to_lowercase(),
            name_key: line.name.to_lowercase(),
        }));
        self.item_ids.insert(key, id);
        id
    }

    fn buyer(&mut self, name: &str, email: Option<&str>) -> Arc<Buyer> {
        let buyer = Buyer {
            name: name.to_owned(),
            name_key: name.to_lowercase(),
            email_key: email.unwrap_or_default().to_lowercase(),
        };
        if let Some(known) = self.buyers.get(&buyer) {
            return known.clone();
        }
        let buyer = Arc::new(buyer);
        self.buyers.insert(buyer.clone());
        buyer
    }

    fn text(&mut self, text: &str) -> Arc<str> {
        if let Some(known) = self.texts.get(text) {
            return known.clone();
        }
        let text: Arc<str> = Arc::from(text);
        self.texts.insert(text.clone());
        text
    }

    /// Per word, which items hold it in their number or name.
    fn items_holding(&self, words: &[&str]) -> Vec<Vec<bool>> {
        words
            .iter()
            .map(|word| {
                self.items
                    .iter()
                    .map(|i| i.no_key.contains(word) || i.name_key.contains(word))
                    .collect()
            })
            .collect()
    }
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

type UserRows = BTreeMap<(Marketplace, u64), Row>;

/// The orders tree and its index.
#[derive(Clone)]
pub struct Orders {
    tree: sled::Tree,
    index: Arc<RwLock<HashMap<UserId, UserRows>>>,
    shared: Arc<Mutex<Shared>>,
    revisions: super::Revisions,
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

fn row(id: u64, detail: &OrderDetail, shared: &Mutex<Shared>) -> Row {
    let mut shared = shared
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let s = &detail.summary;
    let sold = detail
        .lines
        .iter()
        .map(|line| {
            let quantity = u32::try_from(line.quantity.max(0)).unwrap_or(u32::MAX);
            (shared.item(line), quantity)
        })
        .collect();
    Row {
        id,
        ordered_at: nanos(s.ordered_at),
        changed_at: nanos(s.changed_at),
        total: s.total,
        items: u32::try_from(s.items.max(0)).unwrap_or(u32::MAX),
        lots: u32::try_from(s.lots.max(0)).unwrap_or(u32::MAX),
        buyer: shared.buyer(&s.buyer, detail.buyer_email.as_deref()),
        currency: shared.text(&s.currency),
        marketplace_status: shared.text(&s.marketplace_status),
        marketplace: s.marketplace,
        status: s.status,
        filed: s.filed,
        sold,
    }
}

impl Orders {
    pub(super) fn open(db: &sled::Db, revisions: super::Revisions) -> Result<Self, StoreError> {
        let tree = db.open_tree("orders")?;
        let shared = Mutex::default();
        let mut index: HashMap<UserId, UserRows> = HashMap::new();
        for entry in &tree {
            let (k, v) = entry?;
            let user = keys::user_from(&k)?;
            let detail: OrderDetail = codec::decode_at(&tree, &k, &v)?;
            let id = numeric(&detail.summary.order_id)?;
            index
                .entry(user)
                .or_default()
                .insert((detail.summary.marketplace, id), row(id, &detail, &shared));
        }
        Ok(Self {
            tree,
            index: Arc::new(RwLock::new(index)),
            shared: Arc::new(shared),
            revisions,
        })
    }

    /// Stores the order as fetched; `Unchanged` when it is what was stored (apart from the
    /// sync time).
    pub fn upsert(&self, user: UserId, detail: &OrderDetail) -> Result<Upserted, StoreError> {
        let marketplace = detail.summary.marketplace;
        let id = numeric(&detail.summary.order_id)?;
        let record_key = key(user, marketplace, id);
        // Upserts of one store run one at a time under the index lock, so the stored order and
        // its index row always hold the same, winning, copy.
        let mut index = self
            .index
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
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
        self.tree
            .compare_and_swap(&record_key, current, Some(codec::encode(detail)))?
            .map_err(|_| StoreError::Corrupt("an order changed outside the store".into()))?;
        index
            .entry(user)
            .or_default()
            .insert((marketplace, id), row(id, detail, &self.shared));
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
        self.tree
            .get(key(user, marketplace, id))?
            .map(|v| codec::decode(&v))
            .transpose()
    }

    /// When each stored order of `user` on `marketplace` last changed and its marketplace
    /// status, by order id: what a sync compares the marketplace's list with.
    pub fn known(
        &self,
        user: UserId,
        marketplace: Marketplace,
    ) -> HashMap<String, (OffsetDateTime, String, OrderStatus)> {
        let index = self
            .index
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        index
            .get(&user)
            .map(|rows| {
                rows.range((marketplace, 0)..=(marketplace, u64::MAX))
                    .map(|(_, r)| {
                        (
                            r.id.to_string(),
                            (at(r.changed_at), r.marketplace_status.to_string(), r.status),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The lowest id among `user`'s stored orders on `marketplace`, if any.
    pub fn lowest_id(&self, user: UserId, marketplace: Marketplace) -> Option<u64> {
        let index = self
            .index
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        index.get(&user).and_then(|rows| {
            rows.range((marketplace, 0)..=(marketplace, u64::MAX))
                .next()
                .map(|((_, id), _)| *id)
        })
    }

    /// How many orders `user` has.
    pub fn count(&self, user: UserId) -> usize {
        let index = self
            .index
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        index.get(&user).map_or(0, BTreeMap::len)
    }

    /// Every list row of `user` (for dashboards and exports).
    pub fn summaries(&self, user: UserId) -> Vec<OrderSummary> {
        let index = self
            .index
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        index
            .get(&user)
            .map(|rows| rows.values().map(Row::summary).collect())
            .unwrap_or_default()
    }

    /// One page of `user`'s orders.
    pub fn list(&self, user: UserId, filter: &OrderFilter) -> OrderList {
        let query = filter.query.as_deref().unwrap_or_default().to_lowercase();
        let words: Vec<&str> = query.split_whitespace().collect();
        let items = if words.is_empty() {
            Vec::new()
        } else {
            self.shared
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .items_holding(&words)
        };
        let (from, to) = (filter.from.map(nanos), filter.to.map(nanos));
        let index = self
            .index
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut hits: Vec<&Row> = index
            .get(&user)
            .into_iter()
            .flat_map(BTreeMap::values)
            .filter(|r| filter.marketplace.is_none_or(|m| r.marketplace == m))
            .filter(|r| filter.statuses.is_empty() || filter.statuses.contains(&r.status))
            .filter(|r| from.is_none_or(|from| r.ordered_at >= from))
            .filter(|r| to.is_none_or(|to| r.ordered_at < to))
            .filter(|r| words.is_empty() || r.holds_all(&words, &items))
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
