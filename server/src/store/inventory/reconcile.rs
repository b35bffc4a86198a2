//! Three-way reconcile: for each lot on both marketplaces brickdesk keeps the quantities they
//! last held in step (the base: `stock_base`, key user | lot, BrickLink's then BrickOwl's).
//! After both stores are read, each side's change since the base is worked out: a change on one
//! side only is taken to the other (so an edit made directly on either marketplace is kept, not
//! overwritten), the same change on both is simply in step, and different changes on both are
//! a conflict the seller settles (`stock_conflicts`, key user | lot). Lots with changes still on
//! their way wait for the next reconcile. The changes are held, and nothing is sent, when they
//! would take more lots to 0 or more of the store's pieces away than the settings allow.

use std::collections::HashMap;

use app::{
    AtZero, ChangeCause, Conflict, HeldReconcile, Lot, LotId, Marketplace, ReconcileLine,
    ReconcileSummary, Resolution, UserId,
};
use time::OffsetDateTime;

use super::{EditPlan, Inventory, RecordedEdit};
use crate::store::{StoreError, codec, keys};

/// Changes a held reconcile shows.
const HELD_LINES: usize = 200;

fn lot_key(user: UserId, lot: LotId) -> Vec<u8> {
    keys::user_scoped(user, &lot.0.to_be_bytes())
}

/// What each marketplace holds of a lot, BrickLink's first; `None` unless it is on both.
fn sides(lot: &Lot) -> Option<[i64; 2]> {
    Some([
        lot.bricklink.as_ref()?.quantity,
        lot.brickowl.as_ref()?.quantity,
    ])
}

/// A reconcile worked out: the edit to commit (changes, base and conflict writes) and what it
/// found.
pub struct Reconciled {
    pub edit: RecordedEdit,
    pub summary: ReconcileSummary,
}

impl Inventory {
    /// Takes every lot on both marketplaces as it is now as in step (stock sync turned on).
    pub(super) fn take_bases(&self, user: UserId) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for lot in self.all(user)? {
            if let Some(now) = sides(&lot) {
                batch.insert(lot_key(user, lot.id), codec::encode(&now));
            }
        }
        self.base.apply_batch(batch)?;
        Ok(())
    }

    fn bases(&self, user: UserId) -> Result<HashMap<LotId, [i64; 2]>, StoreError> {
        let mut bases = HashMap::new();
        for entry in self.base.scan_prefix(keys::user(user)) {
            let (key, value) = entry?;
            let id = key
                .get(8..16)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_be_bytes);
            if let Some(id) = id {
                bases.insert(LotId(id), codec::decode_at(&self.base, &key, &value)?);
            }
        }
        Ok(bases)
    }

    /// Works out a reconcile of `user`'s lots as brickdesk now knows them (read both stores
    /// first). `confirm` lets it past the guard rails.
    pub fn reconcile(&self, user: UserId, confirm: bool) -> Result<Reconciled, StoreError> {
        let settings = self.sync_record(user)?.settings;
        let open = self.lots_with_open_changes(user)?;
        let bases = self.bases(user)?;
        let conflicted: std::collections::HashSet<LotId> =
            self.conflicts(user)?.into_iter().map(|c| c.lot).collect();
        let now_at = OffsetDateTime::now_utc();
        let mut summary = ReconcileSummary {
            at: now_at,
            in_step: 0,
            propagated: 0,
            conflicts: 0,
            new: 0,
            skipped: 0,
            held: None,
        };
        let mut plans: Vec<EditPlan> = Vec::new();
        let mut lines: Vec<ReconcileLine> = Vec::new();
        let mut base_writes = sled::Batch::default();
        let mut conflicts = sled::Batch::default();
        let (mut lots_to_zero, mut pieces_removed, mut pieces) = (0usize, 0i64, 0i64);
        for lot in self.all(user)? {
            let Some(now) = sides(&lot) else {
                continue;
            };
            pieces += now[0].max(now[1]);
            let key = lot_key(user, lot.id);
            if open.contains(&lot.id) {
                summary.skipped += 1;
                continue;
            }
            let Some(base) = bases.get(&lot.id).copied() else {
                summary.new += 1;
                base_writes.insert(key, codec::encode(&now));
                continue;
            };
            let moved = [now[0] - base[0], now[1] - base[1]];
            let (from, delta) = match moved {
                [a, b] if a == b => {
                    summary.in_step += 1;
                    if a != 0 {
                        base_writes.insert(key.clone(), codec::encode(&now));
                    }
                    if conflicted.contains(&lot.id) {
                        conflicts.remove(key);
                    }
                    continue;
                }
                [a, 0] => (Marketplace::BrickLink, a),
                [0, b] => (Marketplace::BrickOwl, b),
                _ => {
                    summary.conflicts += 1;
                    let conflict = Conflict {
                        lot: lot.id,
                        item: lot.item.clone(),
                        color_name: lot.color_name.clone(),
                        base,
                        now,
                        at: now_at,
                    };
                    conflicts.insert(key, codec::encode(&conflict));
                    continue;
                }
            };
            let to = from.other();
            let target = usize::from(to == Marketplace::BrickOwl);
            // Never below 0: a side holding fewer than a removal gives what it has.
            let delta = delta.max(-now[target]);
            let mut after = now;
            after[target] += delta;
            if delta < 0 {
                pieces_removed -= delta;
                lots_to_zero += usize::from(after[target] == 0);
            }
            summary.propagated += 1;
            base_writes.insert(key.clone(), codec::encode(&after));
            if conflicted.contains(&lot.id) {
                conflicts.remove(key);
            }
            if lines.len() < HELD_LINES {
                lines.push(ReconcileLine {
                    lot: lot.id,
                    item: lot.item.clone(),
                    color_name: lot.color_name.clone(),
                    base,
                    now,
                    after,
                });
            }
            if delta != 0 {
                plans.push(propagation(lot, to, delta, settings.bricklink_at_zero));
            }
        }
        let mut reasons = Vec::new();
        if lots_to_zero > settings.max_removed_lots {
            reasons.push(format!(
                "it would take {lots_to_zero} lots to 0 (more than {})",
                settings.max_removed_lots
            ));
        }
        if pieces > 0 && pieces_removed * 100 > pieces * i64::from(settings.max_removed_percent) {
            reasons.push(format!(
                "it would take {pieces_removed} of your {pieces} pieces away (more than {} %)",
                settings.max_removed_percent
            ));
        }
        if !reasons.is_empty() && !confirm {
            summary.held = Some(HeldReconcile {
                reasons,
                lots_to_zero,
                pieces_removed,
                lines,
            });
            let edit = RecordedEdit {
                writes: vec![self.last_reconcile(user, &summary)?],
                changes: Vec::new(),
                marketplaces: Vec::new(),
                lots: Vec::new(),
            };
            return Ok(Reconciled { edit, summary });
        }
        let mut edit = self.record_edit(user, "stock sync", plans)?;
        edit.writes.push((self.base.clone(), base_writes));
        edit.writes.push((self.conflicts.clone(), conflicts));
        edit.writes.push(self.last_reconcile(user, &summary)?);
        Ok(Reconciled { edit, summary })
    }

    /// The write keeping `summary` as `user`'s last reconcile.
    fn last_reconcile(
        &self,
        user: UserId,
        summary: &ReconcileSummary,
    ) -> Result<(sled::Tree, sled::Batch), StoreError> {
        let mut record = self.sync_record(user)?;
        record.last_reconcile = Some(summary.clone());
        let mut last = sled::Batch::default();
        last.insert(&keys::user(user), codec::encode(&record));
        Ok((self.sync.clone(), last))
    }

    /// The lots both marketplaces changed differently.
    pub fn conflicts(&self, user: UserId) -> Result<Vec<Conflict>, StoreError> {
        self.conflicts
            .scan_prefix(keys::user(user))
            .map(|entry| {
                let (key, value) = entry?;
                codec::decode_at(&self.conflicts, &key, &value)
            })
            .collect()
    }

    /// How many lots are in conflict.
    pub(super) fn conflict_count(&self, user: UserId) -> usize {
        self.conflicts.scan_prefix(keys::user(user)).count()
    }

    /// Settles a conflict: both marketplaces take the quantity `resolution` names, and it is
    /// their new base. `None` when the lot is in no conflict (or changed since: read again).
    pub fn resolve(
        &self,
        user: UserId,
        id: LotId,
        resolution: Resolution,
    ) -> Result<Option<RecordedEdit>, StoreError> {
        let key = lot_key(user, id);
        let Some(value) = self.conflicts.get(&key)? else {
            return Ok(None);
        };
        let conflict: Conflict = codec::decode_at(&self.conflicts, &key, &value)?;
        self.settle_conflicts(user, &[conflict], resolution)
    }

    /// Settles every conflict by one rule (BrickLink's count, or BrickOwl's); `None` when
    /// there is none to settle.
    pub fn resolve_all(
        &self,
        user: UserId,
        resolution: Resolution,
    ) -> Result<Option<RecordedEdit>, StoreError> {
        let conflicts = self.conflicts(user)?;
        self.settle_conflicts(user, &conflicts, resolution)
    }

    /// The changes settling `conflicts`, their new bases, and the conflicts gone, for one
    /// commit. A conflict whose lot changed since is left as it is.
    fn settle_conflicts(
        &self,
        user: UserId,
        conflicts: &[Conflict],
        resolution: Resolution,
    ) -> Result<Option<RecordedEdit>, StoreError> {
        let at_zero = self.sync_record(user)?.settings.bricklink_at_zero;
        let mut plans = Vec::new();
        let mut base = sled::Batch::default();
        let mut settled = sled::Batch::default();
        let mut any = false;
        for conflict in conflicts {
            let key = lot_key(user, conflict.lot);
            let Some(lot) = self.get(user, conflict.lot)? else {
                settled.remove(key);
                continue;
            };
            let Some(now) = sides(&lot).filter(|now| *now == conflict.now) else {
                continue;
            };
            let wanted = match resolution {
                Resolution::Bricklink => now[0],
                Resolution::Brickowl => now[1],
                Resolution::Quantity(n) => n.max(0),
            };
            for (at, marketplace) in Marketplace::ALL.into_iter().enumerate() {
                if now[at] != wanted {
                    let mut plan = propagation(lot.clone(), marketplace, wanted - now[at], at_zero);
                    plan.cause = Some(ChangeCause::Settled);
                    plans.push(plan);
                }
            }
            base.insert(key.clone(), codec::encode(&[wanted, wanted]));
            settled.remove(key);
            any = true;
        }
        if !any {
            return Ok(None);
        }
        let mut edit = self.record_edit(user, "stock sync", plans)?;
        edit.writes.push((self.base.clone(), base));
        edit.writes.push((self.conflicts.clone(), settled));
        Ok(Some(edit))
    }
}

/// A change adding `delta` pieces on `to` only. The lot shows its main marketplace's quantity
/// (BrickLink's when it is there): it moves only when the change is for that marketplace.
fn propagation(lot: Lot, to: Marketplace, delta: i64, at_zero: AtZero) -> EditPlan {
    let main = if lot.bricklink.is_some() {
        Marketplace::BrickLink
    } else {
        Marketplace::BrickOwl
    };
    let mut lot = lot;
    let mut after = lot.values();
    if to == main {
        after.quantity = (lot.quantity + delta).max(0);
    } else {
        // The change's "before" is the lot's own: shown as it was less the change.
        lot.quantity -= delta;
    }
    let from = to.other();
    EditPlan {
        lot,
        after,
        at_zero: (to == Marketplace::BrickLink).then_some(at_zero),
        undo_of: None,
        cause: Some(ChangeCause::Reconcile { from }),
        only: Some(to),
        held: false,
    }
}
