//! Cancelled orders: the sale records of an order that comes back cancelled are marked so, and
//! their pieces are put back on every marketplace holding each lot (the marketplace of the sale
//! lowered its own lot when it sold, and brickdesk took the pieces off the other) by a change
//! with `cause: cancellation`: by themselves when the seller chose so, else when the seller
//! asks (`POST /api/stock-sync/restock`). A record is put back once: the change and the mark
//! are in one commit.

use std::collections::BTreeMap;

use app::{ChangeCause, LotId, Marketplace, OrderDetail, SaleRef, StockSyncSettings, UserId};

use super::{
    EditPlan, Inventory, RecordedEdit,
    sales::{RecordedSales, SaleRecord, sale_key, sale_of},
};
use crate::store::{StoreError, codec, keys};

impl Inventory {
    /// Marks the sale records of a cancelled `order`, putting their pieces back at once when
    /// `settings` say so; `None` when there was nothing new.
    pub(super) fn record_cancellation(
        &self,
        user: UserId,
        order: &OrderDetail,
        settings: &StockSyncSettings,
    ) -> Result<Option<RecordedSales>, StoreError> {
        let marketplace = order.summary.marketplace;
        let Ok(order_no) = order.summary.order_id.parse::<u64>() else {
            return Ok(None);
        };
        let mut found = Vec::new();
        for n in 1..=order.lines.len() {
            let line = u32::try_from(n).unwrap_or(u32::MAX);
            let key = sale_key(user, marketplace, order_no, line);
            let Some(value) = self.sales.get(&key)? else {
                continue;
            };
            let mut record: SaleRecord = codec::decode_at(&self.sales, &key, &value)?;
            if record.cancelled {
                continue;
            }
            record.cancelled = true;
            found.push((key, line, record));
        }
        if found.is_empty() {
            return Ok(None);
        }
        let edit = if settings.restock_cancelled {
            self.put_back(user, marketplace, &order.summary.order_id, found)?
        } else {
            let mut marks = sled::Batch::default();
            for (key, _, record) in found {
                marks.insert(key, codec::encode(&record));
            }
            RecordedEdit {
                writes: vec![(self.sales.clone(), marks)],
                changes: Vec::new(),
                marketplaces: Vec::new(),
                lots: Vec::new(),
            }
        };
        Ok(Some(RecordedSales {
            edit,
            lines: 0,
            propagated: 0,
            oversold: Vec::new(),
            held: false,
        }))
    }

    /// Puts back the pieces of a cancelled order the seller asked for; `None` when none wait
    /// (not cancelled, put back already, or never recorded).
    pub fn restock(
        &self,
        user: UserId,
        marketplace: Marketplace,
        order_id: &str,
    ) -> Result<Option<RecordedEdit>, StoreError> {
        let Ok(order_no) = order_id.parse::<u64>() else {
            return Ok(None);
        };
        let mut prefix = keys::user_scoped(user, &[marketplace.tag()]);
        prefix.extend_from_slice(&order_no.to_be_bytes());
        let mut found = Vec::new();
        for entry in self.sales.scan_prefix(prefix) {
            let (key, value) = entry?;
            let record: SaleRecord = codec::decode_at(&self.sales, &key, &value)?;
            let Some((_, _, line)) = sale_of(&key) else {
                continue;
            };
            if record.cancelled && !record.restocked && record.lot.is_some() {
                found.push((key.to_vec(), line, record));
            }
        }
        if found.is_empty() {
            return Ok(None);
        }
        self.put_back(user, marketplace, order_id, found).map(Some)
    }

    /// The change putting each lot's pieces back on every marketplace holding it, and the
    /// records marked put back, for one commit.
    fn put_back(
        &self,
        user: UserId,
        marketplace: Marketplace,
        order_id: &str,
        found: Vec<(Vec<u8>, u32, SaleRecord)>,
    ) -> Result<RecordedEdit, StoreError> {
        let mut by_lot: BTreeMap<LotId, (u32, i64)> = BTreeMap::new();
        for (_, line, record) in &found {
            if let Some(lot) = record.lot {
                let entry = by_lot.entry(lot).or_insert((*line, 0));
                entry.1 += record.quantity;
            }
        }
        let mut plans = Vec::new();
        for (lot, (line, pieces)) in by_lot {
            let Some(lot) = self.get(user, lot)? else {
                continue;
            };
            let mut after = lot.values();
            after.quantity += pieces;
            plans.push(EditPlan {
                lot,
                after,
                at_zero: None,
                undo_of: None,
                cause: Some(ChangeCause::Cancellation(SaleRef {
                    marketplace,
                    order_id: order_id.to_owned(),
                    line,
                    quantity: pieces,
                })),
                only: None,
                held: false,
            });
        }
        let mut edit = self.record_edit(user, "stock sync", plans)?;
        let mut marks = sled::Batch::default();
        for (key, _, mut record) in found {
            record.restocked = true;
            marks.insert(key, codec::encode(&record));
        }
        edit.writes.push((self.sales.clone(), marks));
        Ok(edit)
    }
}
