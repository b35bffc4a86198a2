//! Orders per user and marketplace. The `orders` tree holds each order in full (key: user id |
//! marketplace tag | order id); an in-memory index of the list rows, rebuilt at open, answers
//! filtered, sorted, searched and paged lists without touching the disk. Upserts are
//! idempotent: the same order fetched twice changes nothing.

mod search;
mod stats;

use std::{
    collections::{BTreeMap, HashMap},
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

struct Row {
    summary: OrderSummary,
    /// Lower-cased order number, buyer, email, item numbers and names, in one string so a scan
    /// over rows touches one allocation per order.
    haystack: String,
    /// Where the order number ends and the buyer lies in `haystack`.
    id_end: u32,
    buyer: (u32, u32),
    /// What it sold: each item (shared between orders) and its pieces.
    sold: Box<[(Arc<Item>, u32)]>,
}

impl Row {
    /// The lower-cased order number.
    fn id_key(&self) -> &str {
        self.haystack
            .get(..self.id_end as usize)
            .unwrap_or_default()
    }

    /// The lower-cased buyer, the sort key.
    fn buyer_key(&self) -> &str {
        self.haystack
            .get(self.buyer.0 as usize..self.buyer.1 as usize)
            .unwrap_or_default()
    }
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
    /// Its place in the interner: counts over items are plain vectors indexed by it.
    id: usize,
}

type ItemKey = (String, String, i64);

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
    items: Arc<Mutex<HashMap<ItemKey, Arc<Item>>>>,
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

fn row(detail: &OrderDetail, items: &Mutex<HashMap<ItemKey, Arc<Item>>>) -> Row {
    let mut items = items
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let sold = detail
        .lines
        .iter()
        .map(|line| {
            let key = (line.item_type.clone(), line.item_no.clone(), line.color_id);
            let id = items.len();
            let item = items
                .entry(key)
                .or_insert_with(|| {
                    Arc::new(Item {
                        item_type: line.item_type.clone(),
                        item_no: line.item_no.clone(),
                        name: line.name.clone(),
                        color_id: line.color_id,
                        color_name: line.color_name.clone(),
                        no_key: line.item_no.to_lowercase(),
                        name_key: line.name.to_lowercase(),
                        id,
                    })
                })
                .clone();
            (
                item,
                u32::try_from(line.quantity.max(0)).unwrap_or(u32::MAX),
            )
        })
        .collect();
    drop(items);
    let (haystack, id_end, buyer) = search_text(detail);
    Row {
        summary: detail.summary.clone(),
        haystack,
        id_end,
        buyer,
        sold,
    }
}

/// The lower-cased search text of an order, with where its number ends and its buyer lies.
fn search_text(detail: &OrderDetail) -> (String, u32, (u32, u32)) {
    let offset = |text: &String| u32::try_from(text.len()).unwrap_or(u32::MAX);
    let mut haystack = detail.summary.order_id.to_lowercase();
    let id_end = offset(&haystack);
    haystack.push(' ');
    let buyer_start = offset(&haystack);
    haystack.push_str(&detail.summary.buyer.to_lowercase());
    let buyer_end = offset(&haystack);
    for text in std::iter::once(detail.buyer_email.as_deref().unwrap_or_default()).chain(
        detail
            .lines
            .iter()
            .flat_map(|l| [l.item_no.as_str(), l.name.as_str()]),
    ) {
        haystack.push(' ');
        haystack.push_str(&text.to_lowercase());
    }
    haystack.shrink_to_fit();
    (haystack, id_end, (buyer_start, buyer_end))
}

impl Orders {
    pub(super) fn open(db: &sled::Db, revisions: super::Revisions) -> Result<Self, StoreError> {
        let tree = db.open_tree("orders")?;
        let items = Mutex::default();
        let mut index: HashMap<UserId, UserRows> = HashMap::new();
        for entry in &tree {
            let (k, v) = entry?;
            let user = keys::user_from(&k)?;
            let detail: OrderDetail = codec::decode(&v)?;
            let id = numeric(&detail.summary.order_id)?;
            index
                .entry(user)
                .or_default()
                .insert((detail.summary.marketplace, id), row(&detail, &items));
        }
        Ok(Self {
            tree,
            index: Arc::new(RwLock::new(index)),
            items: Arc::new(items),
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
            .insert((marketplace, id), row(detail, &self.items));
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
                        let s = &r.summary;
                        (
                            s.order_id.clone(),
                            (s.changed_at, s.marketplace_status.clone(), s.status),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
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
            .map(|rows| rows.values().map(|r| r.summary.clone()).collect())
            .unwrap_or_default()
    }

    /// One page of `user`'s orders.
    pub fn list(&self, user: UserId, filter: &OrderFilter) -> OrderList {
        let words: Vec<String> = filter
            .query
            .as_deref()
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
        let index = self
            .index
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut hits: Vec<&Row> = index
            .get(&user)
            .into_iter()
            .flat_map(BTreeMap::values)
            .filter(|r| {
                filter
                    .marketplace
                    .is_none_or(|m| r.summary.marketplace == m)
            })
            .filter(|r| filter.statuses.is_empty() || filter.statuses.contains(&r.summary.status))
            .filter(|r| filter.from.is_none_or(|from| r.summary.ordered_at >= from))
            .filter(|r| filter.to.is_none_or(|to| r.summary.ordered_at < to))
            .filter(|r| words.iter().all(|w| r.haystack.contains(w.as_str())))
            .collect();
        let by = |a: &&Row, b: &&Row| {
            let (x, y) = (&a.summary, &b.summary);
            match filter.sort {
                OrderSort::Date => x.ordered_at.cmp(&y.ordered_at),
                OrderSort::Changed => x.changed_at.cmp(&y.changed_at),
                OrderSort::Total => x.total.cmp(&y.total),
                OrderSort::Buyer => a.buyer_key().cmp(b.buyer_key()),
                OrderSort::Status => x.status.cmp(&y.status),
            }
            .then_with(|| x.order_id.cmp(&y.order_id))
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
                .map(|r| r.summary.clone())
                .collect(),
            page,
            per_page,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
