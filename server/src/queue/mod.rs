//! The job engine: durable, domain-free background jobs on sled.
//!
//! Every state change is group-committed ([`commit`]) before the caller hears of it. Jobs that
//! were running when an earlier process died are re-queued at start without waiting for any
//! timeout: each start bumps a boot epoch, and each attempt carries a fencing token so a
//! completion from a stale attempt is refused. Retries back off exponentially with full
//! jitter; permanent errors go straight to `dead`; parked jobs wait without spending an
//! attempt. A coalescing key allows at most one pending and one running job, and an enqueue
//! while one is pending merges into it (latest payload wins). What survives a crash:
//! docs/durability.md.

mod commit;
mod index;
mod metrics;
pub mod policy;
pub mod record;
#[cfg(test)]
mod tests;
mod worker;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, atomic::AtomicU64},
    time::Duration,
};

use app::{JobId, JobState, QueueName, UserId};
use time::OffsetDateTime;
use tokio::sync::{Notify, broadcast};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

pub use commit::Extra;
use commit::{Committer, Pending, Write};
use index::{Index, KeySlots};
pub use policy::{JobError, RetryPolicy};
pub use record::{Attempt, Batch, JobRecord, JobSpec, Progress};
pub use worker::{Handler, JobContext};

use crate::store::{Store, codec};

const EPOCH_KEY: &[u8] = b"queue_epoch";

/// What the queue can refuse.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("no such job")]
    NotFound,
    #[error("the job is {}; only a dead or cancelled job can be run again", .0.as_str())]
    NotRetryable(JobState),
    #[error("the job is running; cancel it first")]
    Running,
    #[error("job {0} with the same key is already waiting")]
    KeyBusy(JobId),
    #[error("the queue is stopping")]
    Stopped,
    #[error("storage failed: {0}")]
    Storage(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

impl From<sled::Error> for QueueError {
    fn from(err: sled::Error) -> Self {
        Self::Store(err.into())
    }
}

/// Workers per queue, and how long finished jobs are kept.
#[derive(Debug, Clone)]
pub struct QueueConfig {
    pub concurrency: HashMap<QueueName, usize>,
    pub retention: Retention,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            concurrency: HashMap::from([
                (QueueName::Critical, 4),
                (QueueName::Default, 4),
                (QueueName::Bulk, 2),
            ]),
            retention: Retention::default(),
        }
    }
}

/// How long finished jobs stay visible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Succeeded jobs older than this are deleted.
    pub succeeded: time::Duration,
    /// Cancelled jobs older than this are deleted.
    pub cancelled: time::Duration,
    /// Dead jobs older than this are deleted...
    pub dead: time::Duration,
    /// ...and beyond this many, the oldest dead jobs go first.
    pub dead_cap: usize,
    /// How often the pruning runs.
    pub every: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            succeeded: time::Duration::days(7),
            cancelled: time::Duration::days(7),
            dead: time::Duration::days(90),
            dead_cap: 10_000,
            every: Duration::from_secs(600),
        }
    }
}

/// A change worth telling the UI about.
#[derive(Debug, Clone, PartialEq)]
pub struct JobEvent {
    pub id: JobId,
    pub owner: Option<UserId>,
    pub kind: String,
    pub queue: QueueName,
    pub state: JobState,
    pub progress: Option<Progress>,
}

/// The outcome of an enqueue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enqueued {
    pub id: JobId,
    /// True when it merged into a pending job with the same key.
    pub merged: bool,
}

/// Handle to the engine; cheap to clone.
#[derive(Clone)]
pub struct Queue {
    inner: Arc<Inner>,
}

struct Registered {
    policy: RetryPolicy,
    handler: Arc<dyn Handler>,
}

struct Inner {
    epoch: u64,
    db: sled::Db,
    jobs: sled::Tree,
    index: Mutex<Index>,
    committer: Mutex<Option<Committer>>,
    commit_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    handlers: Mutex<HashMap<String, Arc<Registered>>>,
    work: HashMap<QueueName, Notify>,
    wake_scheduler: Notify,
    changed: Notify,
    events: broadcast::Sender<JobEvent>,
    /// The percent last sent for each running batch (see `emit`).
    batch_shown: Mutex<HashMap<JobId, u8>>,
    tokens: AtomicU64,
    started: std::sync::atomic::AtomicBool,
    stop_claiming: CancellationToken,
    tasks: TaskTracker,
    config: QueueConfig,
    metrics: metrics::QueueMetrics,
}

impl Queue {
    /// Opens the queue on the store: bumps the boot epoch and re-queues every job an earlier
    /// process left running. Workers start with [`Queue::start`].
    pub async fn open(store: &Store, config: QueueConfig) -> Result<Self, QueueError> {
        let db = store.db().clone();
        let jobs = db.open_tree("jobs")?;
        let epoch = bump_epoch(&db)?;
        let (committer, thread) = Committer::spawn(db.clone(), jobs.clone());
        let (events, _) = broadcast::channel(1024);
        let inner = Inner {
            epoch,
            db,
            jobs,
            index: Mutex::new(Index::default()),
            committer: Mutex::new(Some(committer)),
            commit_thread: Mutex::new(Some(thread)),
            handlers: Mutex::new(HashMap::new()),
            work: QueueName::ALL
                .into_iter()
                .map(|q| (q, Notify::new()))
                .collect(),
            wake_scheduler: Notify::new(),
            changed: Notify::new(),
            events,
            batch_shown: Mutex::new(HashMap::new()),
            tokens: AtomicU64::new(0),
            started: std::sync::atomic::AtomicBool::new(false),
            stop_claiming: CancellationToken::new(),
            tasks: TaskTracker::new(),
            config,
            metrics: metrics::QueueMetrics::default(),
        };
        let queue = Self {
            inner: Arc::new(inner),
        };
        queue.recover().await?;
        Ok(queue)
    }

    /// The boot epoch of this process.
    pub fn epoch(&self) -> u64 {
        self.inner.epoch
    }

    /// Registers the handler and policy of a job kind.
    pub fn register(&self, kind: &str, policy: RetryPolicy, handler: impl Handler) {
        let registered = Arc::new(Registered {
            policy,
            handler: Arc::new(handler),
        });
        lock(&self.inner.handlers).insert(kind.to_owned(), registered);
    }

    fn policy(&self, kind: &str) -> RetryPolicy {
        lock(&self.inner.handlers)
            .get(kind)
            .map(|r| r.policy)
            .unwrap_or_default()
    }

    /// Starts the workers of every queue and the run-at timer.
    pub fn start(&self) {
        self.inner
            .started
            .store(true, std::sync::atomic::Ordering::Relaxed);
        for (queue, workers) in &self.inner.config.concurrency {
            for _ in 0..*workers {
                self.inner.tasks.spawn(worker::work(self.clone(), *queue));
            }
        }
        self.inner.tasks.spawn(worker::schedule(self.clone()));
        let queue = self.clone();
        self.inner.tasks.spawn(async move {
            let mut tick = tokio::time::interval(queue.inner.config.retention.every);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        if let Err(err) = queue.prune(OffsetDateTime::now_utc()).await {
                            tracing::warn!(%err, "pruning finished jobs failed");
                        }
                    }
                    () = queue.inner.stop_claiming.cancelled() => return,
                }
            }
        });
    }

    /// Whether workers are running: started and not stopping.
    pub fn is_running(&self) -> bool {
        self.inner
            .started
            .load(std::sync::atomic::Ordering::Relaxed)
            && !self.inner.stop_claiming.is_cancelled()
    }

    /// Live changes of every job.
    pub fn subscribe(&self) -> broadcast::Receiver<JobEvent> {
        self.inner.events.subscribe()
    }

    /// Enqueues a job durably.
    pub async fn enqueue(&self, spec: JobSpec) -> Result<Enqueued, QueueError> {
        self.enqueue_with(spec, Vec::new()).await
    }

    /// Enqueues a job in the same atomic, durable commit as application writes `extra`.
    pub async fn enqueue_with(&self, spec: JobSpec, extra: Extra) -> Result<Enqueued, QueueError> {
        if self.inner.stop_claiming.is_cancelled() {
            return Err(QueueError::Stopped);
        }
        let now = OffsetDateTime::now_utc();
        let policy = self.policy(&spec.kind);
        let (enqueued, record, ready, pending) = {
            let mut index = lock(&self.inner.index);
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
                let record = record.clone();
                let commit = self.submit(vec![Write::Put(Box::new(record.clone()))], extra)?;
                (
                    Enqueued {
                        id: pending,
                        merged: true,
                    },
                    record,
                    None,
                    commit,
                )
            } else {
                let id = JobId(self.inner.db.generate_id()? + 1);
                let run_at = spec.run_at.unwrap_or(now);
                let max = spec.max_attempts.unwrap_or(policy.max_attempts).max(1);
                let timeout = spec.timeout.unwrap_or(policy.timeout);
                let record = new_record(id, spec, run_at, max, timeout);
                if let Some(key) = &record.key {
                    index.keys.entry(key.clone()).or_default().pending = Some(id);
                }
                index.live.insert(id, record.clone());
                let ready = index.place(id, now);
                let commit = self.submit(vec![Write::Put(Box::new(record.clone()))], extra)?;
                (Enqueued { id, merged: false }, record, ready, commit)
            }
        };
        pending.wait().await?;
        if !enqueued.merged {
            metrics::QueueMetrics::inc(&self.inner.metrics.enqueued, &record.kind);
        }
        self.wake(ready);
        self.emit(&record);
        Ok(enqueued)
    }

    /// Enqueues a batch: a parent that runs no handler and `parts` that run as ordinary jobs.
    /// The parent reports the parts' aggregated progress and finishes with the last part:
    /// succeeded if every part did, dead otherwise. Everything lands in one commit.
    pub async fn enqueue_batch(
        &self,
        parent: JobSpec,
        parts: Vec<JobSpec>,
    ) -> Result<(JobId, Vec<JobId>), QueueError> {
        if self.inner.stop_claiming.is_cancelled() {
            return Err(QueueError::Stopped);
        }
        let now = OffsetDateTime::now_utc();
        let new_id =
            || -> Result<JobId, QueueError> { Ok(JobId(self.inner.db.generate_id()? + 1)) };
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

    /// A part of a batch finished: count it on the parent (written in the same commit as the
    /// part) and finish the parent with its last part. Called under the index lock.
    fn part_finished(
        &self,
        index: &mut Index,
        part: &JobRecord,
        now: OffsetDateTime,
        writes: &mut Vec<Write>,
    ) -> Finished {
        let parent_id = part.parent?;
        let parent = index.live.get_mut(&parent_id)?;
        let batch = parent.batch.as_mut()?;
        if part.state == JobState::Succeeded {
            batch.succeeded += 1;
        } else {
            batch.failed += 1;
        }
        let batch = *batch;
        parent.updated_at = now;
        if batch.finished() >= batch.total {
            return self.finish_batch(index, parent_id, now, writes);
        }
        let progress = aggregate(index, parent_id);
        if let Some(parent) = index.live.get_mut(&parent_id) {
            parent.progress = Some(progress);
            writes.push(Write::Put(Box::new(parent.clone())));
        }
        None
    }

    /// Ends a batch whose parts have all finished.
    fn finish_batch(
        &self,
        index: &mut Index,
        parent_id: JobId,
        now: OffsetDateTime,
        writes: &mut Vec<Write>,
    ) -> Finished {
        let mut parent = index.live.remove(&parent_id)?;
        let batch = parent.batch.unwrap_or(Batch {
            total: 0,
            succeeded: 0,
            failed: 0,
            cancelled: false,
        });
        parent.state = if batch.cancelled {
            JobState::Cancelled
        } else if batch.failed == 0 {
            JobState::Succeeded
        } else {
            JobState::Dead
        };
        parent.progress = Some(Progress {
            percent: 100,
            message: format!("{} of {} done", batch.finished(), batch.total),
        });
        parent.result = Some(serde_json::json!({
            "parts": batch.total, "succeeded": batch.succeeded, "failed": batch.failed
        }));
        if batch.failed > 0 {
            parent.history.push(Attempt {
                started_at: parent.created_at,
                ended_at: Some(now),
                error: Some(format!("{} of {} parts failed", batch.failed, batch.total)),
            });
        }
        parent.updated_at = now;
        index.committing.insert(parent_id, Some(parent.clone()));
        self.emit(&parent);
        writes.push(Write::Put(Box::new(parent)));
        Some((parent_id, now))
    }

    /// Forgets a finished batch parent's overlay once the commit holding it is flushed.
    fn batch_committed(&self, finished: Finished) {
        if let Some((parent, at)) = finished {
            self.committed(parent, Some(at));
        }
    }

    /// A part reported progress: the parent shows the average over its parts.
    fn part_progressed(&self, index: &mut Index, parent_id: JobId) -> Option<JobRecord> {
        let progress = aggregate(index, parent_id);
        let parent = index.live.get_mut(&parent_id)?;
        parent.progress = Some(progress);
        Some(parent.clone())
    }

    /// A job, live or finished.
    pub fn get(&self, id: JobId) -> Result<Option<JobRecord>, QueueError> {
        {
            let index = lock(&self.inner.index);
            if let Some(record) = index.live.get(&id) {
                return Ok(Some(record.clone()));
            }
            if let Some(pending) = index.committing.get(&id) {
                return Ok(pending.clone());
            }
        }
        self.load(id)
    }

    /// Forgets the overlay of `id` once its write is flushed, unless a newer one replaced it.
    fn committed(&self, id: JobId, written: Option<OffsetDateTime>) {
        let mut index = lock(&self.inner.index);
        let current = index
            .committing
            .get(&id)
            .map(|r| r.as_ref().map(|r| r.updated_at));
        if current == Some(written) {
            index.committing.remove(&id);
        }
        drop(index);
        self.inner.changed.notify_waiters();
    }

    fn load(&self, id: JobId) -> Result<Option<JobRecord>, QueueError> {
        let bytes = self.inner.jobs.get(id.0.to_be_bytes())?;
        Ok(bytes.map(|b| codec::decode(&b)).transpose()?)
    }

    /// Every stored job, newest first (a scan; the API pages over it).
    pub fn list(&self) -> Result<Vec<JobRecord>, QueueError> {
        let (live, committing) = {
            let index = lock(&self.inner.index);
            (index.live.clone(), index.committing.clone())
        };
        let mut all = Vec::new();
        for entry in self.inner.jobs.iter().rev() {
            let (_, value) = entry?;
            let record: JobRecord = codec::decode(&value)?;
            match (live.get(&record.id), committing.get(&record.id)) {
                (Some(newer), _) | (None, Some(Some(newer))) => all.push(newer.clone()),
                (None, Some(None)) => {}
                (None, None) => all.push(record),
            }
        }
        Ok(all)
    }

    /// How many of `owner`'s jobs wait, run, wait to retry and are dead.
    pub fn health(&self, owner: UserId) -> Result<app::JobHealth, QueueError> {
        let mut health = app::JobHealth::default();
        for job in self.list()? {
            if job.owner != Some(owner) {
                continue;
            }
            match job.state {
                JobState::Scheduled | JobState::Ready => health.waiting += 1,
                JobState::Running => health.running += 1,
                JobState::Retrying => health.retrying += 1,
                JobState::Dead => health.dead += 1,
                JobState::Succeeded | JobState::Cancelled => {}
            }
        }
        Ok(health)
    }

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
        let pruned = doomed.len();
        if pruned > 0 {
            let writes = doomed.into_iter().map(Write::Delete).collect();
            self.submit(writes, Vec::new())?.wait().await?;
            tracing::info!(pruned, "finished jobs past their retention deleted");
        }
        Ok(pruned)
    }

    /// The queue's series in Prometheus text format, counts and lag read now.
    pub fn metrics_text(&self) -> Result<String, QueueError> {
        let now = OffsetDateTime::now_utc();
        let m = &self.inner.metrics;
        let mut counts: HashMap<(QueueName, JobState), i64> = HashMap::new();
        for record in self.list()? {
            *counts
                .entry((record.queue, record.state_at(now)))
                .or_default() += 1;
        }
        for queue in QueueName::ALL {
            for state in JobState::ALL {
                let label = metrics::QueueStateLabel {
                    queue: queue.as_str().to_owned(),
                    state: state.as_str().to_owned(),
                };
                m.jobs
                    .get_or_create(&label)
                    .set(counts.get(&(queue, state)).copied().unwrap_or(0));
            }
            let lag = self.lag_seconds(queue, now);
            m.lag_seconds
                .get_or_create(&metrics::QueueLabel {
                    queue: queue.as_str().to_owned(),
                })
                .set(lag);
        }
        Ok(m.encode())
    }

    /// How long the oldest ready job of `queue` has waited for a worker, in seconds.
    pub fn lag_seconds(&self, queue: QueueName, now: OffsetDateTime) -> f64 {
        let index = lock(&self.inner.index);
        let oldest = index
            .live
            .values()
            .filter(|r| r.queue == queue && r.batch.is_none() && r.state_at(now) == JobState::Ready)
            .map(|r| r.run_at)
            .min();
        oldest.map_or(0.0, |at| (now - at).as_seconds_f64().max(0.0))
    }

    /// Waits until no job is ready or running (jobs scheduled for later may remain).
    pub async fn until_idle(&self) {
        self.wait_until(|index| index.ready_len() == 0 && index.running.is_empty())
            .await;
    }

    /// Waits until every job has finished (succeeded, dead or cancelled) and that is flushed.
    pub async fn until_settled(&self) {
        self.wait_until(|index| index.live.is_empty() && index.committing.is_empty())
            .await;
    }

    async fn wait_until(&self, done: impl Fn(&Index) -> bool) {
        loop {
            let changed = self.inner.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if done(&lock(&self.inner.index)) {
                return;
            }
            // The timeout only guards against a missed wake-up; progress is event-driven.
            let _ = tokio::time::timeout(Duration::from_millis(250), changed).await;
        }
    }

    /// Stops claiming, lets running jobs finish for up to `grace`, then cancels the rest
    /// (they go back to waiting, their attempt not counted), and flushes.
    pub async fn shutdown(&self, grace: Duration) {
        self.inner.stop_claiming.cancel();
        for notify in self.inner.work.values() {
            notify.notify_waiters();
        }
        self.inner.wake_scheduler.notify_one();
        let drained =
            tokio::time::timeout(grace, self.wait_until(|index| index.running.is_empty())).await;
        if drained.is_err() {
            for running in lock(&self.inner.index).running.values() {
                running.cancel.cancel();
            }
        }
        self.inner.tasks.close();
        self.inner.tasks.wait().await;
        // Dropping the committer ends its thread once it has flushed what it holds.
        drop(lock(&self.inner.committer).take());
        let thread = lock(&self.inner.commit_thread).take();
        if let Some(thread) = thread {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        // Handlers may hold the queue (to queue follow-up work); letting go of them breaks
        // that cycle, so the database closes when the last outside handle goes.
        lock(&self.inner.handlers).clear();
    }

    /// Submits writes to the committer. Called while the index lock is held, so the disk
    /// sees changes in the same order as the index.
    fn submit(&self, writes: Vec<Write>, extra: Extra) -> Result<Pending, QueueError> {
        match lock(&self.inner.committer).as_ref() {
            Some(committer) => committer.submit(writes, extra),
            None => Err(QueueError::Stopped),
        }
    }

    /// Wakes a worker of the queue a job became ready in, or else the run-at timer (the job
    /// may wait for a time, whose earliness only the timer judges).
    fn wake(&self, ready: Option<QueueName>) {
        if ready.is_some() {
            self.notify_queue(ready);
        } else {
            self.inner.wake_scheduler.notify_one();
        }
    }

    fn notify_queue(&self, queue: Option<QueueName>) {
        if let Some(notify) = queue.and_then(|q| self.inner.work.get(&q)) {
            notify.notify_one();
        }
    }

    fn emit(&self, record: &JobRecord) {
        let state = record.state_at(OffsetDateTime::now_utc());
        let event = |progress: Option<Progress>| JobEvent {
            id: record.id,
            owner: record.owner,
            kind: record.kind.clone(),
            queue: record.queue,
            state,
            progress,
        };
        if record.batch.is_none() {
            let _ = self.inner.events.send(event(record.progress.clone()));
            return;
        }
        // A batch's progress comes from its parts' threads, computed under the index lock but
        // sent after it: keep what pages see from stepping back by sending in order here.
        let mut shown = lock(&self.inner.batch_shown);
        let progress = record.progress.clone().map(|mut p| {
            let before = shown.get(&record.id).copied().unwrap_or(0);
            p.percent = p.percent.max(before);
            p
        });
        match (&progress, state.is_terminal()) {
            (_, true) => {
                shown.remove(&record.id);
            }
            (Some(p), false) => {
                shown.insert(record.id, p.percent);
            }
            (None, false) => {}
        }
        let _ = self.inner.events.send(event(progress));
    }

    /// Re-queues jobs an earlier process left running and rebuilds the index.
    async fn recover(&self) -> Result<(), QueueError> {
        let now = OffsetDateTime::now_utc();
        let mut rewrites = Vec::new();
        let mut died = Vec::new();
        let mut index = Index::default();
        for value in self.inner.jobs.iter().values() {
            let mut record: JobRecord = codec::decode(&value?)?;
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
            let id = record.id;
            if let Some(key) = &record.key {
                let slots = index.keys.entry(key.clone()).or_insert(KeySlots::default());
                slots.pending.get_or_insert(id);
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

/// A batch parent that finished: its overlay is forgotten once the commit is flushed.
pub(crate) type Finished = Option<(JobId, OffsetDateTime)>;

/// A batch's progress: finished parts count 100 %, running ones what they last reported.
fn aggregate(index: &Index, parent_id: JobId) -> Progress {
    let Some(batch) = index.live.get(&parent_id).and_then(|p| p.batch) else {
        return Progress {
            percent: 100,
            message: String::new(),
        };
    };
    // Finished parts are counted by the batch; one still in the overlay must not count twice.
    let in_flight: u64 = index
        .live
        .values()
        .filter(|r| r.parent == Some(parent_id) && !r.state.is_terminal())
        .map(|r| u64::from(r.progress.as_ref().map_or(0, |p| p.percent)))
        .sum();
    let total = u64::from(batch.total.max(1));
    let percent = (u64::from(batch.finished()) * 100 + in_flight) / total;
    // A progress bar never goes back, whatever order parts report in.
    let before = index
        .live
        .get(&parent_id)
        .and_then(|p| p.progress.as_ref())
        .map_or(0, |p| u64::from(p.percent));
    Progress {
        percent: u8::try_from(percent.max(before).min(100)).unwrap_or(100),
        message: format!("{} of {} done", batch.finished(), batch.total),
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

fn bump_epoch(db: &sled::Db) -> Result<u64, QueueError> {
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

/// Locks a mutex, recovering from poisoning (a panicking holder leaves consistent data here:
/// every critical section is a handful of map operations).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
