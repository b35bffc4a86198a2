//! What happened, per user, newest last: new and changed orders, marketplace messages and
//! feedback, pushes received, syncs. Keys are user id | nanoseconds | sequence, so one user's
//! feed is one range in time order. Webhook pushes are written in the same commit as the job
//! they start (see `Activity::recorded`).

use std::{
    ops::Bound,
    sync::atomic::{AtomicU32, Ordering},
};

use app::{ActivityEntry, UserId};

use super::{StoreError, WriteSet, codec, keys};

/// Entries kept per user; older ones are pruned.
pub const KEEP: usize = 2_000;

/// The activity tree.
#[derive(Clone)]
pub struct Activity {
    tree: sled::Tree,
}

static SEQUENCE: AtomicU32 = AtomicU32::new(0);

impl Activity {
    pub(super) fn open(db: &sled::Db) -> Result<Self, StoreError> {
        Ok(Self {
            tree: db.open_tree("activity")?,
        })
    }

    /// An entry as writes to commit together with something else (a job, with
    /// `Queue::enqueue_with`): both land or neither.
    pub fn recorded(&self, user: UserId, entry: &ActivityEntry) -> WriteSet {
        self.all_recorded(user, std::slice::from_ref(entry))
    }

    /// Several entries as writes to commit together with something else.
    pub fn all_recorded(&self, user: UserId, entries: &[ActivityEntry]) -> WriteSet {
        let mut batch = sled::Batch::default();
        for entry in entries {
            let (key, value) = Self::entry(user, entry);
            batch.insert(key, value);
        }
        vec![(self.tree.clone(), batch)]
    }

    /// Key and value of an entry.
    fn entry(user: UserId, entry: &ActivityEntry) -> (Vec<u8>, Vec<u8>) {
        let nanos = u64::try_from(entry.at.unix_timestamp_nanos()).unwrap_or(0);
        let mut suffix = nanos.to_be_bytes().to_vec();
        suffix.extend_from_slice(&SEQUENCE.fetch_add(1, Ordering::Relaxed).to_be_bytes());
        (keys::user_scoped(user, &suffix), codec::encode(entry))
    }

    /// Records an entry now.
    pub fn record(&self, user: UserId, entry: &ActivityEntry) -> Result<(), StoreError> {
        let (key, value) = Self::entry(user, entry);
        self.tree.insert(key, value)?;
        Ok(())
    }

    /// The newest `limit` entries of `user`, newest first.
    pub fn recent(&self, user: UserId, limit: usize) -> Result<Vec<ActivityEntry>, StoreError> {
        self.tree
            .scan_prefix(keys::user(user))
            .rev()
            .take(limit)
            .map(|entry| {
                let (key, value) = entry?;
                codec::decode_at(&self.tree, &key, &value)
            })
            .collect()
    }

    /// Drops all but the newest [`KEEP`] entries of `user`; returns how many went. They go a
    /// thousand at a time, each thousand one batch: a first import writes an entry per order,
    /// and an hourly prune after a million orders once held every key it was about to delete
    /// in memory (80 MiB on top of the import, seen at the end of a million-order import).
    pub fn prune(&self, user: UserId) -> Result<usize, StoreError> {
        const BATCH: usize = 1_000;
        let prefix = keys::user(user);
        // Everything older than the oldest entry kept goes; entries added meanwhile are newer.
        let Some(oldest_kept) = self
            .tree
            .scan_prefix(prefix)
            .rev()
            .nth(KEEP - 1)
            .transpose()?
            .map(|(key, _)| key)
        else {
            return Ok(0);
        };
        let mut pruned = 0;
        // Each batch starts after the last key of the one before.
        let mut from = Bound::Included(sled::IVec::from(&prefix[..]));
        loop {
            let mut batch = sled::Batch::default();
            let mut last = None;
            let mut count = 0;
            for entry in self
                .tree
                .range::<sled::IVec, _>((from.clone(), Bound::Excluded(oldest_kept.clone())))
                .take(BATCH)
            {
                let (key, _) = entry?;
                batch.remove(key.clone());
                last = Some(key);
                count += 1;
            }
            let Some(last) = last else {
                return Ok(pruned);
            };
            self.tree.apply_batch(batch)?;
            pruned += count;
            from = Bound::Excluded(last);
        }
    }
}

#[cfg(test)]
mod tests {
    use app::{ActivityKind, Marketplace};
    use time::{Duration, OffsetDateTime};

    use super::*;
    use crate::store::Store;

    fn entry(n: usize) -> ActivityEntry {
        ActivityEntry {
            at: OffsetDateTime::UNIX_EPOCH
                + Duration::days(20_000)
                + Duration::seconds(i64::try_from(n).unwrap_or(0)),
            marketplace: Marketplace::BrickLink,
            kind: ActivityKind::OrderNew,
            order_id: Some(n.to_string()),
            text: format!("New BrickLink order {n} from anna"),
        }
    }

    /// Pruning keeps a user's newest [`KEEP`] entries, deletes the rest over several batches,
    /// leaves other users alone, and has nothing to do a second time.
    #[test]
    fn prune_keeps_the_newest_entries_of_one_user() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        let activity = store.activity();
        let (anna, bob) = (UserId(1), UserId(2));
        let extra = 2_500;
        for n in 0..KEEP + extra {
            activity.record(anna, &entry(n)).expect("recorded");
        }
        for n in 0..10 {
            activity.record(bob, &entry(n)).expect("recorded");
        }
        assert_eq!(activity.prune(anna).expect("pruned"), extra);
        let kept = activity.recent(anna, KEEP + 10).expect("read");
        assert_eq!(kept.len(), KEEP);
        assert_eq!(kept[0].order_id, Some((KEEP + extra - 1).to_string()));
        assert_eq!(kept[KEEP - 1].order_id, Some(extra.to_string()));
        assert_eq!(activity.recent(bob, 100).expect("read").len(), 10);
        assert_eq!(activity.prune(anna).expect("pruned"), 0);
        assert_eq!(activity.prune(bob).expect("pruned"), 0);
    }
}
