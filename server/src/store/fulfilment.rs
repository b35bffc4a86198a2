//! Fulfilment records: pick lists (`pick_lists`, keyed user | id; the lines as built) with
//! their ticks beside them (`pick_ticks`, keyed user | list | line, so two pickers ticking
//! different lines never write the same record), each order's flow (`order_flow`, keyed user |
//! marketplace | order id) and the seller's settings (`fulfilment`, keyed user).

use std::{collections::BTreeSet, sync::Arc};

use app::{
    FulfilmentSettings, OrderFlow, OrderRef, PickLine, PickList, PickListId, PickListState,
    PickListSummary, PickTick, ShortLine, UserId,
};
use serde::{Deserialize, Serialize};
use sled::Transactional;
use time::OffsetDateTime;

use super::{StoreError, codec, ids::Ids, keys};

/// The fulfilment trees.
#[derive(Clone)]
pub struct Fulfilment {
    lists: sled::Tree,
    ticks: sled::Tree,
    flows: sled::Tree,
    settings: sled::Tree,
    ids: Ids,
    /// Ticks and closing one list are taken one at a time, so no tick lands on a closed list.
    gate: Arc<std::sync::Mutex<()>>,
}

/// A pick list as stored: the lines without their ticks.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ListRecord {
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    created_by: String,
    state: PickListState,
    #[serde(with = "time::serde::rfc3339::option")]
    closed_at: Option<OffsetDateTime>,
    orders: Vec<OrderRef>,
    lines: Vec<PickLine>,
}

/// Why a tick or a close was refused.
#[derive(Debug, thiserror::Error)]
pub enum PickError {
    #[error("There is no such pick list.")]
    NoList,
    #[error("This pick list has no line {0}.")]
    NoLine(u32),
    #[error("This pick list is closed; open a new one to pick again.")]
    Closed,
    #[error("Line {line} needs {needed} pieces; found is between 0 and {needed}.")]
    Found { line: u32, needed: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn list_key(user: UserId, id: PickListId) -> Vec<u8> {
    keys::user_scoped(user, &id.0.to_be_bytes())
}

fn tick_key(user: UserId, id: PickListId, line: u32) -> Vec<u8> {
    let mut key = list_key(user, id);
    key.extend_from_slice(&line.to_be_bytes());
    key
}

fn flow_key(user: UserId, order: &OrderRef) -> Vec<u8> {
    keys::order(user, &[], order)
}

impl Fulfilment {
    pub(super) fn open(db: &sled::Db, ids: Ids) -> Result<Self, StoreError> {
        Ok(Self {
            lists: db.open_tree("pick_lists")?,
            ticks: db.open_tree("pick_ticks")?,
            flows: db.open_tree("order_flow")?,
            settings: db.open_tree("fulfilment")?,
            ids,
            gate: Arc::default(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.gate
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The seller's settings (defaults until saved).
    pub fn settings(&self, user: UserId) -> Result<FulfilmentSettings, StoreError> {
        let key = keys::user(user);
        self.settings
            .get(key)?
            .map(|v| codec::decode_at(&self.settings, &key, &v))
            .transpose()
            .map(Option::unwrap_or_default)
    }

    /// Saves the seller's settings.
    pub fn set_settings(
        &self,
        user: UserId,
        settings: &FulfilmentSettings,
    ) -> Result<(), StoreError> {
        self.settings
            .insert(keys::user(user), codec::encode(settings))?;
        Ok(())
    }

    /// Stores a new, open pick list of `orders` with `lines` and returns it.
    pub fn create(
        &self,
        user: UserId,
        created_by: &str,
        orders: Vec<OrderRef>,
        lines: Vec<PickLine>,
    ) -> Result<PickList, StoreError> {
        let id = PickListId(self.ids.next()?);
        let record = ListRecord {
            created_at: OffsetDateTime::now_utc(),
            created_by: created_by.to_owned(),
            state: PickListState::Open,
            closed_at: None,
            orders,
            lines,
        };
        self.lists
            .insert(list_key(user, id), codec::encode(&record))?;
        Ok(with_ticks(id, record))
    }

    fn record(&self, user: UserId, id: PickListId) -> Result<Option<ListRecord>, StoreError> {
        let key = list_key(user, id);
        self.lists
            .get(&key)?
            .map(|v| codec::decode_at(&self.lists, &key, &v))
            .transpose()
    }

    /// One pick list with its ticks, if `user` has it.
    pub fn get(&self, user: UserId, id: PickListId) -> Result<Option<PickList>, StoreError> {
        let Some(record) = self.record(user, id)? else {
            return Ok(None);
        };
        let mut list = with_ticks(id, record);
        for entry in self.ticks.scan_prefix(list_key(user, id)) {
            let (key, value) = entry?;
            let Some(line) = key
                .get(16..20)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map(u32::from_be_bytes)
            else {
                continue;
            };
            let tick: PickTick = codec::decode_at(&self.ticks, &key, &value)?;
            if let Some(slot) = list.lines.iter_mut().find(|l| l.line == line) {
                slot.tick = Some(tick);
            }
        }
        Ok(Some(list))
    }

    /// Every pick list of `user`, newest first.
    pub fn list(&self, user: UserId) -> Result<Vec<PickListSummary>, StoreError> {
        let ids: Vec<PickListId> = self
            .lists
            .scan_prefix(keys::user(user))
            .keys()
            .rev()
            .filter_map(|k| {
                let key = k.ok()?;
                let tail = <[u8; 8]>::try_from(key.get(8..16)?).ok()?;
                Some(PickListId(u64::from_be_bytes(tail)))
            })
            .collect();
        let mut all = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(list) = self.get(user, id)? {
                all.push(list.summary());
            }
        }
        Ok(all)
    }

    /// The orders on `user`'s open pick lists.
    pub fn on_open_lists(&self, user: UserId) -> Result<BTreeSet<OrderRef>, StoreError> {
        let mut orders = BTreeSet::new();
        for entry in self.lists.scan_prefix(keys::user(user)) {
            let (key, value) = entry?;
            let record: ListRecord = codec::decode_at(&self.lists, &key, &value)?;
            if record.state == PickListState::Open {
                orders.extend(record.orders);
            }
        }
        Ok(orders)
    }

    /// Ticks line `line` of list `id` with what was found (`None` unticks it); returns the
    /// tick as stored.
    pub fn tick(
        &self,
        user: UserId,
        id: PickListId,
        line: u32,
        found: Option<i64>,
        by: &str,
    ) -> Result<Option<PickTick>, PickError> {
        let _one_at_a_time = self.lock();
        let record = self.record(user, id)?.ok_or(PickError::NoList)?;
        if record.state == PickListState::Closed {
            return Err(PickError::Closed);
        }
        let needed = record
            .lines
            .iter()
            .find(|l| l.line == line)
            .ok_or(PickError::NoLine(line))?
            .quantity;
        let key = tick_key(user, id, line);
        let Some(found) = found else {
            self.ticks.remove(key).map_err(StoreError::from)?;
            return Ok(None);
        };
        if !(0..=needed).contains(&found) {
            return Err(PickError::Found { line, needed });
        }
        let tick = PickTick {
            found,
            by: by.to_owned(),
            at: OffsetDateTime::now_utc(),
        };
        self.ticks
            .insert(key, codec::encode(&tick))
            .map_err(StoreError::from)?;
        Ok(Some(tick))
    }

    /// Closes list `id`: each order whose every line was found in full is picked; an order
    /// with a line found short keeps the short lines (to tell the buyer). Closing twice
    /// answers the list as it is.
    pub fn close(&self, user: UserId, id: PickListId) -> Result<PickList, PickError> {
        let _one_at_a_time = self.lock();
        let list = self.get(user, id)?.ok_or(PickError::NoList)?;
        if list.state == PickListState::Closed {
            return Ok(list);
        }
        let now = OffsetDateTime::now_utc();
        let mut batch = sled::Batch::default();
        for order in &list.orders {
            let mut flow = self.flow(user, order)?;
            let mut complete = true;
            flow.short.clear();
            for line in &list.lines {
                let Some(share) = line
                    .orders
                    .iter()
                    .find(|s| s.marketplace == order.marketplace && s.order_id == order.order_id)
                else {
                    continue;
                };
                // Pieces found go to the orders in the line's order, so one short line is
                // short for the last orders it serves.
                let before: i64 = line
                    .orders
                    .iter()
                    .take_while(|s| !std::ptr::eq(*s, share))
                    .map(|s| s.quantity)
                    .sum();
                let found = line.tick.as_ref().map_or(0, |t| t.found);
                let got = (found - before).clamp(0, share.quantity);
                if got < share.quantity {
                    complete = false;
                    flow.short.push(ShortLine {
                        item_no: line.item_no.clone(),
                        name: line.name.clone(),
                        color_name: line.color_name.clone(),
                        ordered: share.quantity,
                        found: got,
                    });
                }
            }
            if complete {
                flow.picked_on = Some(id);
                flow.picked_at = Some(now);
            }
            batch.insert(flow_key(user, order), codec::encode(&flow));
        }
        let mut record = self.record(user, id)?.ok_or(PickError::NoList)?;
        record.state = PickListState::Closed;
        record.closed_at = Some(now);
        let mut lists = sled::Batch::default();
        lists.insert(list_key(user, id), codec::encode(&record));
        (&self.lists, &self.flows)
            .transaction(|(lists_tx, flows_tx)| {
                lists_tx.apply_batch(&lists)?;
                flows_tx.apply_batch(&batch)?;
                Ok::<_, sled::transaction::ConflictableTransactionError<()>>(())
            })
            .map_err(|e| StoreError::Corrupt(format!("closing a pick list: {e:?}")))?;
        self.get(user, id)?.ok_or(PickError::NoList)
    }

    /// Where `order` is on its way out.
    pub fn flow(&self, user: UserId, order: &OrderRef) -> Result<OrderFlow, StoreError> {
        let key = flow_key(user, order);
        self.flows
            .get(&key)?
            .map(|v| codec::decode_at(&self.flows, &key, &v))
            .transpose()
            .map(Option::unwrap_or_default)
    }
}

fn with_ticks(id: PickListId, record: ListRecord) -> PickList {
    PickList {
        id,
        created_at: record.created_at,
        created_by: record.created_by,
        state: record.state,
        closed_at: record.closed_at,
        orders: record.orders,
        lines: record.lines,
    }
}
