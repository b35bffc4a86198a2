//! Workers: claim the next ready job of their queue, run its handler under a time limit and a
//! cancellation token, and record the outcome. Plus the run-at timer that wakes them when a
//! scheduled job comes due. Nothing polls: idle workers wait on their queue's `Notify`.

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use app::{JobId, JobState, QueueName};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use super::{
    Queue, Registered,
    commit::Write,
    index::Running,
    lock,
    policy::JobError,
    record::{Attempt, JobRecord, Progress},
};

/// What a handler returns.
pub type HandlerResult = Result<serde_json::Value, JobError>;

/// The work of one job kind. Handlers must be safe to run again: delivery is at least once.
pub trait Handler: Send + Sync + 'static {
    /// Runs one attempt.
    fn run(&self, ctx: JobContext) -> Pin<Box<dyn Future<Output = HandlerResult> + Send>>;
}

impl<F, Fut> Handler for F
where
    F: Fn(JobContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = HandlerResult> + Send + 'static,
{
    fn run(&self, ctx: JobContext) -> Pin<Box<dyn Future<Output = HandlerResult> + Send>> {
        Box::pin(self(ctx))
    }
}

/// What a handler gets: its input, its attempt, a cancellation token, and progress reporting.
#[derive(Clone)]
pub struct JobContext {
    pub id: JobId,
    pub kind: String,
    pub payload: serde_json::Value,
    /// 1 for the first run.
    pub attempt: u32,
    /// Cancelled when a user cancels the job, its time runs out, or the server stops.
    pub cancel: CancellationToken,
    token: u64,
    queue: Queue,
}

impl JobContext {
    /// The payload as `T`; a payload that does not fit is a permanent error.
    pub fn payload<T: serde::de::DeserializeOwned>(&self) -> Result<T, JobError> {
        serde_json::from_value(self.payload.clone())
            .map_err(|e| JobError::Permanent(format!("the job's input is not valid: {e}")))
    }

    /// Reports progress: broadcast at once, stored at most about once a second.
    pub fn progress(&self, percent: u8, message: impl Into<String>) {
        self.queue
            .report_progress(self.id, self.token, percent.min(100), message.into());
    }
}

/// One worker of `queue`.
pub(super) async fn work(queue: Queue, name: QueueName) {
    let Some(notify) = queue.inner.work.get(&name) else {
        return;
    };
    loop {
        if queue.inner.stop_claiming.is_cancelled() {
            return;
        }
        let wake = notify.notified();
        match queue.claim(name).await {
            Some(claimed) => queue.run(claimed).await,
            None => {
                tokio::select! {
                    () = wake => {}
                    () = queue.inner.stop_claiming.cancelled() => return,
                }
            }
        }
    }
}

/// The run-at timer: sleeps until the next scheduled job is due, then makes it ready.
pub(super) async fn schedule(queue: Queue) {
    loop {
        let wake = queue.inner.wake_scheduler.notified();
        let (queues, next) = {
            let mut index = lock(&queue.inner.index);
            let queues = index.promote_due(OffsetDateTime::now_utc());
            (queues, index.next_due())
        };
        for name in queues {
            queue.notify_queue(Some(name));
        }
        let sleep = next.map_or(Duration::from_secs(3600), |at| {
            let wait = at - OffsetDateTime::now_utc();
            Duration::try_from(wait).unwrap_or(Duration::ZERO) + Duration::from_millis(1)
        });
        tokio::select! {
            () = tokio::time::sleep(sleep) => {}
            () = wake => {}
            () = queue.inner.stop_claiming.cancelled() => return,
        }
    }
}

/// How long a cancelled handler gets to return before it is stopped.
const CANCEL_GRACE: Duration = Duration::from_secs(2);

/// How a handler's run ended.
enum Ended {
    Joined(Result<HandlerResult, tokio::task::JoinError>),
    TimedOut,
    /// Cancelled, and still running after [`CANCEL_GRACE`].
    Ignored,
}

struct Claimed {
    record: JobRecord,
    cancel: CancellationToken,
    registered: Option<Arc<Registered>>,
}

impl Queue {
    async fn claim(&self, name: QueueName) -> Option<Claimed> {
        let now = OffsetDateTime::now_utc();
        let record = {
            let mut index = lock(&self.inner.index);
            let id = index.pop_ready(name)?;
            let token = self
                .inner
                .tokens
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                + 1;
            let epoch = self.inner.epoch;
            let record = index.live.get_mut(&id)?;
            record.state = JobState::Running;
            record.attempts += 1;
            record.token = token;
            record.epoch = epoch;
            record.progress = None;
            record.updated_at = now;
            record.history.push(Attempt {
                started_at: now,
                ended_at: None,
                error: None,
            });
            let record = record.clone();
            if let Some(key) = &record.key {
                let slots = index.keys.entry(key.clone()).or_default();
                if slots.pending == Some(id) {
                    slots.pending = None;
                }
                slots.running = Some(id);
            }
            let cancel = CancellationToken::new();
            index.running.insert(
                id,
                Running {
                    token,
                    cancel: cancel.clone(),
                    cancel_requested: false,
                },
            );
            let commit = self.submit(vec![Write::Put(Box::new(record.clone()))], Vec::new());
            (record, cancel, commit)
        };
        let (record, cancel, commit) = record;
        // The claim (attempt counted, epoch, token) is on disk before the handler starts. The
        // disk sees commits in order, so a job runs only once its enqueue is durable too: an
        // enqueue that failed (and answered an error) never runs.
        let committed = match commit {
            Ok(pending) => pending.wait().await,
            Err(err) => Err(err),
        };
        if let Err(err) = committed {
            tracing::error!(job = record.id.0, %err, "could not record a claim; not running it");
            lock(&self.inner.index).running.remove(&record.id);
            return None;
        }
        self.emit(&record);
        let registered = lock(&self.inner.handlers).get(&record.kind).cloned();
        Some(Claimed {
            record,
            cancel,
            registered,
        })
    }

    async fn run(&self, claimed: Claimed) {
        let Claimed {
            record,
            cancel,
            registered,
        } = claimed;
        let started = std::time::Instant::now();
        let outcome = match registered {
            None => Err(JobError::Permanent(format!(
                "no handler is registered for {:?}",
                record.kind
            ))),
            Some(registered) => {
                let ctx = JobContext {
                    id: record.id,
                    kind: record.kind.clone(),
                    payload: record.payload.clone(),
                    attempt: record.attempts,
                    cancel: cancel.clone(),
                    token: record.token,
                    queue: self.clone(),
                };
                let span = tracing::info_span!(
                    "job",
                    id = record.id.0,
                    kind = %record.kind,
                    attempt = record.attempts
                );
                let mut task = tokio::spawn(registered.handler.run(ctx).instrument(span));
                let limit = tokio::time::sleep(record.timeout());
                tokio::pin!(limit);
                let ended = tokio::select! {
                    joined = &mut task => Ended::Joined(joined),
                    () = &mut limit => Ended::TimedOut,
                    // Cancelled by a person or by shutdown: a moment to stop by itself, then
                    // it is stopped, so shutdown keeps to its grace period.
                    () = cancel.cancelled() => {
                        match tokio::time::timeout(CANCEL_GRACE, &mut task).await {
                            Ok(joined) => Ended::Joined(joined),
                            Err(_) => Ended::Ignored,
                        }
                    }
                };
                match ended {
                    Ended::Joined(Ok(result)) => result,
                    Ended::Joined(Err(join)) if join.is_panic() => Err(JobError::Retryable(
                        "the job crashed (a bug; see the log)".to_owned(),
                    )),
                    Ended::Joined(Err(_)) => {
                        Err(JobError::Retryable("the job was aborted".to_owned()))
                    }
                    Ended::TimedOut => {
                        cancel.cancel();
                        task.abort();
                        Err(JobError::Retryable(format!(
                            "timed out after {} s",
                            record.timeout().as_secs_f32()
                        )))
                    }
                    Ended::Ignored => {
                        task.abort();
                        Err(JobError::Retryable(
                            "stopped: it did not end when cancelled".to_owned(),
                        ))
                    }
                }
            }
        };
        tracing::debug!(job = record.id.0, kind = record.kind, elapsed = ?started.elapsed(), ok = outcome.is_ok(), "job ran");
        self.inner
            .metrics
            .run_seconds
            .get_or_create(&super::metrics::KindLabel {
                kind: record.kind.clone(),
            })
            .observe(started.elapsed().as_secs_f64());
        // The worker moves on at once; the write is flushed with the next group, and only
        // then do the event and the metrics go out.
        match self.finish(record.id, record.token, outcome) {
            Ok((_, durable)) => {
                // Tracked, so shutdown waits for it before closing the committer.
                self.inner.tasks.spawn(async move {
                    if let Err(err) = durable.wait().await {
                        tracing::error!(%err, "could not record a job's outcome");
                    }
                });
            }
            Err(err) => tracing::warn!(job = record.id.0, %err, "completion refused"),
        }
    }

    /// Records an attempt's outcome and waits until it is flushed. A completion whose fencing
    /// token is not the job's current one (a stale attempt) is refused.
    #[cfg(test)]
    pub(super) async fn complete(
        &self,
        id: JobId,
        token: u64,
        outcome: Result<serde_json::Value, JobError>,
    ) -> Result<JobState, super::QueueError> {
        let (state, durable) = self.finish(id, token, outcome)?;
        durable.wait().await?;
        Ok(state)
    }

    /// Records an attempt's outcome in memory and submits its write; the returned
    /// [`Durable`] completes the bookkeeping once the write is flushed.
    fn finish(
        &self,
        id: JobId,
        token: u64,
        outcome: Result<serde_json::Value, JobError>,
    ) -> Result<(JobState, Durable), super::QueueError> {
        let now = OffsetDateTime::now_utc();
        let (record, ready, commit, finished) = {
            let mut index = lock(&self.inner.index);
            let fenced = index.running.get(&id).is_some_and(|r| r.token == token);
            if !fenced {
                return Err(super::QueueError::Storage(format!(
                    "stale completion of job {id} (token {token}) refused"
                )));
            }
            let running = index.running.remove(&id);
            let cancel_requested = running.as_ref().is_some_and(|r| r.cancel_requested);
            let shutting_down = self.inner.stop_claiming.is_cancelled();
            let Some(mut record) = index.live.remove(&id) else {
                return Err(super::QueueError::NotFound);
            };
            let error = outcome.as_ref().err().map(ToString::to_string);
            if let Some(attempt) = record.history.last_mut() {
                attempt.ended_at = Some(now);
                attempt.error.clone_from(&error);
            }
            record.updated_at = now;
            match outcome {
                Ok(result) => {
                    record.state = JobState::Succeeded;
                    record.result = Some(result);
                }
                Err(_) if cancel_requested => record.state = JobState::Cancelled,
                Err(_) if shutting_down && running.is_some_and(|r| r.cancel.is_cancelled()) => {
                    // Interrupted by shutdown: not the job's fault, so the attempt is not spent.
                    record.attempts = record.attempts.saturating_sub(1);
                    record.state = JobState::Ready;
                    record.run_at = now;
                }
                Err(JobError::Permanent(_)) => record.state = JobState::Dead,
                Err(JobError::Park { until, .. }) => {
                    record.attempts = record.attempts.saturating_sub(1);
                    record.state = JobState::Scheduled;
                    record.run_at = until;
                }
                Err(JobError::Retryable(_)) if record.attempts < record.max_attempts => {
                    let random = getrandom::u64().unwrap_or(0);
                    let wait = self.policy(&record.kind).backoff(record.attempts, random);
                    record.state = JobState::Retrying;
                    record.run_at = now + wait;
                }
                Err(JobError::Retryable(_)) => record.state = JobState::Dead,
            }
            let mut ready = None;
            if let Some(key) = record.key.clone() {
                let slots = index.keys.entry(key.clone()).or_default();
                slots.running = None;
                if !record.state.is_terminal() {
                    match slots.pending {
                        // A newer job with the same key waits already: it carries the latest
                        // payload, so this one's retry folds into it.
                        Some(newer) => {
                            record.state = JobState::Cancelled;
                            if let Some(attempt) = record.history.last_mut() {
                                let was = attempt.error.take().unwrap_or_default();
                                attempt.error = Some(format!("{was} (replaced by job {newer})"));
                            }
                        }
                        None => slots.pending = Some(id),
                    }
                }
                let next = index.keys.get(&key).and_then(|s| s.pending);
                if index
                    .keys
                    .get(&key)
                    .is_some_and(|s| s.pending.is_none() && s.running.is_none())
                {
                    index.keys.remove(&key);
                }
                if let Some(next) = next.filter(|n| *n != id) {
                    ready = index.place(next, now);
                }
            }
            let mut writes = vec![Write::Put(Box::new(record.clone()))];
            let mut finished = None;
            if record.state.is_terminal() {
                index.committing.insert(id, Some(record.clone()));
                finished = self.part_finished(&mut index, &record, now, &mut writes);
            } else {
                index.live.insert(id, record.clone());
                ready = ready.or(index.place(id, now));
            }
            let commit = self.submit(writes, Vec::new())?;
            (record, ready, commit, finished)
        };
        self.wake(ready);
        self.inner.changed.notify_waiters();
        let state = record.state;
        Ok((
            state,
            Durable {
                queue: self.clone(),
                record,
                commit,
                finished,
            },
        ))
    }

    fn report_progress(&self, id: JobId, token: u64, percent: u8, message: String) {
        let record = {
            let mut index = lock(&self.inner.index);
            if index.running.get(&id).is_none_or(|r| r.token != token) {
                return;
            }
            let Some(record) = index.live.get_mut(&id) else {
                return;
            };
            let persist = record.progress.is_none()
                || OffsetDateTime::now_utc() - record.updated_at >= time::Duration::seconds(1);
            record.progress = Some(Progress { percent, message });
            if persist {
                record.updated_at = OffsetDateTime::now_utc();
            }
            let record = record.clone();
            let parent = record
                .parent
                .and_then(|p| self.part_progressed(&mut index, p));
            if persist {
                // Submitted under the lock (ordered before any later completion); not awaited:
                // progress is a hint, the handler does not wait for the disk.
                let mut writes = vec![Write::Put(Box::new(record.clone()))];
                writes.extend(parent.clone().map(|p| Write::Put(Box::new(p))));
                drop(self.submit(writes, Vec::new()));
            }
            (record, parent)
        };
        let (record, parent) = record;
        self.emit(&record);
        if let Some(parent) = parent {
            self.emit(&parent);
        }
    }
}

/// A completion whose write is submitted; [`Durable::wait`] finishes once it is flushed.
pub(super) struct Durable {
    queue: Queue,
    record: JobRecord,
    commit: super::commit::Pending,
    finished: super::batch::Finished,
}

impl Durable {
    /// Waits for the flush, then forgets the overlay, counts the outcome and tells the UI.
    pub(super) async fn wait(self) -> Result<(), super::QueueError> {
        let Self {
            queue,
            record,
            commit,
            finished,
        } = self;
        commit.wait().await?;
        let family = match record.state {
            JobState::Succeeded => Some(&queue.inner.metrics.succeeded),
            JobState::Dead => Some(&queue.inner.metrics.failed),
            JobState::Retrying => Some(&queue.inner.metrics.retried),
            _ => None,
        };
        if let Some(family) = family {
            super::metrics::QueueMetrics::inc(family, &record.kind);
        }
        queue.emit(&record);
        if record.state.is_terminal() {
            queue.committed(record.id, Some(record.updated_at));
        }
        queue.batch_committed(finished);
        Ok(())
    }
}
