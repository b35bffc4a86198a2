//! The engine's rules, each against a real sled store: the basics here, the rest by theme.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use app::{JobId, JobState, QueueName};
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::sync::Notify;

use super::*;
use crate::store::Store;

fn fast() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        timeout: Duration::from_secs(10),
        base: Duration::from_millis(1),
        cap: Duration::from_millis(5),
    }
}

fn one_worker() -> QueueConfig {
    QueueConfig {
        concurrency: HashMap::from([(QueueName::Default, 1), (QueueName::Bulk, 1)]),
        ..QueueConfig::default()
    }
}

async fn open(dir: &tempfile::TempDir) -> (Store, Queue) {
    let store = Store::open(dir.path()).expect("store");
    let queue = Queue::open(&store, QueueConfig::default())
        .await
        .expect("queue");
    (store, queue)
}

async fn echo(ctx: JobContext) -> Result<Value, JobError> {
    Ok(ctx.payload)
}

async fn job(queue: &Queue, id: JobId) -> JobRecord {
    queue.get(id).expect("read").expect("exists")
}

mod batches;
mod crash;
mod keys;
mod lifecycle;
mod state_machine;

/// A handler that blocks until released, counting runs and remembering payloads.
#[derive(Clone, Default)]
struct Gate {
    release: Arc<Notify>,
    started: Arc<Notify>,
    payloads: Arc<Mutex<Vec<Value>>>,
}

impl Gate {
    fn handler(&self) -> impl Handler {
        let gate = self.clone();
        move |ctx: JobContext| {
            let gate = gate.clone();
            async move {
                gate.payloads
                    .lock()
                    .expect("lock")
                    .push(ctx.payload.clone());
                gate.started.notify_one();
                gate.release.notified().await;
                Ok(ctx.payload)
            }
        }
    }
}

/// Registers "long": it says when it starts, then runs until its token is cancelled.
fn register_until_cancelled(queue: &Queue) -> Arc<Notify> {
    let started = Arc::new(Notify::new());
    let signal = started.clone();
    queue.register("long", fast(), move |ctx: JobContext| {
        let signal = signal.clone();
        async move {
            signal.notify_one();
            ctx.cancel.cancelled().await;
            Err(JobError::retryable("interrupted"))
        }
    });
    started
}

#[tokio::test]
async fn a_job_runs_once_and_keeps_its_result() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_store, queue) = open(&dir).await;
    queue.register("echo", fast(), echo);
    queue.start();
    let enqueued = queue
        .enqueue(JobSpec::new("echo", json!({"n": 1})))
        .await
        .expect("enqueue");
    queue.until_settled().await;
    let record = job(&queue, enqueued.id).await;
    assert_eq!(record.state, JobState::Succeeded);
    assert_eq!(record.result, Some(json!({"n": 1})));
    assert_eq!(record.attempts, 1);
    assert!(record.history[0].ended_at.is_some());
}

#[tokio::test]
async fn retryable_failures_back_off_and_end_dead_after_max_attempts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_store, queue) = open(&dir).await;
    queue.register("flaky", fast(), |_ctx: JobContext| async {
        Err(JobError::retryable("503"))
    });
    queue.start();
    let id = queue
        .enqueue(JobSpec::new("flaky", Value::Null))
        .await
        .expect("enqueue")
        .id;
    queue.until_settled().await;
    let record = job(&queue, id).await;
    assert_eq!(record.state, JobState::Dead);
    assert_eq!(record.attempts, 3);
    assert_eq!(record.history.len(), 3);
    assert!(
        record
            .history
            .iter()
            .all(|a| a.error.as_deref() == Some("503"))
    );
}

#[tokio::test]
async fn permanent_failures_are_dead_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_store, queue) = open(&dir).await;
    queue.register("bad", fast(), |_ctx: JobContext| async {
        Err(JobError::permanent("bad credentials"))
    });
    queue.start();
    let id = queue
        .enqueue(JobSpec::new("bad", Value::Null))
        .await
        .expect("enqueue")
        .id;
    queue.until_settled().await;
    let record = job(&queue, id).await;
    assert_eq!((record.state, record.attempts), (JobState::Dead, 1));
    assert_eq!(record.last_error(), Some("bad credentials"));
}

#[tokio::test]
async fn a_kind_without_a_handler_is_dead_with_a_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_store, queue) = open(&dir).await;
    queue.start();
    let id = queue
        .enqueue(JobSpec::new("unknown", Value::Null))
        .await
        .expect("enqueue")
        .id;
    queue.until_settled().await;
    let record = job(&queue, id).await;
    assert_eq!(record.state, JobState::Dead);
    assert!(
        record
            .last_error()
            .is_some_and(|e| e.contains("no handler"))
    );
}

#[tokio::test]
async fn parking_waits_without_spending_an_attempt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_store, queue) = open(&dir).await;
    let runs = Arc::new(AtomicU32::new(0));
    let counter = runs.clone();
    queue.register("gated", fast(), move |_ctx: JobContext| {
        let run = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            if run < 3 {
                let until = OffsetDateTime::now_utc() + time::Duration::milliseconds(20);
                Err(JobError::Park {
                    until,
                    reason: "circuit open".into(),
                })
            } else {
                Ok(Value::Null)
            }
        }
    });
    queue.start();
    let spec = JobSpec::new("gated", Value::Null).max_attempts(1);
    let id = queue.enqueue(spec).await.expect("enqueue").id;
    queue.until_settled().await;
    let record = job(&queue, id).await;
    assert_eq!(
        record.state,
        JobState::Succeeded,
        "three parks did not use up one attempt"
    );
    assert_eq!(record.attempts, 1);
    assert_eq!(record.history.len(), 4);
    assert_eq!(runs.load(Ordering::SeqCst), 4);
}
