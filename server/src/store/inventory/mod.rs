//! The store's lots per user (`inventory` tree, key user id | lot id), each with what every
//! marketplace holding it says. An import merges one marketplace's whole read into them: lots it
//! has that brickdesk lacks are added, lots whose values moved are changed, and lots it no
//! longer has lose that marketplace (and go when no marketplace holds them any more). Only a
//! complete read is merged: a failed one changes nothing. The merge is written a thousand lots
//! at a time, so a large store's never holds all its encoded lots at once; one cut off by a
//! crash leaves the rest as they were, and the next read completes it. A lot with
//! changes still waiting to be applied keeps the values the seller gave it: the read only
//! refreshes what the marketplace says. Edits and their audit log: [`changes`].

mod changes;
mod index;
mod links;
mod reconcile;
mod restock;
mod sales;

use std::{
    cmp::Ordering,
    collections::{HashMap, HashSet},
    sync::Arc,
};

use app::{
    BrickLinkLot, BrickOwlLot, Condition, ImportDiff, Lot, LotId, LotList, LotSort, Marketplace,
    UserId,
};

use super::{Ids, StoreError, codec, keys};

pub use changes::{
    EditPlan, Finished, Outbox, RecordedEdit, Started, edit_values, operation_values, reaches_zero,
    side_quantity,
};
pub use links::{Boids, LinkError};

/// `GET /api/inventory`'s filters.
#[derive(Debug, Clone, Default)]
pub struct LotQuery {
    /// Only lots this marketplace holds.
    pub marketplace: Option<Marketplace>,
    /// Words that must all be in the item number, its name or the remarks.
    pub text: Option<String>,
    pub item_type: Option<String>,
    pub color_id: Option<i64>,
    pub condition: Option<Condition>,
    /// Remarks (the location) starting with this.
    pub location: Option<String>,
    /// Lots both marketplaces hold (`true`) or only one (`false`).
    pub linked: Option<bool>,
    pub sort: LotSort,
    pub descending: bool,
    pub page: usize,
    pub per_page: usize,
}

/// A lot as a marketplace's read has it, before it is merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadLot {
    pub item: app::LotItem,
    pub color_id: i64,
    pub color_name: Option<String>,
    pub condition: Condition,
    pub completeness: Option<String>,
    pub remarks: String,
    pub description: String,
    pub my_cost: Option<app::Money>,
    pub tier_prices: Vec<app::TierPrice>,
    pub bricklink: BrickLinkLot,
}

/// A BrickOwl lot as its read has it, before it is merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwlReadLot {
    pub item: app::LotItem,
    pub condition: Condition,
    pub personal_note: String,
    /// The BrickLink lot id a syncing tool stored with the lot, if any.
    pub bricklink_id: Option<i64>,
    /// The BrickLink colour BrickOwl's colour list names for the lot's colour, and its name.
    pub bricklink_color: Option<i64>,
    pub color_name: Option<String>,
    pub brickowl: BrickOwlLot,
}

/// The inventory trees: lots, their changes (the audit log) and the outbox of changes each
/// marketplace has still to take.
#[derive(Clone)]
pub struct Inventory {
    tree: sled::Tree,
    changes: sled::Tree,
    outbox: sled::Tree,
    /// Stock sync's trees (see [`sales`]).
    sales: sled::Tree,
    sync: sled::Tree,
    oversold: sled::Tree,
    base: sled::Tree,
    conflicts: sled::Tree,
    ids: Ids,
    /// The list's index (see [`index`]), kept in step by every write below.
    index: Arc<index::Indexes>,
    /// Held by whoever reads a lot to write it back (edits, merges, applied changes), so no
    /// write is lost to another made at the same moment.
    writing: Arc<tokio::sync::Mutex<()>>,
}

fn key(user: UserId, id: LotId) -> Vec<u8> {
    keys::user_scoped(user, &id.0.to_be_bytes())
}

/// A merge's writes, applied a thousand at a time.
struct Writes<'a> {
    tree: &'a sled::Tree,
    batch: sled::Batch,
    pending: usize,
}

impl<'a> Writes<'a> {
    const AT_ONCE: usize = 1_000;

    fn new(tree: &'a sled::Tree) -> Self {
        Self {
            tree,
            batch: sled::Batch::default(),
            pending: 0,
        }
    }

    fn insert(&mut self, user: UserId, lot: &Lot) -> Result<(), StoreError> {
        self.batch.insert(key(user, lot.id), codec::encode(lot));
        self.counted()
    }

    fn remove(&mut self, user: UserId, id: LotId) -> Result<(), StoreError> {
        self.batch.remove(key(user, id));
        self.counted()
    }

    fn counted(&mut self) -> Result<(), StoreError> {
        self.pending += 1;
        if self.pending >= Self::AT_ONCE {
            self.tree.apply_batch(std::mem::take(&mut self.batch))?;
            self.pending = 0;
        }
        Ok(())
    }

    fn finish(self) -> Result<(), StoreError> {
        self.tree.apply_batch(self.batch)?;
        Ok(())
    }
}

impl Inventory {
    pub(super) fn open(db: &sled::Db, ids: Ids) -> Result<Self, StoreError> {
        Ok(Self {
            tree: db.open_tree("inventory")?,
            changes: db.open_tree("inventory_changes")?,
            outbox: db.open_tree("inventory_outbox")?,
            sales: db.open_tree("stock_sales")?,
            sync: db.open_tree("stock_sync")?,
            oversold: db.open_tree("stock_oversold")?,
            base: db.open_tree("stock_base")?,
            conflicts: db.open_tree("stock_conflicts")?,
            ids,
            index: Arc::default(),
            writing: Arc::default(),
        })
    }

    /// Waits for the right to read and write back lots (see [`Inventory`]'s `writing`).
    pub async fn writing(&self) -> tokio::sync::OwnedMutexGuard<()> {
        self.writing.clone().lock_owned().await
    }

    /// Every lot of `user`, in id order.
    pub fn all(&self, user: UserId) -> Result<Vec<Lot>, StoreError> {
        self.tree
            .scan_prefix(keys::user(user))
            .map(|entry| {
                let (key, value) = entry?;
                codec::decode_at(&self.tree, &key, &value)
            })
            .collect()
    }

    /// One lot.
    pub fn get(&self, user: UserId, id: LotId) -> Result<Option<Lot>, StoreError> {
        let key = key(user, id);
        self.tree
            .get(&key)?
            .map(|v| codec::decode_at(&self.tree, &key, &v))
            .transpose()
    }

    /// Merges a complete read of `user`'s BrickLink store.
    pub fn merge_bricklink(
        &self,
        user: UserId,
        read: Vec<ReadLot>,
    ) -> Result<ImportDiff, StoreError> {
        let open = self.lots_with_open_changes(user)?;
        let mut held: HashMap<i64, Lot> = self
            .all(user)?
            .into_iter()
            .filter_map(|lot| Some((lot.bricklink.as_ref()?.inventory_id, lot)))
            .collect();
        let mut diff = ImportDiff::default();
        let mut writes = Writes::new(&self.tree);
        for remote in read {
            let known = held.remove(&remote.bricklink.inventory_id);
            let id = match &known {
                Some(lot) => lot.id,
                None => LotId(self.ids.next()?),
            };
            let mut lot = Lot {
                id,
                item: remote.item,
                color_id: remote.color_id,
                color_name: remote.color_name,
                condition: remote.condition,
                completeness: remote.completeness,
                quantity: remote.bricklink.quantity,
                unit_price: remote.bricklink.unit_price,
                remarks: remote.remarks,
                description: remote.description,
                stockroom: remote.bricklink.stockroom,
                my_cost: remote.my_cost,
                tier_prices: remote.tier_prices,
                brickowl: known.as_ref().and_then(|l| l.brickowl.clone()),
                bricklink: Some(remote.bricklink),
                kept_apart: known.as_ref().is_some_and(|l| l.kept_apart),
                pending: Vec::new(),
            };
            if let Some(old) = known.as_ref().filter(|_| open.contains(&id)) {
                // Changes still on their way: the seller's values stay until they are applied.
                lot.quantity = old.quantity;
                lot.unit_price = old.unit_price;
                lot.remarks.clone_from(&old.remarks);
                lot.description.clone_from(&old.description);
                lot.stockroom = old.stockroom;
            }
            match known {
                Some(old) if old == lot => diff.unchanged += 1,
                Some(_) => {
                    diff.changed += 1;
                    writes.insert(user, &lot)?;
                }
                None => {
                    diff.added += 1;
                    writes.insert(user, &lot)?;
                }
            }
        }
        // What BrickLink no longer has: it sold out and was removed there, or the seller
        // deleted it. The lot keeps what another marketplace holds.
        for (_, mut lot) in held {
            if open.contains(&lot.id) {
                continue;
            }
            diff.removed += 1;
            lot.bricklink = None;
            if lot.brickowl.is_some() {
                writes.insert(user, &lot)?;
            } else {
                writes.remove(user, lot.id)?;
            }
        }
        writes.finish()?;
        self.index.forget(user);
        self.forget_failures(user, Marketplace::BrickLink)?;
        Ok(diff)
    }

    /// Merges a complete read of `user`'s BrickOwl store (after BrickLink's): a lot BrickOwl
    /// already had keeps its place; a new one joins the lot whose BrickLink id it carries
    /// (`external_lot_ids`) when that lot has no BrickOwl lot yet, else it is a lot of its own
    /// that waits to be linked; a lot BrickOwl no longer has loses its BrickOwl side.
    pub fn merge_brickowl(
        &self,
        user: UserId,
        read: Vec<OwlReadLot>,
    ) -> Result<ImportDiff, StoreError> {
        let open = self.lots_with_open_changes(user)?;
        let mut lots: HashMap<LotId, Lot> =
            self.all(user)?.into_iter().map(|l| (l.id, l)).collect();
        let by_owl: HashMap<i64, LotId> = lots
            .values()
            .filter_map(|l| Some((l.brickowl.as_ref()?.lot_id, l.id)))
            .collect();
        let by_bricklink: HashMap<i64, LotId> = lots
            .values()
            .filter_map(|l| Some((l.bricklink.as_ref()?.inventory_id, l.id)))
            .collect();
        let mut seen: HashSet<LotId> = HashSet::new();
        let mut diff = ImportDiff::default();
        let mut touched: Vec<LotId> = Vec::new();
        for remote in read {
            let known = by_owl.get(&remote.brickowl.lot_id).copied();
            let link = remote
                .bricklink_id
                .and_then(|id| by_bricklink.get(&id).copied())
                .filter(|id| lots.get(id).is_some_and(|l| l.brickowl.is_none()));
            let id = match known.or(link) {
                Some(id) => id,
                None => {
                    let id = LotId(self.ids.next()?);
                    lots.insert(
                        id,
                        Lot {
                            id,
                            item: remote.item.clone(),
                            // In BrickLink's numbers, as the lot's colour always is.
                            color_id: remote.bricklink_color.unwrap_or(0),
                            color_name: remote.color_name.clone(),
                            condition: remote.condition,
                            completeness: None,
                            quantity: remote.brickowl.quantity,
                            unit_price: remote.brickowl.price,
                            remarks: remote.personal_note.clone(),
                            description: String::new(),
                            stockroom: false,
                            my_cost: None,
                            tier_prices: Vec::new(),
                            bricklink: None,
                            brickowl: None,
                            kept_apart: false,
                            pending: Vec::new(),
                        },
                    );
                    id
                }
            };
            seen.insert(id);
            let Some(lot) = lots.get_mut(&id) else {
                continue;
            };
            if lot.brickowl.as_ref() == Some(&remote.brickowl) {
                diff.unchanged += 1;
                continue;
            }
            if known.is_some() {
                diff.changed += 1;
            } else {
                diff.added += 1;
            }
            if lot.bricklink.is_none() && !open.contains(&id) {
                lot.color_id = remote.bricklink_color.unwrap_or(lot.color_id);
                lot.color_name = remote.color_name.or(lot.color_name.take());
                lot.quantity = remote.brickowl.quantity;
                lot.unit_price = remote.brickowl.price;
                lot.remarks = remote.personal_note;
            }
            lot.brickowl = Some(remote.brickowl);
            touched.push(id);
        }
        let mut writes = Writes::new(&self.tree);
        for id in touched {
            if let Some(lot) = lots.get(&id) {
                writes.insert(user, lot)?;
            }
        }
        for lot in lots.values_mut() {
            if lot.brickowl.is_some() && !seen.contains(&lot.id) && !open.contains(&lot.id) {
                diff.removed += 1;
                lot.brickowl = None;
                if lot.bricklink.is_some() {
                    writes.insert(user, lot)?;
                } else {
                    writes.remove(user, lot.id)?;
                }
            }
        }
        writes.finish()?;
        self.index.forget(user);
        self.forget_failures(user, Marketplace::BrickOwl)?;
        Ok(diff)
    }

    /// One page of `user`'s lots, through the index: only the page's lots are read.
    pub fn list(&self, user: UserId, query: &LotQuery) -> Result<LotList, StoreError> {
        let (total, ids) = self.index.find(user, query, true, || self.all(user))?;
        let mut lots = self.read_all(user, &ids)?;
        self.fill_pending(user, &mut lots)?;
        Ok(LotList {
            lots,
            total,
            page: query.page.max(1),
            per_page: query.per_page.clamp(1, 500),
        })
    }

    /// How many lots `user` has.
    pub fn count(&self, user: UserId) -> usize {
        self.tree.scan_prefix(keys::user(user)).count()
    }

    /// Every lot of `user` the query's filters admit, in its order (its page ignored).
    pub fn matching(&self, user: UserId, query: &LotQuery) -> Result<Vec<Lot>, StoreError> {
        let (_, ids) = self.index.find(user, query, false, || self.all(user))?;
        self.read_all(user, &ids)
    }

    /// The lots with these ids, in their order (any gone since are left out).
    fn read_all(&self, user: UserId, ids: &[LotId]) -> Result<Vec<Lot>, StoreError> {
        let mut lots = Vec::with_capacity(ids.len());
        for id in ids {
            lots.extend(self.get(user, *id)?);
        }
        Ok(lots)
    }

    /// Takes lots written outside this tree's own methods (an edit's commit, made by the job
    /// queue: [`RecordedEdit::lots`]) into the list's index.
    pub fn written(&self, user: UserId, lots: Vec<Lot>) {
        let lots: Vec<(LotId, Option<Lot>)> = lots.into_iter().map(|l| (l.id, Some(l))).collect();
        self.index.changed(user, &lots);
    }
}

/// Locations in a person's order: runs of digits by their number, so `A-2` comes before
/// `A-10`; letters without regard to case.
pub fn natural(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let run = |s: &[u8]| s.iter().take_while(|c| c.is_ascii_digit()).count();
                let (na, nb) = (run(a), run(b));
                let (da, db) = (&a[..na], &b[..nb]);
                let trim = |d: &[u8]| {
                    let zeros = d.iter().take_while(|c| **c == b'0').count();
                    d.len() - zeros
                };
                // More significant digits is a larger number; else digit by digit.
                let order = trim(da)
                    .cmp(&trim(db))
                    .then_with(|| da[na - trim(da)..].cmp(&db[nb - trim(db)..]));
                if order != Ordering::Equal {
                    return order;
                }
                a = &a[na..];
                b = &b[nb..];
            }
            (Some(x), Some(y)) => {
                let order = x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase());
                if order != Ordering::Equal {
                    return order;
                }
                a = &a[1..];
                b = &b[1..];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use app::{BrickOwlLot, LotItem, Money};

    use super::*;
    use crate::store::Store;

    const ANNA: UserId = UserId(1);

    fn read(inventory_id: i64, quantity: i64, remarks: &str) -> ReadLot {
        ReadLot {
            item: LotItem {
                item_type: "PART".into(),
                no: "3001".into(),
                name: "Brick 2 x 4".into(),
            },
            color_id: 11,
            color_name: Some("Black".into()),
            condition: Condition::New,
            completeness: None,
            remarks: remarks.into(),
            description: String::new(),
            my_cost: None,
            tier_prices: Vec::new(),
            bricklink: BrickLinkLot {
                inventory_id,
                quantity,
                unit_price: Money(1000),
                stockroom: false,
            },
        }
    }

    fn owl(lot_id: i64, bricklink_id: Option<i64>, quantity: i64) -> OwlReadLot {
        OwlReadLot {
            item: LotItem {
                item_type: "PART".into(),
                no: "3001".into(),
                name: "Brick 2 x 4".into(),
            },
            condition: Condition::New,
            personal_note: "O-1".into(),
            bricklink_id,
            bricklink_color: Some(11),
            color_name: Some("Black".into()),
            brickowl: BrickOwlLot {
                lot_id,
                quantity,
                price: Money(900),
                boid: "771344-38".into(),
                color_id: 38,
            },
        }
    }

    /// BrickOwl lots join the lot whose BrickLink id they carry; the rest are lots of their
    /// own; a second read keeps the links and drops what BrickOwl no longer has.
    #[test]
    fn brickowl_lots_link_by_their_bricklink_id() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(dir.path()).expect("store");
        let inventory = store.inventory();
        inventory
            .merge_bricklink(ANNA, vec![read(1, 5, "A-1"), read(2, 7, "A-2")])
            .expect("merged");
        let first = inventory
            .merge_brickowl(ANNA, vec![owl(71, Some(1), 4), owl(72, None, 2)])
            .expect("merged");
        assert_eq!((first.added, first.changed, first.removed), (2, 0, 0));
        let lots = inventory.all(ANNA).expect("lots");
        assert_eq!(lots.len(), 3);
        let linked = lots
            .iter()
            .find(|l| l.brickowl.as_ref().is_some_and(|o| o.lot_id == 71))
            .expect("71");
        assert_eq!(linked.bricklink.as_ref().map(|b| b.inventory_id), Some(1));
        assert_eq!(linked.quantity, 5, "the lot's own values stay BrickLink's");
        let alone = lots
            .iter()
            .find(|l| l.brickowl.as_ref().is_some_and(|o| o.lot_id == 72))
            .expect("72");
        assert!(alone.bricklink.is_none() && alone.quantity == 2);

        let second = inventory
            .merge_brickowl(ANNA, vec![owl(71, Some(1), 3)])
            .expect("merged");
        assert_eq!((second.added, second.changed, second.removed), (0, 1, 1));
        let lots = inventory.all(ANNA).expect("lots");
        assert_eq!(lots.len(), 2, "the lot only BrickOwl had is gone");
        let linked = lots.iter().find(|l| l.brickowl.is_some()).expect("71");
        assert_eq!(linked.brickowl.as_ref().map(|o| o.quantity), Some(3));
        let linked_only = inventory
            .list(
                ANNA,
                &LotQuery {
                    linked: Some(true),
                    per_page: 10,
                    ..LotQuery::default()
                },
            )
            .expect("list");
        assert_eq!(linked_only.total, 1);
    }

    /// What a scan of every lot answers: the index must agree.
    fn scanned(lots: &[Lot], query: &LotQuery) -> Vec<LotId> {
        let words: Vec<String> = query
            .text
            .as_deref()
            .unwrap_or_default()
            .to_lowercase()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        let mut found: Vec<&Lot> = lots
            .iter()
            .filter(|l| query.marketplace.is_none_or(|m| l.on(m)))
            .filter(|l| {
                query
                    .item_type
                    .as_deref()
                    .is_none_or(|t| l.item.item_type.eq_ignore_ascii_case(t))
            })
            .filter(|l| query.condition.is_none_or(|c| l.condition == c))
            .filter(|l| {
                query
                    .location
                    .as_deref()
                    .is_none_or(|at| l.remarks.to_lowercase().starts_with(&at.to_lowercase()))
            })
            .filter(|l| {
                let text = format!("{} {} {}", l.item.no, l.item.name, l.remarks).to_lowercase();
                words.iter().all(|w| text.contains(w.as_str()))
            })
            .collect();
        let by = |a: &&Lot, b: &&Lot| {
            match query.sort {
                LotSort::Location => natural(&a.remarks, &b.remarks),
                LotSort::Item => (&a.item.no, a.color_id).cmp(&(&b.item.no, b.color_id)),
                LotSort::Quantity => a.quantity.cmp(&b.quantity),
                LotSort::Price => a.unit_price.cmp(&b.unit_price),
            }
            .then(a.id.cmp(&b.id))
        };
        found.sort_by(|a, b| if query.descending { by(b, a) } else { by(a, b) });
        found.iter().map(|l| l.id).collect()
    }

    /// The list's index answers as a scan of every lot would (sorts both ways, filters,
    /// search, pages), and follows an edit's writes.
    #[test]
    fn the_list_index_answers_as_a_scan_would() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(dir.path()).expect("store");
        let inventory = store.inventory();
        let read: Vec<ReadLot> = (0..300)
            .map(|n| {
                let mut lot = read(
                    1_000 + n,
                    (n * 7) % 23,
                    &format!("{}-{}-{}", ["A", "b", "C"][n as usize % 3], n % 17, n % 5),
                );
                lot.item.no = format!("30{}", n % 40);
                lot.item.item_type = if n % 9 == 0 { "MINIFIG" } else { "PART" }.into();
                lot.condition = if n % 4 == 0 {
                    Condition::Used
                } else {
                    Condition::New
                };
                lot.bricklink.unit_price = app::Money((n * 31) % 500);
                lot
            })
            .collect();
        inventory.merge_bricklink(ANNA, read).expect("merged");
        let check = |inventory: &Inventory| {
            let lots = inventory.all(ANNA).expect("lots");
            for sort in [
                LotSort::Location,
                LotSort::Item,
                LotSort::Quantity,
                LotSort::Price,
            ] {
                for descending in [false, true] {
                    for (text, item_type, condition, location) in [
                        (None, None, None, None),
                        (Some("brick b-1"), None, None, None),
                        (None, Some("minifig"), None, None),
                        (None, None, Some(Condition::Used), Some("c-1")),
                    ] {
                        let query = LotQuery {
                            text: text.map(str::to_owned),
                            item_type: item_type.map(str::to_owned),
                            condition,
                            location: location.map(str::to_owned),
                            sort,
                            descending,
                            page: 2,
                            per_page: 25,
                            ..LotQuery::default()
                        };
                        let want = scanned(&lots, &query);
                        let got = inventory.list(ANNA, &query).expect("list");
                        assert_eq!(got.total, want.len(), "{query:?}");
                        let page: Vec<LotId> = want.iter().skip(25).take(25).copied().collect();
                        let ids: Vec<LotId> = got.lots.iter().map(|l| l.id).collect();
                        assert_eq!(ids, page, "{query:?}");
                    }
                }
            }
        };
        check(inventory);
        // An edit, committed as the queue commits it, then taken into the index.
        let lot = inventory.all(ANNA).expect("lots").remove(7);
        let mut after = lot.values();
        after.remarks = "A-0".into();
        after.quantity = 99;
        after.unit_price = app::Money(1);
        let recorded = inventory
            .record_edit(
                ANNA,
                "anna",
                vec![EditPlan {
                    lot,
                    after,
                    at_zero: None,
                    undo_of: None,
                    cause: None,
                    only: None,
                    held: false,
                }],
            )
            .expect("recorded");
        for (tree, batch) in recorded.writes {
            tree.apply_batch(batch).expect("written");
        }
        inventory.written(ANNA, recorded.lots);
        check(inventory);
    }

    #[test]
    fn locations_sort_as_people_read_them() {
        let mut places = vec!["A-10-1", "a-2-3", "B-1", "A-2-10", "", "A-02-4"];
        places.sort_by(|a, b| natural(a, b));
        assert_eq!(places, ["", "a-2-3", "A-02-4", "A-2-10", "A-10-1", "B-1"]);
    }

    /// A second read adds, changes and removes only what moved, keeps lot ids, and another
    /// user's lots are untouched.
    #[test]
    fn a_read_merges_as_a_diff() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(dir.path()).expect("store");
        let inventory = store.inventory();
        let first = inventory
            .merge_bricklink(ANNA, vec![read(1, 5, "A-1"), read(2, 7, "A-2")])
            .expect("merged");
        assert_eq!((first.added, first.changed, first.removed), (2, 0, 0));
        inventory
            .merge_bricklink(UserId(2), vec![read(9, 1, "Z")])
            .expect("merged");
        let ids: Vec<LotId> = inventory
            .all(ANNA)
            .expect("lots")
            .iter()
            .map(|l| l.id)
            .collect();

        let second = inventory
            .merge_bricklink(ANNA, vec![read(1, 4, "A-1"), read(3, 1, "C-1")])
            .expect("merged");
        assert_eq!(
            (
                second.added,
                second.changed,
                second.removed,
                second.unchanged
            ),
            (1, 1, 1, 0)
        );
        let lots = inventory.all(ANNA).expect("lots");
        assert_eq!(lots.len(), 2);
        let kept = lots
            .iter()
            .find(|l| l.bricklink.as_ref().is_some_and(|b| b.inventory_id == 1))
            .expect("lot 1");
        assert_eq!((kept.id, kept.quantity), (ids[0], 4));
        assert_eq!(inventory.all(UserId(2)).expect("lots").len(), 1);

        let list = inventory
            .list(
                ANNA,
                &LotQuery {
                    text: Some("brick c-".into()),
                    per_page: 50,
                    ..LotQuery::default()
                },
            )
            .expect("list");
        assert_eq!(list.total, 1);
        assert_eq!(list.lots[0].remarks, "C-1");
    }
}
