//! What the orders index shares between rows, each stored once: buyers, items (numbered, so
//! per-item counts and flags are plain vectors), short texts; and a query's words matched once
//! against them ([`Matcher`]).

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use app::Marketplace;
use memchr::memmem::Finder;

use super::{
    Row,
    rows::{StoredItem, StoredRow},
};

/// A query's words matched once against what rows share, so that testing a row is a few
/// lookups: a million rows share some tens of thousands of buyers and items.
pub(super) struct Matcher<'q> {
    pub(super) words: Vec<&'q str>,
    /// Per word: whether it could be part of an order number (digits only).
    pub(super) digits: Vec<bool>,
    /// Per word and buyer id: whether the buyer's name or email holds it.
    pub(super) buyers: Vec<Vec<bool>>,
    /// Per word and item id: whether the item's number or name holds it.
    pub(super) items: Vec<Vec<bool>>,
    /// Per word: whether any item holds it (when none does, no order's lines are read).
    pub(super) any_item: Vec<bool>,
}

/// A buyer as orders name them, stored once however many orders are theirs.
#[derive(Debug)]
pub(super) struct Buyer {
    pub(super) name: String,
    /// Lower-cased name (the sort and search key) and email.
    pub(super) name_key: String,
    pub(super) email_key: String,
    /// Its place in the interner: per-buyer flags of a query are plain vectors indexed by it.
    pub(super) id: u32,
}

/// Buyers are the same buyer when their name and email are; the id is where it was put.
impl PartialEq for Buyer {
    fn eq(&self, other: &Self) -> bool {
        (&self.name, &self.email_key) == (&other.name, &other.email_key)
    }
}

impl Eq for Buyer {}

impl std::hash::Hash for Buyer {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (&self.name, &self.email_key).hash(state);
    }
}

/// A catalogue item as orders sell it, stored once however many orders hold it.
#[derive(Debug, Default)]
pub(super) struct Item {
    pub(super) item_type: String,
    pub(super) item_no: String,
    pub(super) name: String,
    pub(super) color_id: i64,
    pub(super) color_name: Option<String>,
    /// Lower-cased number and name, for search.
    pub(super) no_key: String,
    pub(super) name_key: String,
}

pub(super) type ItemKey = (String, String, i64);

/// An order's currency and marketplace status, stored once for every order with the same
/// pair (a shop has a few of each).
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct Labels {
    pub(super) currency: Box<str>,
    pub(super) marketplace_status: Box<str>,
}

/// What rows share, each stored once: items (numbered in the order they were first seen, so
/// counts over items are plain vectors), buyers, and currency and status labels.
#[derive(Default)]
pub(super) struct Shared {
    pub(super) item_ids: HashMap<ItemKey, u32>,
    pub(super) items: Vec<Arc<Item>>,
    /// Items numbered in memory but not yet stored (their upsert has not landed).
    pub(super) unsaved: HashSet<u32>,
    pub(super) buyers: HashSet<Arc<Buyer>>,
    /// The same buyers by id: scanning them walks memory in order.
    pub(super) buyer_list: Vec<Arc<Buyer>>,
    pub(super) labels: HashSet<Arc<Labels>>,
}

impl Shared {
    /// The id of the item a line sold, numbering it when it is new (and unsaved until stored).
    pub(super) fn item(&mut self, line: &app::OrderLine) -> u32 {
        let key = (line.item_type.clone(), line.item_no.clone(), line.color_id);
        if let Some(id) = self.item_ids.get(&key) {
            return *id;
        }
        let id = u32::try_from(self.items.len()).unwrap_or(u32::MAX);
        self.put_item(id, StoredItem::from_line(line));
        self.unsaved.insert(id);
        id
    }

    /// Puts an item at its id; ids never stored (an upsert that failed) stay empty.
    pub(super) fn put_item(&mut self, id: u32, item: StoredItem) {
        let at = id as usize;
        while self.items.len() < at {
            self.items.push(Arc::new(Item::default()));
        }
        let item = Item {
            no_key: item.item_no.to_lowercase(),
            name_key: item.name.to_lowercase(),
            item_type: item.item_type,
            item_no: item.item_no,
            name: item.name,
            color_id: item.color_id,
            color_name: item.color_name,
        };
        self.item_ids.insert(
            (item.item_type.clone(), item.item_no.clone(), item.color_id),
            id,
        );
        if at < self.items.len() {
            self.items[at] = Arc::new(item);
        } else {
            self.items.push(Arc::new(item));
        }
    }

    /// The index row of a stored row, and what it sold (the table places both).
    pub(super) fn row(
        &mut self,
        marketplace: Marketplace,
        id: u64,
        stored: StoredRow,
    ) -> (Row, Vec<(u32, u32)>) {
        let row = Row {
            id,
            ordered_at: stored.ordered_at,
            changed_at: stored.changed_at,
            total: app::Money(stored.total),
            items: stored.items,
            lots: stored.lots,
            buyer: self.buyer(&stored.buyer, Some(&stored.email)),
            labels: self.labels(stored.currency, stored.marketplace_status),
            sold_at: 0,
            sold_len: 0,
            marketplace,
            status: stored.status,
            filed: stored.filed,
        };
        (row, stored.sold)
    }

    pub(super) fn buyer(&mut self, name: &str, email: Option<&str>) -> Arc<Buyer> {
        let buyer = Buyer {
            name: name.to_owned(),
            name_key: name.to_lowercase(),
            email_key: email.unwrap_or_default().to_lowercase(),
            id: u32::try_from(self.buyers.len()).unwrap_or(u32::MAX),
        };
        if let Some(known) = self.buyers.get(&buyer) {
            return known.clone();
        }
        let buyer = Arc::new(buyer);
        self.buyers.insert(buyer.clone());
        self.buyer_list.push(buyer.clone());
        buyer
    }

    pub(super) fn labels(&mut self, currency: String, marketplace_status: String) -> Arc<Labels> {
        let labels = Labels {
            currency: currency.into_boxed_str(),
            marketplace_status: marketplace_status.into_boxed_str(),
        };
        if let Some(known) = self.labels.get(&labels) {
            return known.clone();
        }
        let labels = Arc::new(labels);
        self.labels.insert(labels.clone());
        labels
    }

    /// The words (lower case) matched against every buyer and item: each word's searcher is
    /// built once (`str::contains` builds one per text, most of the cost over tens of
    /// thousands of buyers).
    pub(super) fn matcher<'q>(&self, words: &[&'q str]) -> Matcher<'q> {
        let finders: Vec<Finder<'_>> = words.iter().map(|w| Finder::new(w.as_bytes())).collect();
        let holds = |finder: &Finder<'_>, text: &str| finder.find(text.as_bytes()).is_some();
        let items: Vec<Vec<bool>> = finders
            .iter()
            .map(|finder| {
                self.items
                    .iter()
                    .map(|i| holds(finder, &i.no_key) || holds(finder, &i.name_key))
                    .collect()
            })
            .collect();
        Matcher {
            any_item: items.iter().map(|flags| flags.contains(&true)).collect(),
            words: words.to_vec(),
            digits: words
                .iter()
                .map(|w| w.bytes().all(|b| b.is_ascii_digit()))
                .collect(),
            buyers: finders
                .iter()
                .map(|finder| {
                    self.buyer_list
                        .iter()
                        .map(|b| holds(finder, &b.name_key) || holds(finder, &b.email_key))
                        .collect()
                })
                .collect(),
            items,
        }
    }
}
