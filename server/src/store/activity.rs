//! What happened, per user, newest last: new and changed orders, marketplace messages and
//! feedback, pushes received, syncs. Keys are user id | nanoseconds | sequence, so one user's
//! feed is one range in time order. Webhook pushes are written in the same commit as the job
//! they start (see `Activity::recorded`).

use std::sync::atomic::{AtomicU32, Ordering};

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

    /// Drops all but the newest [`KEEP`] entries of `user`; returns how many went.
    pub fn prune(&self, user: UserId) -> Result<usize, StoreError> {
        let old: Vec<sled::IVec> = self
            .tree
            .scan_prefix(keys::user(user))
            .rev()
            .skip(KEEP)
            .map(|entry| entry.map(|(k, _)| k))
            .collect::<Result<_, _>>()?;
        for key in &old {
            self.tree.remove(key)?;
        }
        Ok(old.len())
    }
}
