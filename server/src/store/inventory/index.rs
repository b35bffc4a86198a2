//! The inventory list's index: per user, a compact row per lot (what the filters, the search
//! and the sorts look at; about 150 bytes) built from the lots on the first list and kept in
//! step by every write that changes a lot, with each sort's order worked out once after a
//! change. A list walks the order it wants, filtering, and reads only its page's lots from the
//! store: at 50,000 lots no request decodes the whole store.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use app::{Condition, Lot, LotId, LotSort, Marketplace, UserId};

use super::LotQuery;

/// One lot as the list sees it.
struct Row {
    id: LotId,
    /// The item number, the name and the remarks, lowercased, as the search looks at them.
    text: Box<str>,
    /// Where the remarks start in `text`.
    remarks_at: u32,
    /// The remarks as a key whose byte order is [`super::natural`]'s.
    place: Box<[u8]>,
    no: Box<str>,
    kind: u16,
    color_id: i64,
    new: bool,
    quantity: i64,
    price: i64,
    /// 1: on BrickLink, 2: on BrickOwl.
    on: u8,
    /// The lot's ids on BrickLink and BrickOwl (0: not there): what a sale names.
    remote: [i64; 2],
}

const SORTS: [LotSort; 4] = [
    LotSort::Location,
    LotSort::Item,
    LotSort::Quantity,
    LotSort::Price,
];

fn sort_slot(sort: LotSort) -> usize {
    SORTS.iter().position(|s| *s == sort).unwrap_or(0)
}

/// A user's rows.
#[derive(Default)]
struct UserIndex {
    rows: Vec<Row>,
    at: HashMap<LotId, usize>,
    kinds: Vec<Box<str>>,
    /// Row positions in each sort's ascending order; `None` after a change until asked for.
    sorted: [Option<Vec<u32>>; 4],
}

/// A key for `remarks` whose byte order is [`super::natural`]'s: letters lowercased, each run
/// of digits as `0`, its count of significant digits, then those digits (a digit sorts against
/// any other character as `0` does).
pub fn place_key(remarks: &str) -> Box<[u8]> {
    let bytes = remarks.as_bytes();
    let mut key = Vec::with_capacity(bytes.len() + 4);
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let run = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
            let digits = &bytes[i..i + run];
            let zeros = digits.iter().take_while(|b| **b == b'0').count();
            let significant = &digits[zeros..];
            key.push(b'0');
            key.push(u8::try_from(significant.len()).unwrap_or(u8::MAX));
            key.extend_from_slice(significant);
            i += run;
        } else {
            key.push(bytes[i].to_ascii_lowercase());
            i += 1;
        }
    }
    key.into_boxed_slice()
}

impl UserIndex {
    fn build(lots: &[Lot]) -> Self {
        let mut index = Self::default();
        for lot in lots {
            index.upsert(lot);
        }
        index
    }

    fn kind(&mut self, item_type: &str) -> u16 {
        if let Some(at) = self.kinds.iter().position(|k| **k == *item_type) {
            return u16::try_from(at).unwrap_or(u16::MAX);
        }
        self.kinds.push(item_type.into());
        u16::try_from(self.kinds.len() - 1).unwrap_or(u16::MAX)
    }

    fn row(&mut self, lot: &Lot) -> Row {
        let head = format!("{} {} ", lot.item.no, lot.item.name).to_lowercase();
        let remarks_at = u32::try_from(head.len()).unwrap_or(u32::MAX);
        Row {
            id: lot.id,
            text: format!("{head}{}", lot.remarks.to_lowercase()).into_boxed_str(),
            remarks_at,
            place: place_key(&lot.remarks),
            no: lot.item.no.as_str().into(),
            kind: self.kind(&lot.item.item_type),
            color_id: lot.color_id,
            new: lot.condition == Condition::New,
            quantity: lot.quantity,
            price: lot.unit_price.0,
            on: u8::from(lot.bricklink.is_some()) | (u8::from(lot.brickowl.is_some()) << 1),
            remote: [
                lot.bricklink.as_ref().map_or(0, |b| b.inventory_id),
                lot.brickowl.as_ref().map_or(0, |o| o.lot_id),
            ],
        }
    }

    fn upsert(&mut self, lot: &Lot) {
        let row = self.row(lot);
        match self.at.get(&lot.id) {
            Some(&at) => self.rows[at] = row,
            None => {
                self.at.insert(lot.id, self.rows.len());
                self.rows.push(row);
            }
        }
        self.sorted = Default::default();
    }

    fn remove(&mut self, id: LotId) {
        let Some(at) = self.at.remove(&id) else {
            return;
        };
        self.rows.swap_remove(at);
        if let Some(moved) = self.rows.get(at) {
            self.at.insert(moved.id, at);
        }
        self.sorted = Default::default();
    }

    fn order(&mut self, sort: LotSort) -> &[u32] {
        let slot = sort_slot(sort);
        if self.sorted[slot].is_none() {
            let rows = &self.rows;
            let mut order: Vec<u32> = (0..u32::try_from(rows.len()).unwrap_or(u32::MAX)).collect();
            let row = |i: &u32| &rows[*i as usize];
            match sort {
                LotSort::Location => order.sort_unstable_by(|a, b| {
                    let (a, b) = (row(a), row(b));
                    a.place.cmp(&b.place).then(a.id.cmp(&b.id))
                }),
                LotSort::Item => order.sort_unstable_by(|a, b| {
                    let (a, b) = (row(a), row(b));
                    (&a.no, a.color_id, a.id).cmp(&(&b.no, b.color_id, b.id))
                }),
                LotSort::Quantity => order.sort_unstable_by_key(|i| (row(i).quantity, row(i).id)),
                LotSort::Price => order.sort_unstable_by_key(|i| (row(i).price, row(i).id)),
            }
            self.sorted[slot] = Some(order);
        }
        self.sorted[slot].as_deref().unwrap_or_default()
    }

    /// The ids the query admits, in its order: `(total, the page's ids)`, or every id with
    /// `page_only` false.
    fn find(&mut self, query: &LotQuery, page_only: bool) -> (usize, Vec<LotId>) {
        let words: Vec<memchr::memmem::Finder<'static>> = query
            .text
            .as_deref()
            .unwrap_or_default()
            .to_lowercase()
            .split_whitespace()
            .map(|w| memchr::memmem::Finder::new(w.as_bytes()).into_owned())
            .collect();
        let location = query.location.as_deref().map(str::to_lowercase);
        let kind = query.item_type.as_deref().map(|wanted| {
            self.kinds
                .iter()
                .position(|k| k.eq_ignore_ascii_case(wanted))
                .map_or(u16::MAX, |at| u16::try_from(at).unwrap_or(u16::MAX))
        });
        let market = query.marketplace.map(|m| match m {
            Marketplace::BrickLink => 1,
            Marketplace::BrickOwl => 2,
        });
        let per_page = query.per_page.clamp(1, 500);
        let skip = (query.page.max(1) - 1).saturating_mul(per_page);
        let descending = query.descending;
        self.order(query.sort);
        let slot = sort_slot(query.sort);
        let order = self.sorted[slot].as_deref().unwrap_or_default();
        let rows = &self.rows;
        let admits = |row: &Row| {
            market.is_none_or(|m| row.on & m != 0)
                && kind.is_none_or(|k| row.kind == k)
                && query.color_id.is_none_or(|c| row.color_id == c)
                && query
                    .condition
                    .is_none_or(|c| (c == Condition::New) == row.new)
                && location
                    .as_deref()
                    .is_none_or(|at| row.text[row.remarks_at as usize..].starts_with(at))
                && query.linked.is_none_or(|linked| (row.on == 3) == linked)
                && words.iter().all(|w| w.find(row.text.as_bytes()).is_some())
        };
        let mut total = 0;
        let mut ids = Vec::new();
        let mut take = |i: &u32| {
            let row = &rows[*i as usize];
            if !admits(row) {
                return;
            }
            if !page_only || (total >= skip && ids.len() < per_page) {
                ids.push(row.id);
            }
            total += 1;
        };
        if descending {
            order.iter().rev().for_each(&mut take);
        } else {
            order.iter().for_each(&mut take);
        }
        (total, ids)
    }
}

/// Every user's index, built on first use.
#[derive(Default)]
pub(super) struct Indexes {
    users: Mutex<HashMap<UserId, Arc<Mutex<UserIndex>>>>,
}

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Indexes {
    /// `user`'s ids the query admits (see [`UserIndex::find`]); `load` reads every lot when
    /// the index is not built yet.
    pub(super) fn find<E>(
        &self,
        user: UserId,
        query: &LotQuery,
        page_only: bool,
        load: impl FnOnce() -> Result<Vec<Lot>, E>,
    ) -> Result<(usize, Vec<LotId>), E> {
        let index = self.user(user, load)?;
        let mut index = locked(&index);
        Ok(index.find(query, page_only))
    }

    /// The lot whose id on `marketplace` is `remote`, if `user` has one.
    pub(super) fn remote<E>(
        &self,
        user: UserId,
        marketplace: Marketplace,
        remote: i64,
        load: impl FnOnce() -> Result<Vec<Lot>, E>,
    ) -> Result<Option<LotId>, E> {
        let slot = usize::from(marketplace == Marketplace::BrickOwl);
        let index = self.user(user, load)?;
        let index = locked(&index);
        Ok(index
            .rows
            .iter()
            .find(|row| remote != 0 && row.remote[slot] == remote)
            .map(|row| row.id))
    }

    /// The pieces of all `user`'s lots (each lot's quantity as the list shows it).
    pub(super) fn total<E>(
        &self,
        user: UserId,
        load: impl FnOnce() -> Result<Vec<Lot>, E>,
    ) -> Result<i64, E> {
        let index = self.user(user, load)?;
        let index = locked(&index);
        Ok(index.rows.iter().map(|row| row.quantity.max(0)).sum())
    }

    fn user<E>(
        &self,
        user: UserId,
        load: impl FnOnce() -> Result<Vec<Lot>, E>,
    ) -> Result<Arc<Mutex<UserIndex>>, E> {
        Ok({
            let mut users = locked(&self.users);
            match users.get(&user) {
                Some(index) => Arc::clone(index),
                None => {
                    let built = Arc::new(Mutex::new(UserIndex::build(&load()?)));
                    users.insert(user, Arc::clone(&built));
                    built
                }
            }
        })
    }

    /// Takes `lots`' new values (`None`: the lot is gone) into `user`'s index, if it is built.
    pub(super) fn changed(&self, user: UserId, lots: &[(LotId, Option<Lot>)]) {
        let Some(index) = locked(&self.users).get(&user).cloned() else {
            return;
        };
        let mut index = locked(&index);
        for (id, lot) in lots {
            match lot {
                Some(lot) => index.upsert(lot),
                None => index.remove(*id),
            }
        }
    }

    /// Drops `user`'s index: the next list builds it again (after an import's many changes).
    pub(super) fn forget(&self, user: UserId) {
        locked(&self.users).remove(&user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn place_keys_sort_as_natural_does() {
        let mut places = vec![
            "A-10-1", "a-2-3", "B-1", "A-2-10", "", "A-02-4", "A", "A-", "A-2", "a-2-", "10", "9",
            "A 1", "A1", "Ab", "B-007", "B-7-1", "x99y", "x100",
        ];
        let mut by_key = places.clone();
        places.sort_by(|a, b| super::super::natural(a, b));
        by_key.sort_by_key(|p| place_key(p));
        // Equal under natural (leading zeros) may come in either order: compare the keys.
        let keys = |v: &[&str]| v.iter().map(|p| place_key(p)).collect::<Vec<_>>();
        assert_eq!(keys(&places), keys(&by_key));
    }
}
