//! Ranked search over a user's orders index: orders by number and text, buyers, and the
//! items they bought (scores in docs/architecture.md). Above [`PARALLEL_ROWS`] rows the scan
//! is split over the cores.

use std::{collections::HashMap, sync::Arc};

use app::{OrderSummary, UserId};
use memchr::memmem::Finder;

use super::{Item, Matcher, Orders, Row, table::Chunk};

/// What an order search found, best first, with the score of each.
#[derive(Debug, Clone, Default)]
pub struct OrderMatches {
    pub orders: Vec<(u32, OrderSummary)>,
    pub buyers: Vec<BuyerMatch>,
    pub items: Vec<ItemMatch>,
}

/// A buyer whose name matched, and how many of the user's orders are theirs.
#[derive(Debug, Clone)]
pub struct BuyerMatch {
    pub score: u32,
    pub name: String,
    pub orders: u32,
}

/// An item sold that matched, and how many orders it was in.
#[derive(Debug, Clone)]
pub struct ItemMatch {
    pub score: u32,
    pub item_type: String,
    pub item_no: String,
    pub name: String,
    pub color_name: Option<String>,
    pub orders: u32,
}

/// Below this many rows a search scans on one thread.
const PARALLEL_ROWS: usize = 20_000;

/// One thread's share of a search: matching orders, buyers, and orders per item id.
#[derive(Default)]
struct Partial<'a> {
    orders: Vec<(u32, &'a Row)>,
    buyers: HashMap<&'a str, (u32, &'a str, u32)>,
    items: Vec<u32>,
}

/// Orders ranked best first: score, then newest.
fn best_order(a: &(u32, &Row), b: &(u32, &Row)) -> std::cmp::Ordering {
    b.0.cmp(&a.0).then(b.1.ordered_at.cmp(&a.1.ordered_at))
}

/// What a scan looks for: the query (when it could be an order number), its words matched
/// against buyers and items, each buyer's score by id, and each item's score (0: no match).
struct Wanted<'q> {
    query: &'q str,
    number: bool,
    matcher: &'q Matcher<'q>,
    buyer_scores: &'q [u32],
    scores: &'q [u32],
}

fn scan_rows<'a>(chunks: &'a [Chunk], wanted: &Wanted<'_>, limit: usize) -> Partial<'a> {
    let Wanted {
        query,
        number,
        matcher,
        buyer_scores,
        scores,
    } = *wanted;
    let mut partial = Partial {
        items: vec![0; scores.len()],
        ..Partial::default()
    };
    let keep = limit.max(1);
    // Lines are read for the per-item counts only when some item matched.
    let count_items = scores.iter().any(|score| *score > 0);
    let mut digits = itoa::Buffer::new();
    for (row, sold) in chunks.iter().flat_map(Chunk::iter) {
        // Only the best `limit` orders are shown: keep the candidates few when most match.
        if partial.orders.len() >= keep * 64 {
            partial.orders.select_nth_unstable_by(keep - 1, best_order);
            partial.orders.truncate(keep);
        }
        let buyer = row.buyer_id as usize;
        let id = number.then(|| digits.format(row.id));
        let by_number = id.and_then(|id| text_score(id, query, 100, 80, 0));
        let mut bits = matcher.row_bits(row, id);
        // One pass over the lines: the words they hold and the orders per item.
        if count_items || (by_number.is_none() && matcher.items_could_complete(bits)) {
            for (item, _) in sold {
                let item = item as usize;
                bits |= matcher.items.get(item).copied().unwrap_or(0);
                if count_items && scores.get(item).is_some_and(|score| *score > 0) {
                    partial.items[item] += 1;
                }
            }
        }
        if let Some(score) = by_number {
            partial.orders.push((score, row));
        } else if bits == matcher.all {
            let name = matcher.names.get(buyer).copied().unwrap_or(0);
            partial
                .orders
                .push((if name == matcher.all { 50 } else { 30 }, row));
        }
        if let Some(score) = buyer_scores.get(buyer).copied().filter(|s| *s > 0) {
            partial
                .buyers
                .entry(row.buyer_key())
                .or_insert((score, row.buyer.name.as_str(), 0))
                .2 += 1;
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

impl Orders {
    /// Search hits among `user`'s orders, buyers and the items they bought: at most `limit`
    /// of each kind, best first. `query` is lower case. How they are shown is the caller's.
    pub fn search(&self, user: UserId, query: &str, limit: usize) -> OrderMatches {
        let words: Vec<&str> = query.split_whitespace().collect();
        if words.is_empty() {
            return OrderMatches::default();
        }
        let index = self.rows();
        // Items and buyers are shared between orders: score each distinct one once, up front
        // (0: no match), then count orders per item id.
        let (mut matching, matcher, buyer_scores) = {
            let shared = self.shared();
            let matcher = shared.matcher(&words);
            let whole = Finder::new(query.as_bytes());
            let mut item_scores: Vec<u32> = matcher
                .item_names
                .iter()
                .map(|named| if *named == matcher.all { 35 } else { 0 })
                .collect();
            shared
                .item_nos
                .scores(&whole, [85, 65, 0], &mut item_scores);
            let matching: Vec<(u32, Option<Arc<Item>>, u32)> = item_scores
                .into_iter()
                .zip(&shared.items)
                .map(|(score, item)| (score, (score > 0).then(|| item.clone()), 0))
                .collect();
            let mut buyer_scores = vec![0; shared.buyer_list.len()];
            shared
                .buyer_names
                .scores(&whole, [90, 70, 40], &mut buyer_scores);
            (matching, matcher, buyer_scores)
        };
        // The scan is split over the cores: a large shop's rows take a few passes of memory.
        let (chunks, rows) = index
            .get(&user)
            .map_or((&[][..], 0), |t| (t.chunks(), t.len()));
        let scores: Vec<u32> = matching.iter().map(|m| m.0).collect();
        let wanted = Wanted {
            query,
            number: query.bytes().all(|b| b.is_ascii_digit()),
            matcher: &matcher,
            buyer_scores: &buyer_scores,
            scores: &scores,
        };
        let parts = if rows < PARALLEL_ROWS {
            1
        } else {
            std::thread::available_parallelism()
                .map_or(1, std::num::NonZero::get)
                .min(4)
        };
        let share = chunks.len().div_ceil(parts).max(1);
        let partials: Vec<Partial<'_>> = if parts == 1 {
            vec![scan_rows(chunks, &wanted, limit)]
        } else {
            std::thread::scope(|scope| {
                let running: Vec<_> = chunks
                    .chunks(share)
                    .map(|part| scope.spawn(|| scan_rows(part, &wanted, limit)))
                    .collect();
                running
                    .into_iter()
                    .map(|h| h.join().unwrap_or_default())
                    .collect()
            })
        };
        let mut orders: Vec<(u32, &Row)> = Vec::new();
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
        let orders = orders
            .into_iter()
            .take(limit)
            .map(|(score, row)| (score, row.summary()))
            .collect();
        let mut buyers: Vec<(u32, &str, u32)> = buyers.into_values().collect();
        buyers.sort_by(|a, b| b.0.cmp(&a.0).then(b.2.cmp(&a.2)).then(a.1.cmp(b.1)));
        let buyers = buyers
            .into_iter()
            .take(limit)
            .map(|(score, name, orders)| BuyerMatch {
                score,
                name: name.to_owned(),
                orders,
            })
            .collect();
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
        let items = items
            .into_iter()
            .take(limit)
            .map(|(score, item, orders)| ItemMatch {
                score,
                item_type: item.item_type.clone(),
                item_no: item.item_no.clone(),
                name: item.name.clone(),
                color_name: item.color_name.clone(),
                orders,
            })
            .collect();
        OrderMatches {
            orders,
            buyers,
            items,
        }
    }
}
