//! Enqueueing: one job (merged into a waiting job with the same key), a job with application
//! writes in the same commit, and batches whose parent carries its parts' progress.

use std::time::Duration;

use app::{JobId, JobState, QueueName};
use time::OffsetDateTime;

use super::{
    Enqueued, Extra, JobSpec, Queue, QueueError, RetryPolicy,
    commit::Write,
    index::Index,
    lock, metrics,
    record::{Batch, JobRecord, Progress},
};

impl Queue {
    /// Enqueues a job durably.
    pub async fn enqueue(&self, spec: JobSpec) -> Result<Enqueued, QueueError> {
        self.enqueue_with(spec, Vec::new()).await
    }

    /// Enqueues a job in the same atomic, durable commit as application writes `extra`.
    pub async fn enqueue_with(&self, spec: JobSpec, extra: Extra) -> Result<Enqueued, QueueError> {
        self.enqueue_all(vec![spec], extra)
            .await?
            .pop()
            .ok_or(QueueError::Stopped)
    }

    /// Enqueues jobs in one atomic, durable commit with application writes `extra`: all of
    /// them or none. Each merges into a waiting job with its key, as [`Queue::enqueue`] does.
    pub async fn enqueue_all(
        &self,
        specs: Vec<JobSpec>,
        extra: Extra,
    ) -> Result<Vec<Enqueued>, QueueError> {
        self.accepting()?;
        let now = OffsetDateTime::now_utc();
        let policies: Vec<RetryPolicy> = specs.iter().map(|s| self.policy(&s.kind)).collect();
        let (placed, pending) = {
            let mut index = lock(&self.inner.index);
            let mut placed = Vec::with_capacity(specs.len());
            for (spec, policy) in specs.into_iter().zip(policies) {
                placed.push(self.place(&mut index, spec, policy, now)?);
            }
            let writes = placed
                .iter()
                .map(|(_, record, _)| Write::Put(Box::new(record.clone())))
                .collect();
            (placed, self.submit(writes, extra)?)
        };
        pending.wait().await?;
        let mut enqueued = Vec::with_capacity(placed.len());
        for (done, record, ready) in placed {
            if !done.merged {
                metrics::QueueMetrics::inc(&self.inner.metrics.enqueued, &record.kind);
            }
            self.wake(ready);
            self.emit(&record);
            enqueued.push(done);
        }
        Ok(enqueued)
    }

    /// Refuses new work once the queue stops: after a failed commit with its reason.
    fn accepting(&self) -> Result<(), QueueError> {
        if let Some(reason) = self.inner.failure.reason() {
            return Err(QueueError::Storage(format!(
                "the job queue stopped after a failed write: {reason}"
            )));
        }
        if self.inner.stop_claiming.is_cancelled() {
            return Err(QueueError::Stopped);
        }
        Ok(())
    }

    /// Puts one new job in the index, or merges it into the waiting job with its key; hands
    /// back the record to write and the queue it became ready in. Called under the index lock.
    fn place(
        &self,
        index: &mut Index,
        spec: JobSpec,
        policy: RetryPolicy,
        now: OffsetDateTime,
    ) -> Result<(Enqueued, JobRecord, Option<QueueName>), QueueError> {
        let pending = spec
            .key
            .as_ref()
            .and_then(|k| index.keys.get(k))
            .and_then(|s| s.pending);
        if let Some(pending) = pending
            && let Some(record) = index.live.get_mut(&pending)
        {
            record.payload = spec.payload;
            record.merged += 1;
            record.updated_at = now;
            let merged = Enqueued {
                id: pending,
                merged: true,
            };
            return Ok((merged, record.clone(), None));
        }
        let id = JobId(self.inner.ids.next()?);
        let run_at = spec.run_at.unwrap_or(now);
        let max = spec.max_attempts.unwrap_or(policy.max_attempts).max(1);
        let timeout = spec.timeout.unwrap_or(policy.timeout);
        let record = new_record(id, spec, run_at, max, timeout);
        if let Some(key) = &record.key {
            index.keys.entry(key.clone()).or_default().pending = Some(id);
        }
        index.live.insert(id, record.clone());
        let ready = index.place(id, now);
        Ok((Enqueued { id, merged: false }, record, ready))
    }

    /// Enqueues a batch: a parent that runs no handler and `parts` that run as ordinary jobs.
    /// The parent reports the parts' aggregated progress and finishes with the last part:
    /// succeeded if every part did, dead otherwise. Everything lands in one commit.
    pub async fn enqueue_batch(
        &self,
        parent: JobSpec,
        parts: Vec<JobSpec>,
    ) -> Result<(JobId, Vec<JobId>), QueueError> {
        self.accepting()?;
        let now = OffsetDateTime::now_utc();
        let new_id = || -> Result<JobId, QueueError> { Ok(JobId(self.inner.ids.next()?)) };
        let parent_id = new_id()?;
        let total = u32::try_from(parts.len()).unwrap_or(u32::MAX);
        let mut parent_record = new_record(parent_id, parent, now, 1, Duration::ZERO);
        parent_record.state = JobState::Running;
        parent_record.key = None;
        parent_record.batch = Some(Batch {
            total,
            succeeded: 0,
            failed: 0,
            cancelled: false,
        });
        parent_record.progress = Some(Progress {
            percent: 0,
            message: format!("0 of {total} done"),
        });
        let mut records = vec![parent_record.clone()];
        for mut spec in parts {
            spec.parent = Some(parent_id);
            spec.key = None;
            let policy = self.policy(&spec.kind);
            let run_at = spec.run_at.unwrap_or(now);
            let max = spec.max_attempts.unwrap_or(policy.max_attempts).max(1);
            let timeout = spec.timeout.unwrap_or(policy.timeout);
            records.push(new_record(new_id()?, spec, run_at, max, timeout));
        }
        let child_ids: Vec<JobId> = records[1..].iter().map(|r| r.id).collect();
        let (commit, queues, finished) = {
            let mut index = lock(&self.inner.index);
            let mut queues = Vec::new();
            for record in &records {
                index.live.insert(record.id, record.clone());
            }
            for id in &child_ids {
                queues.extend(index.place(*id, now));
            }
            let mut finished = None;
            let writes = if child_ids.is_empty() {
                let mut writes = Vec::new();
                finished = self.finish_batch(&mut index, parent_id, now, &mut writes);
                writes
            } else {
                records
                    .iter()
                    .map(|r| Write::Put(Box::new(r.clone())))
                    .collect()
            };
            (self.submit(writes, Vec::new())?, queues, finished)
        };
        commit.wait().await?;
        self.batch_committed(finished);
        for queue in queues {
            self.notify_queue(Some(queue));
        }
        self.inner.wake_scheduler.notify_one();
        self.emit(&parent_record);
        Ok((parent_id, child_ids))
    }
}

/// A new job record.
pub(crate) fn new_record(
    id: JobId,
    spec: JobSpec,
    run_at: OffsetDateTime,
    max_attempts: u32,
    timeout: Duration,
) -> JobRecord {
    let now = OffsetDateTime::now_utc();
    JobRecord {
        id,
        kind: spec.kind,
        payload: spec.payload,
        queue: spec.queue,
        priority: spec.priority,
        state: if run_at > now {
            JobState::Scheduled
        } else {
            JobState::Ready
        },
        run_at,
        attempts: 0,
        max_attempts,
        timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        owner: spec.owner,
        key: spec.key,
        history: Vec::new(),
        progress: None,
        result: None,
        merged: 0,
        parent: spec.parent,
        batch: None,
        epoch: 0,
        token: 0,
        created_at: now,
        updated_at: now,
    }
}
