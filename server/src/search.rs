//! Search across a user's orders, buyers, items, minifigs and lists, ranked, with results kept
//! in moka per user and query. A cached answer is keyed by the user's store revision, so any
//! write that could change it (an order synced, a minifig edited) makes it unreachable at
//! once; the queries a user asks most are computed again in the background by the scheduler
//! (`search_refresh_cron`), so they stay instant after writes too.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use app::{Hit, HitKind, SearchResults, UserId};

use crate::store::{
    Store, StoreError,
    orders::{OrderMatches, text_score},
};

/// Hits of each kind; the answer holds at most [`MAX_HITS`].
const PER_KIND: usize = 8;
/// Hits in one answer.
pub const MAX_HITS: usize = 20;
/// Queries per user refreshed by the scheduler.
const REFRESHED_PER_USER: usize = 20;

type Key = (UserId, u64, String);

/// The search service; cheap to clone.
#[derive(Clone)]
pub struct Search {
    cache: moka::sync::Cache<Key, Arc<SearchResults>>,
    /// How often each (user, query) was asked since it was last refreshed.
    asked: Arc<Mutex<HashMap<(UserId, String), u32>>>,
}

impl Default for Search {
    fn default() -> Self {
        Self {
            cache: moka::sync::Cache::builder()
                .name("search")
                .max_capacity(10_000)
                .time_to_live(Duration::from_secs(30 * 60))
                .build(),
            asked: Arc::default(),
        }
    }
}

/// A query as the cache keys it: trimmed, lower case, single spaces.
pub fn normalise(query: &str) -> String {
    query
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

impl Search {
    /// The ranked hits for `query`, from the cache when nothing changed since.
    pub fn search(
        &self,
        store: &Store,
        user: UserId,
        query: &str,
    ) -> Result<SearchResults, StoreError> {
        let query = normalise(query);
        if query.is_empty() {
            return Ok(SearchResults {
                query,
                hits: Vec::new(),
                cached: false,
            });
        }
        *self
            .asked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry((user, query.clone()))
            .or_default() += 1;
        let key = (user, store.revisions().get(user), query.clone());
        if let Some(hit) = self.cache.get(&key) {
            let mut answer = (*hit).clone();
            answer.cached = true;
            return Ok(answer);
        }
        let answer = compute(store, user, &query)?;
        self.cache.insert(key, Arc::new(answer.clone()));
        Ok(answer)
    }

    /// Computes again the queries asked most per user that are not cached at the current
    /// revision; returns how many.
    pub fn refresh(&self, store: &Store) -> Result<usize, StoreError> {
        let asked: Vec<((UserId, String), u32)> = self
            .asked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .drain()
            .collect();
        let mut by_user: HashMap<UserId, Vec<(String, u32)>> = HashMap::new();
        for ((user, query), times) in asked {
            by_user.entry(user).or_default().push((query, times));
        }
        let mut refreshed = 0;
        for (user, mut queries) in by_user {
            queries.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let revision = store.revisions().get(user);
            for (query, _) in queries.into_iter().take(REFRESHED_PER_USER) {
                let key = (user, revision, query);
                if self.cache.contains_key(&key) {
                    continue;
                }
                let answer = compute(store, user, &key.2)?;
                self.cache.insert(key, Arc::new(answer));
                refreshed += 1;
            }
        }
        Ok(refreshed)
    }
}

/// What the orders index found, in a seller's words, with the pages that show it.
pub fn order_hits(found: OrderMatches) -> Vec<Hit> {
    let plural = |n: u32| if n == 1 { "" } else { "s" };
    let orders = found.orders.into_iter().map(|(score, s)| Hit {
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
    });
    let buyers = found.buyers.into_iter().map(|b| Hit {
        kind: HitKind::Buyer,
        detail: format!("{} order{}", b.orders, plural(b.orders)),
        href: format!("/orders?q={}", encode(&b.name)),
        title: b.name,
        score: b.score,
        minifig: None,
    });
    let items = found.items.into_iter().map(|i| Hit {
        kind: HitKind::Item,
        title: format!("{} {}", i.item_no, i.name),
        detail: format!(
            "{}{} in {} order{}",
            i.item_type.to_lowercase(),
            i.color_name
                .as_deref()
                .map(|c| format!(", {c}"))
                .unwrap_or_default(),
            i.orders,
            plural(i.orders)
        ),
        href: format!("/orders?q={}", encode(&i.item_no)),
        score: i.score,
        minifig: None,
    });
    orders.chain(buyers).chain(items).collect()
}

/// Text for a URL query value.
fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The ranked hits, uncached. `query` is normalised.
pub fn compute(store: &Store, user: UserId, query: &str) -> Result<SearchResults, StoreError> {
    let mut hits = order_hits(store.orders().search(user, query, PER_KIND));
    let words: Vec<&str> = query.split_whitespace().collect();
    let all_words = |text: &str| {
        let text = text.to_lowercase();
        words.iter().all(|w| text.contains(w))
    };
    let minifigs = store.minifigs();
    let mut figs: Vec<Hit> = minifigs
        .all_minifigs(user)?
        .into_iter()
        .filter_map(|m| {
            let score = text_score(&m.bricklink_id, query, 85, 65, 0)
                .filter(|n| *n > 0)
                .or_else(|| m.name.as_deref().filter(|n| all_words(n)).map(|_| 40))
                .or_else(|| {
                    m.reference_id
                        .as_deref()
                        .filter(|r| all_words(r))
                        .map(|_| 30)
                })?;
            Some(Hit {
                kind: HitKind::Minifig,
                title: format!(
                    "{} {}",
                    m.bricklink_id,
                    m.name.as_deref().unwrap_or_default()
                ),
                detail: format!(
                    "{} of {} parts collected",
                    m.totals.parts_collected, m.totals.parts_needed
                ),
                href: format!("/minifigs/{}", m.list_id.0),
                score,
                minifig: Some((m.list_id, m.id)),
            })
        })
        .collect();
    figs.sort_by(|a, b| b.score.cmp(&a.score).then(a.title.cmp(&b.title)));
    hits.extend(figs.into_iter().take(PER_KIND));
    let mut lists: Vec<Hit> = minifigs
        .lists(user)?
        .into_iter()
        .filter_map(|l| {
            let name = l.name.to_lowercase();
            let score = text_score(&name, query, 75, 60, 45).or_else(|| {
                l.description
                    .as_deref()
                    .filter(|d| all_words(d))
                    .map(|_| 25)
            })?;
            Some(Hit {
                kind: HitKind::List,
                title: l.name,
                detail: format!("list of {} minifigs", l.totals.minifigs),
                href: format!("/minifigs/{}", l.id.0),
                score,
                minifig: None,
            })
        })
        .collect();
    lists.sort_by(|a, b| b.score.cmp(&a.score).then(a.title.cmp(&b.title)));
    hits.extend(lists.into_iter().take(PER_KIND));
    // Stable: equal scores keep the order orders, buyers, items, minifigs, lists.
    hits.sort_by_key(|h| std::cmp::Reverse(h.score));
    hits.truncate(MAX_HITS);
    Ok(SearchResults {
        query: query.to_owned(),
        hits,
        cached: false,
    })
}

#[cfg(test)]
mod tests {
    use app::{HitKind, Marketplace, OrderStatus};

    use super::*;
    use crate::store::{minifigs::NewMinifig, orders::tests::order};

    const ANNA: UserId = UserId(1);

    #[test]
    fn search_ranks_order_numbers_then_buyers_then_items() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(dir.path()).expect("store");
        let orders = store.orders();
        for (id, buyer) in [
            (3001, "zed"),
            (12, "brick_anna"),
            (13, "anna"),
            (14, "anna"),
        ] {
            orders
                .upsert(
                    ANNA,
                    &order(Marketplace::BrickLink, id, buyer, OrderStatus::Paid, 1),
                )
                .expect("ok");
        }
        orders
            .upsert(
                UserId(2),
                &order(Marketplace::BrickLink, 99, "anna", OrderStatus::Paid, 1),
            )
            .expect("ok");
        let hits = order_hits(orders.search(ANNA, "3001", 8));
        assert_eq!(hits[0].kind, app::HitKind::Order);
        assert_eq!(hits[0].title, "BrickLink order #3001");
        assert_eq!(hits[0].href, "/orders/bricklink/3001");
        assert!(
            hits.iter()
                .any(|h| h.kind == app::HitKind::Item && h.score == 85)
        );

        let hits = order_hits(orders.search(ANNA, "anna", 8));
        let buyers: Vec<(&str, &str)> = hits
            .iter()
            .filter(|h| h.kind == app::HitKind::Buyer)
            .map(|h| (h.title.as_str(), h.detail.as_str()))
            .collect();
        assert_eq!(buyers, [("anna", "2 orders"), ("brick_anna", "1 order")]);
        assert!(
            hits.iter().all(|h| !h.title.contains("#99")),
            "never another user's orders"
        );
    }

    #[test]
    fn answers_are_cached_until_a_write_and_refreshed_in_the_background() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(dir.path()).expect("store");
        let search = Search::default();
        let orders = store.orders();
        orders
            .upsert(
                ANNA,
                &order(Marketplace::BrickLink, 1, "anna", OrderStatus::Paid, 1),
            )
            .expect("ok");

        let first = search.search(&store, ANNA, "  Anna ").expect("search");
        assert!(!first.cached);
        assert_eq!(first.query, "anna");
        let again = search.search(&store, ANNA, "anna").expect("search");
        assert!(again.cached);
        assert_eq!(again.hits, first.hits);

        // A new order by the same buyer: the cached answer is stale and not used.
        orders
            .upsert(
                ANNA,
                &order(Marketplace::BrickOwl, 2, "anna", OrderStatus::New, 0),
            )
            .expect("ok");
        let after = search.search(&store, ANNA, "anna").expect("search");
        assert!(!after.cached);
        let buyer = after
            .hits
            .iter()
            .find(|h| h.kind == HitKind::Buyer)
            .expect("buyer");
        assert_eq!(buyer.detail, "2 orders");

        // Another write; the scheduler's refresh computes the asked query again.
        let list = store
            .minifigs()
            .create_list(ANNA, "Anna's rebuilds".into(), None)
            .expect("list");
        assert_eq!(search.refresh(&store).expect("refresh"), 1);
        let refreshed = search.search(&store, ANNA, "anna").expect("search");
        assert!(refreshed.cached, "computed by the refresh");
        assert!(
            refreshed
                .hits
                .iter()
                .any(|h| h.kind == HitKind::List && h.href == format!("/minifigs/{}", list.id.0))
        );
    }

    #[test]
    fn minifigs_and_lists_are_found_by_number_name_and_reference() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(dir.path()).expect("store");
        let minifigs = store.minifigs();
        let list = minifigs
            .create_list(ANNA, "Star Wars".into(), None)
            .expect("list");
        let fig = minifigs
            .add_minifig(
                ANNA,
                list.id,
                NewMinifig {
                    bricklink_id: "sw0001a".into(),
                    condition: app::Condition::New,
                    reference_id: Some("blue bin".into()),
                    notes: None,
                },
            )
            .expect("add")
            .expect("list");
        let hits = compute(&store, ANNA, "sw0001a").expect("search").hits;
        assert_eq!(hits[0].kind, HitKind::Minifig);
        assert_eq!(hits[0].minifig, Some((list.id, fig.id)));
        assert_eq!(hits[0].score, 85);
        let hits = compute(&store, ANNA, "blue bin").expect("search").hits;
        assert_eq!(hits.len(), 1);
        let hits = compute(&store, ANNA, "star").expect("search").hits;
        assert_eq!((hits[0].kind, hits[0].score), (HitKind::List, 60));
        assert!(
            compute(&store, UserId(2), "star")
                .expect("search")
                .hits
                .is_empty()
        );
    }
}
