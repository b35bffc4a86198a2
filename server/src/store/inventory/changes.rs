//! Edits of lots, kept as change records (`inventory_changes`, key user | change id: the audit
//! log) and an outbox per marketplace (`inventory_outbox`, key user | marketplace | change id,
//! value lot id | state). An edit writes the lots' new values, its changes and their outbox
//! entries in the commit that enqueues the jobs applying them, so a saved edit is never lost
//! and never applied without its record. Each change moves on each marketplace from waiting to
//! sending (recorded, with the marketplace's quantity then, and flushed before the call) to
//! applied or failed: a change found sending after a crash is checked against the marketplace
//! before anything is sent again, so no relative quantity is ever applied twice.

use std::collections::{BTreeMap, HashSet};

use app::{
    AtZero, BrickLinkLot, BulkOperation, ChangeCause, ChangeId, ChangeList, ChangeQuery, Lot,
    LotChange, LotEdit, LotId, LotValues, Marketplace, Money, PendingChange, SideChange, SideState,
    UserId, validate::InvalidInput,
};
use sled::{Transactional as _, transaction::TransactionError};
use time::OffsetDateTime;

use super::{Inventory, key};
use crate::store::{StoreError, WriteSet, codec, keys};

/// Longest remarks and description BrickLink keeps.
const TEXT_LIMIT: usize = 255;

/// Outbox states.
const OPEN: u8 = 0;
const FAILED: u8 = 1;
/// Waits for the seller's confirmation before it is sent (a guard rail held it).
const HELD: u8 = 2;

fn change_key(user: UserId, id: ChangeId) -> Vec<u8> {
    keys::user_scoped(user, &id.0.to_be_bytes())
}

fn side_byte(marketplace: Marketplace) -> u8 {
    match marketplace {
        Marketplace::BrickLink => 1,
        Marketplace::BrickOwl => 2,
    }
}

fn outbox_prefix(user: UserId, marketplace: Marketplace) -> Vec<u8> {
    keys::user_scoped(user, &[side_byte(marketplace)])
}

fn outbox_key(user: UserId, marketplace: Marketplace, id: ChangeId) -> Vec<u8> {
    let mut key = outbox_prefix(user, marketplace);
    key.extend_from_slice(&id.0.to_be_bytes());
    key
}

fn outbox_value(lot: LotId, state: u8) -> Vec<u8> {
    let mut value = lot.0.to_be_bytes().to_vec();
    value.push(state);
    value
}

/// An outbox entry: change, lot, state.
fn outbox_entry(key: &[u8], value: &[u8]) -> Option<(ChangeId, LotId, u8)> {
    let id = u64::from_be_bytes(key.get(9..17)?.try_into().ok()?);
    let lot = u64::from_be_bytes(value.get(..8)?.try_into().ok()?);
    Some((ChangeId(id), LotId(lot), *value.get(8)?))
}

fn checked_text(field: &'static str, text: &str) -> Result<String, InvalidInput> {
    if text.chars().count() > TEXT_LIMIT {
        return Err(InvalidInput::new(
            field,
            format!("{field} holds at most {TEXT_LIMIT} characters."),
        ));
    }
    Ok(text.trim().to_owned())
}

fn checked_price(price: Money) -> Result<Money, InvalidInput> {
    if price.0 < 0 {
        return Err(InvalidInput::new("unit_price", "A price is 0 or more."));
    }
    Ok(price)
}

/// A lot's values after `edit`.
pub fn edit_values(lot: &Lot, edit: &LotEdit) -> Result<LotValues, InvalidInput> {
    let mut after = lot.values();
    match (edit.quantity, edit.quantity_change) {
        (Some(_), Some(_)) => {
            return Err(InvalidInput::new(
                "quantity",
                "Give either a new quantity or a change of quantity, not both.",
            ));
        }
        (Some(n), None) if n < 0 => {
            return Err(InvalidInput::new("quantity", "A quantity is 0 or more."));
        }
        (Some(n), None) => after.quantity = n,
        (None, Some(change)) => {
            let n = lot.quantity.saturating_add(change);
            if n < 0 {
                return Err(InvalidInput::new(
                    "quantity_change",
                    format!(
                        "The lot holds {}: it cannot lose {}.",
                        lot.quantity,
                        change.unsigned_abs()
                    ),
                ));
            }
            after.quantity = n;
        }
        (None, None) => {}
    }
    if let Some(price) = edit.unit_price {
        after.unit_price = checked_price(price)?;
    }
    if let Some(remarks) = &edit.remarks {
        after.remarks = checked_text("remarks", remarks)?;
    }
    if let Some(description) = &edit.description {
        after.description = checked_text("description", description)?;
    }
    if let Some(stockroom) = edit.stockroom {
        after.stockroom = stockroom;
    }
    Ok(after)
}

/// A lot's values after a bulk `operation`. Quantities stop at 0.
pub fn operation_values(lot: &Lot, operation: &BulkOperation) -> Result<LotValues, InvalidInput> {
    let mut after = lot.values();
    match operation {
        BulkOperation::SetQuantity(n) if *n < 0 => {
            return Err(InvalidInput::new("operation", "A quantity is 0 or more."));
        }
        BulkOperation::SetQuantity(n) => after.quantity = *n,
        BulkOperation::AddQuantity(n) => after.quantity = lot.quantity.saturating_add(*n).max(0),
        BulkOperation::SetPrice(price) => after.unit_price = checked_price(*price)?,
        BulkOperation::PercentPrice(percent) if !(-99..=1000).contains(percent) => {
            return Err(InvalidInput::new(
                "operation",
                "A price change is between -99 % and +1000 %.",
            ));
        }
        BulkOperation::PercentPrice(percent) => {
            // In ten-thousandths, rounded half away from zero: small parts keep their
            // fractions of a cent.
            let scaled = i128::from(lot.unit_price.0) * i128::from(100 + percent);
            let rounded = (scaled + 50) / 100;
            after.unit_price = Money(i64::try_from(rounded).unwrap_or(i64::MAX));
        }
        BulkOperation::SetRemarks(remarks) => after.remarks = checked_text("remarks", remarks)?,
        BulkOperation::SetStockroom(stockroom) => after.stockroom = *stockroom,
        // The price comes from the guide, which the caller reads.
        BulkOperation::GuidePrice => {}
    }
    Ok(after)
}

/// Whether `after` leaves the lot at 0 on BrickLink outside the stockroom, which BrickLink
/// refuses: the seller chooses to delete it there or move it to the stockroom.
pub fn reaches_zero(lot: &Lot, after: &LotValues) -> bool {
    lot.bricklink.is_some() && after.quantity == 0 && lot.quantity != 0 && !after.stockroom
}

/// Whether a change from `before` to `after` means anything on `marketplace` (BrickOwl keeps
/// no description and shows the stockroom as "not for sale").
fn concerns(marketplace: Marketplace, before: &LotValues, after: &LotValues) -> bool {
    match marketplace {
        Marketplace::BrickLink => before != after,
        Marketplace::BrickOwl => {
            before.quantity != after.quantity
                || before.unit_price != after.unit_price
                || before.remarks != after.remarks
                || before.stockroom != after.stockroom
        }
    }
}

/// One lot's part of an edit.
#[derive(Debug, Clone)]
pub struct EditPlan {
    /// The lot as it is.
    pub lot: Lot,
    pub after: LotValues,
    pub at_zero: Option<AtZero>,
    pub undo_of: Option<ChangeId>,
    /// Why brickdesk makes it by itself (see [`LotChange::cause`]); such a plan's lot is
    /// written even when no marketplace has anything to take (a sale of a lot the other
    /// marketplace does not hold still lowers what brickdesk knows of it).
    pub cause: Option<ChangeCause>,
    /// Only this marketplace takes the change (the other sold the pieces itself).
    pub only: Option<Marketplace>,
    /// Held by a guard rail: recorded, but sent only once the seller confirms it
    /// ([`Inventory::release`]).
    pub held: bool,
}

/// A change about to be sent to a marketplace, with the lot as brickdesk has it.
#[derive(Debug, Clone)]
pub enum Started {
    /// Send it.
    Send(LotChange, Lot),
    /// It was sent before and its answer was never recorded: check what the marketplace has
    /// before sending anything.
    Check(LotChange, Lot),
}

/// How a change ended on one marketplace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finished {
    /// Taken. On BrickLink the lot as it answered (`None`: deleted); on BrickOwl the quantity.
    BrickLink(Option<BrickLinkLot>),
    BrickOwl {
        quantity: i64,
    },
    /// Taken, as the answer to the call that sent it (on BrickLink, the lot it answered). With
    /// stock sync on, what brickdesk knows the marketplace holds moves by `delta` rather than
    /// taking the answer's quantity: the answer may already count a sale brickdesk records
    /// only later, which would then be taken off twice.
    Moved {
        delta: i64,
        bricklink: Option<BrickLinkLot>,
    },
    /// Refused, or not knowable: why, in a seller's words.
    Failed(String),
    /// Not sent after all (the rate guard held it): waits again.
    Unsent,
}

/// An edit recorded: the writes for the commit that enqueues the applying jobs, the changes,
/// the marketplaces with work, and the lots as the commit writes them.
pub struct RecordedEdit {
    pub writes: WriteSet,
    pub changes: Vec<LotChange>,
    pub marketplaces: Vec<Marketplace>,
    pub lots: Vec<Lot>,
}

/// What an outbox read hands the applying job.
#[derive(Debug, Clone, Default)]
pub struct Outbox {
    /// Open changes, oldest first.
    pub changes: Vec<LotChange>,
    /// Open changes in all.
    pub open: usize,
}

impl Inventory {
    /// Records an edit: the lots take their new values at once, and each marketplace holding
    /// a lot gets the change in its outbox ([`RecordedEdit`]). Call while holding
    /// [`Inventory::writing`] until the commit is done and [`Inventory::written`] has its lots.
    pub fn record_edit(
        &self,
        user: UserId,
        by: &str,
        plans: Vec<EditPlan>,
    ) -> Result<RecordedEdit, StoreError> {
        let now = OffsetDateTime::now_utc();
        let mut changes: Vec<LotChange> = Vec::new();
        let mut written: Vec<Lot> = Vec::new();
        let mut lots = sled::Batch::default();
        let mut outbox = sled::Batch::default();
        let mut undone: Vec<(ChangeId, ChangeId)> = Vec::new();
        let mut busy: Vec<Marketplace> = Vec::new();
        for plan in plans {
            let before = plan.lot.values();
            let sides: Vec<SideChange> = Marketplace::ALL
                .into_iter()
                .filter(|m| {
                    plan.only.is_none_or(|only| only == *m)
                        && plan.lot.on(*m)
                        && concerns(*m, &before, &plan.after)
                })
                .map(|marketplace| SideChange {
                    marketplace,
                    state: SideState::Waiting,
                    sent_from: None,
                    quantity_after: None,
                    error: None,
                })
                .collect();
            if sides.is_empty() {
                if plan.cause.is_some() {
                    let mut lot = plan.lot;
                    lot.quantity = plan.after.quantity;
                    lots.insert(key(user, lot.id), codec::encode(&lot));
                    written.push(lot);
                }
                continue;
            }
            let id = ChangeId(self.ids.next()?);
            for side in &sides {
                let state = if plan.held { HELD } else { OPEN };
                outbox.insert(
                    outbox_key(user, side.marketplace, id),
                    outbox_value(plan.lot.id, state),
                );
                if !plan.held && !busy.contains(&side.marketplace) {
                    busy.push(side.marketplace);
                }
            }
            if let Some(original) = plan.undo_of {
                undone.push((original, id));
            }
            let mut lot = plan.lot;
            lot.quantity = plan.after.quantity;
            lot.unit_price = plan.after.unit_price;
            lot.remarks.clone_from(&plan.after.remarks);
            lot.description.clone_from(&plan.after.description);
            lot.stockroom = plan.after.stockroom;
            lot.pending.clear();
            lots.insert(key(user, lot.id), codec::encode(&lot));
            changes.push(LotChange {
                id,
                edit: changes.first().map_or(id, |c| c.edit),
                edit_size: 0,
                lot: lot.id,
                item: lot.item.clone(),
                color_name: lot.color_name.clone(),
                condition: lot.condition,
                by: by.to_owned(),
                at: now,
                before,
                after: plan.after,
                at_zero: plan.at_zero,
                sides,
                undo_of: plan.undo_of,
                undone_by: None,
                cause: plan.cause,
            });
            written.push(lot);
        }
        let size = changes.len();
        let mut records = sled::Batch::default();
        for change in &mut changes {
            change.edit_size = size;
            records.insert(change_key(user, change.id), codec::encode(&*change));
        }
        for (original, by) in undone {
            if let Some(mut change) = self.change(user, original)? {
                change.undone_by = Some(by);
                records.insert(change_key(user, original), codec::encode(&change));
            }
        }
        let writes = vec![
            (self.tree.clone(), lots),
            (self.changes.clone(), records),
            (self.outbox.clone(), outbox),
        ];
        Ok(RecordedEdit {
            writes,
            changes,
            marketplaces: busy,
            lots: written,
        })
    }

    /// One change.
    pub fn change(&self, user: UserId, id: ChangeId) -> Result<Option<LotChange>, StoreError> {
        let key = change_key(user, id);
        self.changes
            .get(&key)?
            .map(|v| codec::decode_at(&self.changes, &key, &v))
            .transpose()
    }

    /// The changes of the edit `edit` names, in order.
    pub fn edit_changes(&self, user: UserId, edit: ChangeId) -> Result<Vec<LotChange>, StoreError> {
        let mut found = Vec::new();
        for entry in self
            .changes
            .range(change_key(user, edit)..change_key(user, ChangeId(u64::MAX)))
        {
            let (key, value) = entry?;
            let change: LotChange = codec::decode_at(&self.changes, &key, &value)?;
            if change.edit != edit {
                // An edit's changes take consecutive ids of their user, but other users' edits
                // may take ids in between: keep looking until the edit's size is reached.
                if found.is_empty() {
                    break;
                }
                continue;
            }
            let size = change.edit_size;
            found.push(change);
            if found.len() >= size {
                break;
            }
        }
        Ok(found)
    }

    /// The audit log, newest first.
    pub fn changes(&self, user: UserId, query: &ChangeQuery) -> Result<ChangeList, StoreError> {
        let per_page = query.per_page.unwrap_or(50).clamp(1, 500);
        let page = query.page.unwrap_or(1).max(1);
        let skip = (page - 1).saturating_mul(per_page);
        let mut total = 0;
        let mut changes = Vec::new();
        for entry in self.changes.scan_prefix(keys::user(user)).rev() {
            let (key, value) = entry?;
            let change: LotChange = codec::decode_at(&self.changes, &key, &value)?;
            if query.lot.is_some_and(|lot| lot != change.lot)
                || query.edit.is_some_and(|edit| edit != change.edit)
            {
                continue;
            }
            if total >= skip && changes.len() < per_page {
                changes.push(change);
            }
            total += 1;
        }
        Ok(ChangeList {
            changes,
            total,
            page,
            per_page,
        })
    }

    /// Up to `limit` open changes `marketplace` has still to take, oldest first.
    pub fn outbox(
        &self,
        user: UserId,
        marketplace: Marketplace,
        limit: usize,
    ) -> Result<Outbox, StoreError> {
        let mut outbox = Outbox::default();
        for entry in self.outbox.scan_prefix(outbox_prefix(user, marketplace)) {
            let (key, value) = entry?;
            let Some((id, _, OPEN)) = outbox_entry(&key, &value) else {
                continue;
            };
            outbox.open += 1;
            if outbox.changes.len() < limit
                && let Some(change) = self.change(user, id)?
            {
                outbox.changes.push(change);
            }
        }
        Ok(outbox)
    }

    /// Marks a change as being sent to `marketplace`, with the quantity the marketplace has
    /// now as brickdesk knows it; `None` when it is not open there any more. Flush before
    /// sending.
    pub fn start(
        &self,
        user: UserId,
        marketplace: Marketplace,
        id: ChangeId,
    ) -> Result<Option<Started>, StoreError> {
        let Some(mut change) = self.change(user, id)? else {
            self.outbox.remove(outbox_key(user, marketplace, id))?;
            return Ok(None);
        };
        let lot = self.get(user, change.lot)?;
        let Some(side) = change
            .sides
            .iter_mut()
            .find(|s| s.marketplace == marketplace)
        else {
            return Ok(None);
        };
        let Some(lot) = lot.filter(|l| l.on(marketplace)) else {
            side.state = SideState::Failed;
            side.error = Some(format!(
                "{} no longer has this lot; read the store again.",
                marketplace.label()
            ));
            self.settle(user, marketplace, &change, None)?;
            return Ok(None);
        };
        match side.state {
            SideState::Sending => Ok(Some(Started::Check(change, lot))),
            SideState::Waiting => {
                side.state = SideState::Sending;
                side.sent_from = Some(side_quantity(&lot, marketplace));
                self.changes
                    .insert(change_key(user, id), codec::encode(&change))?;
                Ok(Some(Started::Send(change, lot)))
            }
            SideState::Applied | SideState::Failed => {
                self.outbox.remove(outbox_key(user, marketplace, id))?;
                Ok(None)
            }
        }
    }

    /// Records how a change ended on `marketplace`, and what the marketplace now has.
    pub fn finish(
        &self,
        user: UserId,
        marketplace: Marketplace,
        id: ChangeId,
        finished: Finished,
    ) -> Result<(), StoreError> {
        let Some(mut change) = self.change(user, id)? else {
            return Ok(());
        };
        let Some(side) = change
            .sides
            .iter_mut()
            .find(|s| s.marketplace == marketplace)
        else {
            return Ok(());
        };
        let mut lot = self.get(user, change.lot)?;
        match finished {
            Finished::Unsent => {
                side.state = SideState::Waiting;
                side.sent_from = None;
                self.changes
                    .insert(change_key(user, id), codec::encode(&change))?;
                return Ok(());
            }
            Finished::Failed(reason) => {
                side.state = SideState::Failed;
                side.error = Some(reason);
            }
            Finished::BrickLink(answer) => {
                side.state = SideState::Applied;
                side.quantity_after = Some(answer.as_ref().map_or(0, |a| a.quantity));
                if let Some(lot) = &mut lot {
                    lot.bricklink = answer;
                }
            }
            Finished::Moved { delta, bricklink } => {
                side.state = SideState::Applied;
                let relative = self.stock_sync_since(user)?.is_some();
                let sent_from = side.sent_from;
                let repriced = change.before.unit_price != change.after.unit_price;
                if let Some(lot) = &mut lot {
                    let known = side_quantity(lot, marketplace);
                    let moved = (if relative {
                        known
                    } else {
                        sent_from.unwrap_or(known)
                    } + delta)
                        .max(0);
                    match marketplace {
                        Marketplace::BrickLink => {
                            lot.bricklink = bricklink.map(|answer| BrickLinkLot {
                                quantity: if relative { moved } else { answer.quantity },
                                ..answer
                            });
                        }
                        Marketplace::BrickOwl => {
                            if let Some(owl) = lot.brickowl.as_mut() {
                                owl.quantity = moved;
                                if repriced {
                                    owl.price = change.after.unit_price;
                                }
                            }
                        }
                    }
                    side.quantity_after = Some(side_quantity(lot, marketplace));
                }
            }
            Finished::BrickOwl { quantity } => {
                side.state = SideState::Applied;
                side.quantity_after = Some(quantity);
                let repriced = change.before.unit_price != change.after.unit_price;
                if let Some(owl) = lot.as_mut().and_then(|l| l.brickowl.as_mut()) {
                    owl.quantity = quantity;
                    if repriced {
                        owl.price = change.after.unit_price;
                    }
                }
            }
        }
        self.settle(user, marketplace, &change, lot)
    }

    /// Writes a change that ended on `marketplace` and the lot it leaves, in one transaction:
    /// the outbox keeps a failed change (shown on the lot until the store is read again).
    fn settle(
        &self,
        user: UserId,
        marketplace: Marketplace,
        change: &LotChange,
        lot: Option<Lot>,
    ) -> Result<(), StoreError> {
        let failed = change
            .sides
            .iter()
            .any(|s| s.marketplace == marketplace && s.state == SideState::Failed);
        let mut lot = lot;
        let others_open = self.lots_with_open_changes_except(user, change.id)?;
        if let Some(lot) = &mut lot
            && !others_open.contains(&lot.id)
        {
            // Nothing else on its way: the lot shows what its main marketplace now has.
            if let Some(bl) = &lot.bricklink {
                lot.quantity = bl.quantity;
                lot.unit_price = bl.unit_price;
                lot.stockroom = bl.stockroom;
            } else if let Some(owl) = &lot.brickowl
                && !failed
            {
                lot.quantity = owl.quantity;
                lot.unit_price = owl.price;
            }
        }
        let lot_written = lot.is_some();
        let record = codec::encode(change);
        let outbox = outbox_key(user, marketplace, change.id);
        let lot_key = key(user, change.lot);
        (&self.tree, &self.changes, &self.outbox)
            .transaction(|(lots, changes, box_)| {
                changes.insert(change_key(user, change.id), record.clone())?;
                if failed {
                    box_.insert(outbox.clone(), outbox_value(change.lot, FAILED))?;
                } else {
                    box_.remove(outbox.clone())?;
                }
                match &lot {
                    Some(lot) if lot.bricklink.is_some() || lot.brickowl.is_some() => {
                        lots.insert(lot_key.clone(), codec::encode(lot))?;
                    }
                    Some(_) => {
                        lots.remove(lot_key.clone())?;
                    }
                    None => {}
                }
                Ok::<_, sled::transaction::ConflictableTransactionError<()>>(())
            })
            .map_err(|err| match err {
                TransactionError::Abort(()) => {
                    StoreError::Corrupt("an inventory transaction was aborted".into())
                }
                TransactionError::Storage(err) => StoreError::Sled(err),
            })?;
        let kept = lot.filter(|l| l.bricklink.is_some() || l.brickowl.is_some());
        if lot_written {
            self.index.changed(user, &[(change.lot, kept)]);
        }
        Ok(())
    }

    /// The changes still open on some marketplace, held, or refused there (until the store is
    /// read again), each once.
    pub fn open_changes(&self, user: UserId) -> Result<Vec<LotChange>, StoreError> {
        self.outbox_changes(user, |_| true)
    }

    /// The changes a guard rail holds, each once.
    pub fn held_changes(&self, user: UserId) -> Result<Vec<LotChange>, StoreError> {
        self.outbox_changes(user, |state| state == HELD)
    }

    /// The changes with an outbox entry in a state `wanted` admits, each once.
    fn outbox_changes(
        &self,
        user: UserId,
        wanted: impl Fn(u8) -> bool,
    ) -> Result<Vec<LotChange>, StoreError> {
        let mut ids: Vec<ChangeId> = Vec::new();
        for entry in self.outbox.scan_prefix(keys::user(user)) {
            let (key, value) = entry?;
            if let Some((id, _, state)) = outbox_entry(&key, &value)
                && wanted(state)
            {
                ids.push(id);
            }
        }
        ids.sort_unstable();
        ids.dedup();
        let mut changes = Vec::with_capacity(ids.len());
        for id in ids {
            changes.extend(self.change(user, id)?);
        }
        Ok(changes)
    }

    /// Lets the held changes `wanted` admits go (the seller confirmed them): the outbox
    /// writes and the marketplaces with work, for the commit that enqueues their jobs;
    /// `None` when none is held.
    pub fn release(
        &self,
        user: UserId,
        wanted: impl Fn(&LotChange) -> bool,
    ) -> Result<Option<RecordedEdit>, StoreError> {
        let mut batch = sled::Batch::default();
        let mut marketplaces: Vec<Marketplace> = Vec::new();
        for entry in self.outbox.scan_prefix(keys::user(user)) {
            let (key, value) = entry?;
            let Some((id, lot, HELD)) = outbox_entry(&key, &value) else {
                continue;
            };
            let Some(marketplace) = key
                .get(8)
                .and_then(|b| Marketplace::ALL.into_iter().find(|m| side_byte(*m) == *b))
            else {
                continue;
            };
            if self.change(user, id)?.is_some_and(|c| wanted(&c)) {
                batch.insert(key, outbox_value(lot, OPEN));
                if !marketplaces.contains(&marketplace) {
                    marketplaces.push(marketplace);
                }
            }
        }
        if marketplaces.is_empty() {
            return Ok(None);
        }
        Ok(Some(RecordedEdit {
            writes: vec![(self.outbox.clone(), batch)],
            changes: Vec::new(),
            marketplaces,
            lots: Vec::new(),
        }))
    }

    /// Lots with a change still open on some marketplace.
    pub(super) fn lots_with_open_changes(
        &self,
        user: UserId,
    ) -> Result<HashSet<LotId>, StoreError> {
        self.lots_with_open_changes_except(user, ChangeId(0))
    }

    fn lots_with_open_changes_except(
        &self,
        user: UserId,
        except: ChangeId,
    ) -> Result<HashSet<LotId>, StoreError> {
        let mut lots = HashSet::new();
        for entry in self.outbox.scan_prefix(keys::user(user)) {
            let (key, value) = entry?;
            if let Some((id, lot, OPEN)) = outbox_entry(&key, &value)
                && id != except
            {
                lots.insert(lot);
            }
        }
        Ok(lots)
    }

    /// Drops `marketplace`'s failed changes from the lots: a complete read of the store says
    /// what it holds now (the audit log keeps them).
    pub(super) fn forget_failures(
        &self,
        user: UserId,
        marketplace: Marketplace,
    ) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for entry in self.outbox.scan_prefix(outbox_prefix(user, marketplace)) {
            let (key, value) = entry?;
            if let Some((_, _, FAILED)) = outbox_entry(&key, &value) {
                batch.remove(key);
            }
        }
        self.outbox.apply_batch(batch)?;
        Ok(())
    }

    /// Fills each lot's `pending` from the outbox.
    pub(super) fn fill_pending(&self, user: UserId, lots: &mut [Lot]) -> Result<(), StoreError> {
        let wanted: HashSet<LotId> = lots.iter().map(|l| l.id).collect();
        let mut found: BTreeMap<LotId, Vec<PendingChange>> = BTreeMap::new();
        for entry in self.outbox.scan_prefix(keys::user(user)) {
            let (key, value) = entry?;
            let Some((id, lot, _)) = outbox_entry(&key, &value) else {
                continue;
            };
            if !wanted.contains(&lot) {
                continue;
            }
            let Some(change) = self.change(user, id)? else {
                continue;
            };
            for side in change.sides {
                if side.state != SideState::Applied
                    && key.get(8) == Some(&side_byte(side.marketplace))
                {
                    found.entry(lot).or_default().push(PendingChange {
                        change: id,
                        marketplace: side.marketplace,
                        state: side.state,
                        error: side.error,
                    });
                }
            }
        }
        for lot in lots {
            lot.pending = found.remove(&lot.id).unwrap_or_default();
        }
        Ok(())
    }
}

/// What `marketplace` holds of the lot, as brickdesk last heard.
pub fn side_quantity(lot: &Lot, marketplace: Marketplace) -> i64 {
    match marketplace {
        Marketplace::BrickLink => lot.bricklink.as_ref().map_or(0, |b| b.quantity),
        Marketplace::BrickOwl => lot.brickowl.as_ref().map_or(0, |o| o.quantity),
    }
}
