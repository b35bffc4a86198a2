//! Stock sync's records. `stock_sync` holds each user's settings and since when sync is on;
//! `stock_sales` one record per marketplace order line that sold from a lot (key user |
//! marketplace | order id | line), written in the commit that queues the change taking the
//! pieces off the other marketplace, so a line is propagated exactly once however often its
//! order is pushed, polled or imported again; `stock_oversold` the sales of pieces the other
//! marketplace had sold already (key user | lot | the two orders), which the seller settles.

use std::collections::BTreeMap;

use app::{
    AtZero, CancelledOrder, ChangeCause, ChangeId, HeldSale, LineLot, Lot, LotId, Marketplace,
    OrderDetail, OrderStatus, Oversold, SaleRef, SideState, StockSyncSettings, StockSyncState,
    UserId,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{EditPlan, Inventory, LotQuery, RecordedEdit, side_quantity};
use crate::store::{StoreError, codec, keys};

/// A sale line as recorded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct SaleRecord {
    /// The lot it sold from; `None` when no lot of brickdesk's matches it.
    pub(super) lot: Option<LotId>,
    pub(super) quantity: i64,
    /// The change taking it off the other marketplace, when there was one.
    pub(super) change: Option<ChangeId>,
    #[serde(with = "time::serde::rfc3339")]
    pub(super) at: OffsetDateTime,
    /// Its order was cancelled.
    #[serde(default)]
    pub(super) cancelled: bool,
    /// Its pieces were put back after the cancellation.
    #[serde(default)]
    pub(super) restocked: bool,
}

/// A user's stock sync record.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct SyncRecord {
    pub(super) settings: StockSyncSettings,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub(super) since: Option<OffsetDateTime>,
    #[serde(default)]
    pub(super) last_reconcile: Option<app::ReconcileSummary>,
}

pub(super) fn sale_key(user: UserId, marketplace: Marketplace, order: u64, line: u32) -> Vec<u8> {
    let mut suffix = vec![marketplace.tag()];
    suffix.extend_from_slice(&order.to_be_bytes());
    suffix.extend_from_slice(&line.to_be_bytes());
    keys::user_scoped(user, &suffix)
}

/// A sale record's marketplace, order and line, read back from its key.
pub(super) fn sale_of(key: &[u8]) -> Option<(Marketplace, u64, u32)> {
    let marketplace = Marketplace::from_tag(*key.get(8)?)?;
    let order = u64::from_be_bytes(key.get(9..17)?.try_into().ok()?);
    let line = u32::from_be_bytes(key.get(17..21)?.try_into().ok()?);
    Some((marketplace, order, line))
}

fn oversold_key(user: UserId, lot: LotId, sale: &SaleRef, other: Option<&SaleRef>) -> Vec<u8> {
    let mut orders = vec![format!("{}:{}", sale.marketplace.as_str(), sale.order_id)];
    orders.extend(other.map(|o| format!("{}:{}", o.marketplace.as_str(), o.order_id)));
    orders.sort();
    let mut key = keys::user_scoped(user, &lot.0.to_be_bytes());
    key.extend_from_slice(orders.join("|").as_bytes());
    key
}

/// Whether two references name the same order's sale.
fn same_sale(a: &SaleRef, b: &SaleRef) -> bool {
    a.marketplace == b.marketplace && a.order_id == b.order_id
}

/// Sales recorded from one order: the edit to commit, and what it held.
pub struct RecordedSales {
    pub edit: RecordedEdit,
    /// Sale lines seen for the first time.
    pub lines: usize,
    /// Of those, lines taken off the other marketplace by a change.
    pub propagated: usize,
    /// Oversold sales found.
    pub oversold: Vec<Oversold>,
    /// A guard rail holds the changes until the seller confirms them.
    pub held: bool,
}

impl Inventory {
    pub(super) fn sync_record(&self, user: UserId) -> Result<SyncRecord, StoreError> {
        let key = keys::user(user);
        Ok(self
            .sync
            .get(key)?
            .map(|v| codec::decode_at(&self.sync, &key, &v))
            .transpose()?
            .unwrap_or_default())
    }

    /// `user`'s stock sync settings.
    pub fn stock_sync_settings(&self, user: UserId) -> Result<StockSyncSettings, StoreError> {
        Ok(self.sync_record(user)?.settings)
    }

    /// Since when `user`'s sales propagate; `None` while stock sync is off.
    pub fn stock_sync_since(&self, user: UserId) -> Result<Option<OffsetDateTime>, StoreError> {
        let record = self.sync_record(user)?;
        Ok(record.since.filter(|_| record.settings.enabled))
    }

    /// Saves `user`'s settings; turning sync on starts it from now.
    pub fn set_stock_sync(
        &self,
        user: UserId,
        settings: StockSyncSettings,
    ) -> Result<(), StoreError> {
        let mut record = self.sync_record(user)?;
        if settings.enabled && !record.settings.enabled {
            // To the second, as marketplaces date their orders.
            let now = OffsetDateTime::now_utc();
            record.since = Some(now.replace_nanosecond(0).unwrap_or(now));
            // What both marketplaces hold now is in step from here on.
            self.take_bases(user)?;
        }
        record.settings = settings;
        self.sync.insert(keys::user(user), codec::encode(&record))?;
        Ok(())
    }

    /// Records the lines of `order` sold from lots that were not recorded before, when stock
    /// sync is on and the order was placed since it was turned on: each lot's marketplace of
    /// the sale takes the pieces off what brickdesk knows of it, and the lot's other
    /// marketplace gets a change taking them off there (as many as it holds: pieces it had
    /// sold already are an oversold sale). `None` when there is nothing to record. Call while
    /// holding [`Inventory::writing`] until the commit is done and [`Inventory::written`] has
    /// the lots.
    pub fn record_sales(
        &self,
        user: UserId,
        order: &OrderDetail,
    ) -> Result<Option<RecordedSales>, StoreError> {
        let sync = self.sync_record(user)?;
        let summary = &order.summary;
        let placed_since = sync.since.is_some_and(|since| summary.ordered_at >= since);
        if !sync.settings.enabled || !placed_since {
            return Ok(None);
        }
        if summary.status == OrderStatus::Cancelled {
            return self.record_cancellation(user, order, &sync.settings);
        }
        let Ok(order_no) = summary.order_id.parse::<u64>() else {
            return Ok(None);
        };
        let marketplace = summary.marketplace;
        let now = OffsetDateTime::now_utc();
        // New lines, by the lot they sold from.
        let mut by_lot: BTreeMap<LotId, Vec<SaleRef>> = BTreeMap::new();
        let mut records: Vec<(Vec<u8>, SaleRecord, Option<SaleRef>)> = Vec::new();
        for (n, line) in order.lines.iter().enumerate() {
            let number = u32::try_from(n + 1).unwrap_or(u32::MAX);
            let key = sale_key(user, marketplace, order_no, number);
            if self.sales.contains_key(&key)? || line.quantity < 1 {
                continue;
            }
            let lot = match line.lot {
                Some(named) => self.line_lot(user, marketplace, named)?,
                None => None,
            };
            let sale = SaleRef {
                marketplace,
                order_id: summary.order_id.clone(),
                line: number,
                quantity: line.quantity,
            };
            if let Some(lot) = lot {
                by_lot.entry(lot).or_default().push(sale.clone());
            }
            records.push((
                key,
                SaleRecord {
                    lot,
                    quantity: line.quantity,
                    change: None,
                    at: now,
                    cancelled: false,
                    restocked: false,
                },
                lot.map(|_| sale),
            ));
        }
        if records.is_empty() {
            return Ok(None);
        }
        let other = marketplace.other();
        let mut plans = Vec::new();
        let mut oversold = sled::Batch::default();
        let mut found_oversold = Vec::new();
        let (mut lots_to_zero, mut pieces_taken) = (0usize, 0i64);
        for (lot_id, sales) in &by_lot {
            let Some(mut lot) = self.get(user, *lot_id)? else {
                continue;
            };
            let sold: i64 = sales.iter().map(|s| s.quantity).sum();
            // The marketplace of the sale has taken the pieces off by itself.
            match marketplace {
                Marketplace::BrickLink => {
                    if let Some(bl) = &mut lot.bricklink {
                        bl.quantity = (bl.quantity - sold).max(0);
                    }
                }
                Marketplace::BrickOwl => {
                    if let Some(owl) = &mut lot.brickowl {
                        owl.quantity = (owl.quantity - sold).max(0);
                    }
                }
            }
            let before = lot.values();
            let mut after = before.clone();
            let held = if lot.on(other) {
                side_quantity(&lot, other)
            } else {
                sold
            };
            let taken = sold.min(held).min(before.quantity).max(0);
            if lot.on(other) && taken > 0 {
                pieces_taken += taken;
                lots_to_zero += usize::from(held == taken);
            }
            if lot.on(other) && taken > 0 {
                after.quantity = before.quantity - taken;
            } else {
                // Nothing for the other marketplace: the lot shows what its main one has.
                after.quantity = lot
                    .bricklink
                    .as_ref()
                    .map(|b| b.quantity)
                    .or_else(|| lot.brickowl.as_ref().map(|o| o.quantity))
                    .unwrap_or(0);
            }
            if lot.on(other) && taken < sold {
                let sale = sales[0].clone();
                let before_sale = self.last_sale(user, other, *lot_id)?;
                let record = Oversold {
                    lot: *lot_id,
                    item: lot.item.clone(),
                    color_name: lot.color_name.clone(),
                    sale: SaleRef {
                        quantity: sold,
                        ..sale
                    },
                    other: before_sale,
                    short: sold - taken,
                    at: now,
                };
                // The change taking the other sale off here may have found the pieces gone
                // first, before this sale was known: this record names both and stands for it.
                for (key, earlier) in self.oversold_of(user, *lot_id)? {
                    if earlier.other.is_none()
                        && record
                            .other
                            .as_ref()
                            .is_some_and(|o| same_sale(o, &earlier.sale))
                    {
                        oversold.remove(key);
                    }
                }
                oversold.insert(
                    oversold_key(user, *lot_id, &record.sale, record.other.as_ref()),
                    codec::encode(&record),
                );
                found_oversold.push(record);
            }
            let at_zero =
                (other == Marketplace::BrickLink).then_some(sync.settings.bricklink_at_zero);
            if at_zero == Some(AtZero::Stockroom) && lot.on(other) && held - taken == 0 {
                after.stockroom = true;
            }
            plans.push(EditPlan {
                lot,
                after,
                at_zero,
                undo_of: None,
                cause: Some(ChangeCause::Sale(SaleRef {
                    quantity: sold,
                    ..sales[0].clone()
                })),
                only: Some(other),
                held: false,
            });
        }
        // The guard rails: an order taking more lots to 0 or more of the store's pieces
        // than the settings allow waits for the seller (the sale itself is recorded).
        let settings = &sync.settings;
        let pieces = self.index.total(user, || self.all(user))?;
        let held = lots_to_zero > settings.max_removed_lots
            || (pieces > 0
                && pieces_taken * 100 > pieces * i64::from(settings.max_removed_percent));
        for plan in &mut plans {
            plan.held = held;
        }
        let new_lines = records.len();
        let mut edit = self.record_edit(user, "stock sync", plans)?;
        let mut batch = sled::Batch::default();
        let mut propagated = 0;
        for (key, mut record, sale) in records {
            if let Some(sale) = sale {
                let change = edit.changes.iter().find(|c| {
                    matches!(&c.cause, Some(ChangeCause::Sale(s))
                        if s.order_id == sale.order_id && Some(c.lot) == record.lot)
                });
                record.change = change.map(|c| c.id);
                propagated += usize::from(change.is_some());
            }
            batch.insert(key, codec::encode(&record));
        }
        edit.writes.push((self.sales.clone(), batch));
        edit.writes.push((self.oversold.clone(), oversold));
        Ok(Some(RecordedSales {
            lines: new_lines,
            held,
            propagated,
            oversold: found_oversold,
            edit,
        }))
    }

    /// Records that a change caused by `sale` found `short` of the pieces it was to take gone
    /// on the other marketplace (the race of a last piece sold on both at once); `None` when
    /// the same two orders' oversold sale of the lot was recorded before.
    pub fn record_oversold(
        &self,
        user: UserId,
        lot: &Lot,
        sale: &SaleRef,
        short: i64,
    ) -> Result<Option<Oversold>, StoreError> {
        let other = self.last_sale(user, sale.marketplace.other(), lot.id)?;
        let record = Oversold {
            lot: lot.id,
            item: lot.item.clone(),
            color_name: lot.color_name.clone(),
            sale: sale.clone(),
            other,
            short,
            at: OffsetDateTime::now_utc(),
        };
        // Recorded already when this sale's lot was found short, or when the other sale was.
        let known = self.oversold_of(user, lot.id)?.into_iter().any(|(_, o)| {
            same_sale(&o.sale, sale) || o.other.as_ref().is_some_and(|o| same_sale(o, sale))
        });
        if known {
            return Ok(None);
        }
        let key = oversold_key(user, lot.id, sale, record.other.as_ref());
        self.oversold.insert(key, codec::encode(&record))?;
        Ok(Some(record))
    }

    /// The oversold sales of `lot`, with their keys.
    fn oversold_of(
        &self,
        user: UserId,
        lot: LotId,
    ) -> Result<Vec<(sled::IVec, Oversold)>, StoreError> {
        let prefix = keys::user_scoped(user, &lot.0.to_be_bytes());
        self.oversold
            .scan_prefix(prefix)
            .map(|entry| {
                let (key, value) = entry?;
                let record = codec::decode_at(&self.oversold, &key, &value)?;
                Ok((key, record))
            })
            .collect()
    }

    /// The lot an order line on `marketplace` sold from: by its id there or, on BrickOwl, by
    /// the BrickLink lot id a syncing tool stored with it.
    pub fn line_lot(
        &self,
        user: UserId,
        marketplace: Marketplace,
        named: LineLot,
    ) -> Result<Option<LotId>, StoreError> {
        let own = self.find_remote(user, marketplace, named.id)?;
        Ok(match (own, named.bricklink_id) {
            (None, Some(bricklink)) if marketplace == Marketplace::BrickOwl => {
                self.find_remote(user, Marketplace::BrickLink, bricklink)?
            }
            (own, _) => own,
        })
    }

    /// The lot whose id on `marketplace` is `remote`.
    fn find_remote(
        &self,
        user: UserId,
        marketplace: Marketplace,
        remote: i64,
    ) -> Result<Option<LotId>, StoreError> {
        self.index
            .remote(user, marketplace, remote, || self.all(user))
    }

    /// The newest sale of `lot` on `marketplace` brickdesk recorded (among the last
    /// thousand sale lines there).
    fn last_sale(
        &self,
        user: UserId,
        marketplace: Marketplace,
        lot: LotId,
    ) -> Result<Option<SaleRef>, StoreError> {
        let prefix = keys::user_scoped(user, &[marketplace.tag()]);
        for entry in self.sales.scan_prefix(&prefix).rev().take(1_000) {
            let (key, value) = entry?;
            let record: SaleRecord = codec::decode_at(&self.sales, &key, &value)?;
            if record.lot != Some(lot) {
                continue;
            }
            if let Some((_, order, line)) = sale_of(&key) {
                return Ok(Some(SaleRef {
                    marketplace,
                    order_id: order.to_string(),
                    line,
                    quantity: record.quantity,
                }));
            }
        }
        Ok(None)
    }

    /// Stock sync's settings and what it did for `user`.
    pub fn stock_sync_state(&self, user: UserId) -> Result<StockSyncState, StoreError> {
        let record = self.sync_record(user)?;
        let today = OffsetDateTime::now_utc().replace_time(time::Time::MIDNIGHT);
        let mut state = StockSyncState {
            settings: record.settings,
            since: record.since,
            last_reconcile: record.last_reconcile,
            conflicts: self.conflict_count(user),
            ..StockSyncState::default()
        };
        let mut cancelled: BTreeMap<(Marketplace, u64), CancelledOrder> = BTreeMap::new();
        for entry in self.sales.scan_prefix(keys::user(user)) {
            let (key, value) = entry?;
            let sale: SaleRecord = codec::decode_at(&self.sales, &key, &value)?;
            if sale.lot.is_none() {
                state.unmatched += 1;
            }
            if sale.change.is_some() && sale.at >= today {
                state.propagated_today += 1;
            }
            if let Some((marketplace, order, _)) = sale_of(&key)
                && sale.cancelled
                && !sale.restocked
                && sale.lot.is_some()
            {
                let waiting =
                    cancelled
                        .entry((marketplace, order))
                        .or_insert_with(|| CancelledOrder {
                            marketplace,
                            order_id: order.to_string(),
                            lots: 0,
                            pieces: 0,
                        });
                waiting.lots += 1;
                waiting.pieces += sale.quantity;
            }
        }
        state.cancelled = cancelled.into_values().collect();
        for change in self.open_changes(user)? {
            if change.cause.is_none() {
                continue;
            }
            for side in &change.sides {
                match side.state {
                    SideState::Waiting | SideState::Sending => state.waiting += 1,
                    SideState::Failed => state.failed += 1,
                    SideState::Applied => {}
                }
            }
        }
        let mut held: BTreeMap<(Marketplace, String), HeldSale> = BTreeMap::new();
        for change in self.held_changes(user)? {
            if let Some(ChangeCause::Sale(sale)) = &change.cause {
                let entry = held
                    .entry((sale.marketplace, sale.order_id.clone()))
                    .or_insert_with(|| HeldSale {
                        marketplace: sale.marketplace,
                        order_id: sale.order_id.clone(),
                        lots: 0,
                        lots_to_zero: 0,
                        pieces: 0,
                    });
                entry.lots += 1;
                entry.pieces -= change.quantity_change();
                let target = change.sides.first().map(|side| side.marketplace);
                if let (Some(lot), Some(target)) = (self.get(user, change.lot)?, target) {
                    let left = side_quantity(&lot, target) + change.quantity_change();
                    entry.lots_to_zero += usize::from(left <= 0);
                }
            }
        }
        state.held_sales = held.into_values().collect();
        let (needs_linking, _) = self.index.find(
            user,
            &LotQuery {
                linked: Some(false),
                per_page: 1,
                ..LotQuery::default()
            },
            true,
            || self.all(user),
        )?;
        state.needs_linking = needs_linking;
        let mut oversold: Vec<Oversold> = Vec::new();
        for entry in self.oversold.scan_prefix(keys::user(user)) {
            let (key, value) = entry?;
            oversold.push(codec::decode_at(&self.oversold, &key, &value)?);
        }
        oversold.sort_by_key(|o| std::cmp::Reverse(o.at));
        state.oversold = oversold;
        Ok(state)
    }
}
