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

mod batch;
mod commit;
mod control;
mod enqueue;
mod index;
mod metrics;
pub mod policy;
mod read;
pub mod record;
mod recover;
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
use commit::{Committer, Failure, Pending, Write};
use index::Index;
pub use policy::{JobError, RetryPolicy};
pub use record::{Attempt, Batch, JobRecord, JobSpec, Progress};
pub use worker::{Handler, JobContext};

use crate::store::Store;

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
    #[error("the job's input cannot be stored: {0}")]
    Payload(String),
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
    ids: crate::store::Ids,
    jobs: sled::Tree,
    index: Mutex<Index>,
    committer: Mutex<Option<Committer>>,
    /// The first failed commit; from then on nothing is written or claimed.
    failure: Arc<Failure>,
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
        let epoch = recover::bump_epoch(&db)?;
        let stop_claiming = CancellationToken::new();
        let failure = Arc::new(Failure::new(stop_claiming.clone()));
        let (committer, thread) = Committer::spawn(db.clone(), jobs.clone(), failure.clone());
        let (events, _) = broadcast::channel(1024);
        let inner = Inner {
            epoch,
            ids: store.ids().clone(),
            jobs,
            index: Mutex::new(Index::default()),
            committer: Mutex::new(Some(committer)),
            failure,
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
            stop_claiming,
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

    /// Why the queue stopped on its own: a commit failed (a full or failing disk).
    pub fn failure(&self) -> Option<String> {
        self.inner.failure.reason().map(str::to_owned)
    }

    /// Resolves once the queue has stopped, by [`Queue::shutdown`] or a failed commit.
    pub async fn stopped(&self) {
        self.inner.stop_claiming.cancelled().await;
    }

    /// Live changes of every job.
    pub fn subscribe(&self) -> broadcast::Receiver<JobEvent> {
        self.inner.events.subscribe()
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
}

/// Locks a mutex, recovering from poisoning (a panicking holder leaves consistent data here:
/// every critical section is a handful of map operations).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
