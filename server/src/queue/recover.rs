//! Start-up: the boot epoch is bumped, and jobs an earlier process left running are made
//! ready again (or dead when out of attempts) without waiting for any lease.

use std::collections::HashMap;

use app::{JobId, JobState};
use time::OffsetDateTime;

use super::{
    JobRecord, Queue, QueueError,
    commit::Write,
    index::{Index, KeySlots},
    lock,
};
use crate::store::codec;

const EPOCH_KEY: &[u8] = b"queue_epoch";

impl Queue {
    /// Re-queues jobs an earlier process left running and rebuilds the index.
    pub(super) async fn recover(&self) -> Result<(), QueueError> {
        let now = OffsetDateTime::now_utc();
        let mut rewrites = Vec::new();
        let mut died = Vec::new();
        let mut index = Index::default();
        let mut waiting = Vec::new();
        for entry in self.inner.jobs.iter() {
            let (key, value) = entry?;
            let mut record: JobRecord = codec::decode_at(&self.inner.jobs, &key, &value)?;
            if record.state.is_terminal() {
                continue;
            }
            if record.batch.is_some() {
                // A batch parent runs no handler: it waits for its parts.
                index.live.insert(record.id, record);
                continue;
            }
            if record.state == JobState::Running {
                if let Some(attempt) = record.history.last_mut() {
                    attempt.ended_at = Some(now);
                    attempt.error =
                        Some("interrupted: brickdesk stopped while this job ran".to_owned());
                }
                record.state = if record.attempts >= record.max_attempts {
                    JobState::Dead
                } else {
                    JobState::Ready
                };
                record.run_at = now;
                record.updated_at = now;
                rewrites.push(Write::Put(Box::new(record.clone())));
                if record.state.is_terminal() {
                    died.push(record);
                    continue;
                }
            }
            waiting.push(record);
        }
        // A key has at most one waiting job: after a crash the one that was running is waiting
        // again beside the one queued behind it. The newest stays (its payload is the latest,
        // as a merge would have left it); older ones fold into it, so two of one key can never
        // run at once.
        let mut newest: HashMap<String, JobId> = HashMap::new();
        for record in &waiting {
            if let Some(key) = &record.key {
                let slot = newest.entry(key.clone()).or_insert(record.id);
                *slot = (*slot).max(record.id);
            }
        }
        let mut folded: HashMap<JobId, u32> = HashMap::new();
        let mut kept = Vec::with_capacity(waiting.len());
        for mut record in waiting {
            let into = record.key.as_ref().and_then(|k| newest.get(k)).copied();
            match into {
                Some(into) if into != record.id => {
                    *folded.entry(into).or_default() += record.merged + 1;
                    record.state = JobState::Cancelled;
                    record.result = Some(serde_json::json!({ "merged_into": into }));
                    record.updated_at = now;
                    rewrites.push(Write::Put(Box::new(record)));
                }
                _ => kept.push(record),
            }
        }
        for mut record in kept {
            let id = record.id;
            if let Some(extra) = folded.get(&id) {
                record.merged += extra;
                record.updated_at = now;
                rewrites.push(Write::Put(Box::new(record.clone())));
            }
            if let Some(key) = &record.key {
                index
                    .keys
                    .entry(key.clone())
                    .or_insert(KeySlots::default())
                    .pending = Some(id);
            }
            index.live.insert(id, record);
            index.place(id, now);
        }
        let mut finished = Vec::new();
        for part in &died {
            finished.push(self.part_finished(&mut index, part, now, &mut rewrites));
        }
        let recovered = rewrites.len();
        *lock(&self.inner.index) = index;
        if recovered > 0 {
            self.submit(rewrites, Vec::new())?.wait().await?;
            for done in finished {
                self.batch_committed(done);
            }
            tracing::info!(
                recovered,
                epoch = self.inner.epoch,
                "re-queued interrupted jobs"
            );
        }
        Ok(())
    }
}

pub(super) fn bump_epoch(db: &sled::Db) -> Result<u64, QueueError> {
    let meta = db.open_tree("meta")?;
    let next = meta
        .update_and_fetch(EPOCH_KEY, |old| {
            let current = old
                .and_then(|b| b.try_into().ok())
                .map_or(0, u64::from_be_bytes);
            Some((current + 1).to_be_bytes().to_vec())
        })?
        .and_then(|b| b.as_ref().try_into().ok())
        .map_or(1, u64::from_be_bytes);
    db.flush()?;
    Ok(next)
}
