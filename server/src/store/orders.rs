//! Orders per user and marketplace. The `orders` tree holds each order in full (key: user id |
//! marketplace tag | order id); an in-memory index of the list rows, rebuilt at open, answers
//! filtered, sorted, searched and paged lists without touching the disk. Upserts are
//! idempotent: the same order fetched twice changes nothing.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, RwLock},
};

use app::{Marketplace, OrderDetail, OrderList, OrderSort, OrderStatus, OrderSummary, UserId};
use time::OffsetDateTime;

use super::{StoreError, codec, keys};

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
    /// Lower-cased order number, buyer, item numbers and names.
    haystack: String,
    /// Lower-cased buyer, the sort key.
    buyer_key: String,
}

type UserRows = BTreeMap<(Marketplace, u64), Row>;

/// The orders tree and its index.
#[derive(Clone)]
pub struct Orders {
    tree: sled::Tree,
    index: Arc<RwLock<HashMap<UserId, UserRows>>>,
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

fn row(detail: &OrderDetail) -> Row {
    let mut haystack = format!(
        "{} {} {}",
        detail.summary.order_id,
        detail.summary.buyer,
        detail.buyer_email.as_deref().unwrap_or_default()
    );
    for line in &detail.lines {
        haystack.push(' ');
        haystack.push_str(&line.item_no);
        haystack.push(' ');
        haystack.push_str(&line.name);
    }
    Row {
        summary: detail.summary.clone(),
        haystack: haystack.to_lowercase(),
        buyer_key: detail.summary.buyer.to_lowercase(),
    }
}

impl Orders {
    pub(super) fn open(db: &sled::Db) -> Result<Self, StoreError> {
        let tree = db.open_tree("orders")?;
        let mut index: HashMap<UserId, UserRows> = HashMap::new();
        for entry in &tree {
            let (k, v) = entry?;
            let user = keys::user_from(&k)?;
            let detail: OrderDetail = codec::decode(&v)?;
            let id = numeric(&detail.summary.order_id)?;
            index
                .entry(user)
                .or_default()
                .insert((detail.summary.marketplace, id), row(&detail));
        }
        Ok(Self {
            tree,
            index: Arc::new(RwLock::new(index)),
        })
    }

    /// Stores the order as fetched; `Unchanged` when it is what was stored (apart from the
    /// sync time).
    pub fn upsert(&self, user: UserId, detail: &OrderDetail) -> Result<Upserted, StoreError> {
        let marketplace = detail.summary.marketplace;
        let id = numeric(&detail.summary.order_id)?;
        let record_key = key(user, marketplace, id);
        let outcome = match self.get(user, marketplace, &detail.summary.order_id)? {
            None => Upserted::New,
            Some(mut old) => {
                old.synced_at = detail.synced_at;
                if old == *detail {
                    Upserted::Unchanged
                } else {
                    Upserted::Changed
                }
            }
        };
        self.tree.insert(record_key, codec::encode(detail))?;
        self.index
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(user)
            .or_default()
            .insert((marketplace, id), row(detail));
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
    ) -> HashMap<String, (OffsetDateTime, String)> {
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
                            (s.changed_at, s.marketplace_status.clone()),
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
                OrderSort::Buyer => a.buyer_key.cmp(&b.buyer_key),
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
                .skip((page - 1) * per_page)
                .take(per_page)
                .map(|r| r.summary.clone())
                .collect(),
            page,
            per_page,
        }
    }
}

#[cfg(test)]
#[path = "orders_tests.rs"]
mod tests;
