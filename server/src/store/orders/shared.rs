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
    table::Lines,
    texts::Texts,
};

/// A query's words matched once against what rows share, so that testing a row is a few
/// lookups: a million rows share some tens of thousands of buyers and items. Each word is a
/// bit (`1 << w` for `words[w]`), so what a row holds is or-ed together as it is read.
pub(super) struct Matcher<'q> {
    /// The query's words, each once, at most 64.
    pub(super) words: Vec<&'q str>,
    /// Every word's bit.
    pub(super) all: u64,
    /// The words that could be part of an order number (digits only).
    pub(super) digits: u64,
    /// Per buyer id: the words their name or email holds.
    pub(super) buyers: Vec<u64>,
    /// Per buyer id: the words their name holds.
    pub(super) names: Vec<u64>,
    /// Per item id: the words its number or name holds.
    pub(super) items: Vec<u64>,
    /// Per item id: the words its name holds.
    pub(super) item_names: Vec<u64>,
    /// The words some item holds (a row missing any other word reads no lines).
    pub(super) any_item: u64,
}

impl Matcher<'_> {
    /// The words an order number (in digits) holds.
    pub(super) fn number_bits(&self, number: &str) -> u64 {
        let mut bits = 0;
        for (w, word) in self.words.iter().enumerate() {
            if self.digits & (1 << w) != 0 && number.contains(word) {
                bits |= 1 << w;
            }
        }
        bits
    }

    /// The words a row holds in its number and buyer. `number` is the row's number in digits
    /// when the caller has it already; else it is formatted when some word needs it.
    pub(super) fn row_bits(&self, row: &Row, number: Option<&str>) -> u64 {
        let bits = self.buyers.get(row.buyer_id as usize).copied().unwrap_or(0);
        if self.digits & !bits == 0 {
            return bits;
        }
        match number {
            Some(number) => bits | self.number_bits(number),
            None => bits | self.number_bits(itoa::Buffer::new().format(row.id)),
        }
    }

    /// Whether the words an item sold could complete `bits`.
    pub(super) fn items_could_complete(&self, bits: u64) -> bool {
        let missing = self.all & !bits;
        missing != 0 && missing & !self.any_item == 0
    }

    /// Whether every word is in the order number, the buyer, their email or an item sold.
    pub(super) fn holds_all(&self, row: &Row, sold: Lines<'_>) -> bool {
        let mut bits = self.row_bits(row, None);
        if self.items_could_complete(bits) {
            for (item, _) in sold {
                bits |= self.items.get(item as usize).copied().unwrap_or(0);
                if bits == self.all {
                    break;
                }
            }
        }
        bits == self.all
    }
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
    /// Lower-cased, by buyer id: names and emails; by item id: numbers and names (what a
    /// query's words are looked for in).
    pub(super) buyer_names: Texts,
    pub(super) buyer_emails: Texts,
    pub(super) item_nos: Texts,
    pub(super) item_names: Texts,
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
        self.item_nos.set(id, &item.item_no.to_lowercase());
        self.item_names.set(id, &item.name.to_lowercase());
        let item = Item {
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
        let buyer = self.buyer(&stored.buyer, Some(&stored.email));
        let buyer_id = buyer.id;
        let row = Row {
            id,
            ordered_at: stored.ordered_at,
            changed_at: stored.changed_at,
            total: app::Money(stored.total),
            items: stored.items,
            lots: stored.lots,
            buyer,
            buyer_id,
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
        self.buyer_names.set(buyer.id, &buyer.name_key);
        self.buyer_emails.set(buyer.id, &buyer.email_key);
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

    /// The words (lower case) matched against every buyer and item: each word is looked for
    /// once in all buyers' and all items' texts ([`Texts`]). Repeated words count once; words
    /// past the 64th are not looked for.
    pub(super) fn matcher<'q>(&self, words: &[&'q str]) -> Matcher<'q> {
        let mut unique: Vec<&'q str> = Vec::new();
        for word in words {
            if unique.len() < 64 && !unique.contains(word) {
                unique.push(word);
            }
        }
        let finders: Vec<Finder<'_>> = unique.iter().map(|w| Finder::new(w.as_bytes())).collect();
        let mut names = vec![0; self.buyer_list.len()];
        self.buyer_names.holders(&finders, &mut names);
        let mut buyers = names.clone();
        self.buyer_emails.holders(&finders, &mut buyers);
        let mut item_names = vec![0; self.items.len()];
        self.item_names.holders(&finders, &mut item_names);
        let mut items = item_names.clone();
        self.item_nos.holders(&finders, &mut items);
        let all = match unique.len() {
            64 => u64::MAX,
            n => (1 << n) - 1,
        };
        Matcher {
            all,
            digits: unique
                .iter()
                .enumerate()
                .filter(|(_, w)| w.bytes().all(|b| b.is_ascii_digit()))
                .fold(0, |bits, (w, _)| bits | 1 << w),
            any_item: items.iter().fold(0, |bits, item| bits | item),
            words: unique,
            buyers,
            names,
            items,
            item_names,
        }
    }

    /// Gives back what growing left unused: called once the index is read.
    pub(super) fn trim(&mut self) {
        for texts in [
            &mut self.buyer_names,
            &mut self.buyer_emails,
            &mut self.item_nos,
            &mut self.item_names,
        ] {
            texts.trim();
        }
        self.buyer_list.shrink_to_fit();
        self.items.shrink_to_fit();
    }
}
