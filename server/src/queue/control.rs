//! What people and the scheduler do to jobs: cancel, run again, delete, and prune finished
//! ones past their retention.

use app::{JobId, JobState};
use time::OffsetDateTime;

use super::{JobRecord, Queue, QueueError, commit::Write, lock};
use crate::store::codec;

impl Queue {
    /// Cancels a waiting job at once, or asks a running one to stop (its handler sees the
    /// token; the job ends `cancelled` when the handler returns).
    pub async fn cancel(&self, id: JobId) -> Result<JobState, QueueError> {
        let parts: Vec<JobId> = {
            let mut index = lock(&self.inner.index);
            match index
                .live
                .get_mut(&id)
                .and_then(|parent| parent.batch.as_mut())
            {
                Some(batch) => {
                    batch.cancelled = true;
                    index
                        .live
                        .values()
                        .filter(|r| r.parent == Some(id))
                        .map(|r| r.id)
                        .collect()
                }
                None => Vec::new(),
            }
        };
        if !parts.is_empty() {
            for part in parts {
                Box::pin(self.cancel(part)).await?;
            }
            return Ok(JobState::Cancelled);
        }
        let record = {
            let mut index = lock(&self.inner.index);
            if let Some(running) = index.running.get_mut(&id) {
                running.cancel_requested = true;
                running.cancel.cancel();
                return Ok(JobState::Running);
            }
            let Some(mut record) = index.live.get(&id).cloned() else {
                return match self.load(id)? {
                    Some(record) => Ok(record.state),
                    None => Err(QueueError::NotFound),
                };
            };
            index.unplace(id);
            index.live.remove(&id);
            let unblocked = record
                .key
                .clone()
                .and_then(|key| index.release_key(&key, id));
            record.state = JobState::Cancelled;
            record.updated_at = OffsetDateTime::now_utc();
            let ready = unblocked.and_then(|p| index.place(p, record.updated_at));
            self.notify_queue(ready);
            index.committing.insert(id, Some(record.clone()));
            let mut writes = vec![Write::Put(Box::new(record.clone()))];
            let finished = self.part_finished(&mut index, &record, record.updated_at, &mut writes);
            let commit = self.submit(writes, Vec::new())?;
            (record, commit, finished)
        };
        let (record, commit, finished) = record;
        commit.wait().await?;
        self.committed(id, Some(record.updated_at));
        self.batch_committed(finished);
        self.emit(&record);
        self.inner.changed.notify_waiters();
        Ok(JobState::Cancelled)
    }

    /// Runs a dead or cancelled job again, with a fresh set of attempts.
    pub async fn retry(&self, id: JobId) -> Result<JobRecord, QueueError> {
        let mut record = self.get(id)?.ok_or(QueueError::NotFound)?;
        if !matches!(record.state, JobState::Dead | JobState::Cancelled) {
            return Err(QueueError::NotRetryable(record.state));
        }
        let now = OffsetDateTime::now_utc();
        let ready = {
            let mut index = lock(&self.inner.index);
            if index.live.contains_key(&id) {
                return Err(QueueError::NotRetryable(JobState::Ready));
            }
            if let Some(key) = &record.key {
                let slots = index.keys.entry(key.clone()).or_default();
                if let Some(pending) = slots.pending {
                    return Err(QueueError::KeyBusy(pending));
                }
                slots.pending = Some(id);
            }
            record.state = JobState::Ready;
            record.run_at = now;
            record.attempts = 0;
            record.updated_at = now;
            index.committing.remove(&id);
            index.live.insert(id, record.clone());
            let mut writes = vec![Write::Put(Box::new(record.clone()))];
            if let Some(parent_id) = record.parent {
                let parent = match index.live.get(&parent_id) {
                    Some(live) => Some(live.clone()),
                    None => index
                        .committing
                        .remove(&parent_id)
                        .flatten()
                        .or(self.load(parent_id)?),
                };
                if let Some(mut parent) = parent.filter(|p| p.batch.is_some()) {
                    if let Some(batch) = parent.batch.as_mut() {
                        batch.failed = batch.failed.saturating_sub(1);
                    }
                    parent.state = JobState::Running;
                    parent.updated_at = now;
                    writes.push(Write::Put(Box::new(parent.clone())));
                    index.live.insert(parent_id, parent);
                }
            }
            let commit = self.submit(writes, Vec::new())?;
            (index.place(id, now), commit)
        };
        let (ready, commit) = ready;
        commit.wait().await?;
        self.wake(ready);
        self.emit(&record);
        Ok(record)
    }

    /// Deletes a job that is not running.
    pub async fn delete(&self, id: JobId) -> Result<(), QueueError> {
        let mut finished = None;
        {
            let mut index = lock(&self.inner.index);
            if index.running.contains_key(&id) {
                return Err(QueueError::Running);
            }
            let mut writes = Vec::new();
            if let Some(record) = index.live.get(&id).cloned() {
                index.unplace(id);
                index.live.remove(&id);
                let gone = JobRecord {
                    state: JobState::Cancelled,
                    ..record.clone()
                };
                finished =
                    self.part_finished(&mut index, &gone, OffsetDateTime::now_utc(), &mut writes);
                if let Some(key) = &record.key
                    && let Some(unblocked) = index.release_key(key, id)
                {
                    let ready = index.place(unblocked, OffsetDateTime::now_utc());
                    self.notify_queue(ready);
                }
            } else if index.committing.get(&id).is_some_and(Option::is_none)
                || (!index.committing.contains_key(&id) && self.load(id)?.is_none())
            {
                return Err(QueueError::NotFound);
            }
            index.committing.insert(id, None);
            writes.push(Write::Delete(id));
            self.submit(writes, Vec::new())?
        }
        .wait()
        .await?;
        self.committed(id, None);
        self.batch_committed(finished);
        self.inner.changed.notify_waiters();
        Ok(())
    }

    /// Deletes finished jobs past their retention, and the oldest dead jobs beyond the cap.
    /// Returns how many were deleted.
    pub async fn prune(&self, now: OffsetDateTime) -> Result<usize, QueueError> {
        let retention = self.inner.config.retention;
        let mut doomed = Vec::new();
        let mut dead = Vec::new();
        for entry in self.inner.jobs.iter() {
            let (_, value) = entry?;
            let record: JobRecord = codec::decode(&value)?;
            let age = now - record.updated_at;
            match record.state {
                JobState::Succeeded if age > retention.succeeded => doomed.push(record.id),
                JobState::Cancelled if age > retention.cancelled => doomed.push(record.id),
                JobState::Dead if age > retention.dead => doomed.push(record.id),
                JobState::Dead => dead.push((record.updated_at, record.id)),
                _ => {}
            }
        }
        if dead.len() > retention.dead_cap {
            dead.sort();
            let excess = dead.len() - retention.dead_cap;
            doomed.extend(dead.into_iter().take(excess).map(|(_, id)| id));
        }
        // The scan ran without the index lock: a candidate run again meanwhile (a retry) is
        // live now and stays. Checked and submitted under the lock, so none slips in between.
        let (pruned, commit) = {
            let index = lock(&self.inner.index);
            doomed.retain(|id| !index.live.contains_key(id) && !index.committing.contains_key(id));
            let pruned = doomed.len();
            let writes: Vec<Write> = doomed.into_iter().map(Write::Delete).collect();
            let commit = (pruned > 0)
                .then(|| self.submit(writes, Vec::new()))
                .transpose()?;
            (pruned, commit)
        };
        if let Some(commit) = commit {
            commit.wait().await?;
            tracing::info!(pruned, "finished jobs past their retention deleted");
        }
        Ok(pruned)
    }
}
