//! Orders per user and marketplace. The `orders` tree holds each order in full (key: user id |
//! marketplace tag | order id); an in-memory index of the list rows, rebuilt at open, answers
//! filtered, sorted, searched and paged lists without touching the disk. Upserts are
//! idempotent: the same order fetched twice changes nothing.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex, RwLock},
};

use app::{
    Day, Hit, HitKind, Marketplace, NeedsAction, OrderDetail, OrderList, OrderSort, OrderStatus,
    OrderSummary, Period, Sales, TopItem, UserId,
};
use time::{Duration, OffsetDateTime};

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

/// Below this many rows a search scans on one thread.
const PARALLEL_ROWS: usize = 20_000;

/// One thread's share of a search: matching orders, buyers, and orders per item id.
#[derive(Default)]
struct Partial<'a> {
    orders: Vec<(u32, &'a OrderSummary)>,
    buyers: HashMap<&'a str, (u32, &'a str, u32)>,
    items: Vec<u32>,
}

/// Orders ranked best first: score, then newest.
fn best_order(a: &(u32, &OrderSummary), b: &(u32, &OrderSummary)) -> std::cmp::Ordering {
    b.0.cmp(&a.0).then(b.1.ordered_at.cmp(&a.1.ordered_at))
}

fn scan_rows<'a>(
    rows: &[&'a Row],
    query: &str,
    words: &[&str],
    scores: &[u32],
    limit: usize,
) -> Partial<'a> {
    let mut partial = Partial {
        items: vec![0; scores.len()],
        ..Partial::default()
    };
    let keep = limit.max(1);
    for row in rows {
        // Only the best `limit` orders are shown: keep the candidates few when most match.
        if partial.orders.len() >= keep * 64 {
            partial.orders.select_nth_unstable_by(keep - 1, best_order);
            partial.orders.truncate(keep);
        }
        let s = &row.summary;
        if let Some(score) = text_score(row.id_key(), query, 100, 80, 0).filter(|n| *n > 0) {
            partial.orders.push((score, s));
        } else if words.iter().all(|w| row.haystack.contains(w)) {
            let score = if words.iter().all(|w| row.buyer_key().contains(w)) {
                50
            } else {
                30
            };
            partial.orders.push((score, s));
        }
        if let Some(score) = text_score(row.buyer_key(), query, 90, 70, 40) {
            partial
                .buyers
                .entry(row.buyer_key())
                .or_insert((score, s.buyer.as_str(), 0))
                .2 += 1;
        }
        if !scores.is_empty() {
            for (item, _) in row.sold.iter() {
                if scores.get(item.id).is_some_and(|score| *score > 0) {
                    partial.items[item.id] += 1;
                }
            }
        }
    }
    partial
}

/// How well `text` (lower case) matches `query`: `exact`, `prefix` or `inside` points, or
/// `None`.
pub fn text_score(text: &str, query: &str, exact: u32, prefix: u32, inside: u32) -> Option<u32> {
    if text == query {
        Some(exact)
    } else if text.starts_with(query) {
        Some(prefix)
    } else if inside > 0 && text.contains(query) {
        Some(inside)
    } else {
        None
    }
}

/// Text for a URL query value.
fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
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
            .insert((marketplace, id), row(detail, &self.items));
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

    /// Sales per store over the last [`CHART_DAYS`] UTC days (today included, cancelled
    /// orders left out), what waits on the seller, and the `top` items by pieces sold.
    pub fn stats(&self, user: UserId, now: OffsetDateTime, top: usize) -> OrderStats {
        let today = now.date();
        let first = today - Duration::days(CHART_DAYS as i64 - 1);
        let index = self
            .index
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut needs = NeedsAction::default();
        // A shop has a store or two: a short list beats hashing a currency string per order.
        let mut stores: Vec<((Marketplace, String), [Period; CHART_DAYS])> = Vec::new();
        let known = self
            .items
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len();
        // Pieces and orders per item id.
        let mut sold: Vec<(u64, u32)> = vec![(0, 0); known];
        let mut seen: Vec<Option<Arc<Item>>> = vec![None; known];
        for row in index.get(&user).into_iter().flat_map(BTreeMap::values) {
            let s = &row.summary;
            match s.status {
                OrderStatus::New => needs.to_invoice += 1,
                OrderStatus::Paid | OrderStatus::Picking => needs.to_pack += 1,
                OrderStatus::Packed => needs.to_ship += 1,
                OrderStatus::OnHold => needs.on_hold += 1,
                _ => {}
            }
            let day = s.ordered_at.date();
            if s.status == OrderStatus::Cancelled || day < first {
                continue;
            }
            // An order stamped after today (a clock ahead) counts as today's.
            let slot = usize::try_from((day - first).whole_days())
                .unwrap_or(0)
                .min(CHART_DAYS - 1);
            let at = match stores
                .iter()
                .position(|((m, c), _)| *m == s.marketplace && *c == s.currency)
            {
                Some(at) => at,
                None => {
                    stores.push((
                        (s.marketplace, s.currency.clone()),
                        [Period::default(); CHART_DAYS],
                    ));
                    stores.len() - 1
                }
            };
            let days = &mut stores[at].1;
            days[slot].total = days[slot].total + s.total;
            days[slot].orders += 1;
            for (item, quantity) in &row.sold {
                // An item interned after `known` was read belongs to an upsert racing this
                // read; it is left out.
                if let Some(count) = sold.get_mut(item.id) {
                    count.0 += u64::from(*quantity);
                    count.1 += 1;
                    if count.1 == 1 {
                        seen[item.id] = Some(item.clone());
                    }
                }
            }
        }
        drop(index);
        let sum = |days: &[Period]| {
            days.iter().fold(Period::default(), |acc, d| Period {
                total: acc.total + d.total,
                orders: acc.orders + d.orders,
            })
        };
        stores.sort_by(|a, b| a.0.cmp(&b.0));
        let sales = stores
            .into_iter()
            .map(|((marketplace, currency), days)| Sales {
                marketplace,
                currency,
                today: days[CHART_DAYS - 1],
                week: sum(&days[CHART_DAYS - 7..]),
                month: sum(&days),
                daily: days
                    .iter()
                    .enumerate()
                    .map(|(i, d)| Day {
                        date: (first + Duration::days(i as i64)).to_string(),
                        total: d.total,
                        orders: d.orders,
                    })
                    .collect(),
            })
            .collect();
        let mut top_items: Vec<(Arc<Item>, u64, u32)> = seen
            .into_iter()
            .zip(sold)
            .filter_map(|(item, (quantity, orders))| item.map(|i| (i, quantity, orders)))
            .collect();
        top_items.sort_by(|a, b| {
            b.1.cmp(&a.1)
                .then(b.2.cmp(&a.2))
                .then_with(|| a.0.item_no.cmp(&b.0.item_no))
        });
        OrderStats {
            sales,
            needs_action: needs,
            top_items: top_items
                .into_iter()
                .take(top)
                .map(|(item, quantity, orders)| TopItem {
                    image: app::routes::image(&item.item_type, &item.item_no, item.color_id),
                    item_type: item.item_type.clone(),
                    item_no: item.item_no.clone(),
                    name: item.name.clone(),
                    color_id: item.color_id,
                    color_name: item.color_name.clone(),
                    quantity,
                    orders,
                })
                .collect(),
        }
    }

    /// Search hits among `user`'s orders, buyers and the items they bought: at most `limit`
    /// of each kind, best first. `query` is lower case.
    pub fn search(&self, user: UserId, query: &str, limit: usize) -> Vec<Hit> {
        let words: Vec<&str> = query.split_whitespace().collect();
        if words.is_empty() {
            return Vec::new();
        }
        let index = self
            .index
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Items are shared between orders: score each distinct one once, up front (0: no
        // match), then count orders per item id.
        let mut matching: Vec<(u32, Option<Arc<Item>>, u32)> = Vec::new();
        for item in self
            .items
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
        {
            let score = text_score(&item.no_key, query, 85, 65, 0)
                .filter(|n| *n > 0)
                .or_else(|| {
                    words
                        .iter()
                        .all(|w| item.name_key.contains(w))
                        .then_some(35)
                });
            if let Some(score) = score {
                if matching.len() <= item.id {
                    matching.resize(item.id + 1, (0, None, 0));
                }
                matching[item.id] = (score, Some(item.clone()), 0);
            }
        }
        // The scan is split over the cores: a large shop's rows take a few passes of memory.
        let rows: Vec<&Row> = index
            .get(&user)
            .map(|r| r.values().collect())
            .unwrap_or_default();
        let scores: Vec<u32> = matching.iter().map(|m| m.0).collect();
        let parts = if rows.len() < PARALLEL_ROWS {
            1
        } else {
            std::thread::available_parallelism()
                .map_or(1, std::num::NonZero::get)
                .min(4)
        };
        let chunk = rows.len().div_ceil(parts).max(1);
        let partials: Vec<Partial<'_>> = if parts == 1 {
            vec![scan_rows(&rows, query, &words, &scores, limit)]
        } else {
            std::thread::scope(|scope| {
                let running: Vec<_> = rows
                    .chunks(chunk)
                    .map(|part| scope.spawn(|| scan_rows(part, query, &words, &scores, limit)))
                    .collect();
                running
                    .into_iter()
                    .map(|h| h.join().unwrap_or_default())
                    .collect()
            })
        };
        let mut orders: Vec<(u32, &OrderSummary)> = Vec::new();
        let mut buyers: HashMap<&str, (u32, &str, u32)> = HashMap::new();
        for partial in partials {
            orders.extend(partial.orders);
            for (key, (score, shown, count)) in partial.buyers {
                buyers.entry(key).or_insert((score, shown, 0)).2 += count;
            }
            for (slot, count) in matching.iter_mut().zip(partial.items) {
                slot.2 += count;
            }
        }
        if orders.len() > limit && limit > 0 {
            orders.select_nth_unstable_by(limit - 1, best_order);
            orders.truncate(limit);
        }
        orders.sort_by(best_order);
        let mut hits: Vec<Hit> = orders
            .into_iter()
            .take(limit)
            .map(|(score, s)| Hit {
                kind: HitKind::Order,
                title: format!("{} order #{}", s.marketplace, s.order_id),
                detail: format!(
                    "{} · {} · {}",
                    s.buyer,
                    s.status.label(),
                    s.ordered_at.date()
                ),
                href: app::routes::order(s.marketplace, &s.order_id).replacen("/api", "", 1),
                score,
                minifig: None,
            })
            .collect();
        let mut buyers: Vec<(u32, &str, u32)> = buyers.into_values().collect();
        buyers.sort_by(|a, b| b.0.cmp(&a.0).then(b.2.cmp(&a.2)).then(a.1.cmp(b.1)));
        hits.extend(
            buyers
                .into_iter()
                .take(limit)
                .map(|(score, buyer, count)| Hit {
                    kind: HitKind::Buyer,
                    title: buyer.to_owned(),
                    detail: format!("{count} order{}", if count == 1 { "" } else { "s" }),
                    href: format!("/orders?q={}", encode(buyer)),
                    score,
                    minifig: None,
                }),
        );
        let mut items: Vec<(u32, Arc<Item>, u32)> = matching
            .into_iter()
            .filter_map(|(score, item, count)| {
                item.filter(|_| count > 0).map(|i| (score, i, count))
            })
            .collect();
        items.sort_by(|a, b| {
            b.0.cmp(&a.0)
                .then(b.2.cmp(&a.2))
                .then_with(|| a.1.item_no.cmp(&b.1.item_no))
        });
        hits.extend(
            items
                .into_iter()
                .take(limit)
                .map(|(score, item, count)| Hit {
                    kind: HitKind::Item,
                    title: format!("{} {}", item.item_no, item.name),
                    detail: format!(
                        "{}{} in {count} order{}",
                        item.item_type.to_lowercase(),
                        item.color_name
                            .as_deref()
                            .map(|c| format!(", {c}"))
                            .unwrap_or_default(),
                        if count == 1 { "" } else { "s" }
                    ),
                    href: format!("/orders?q={}", encode(&item.item_no)),
                    score,
                    minifig: None,
                }),
        );
        hits
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
pub(crate) mod tests;
