//! The engine's rules, each against a real sled store.

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

#[tokio::test]
async fn a_burst_on_one_key_becomes_one_running_and_one_pending_job_with_the_latest_payload() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_store, queue) = open(&dir).await;
    let gate = Gate::default();
    queue.register("sync", fast(), gate.handler());
    queue.start();

    let first = queue
        .enqueue(JobSpec::new("sync", json!(0)).key("order-1"))
        .await
        .expect("a");
    gate.started.notified().await;

    let mut burst = tokio::task::JoinSet::new();
    for n in 1..=50 {
        let queue = queue.clone();
        burst.spawn(async move {
            queue
                .enqueue(JobSpec::new("sync", json!(n)).key("order-1"))
                .await
                .expect("enqueue")
        });
    }
    let results = burst.join_all().await;
    let ids: std::collections::HashSet<JobId> = results.iter().map(|e| e.id).collect();
    assert_eq!(
        ids.len(),
        1,
        "every enqueue during the run landed in one pending job"
    );
    assert_eq!(results.iter().filter(|e| !e.merged).count(), 1);
    let pending = *ids.iter().next().expect("one");
    assert_ne!(pending, first.id);
    let last_payload = job(&queue, pending).await.payload;

    gate.release.notify_one();
    gate.started.notified().await;
    gate.release.notify_one();
    queue.until_settled().await;
    let payloads = gate.payloads.lock().expect("lock").clone();
    assert_eq!(
        payloads,
        vec![json!(0), last_payload],
        "two runs in all, the second with the latest payload"
    );
    assert_eq!(job(&queue, pending).await.merged, 49);
}

#[tokio::test]
async fn a_key_is_released_on_success_failure_cancel_and_delete() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_store, queue) = open(&dir).await;
    queue.register("ok", fast(), echo);
    queue.register("fails", fast(), |_ctx: JobContext| async {
        Err(JobError::permanent("no"))
    });
    queue.start();

    for kind in ["ok", "fails"] {
        let a = queue
            .enqueue(JobSpec::new(kind, json!(1)).key("k"))
            .await
            .expect("a");
        queue.until_settled().await;
        let b = queue
            .enqueue(JobSpec::new(kind, json!(2)).key("k"))
            .await
            .expect("b");
        assert!(!b.merged && b.id != a.id, "{kind}: the key was released");
        queue.until_settled().await;
    }

    let later = OffsetDateTime::now_utc() + time::Duration::hours(1);
    let waiting = queue
        .enqueue(JobSpec::new("ok", json!(3)).key("k").run_at(later))
        .await
        .expect("c");
    assert_eq!(
        queue.cancel(waiting.id).await.expect("cancel"),
        JobState::Cancelled
    );
    let next = queue
        .enqueue(JobSpec::new("ok", json!(4)).key("k").run_at(later))
        .await
        .expect("d");
    assert!(!next.merged, "cancel released the key");
    queue.delete(next.id).await.expect("delete");
    assert!(queue.get(next.id).expect("read").is_none());
    let after = queue
        .enqueue(JobSpec::new("ok", json!(5)).key("k").run_at(later))
        .await
        .expect("e");
    assert!(!after.merged, "delete released the key");
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
async fn a_running_job_sees_its_cancellation_and_ends_cancelled() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_store, queue) = open(&dir).await;
    let started = register_until_cancelled(&queue);
    queue.start();
    let id = queue
        .enqueue(JobSpec::new("long", Value::Null))
        .await
        .expect("enqueue")
        .id;
    started.notified().await;
    assert_eq!(queue.cancel(id).await.expect("cancel"), JobState::Running);
    queue.until_settled().await;
    assert_eq!(job(&queue, id).await.state, JobState::Cancelled);
}

#[tokio::test]
async fn a_run_over_its_time_limit_is_stopped_and_counts_as_a_failure() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_store, queue) = open(&dir).await;
    queue.register("slow", fast(), |_ctx: JobContext| async {
        tokio::time::sleep(Duration::from_secs(60)).await;
        Ok(Value::Null)
    });
    queue.start();
    let spec = JobSpec::new("slow", Value::Null)
        .timeout(Duration::from_millis(30))
        .max_attempts(2);
    let id = queue.enqueue(spec).await.expect("enqueue").id;
    queue.until_settled().await;
    let record = job(&queue, id).await;
    assert_eq!((record.state, record.attempts), (JobState::Dead, 2));
    assert!(
        record.last_error().is_some_and(|e| e.contains("timed out")),
        "{record:?}"
    );
}

#[tokio::test]
async fn jobs_left_running_by_a_dead_process_run_again_at_once_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let orphan = {
        let (store, queue) = open(&dir).await;
        let gate = Gate::default();
        queue.register("sync", fast(), gate.handler());
        queue.start();
        let id = queue
            .enqueue(JobSpec::new("sync", json!("x")))
            .await
            .expect("enqueue")
            .id;
        gate.started.notified().await;
        let running = job(&queue, id).await;
        assert_eq!(running.state, JobState::Running);
        assert_eq!(running.epoch, queue.epoch());
        crash(store, queue);
        (id, running.epoch)
    };
    let copy = reopened(&dir);

    let (_store, queue) = open(&copy).await;
    assert!(queue.epoch() > orphan.1);
    let record = job(&queue, orphan.0).await;
    assert_eq!(
        record.state,
        JobState::Ready,
        "re-queued at start, no lease to wait for"
    );
    queue.register("sync", fast(), echo);
    queue.start();
    queue.until_settled().await;
    let record = job(&queue, orphan.0).await;
    assert_eq!(record.state, JobState::Succeeded);
    assert_eq!(record.attempts, 2);
    assert!(
        record.history[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("interrupted"))
    );
}

/// The process "dies": no shutdown, what was committed is on disk, the workers never finish.
fn crash(store: Store, queue: Queue) {
    queue.inner.stop_claiming.cancel();
    queue.inner.tasks.close();
    drop(lock(&queue.inner.committer).take());
    if let Some(thread) = lock(&queue.inner.commit_thread).take() {
        thread.join().expect("commit thread");
    }
    store.db().flush().expect("flush");
    std::mem::forget(queue);
    drop(store);
}

/// What a restart after [`crash`] finds: sled's directory lock belongs to the forgotten
/// handles, so this is a copy of the files.
fn reopened(dir: &tempfile::TempDir) -> tempfile::TempDir {
    let copy = tempfile::tempdir().expect("tempdir");
    copy_dir(&dir.path().join("db"), &copy.path().join("db"));
    copy
}

#[tokio::test]
async fn after_a_crash_a_key_keeps_one_waiting_job_and_never_runs_two() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (running, waiting) = {
        let (store, queue) = open(&dir).await;
        let gate = Gate::default();
        queue.register("sync", fast(), gate.handler());
        queue.start();
        let spec = |n: u32| JobSpec::new("sync", json!(n)).key("order-1");
        let running = queue.enqueue(spec(1)).await.expect("enqueue").id;
        gate.started.notified().await;
        let waiting = queue.enqueue(spec(2)).await.expect("enqueue").id;
        assert!(queue.enqueue(spec(3)).await.expect("merge").merged);
        crash(store, queue);
        (running, waiting)
    };
    let copy = reopened(&dir);
    let (_store, queue) = open(&copy).await;
    let older = job(&queue, running).await;
    assert_eq!(
        older.state,
        JobState::Cancelled,
        "folded into the newer one"
    );
    assert_eq!(older.result, Some(json!({ "merged_into": waiting.0 })));
    let newer = job(&queue, waiting).await;
    assert_eq!(newer.state, JobState::Ready);
    assert_eq!(newer.payload, json!(3), "the latest payload wins");
    assert_eq!(newer.merged, 2);
    let runs = Arc::new(AtomicU32::new(0));
    let counted = runs.clone();
    queue.register("sync", fast(), move |_ctx: JobContext| {
        let counted = counted.clone();
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            Ok(Value::Null)
        }
    });
    queue.start();
    queue.until_settled().await;
    assert_eq!(runs.load(Ordering::SeqCst), 1, "one run for the key");
    assert_eq!(job(&queue, waiting).await.state, JobState::Succeeded);
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

#[tokio::test]
async fn a_completion_with_a_stale_token_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_store, queue) = open(&dir).await;
    let gate = Gate::default();
    queue.register("sync", fast(), gate.handler());
    queue.start();
    let id = queue
        .enqueue(JobSpec::new("sync", Value::Null))
        .await
        .expect("enqueue")
        .id;
    gate.started.notified().await;
    let token = job(&queue, id).await.token;
    assert!(
        queue
            .complete(id, token + 1, Ok(Value::Null))
            .await
            .is_err()
    );
    assert_eq!(job(&queue, id).await.state, JobState::Running);
    gate.release.notify_one();
    queue.until_settled().await;
    assert_eq!(job(&queue, id).await.state, JobState::Succeeded);
    assert!(
        queue.complete(id, token, Ok(Value::Null)).await.is_err(),
        "a finished attempt"
    );
}

#[tokio::test]
async fn scheduled_jobs_wait_for_their_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_store, queue) = open(&dir).await;
    queue.register("echo", fast(), echo);
    queue.start();
    let at = OffsetDateTime::now_utc() + time::Duration::milliseconds(150);
    let id = queue
        .enqueue(JobSpec::new("echo", Value::Null).run_at(at))
        .await
        .expect("enqueue")
        .id;
    queue.until_idle().await;
    assert_eq!(
        job(&queue, id).await.state_at(OffsetDateTime::now_utc()),
        JobState::Scheduled
    );
    queue.until_settled().await;
    let record = job(&queue, id).await;
    assert_eq!(record.state, JobState::Succeeded);
    assert!(record.history[0].started_at >= at);
}

#[tokio::test]
async fn higher_priorities_run_first_within_a_queue() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("store");
    let queue = Queue::open(&store, one_worker()).await.expect("queue");
    let order = Arc::new(Mutex::new(Vec::new()));
    let seen = order.clone();
    queue.register("note", fast(), move |ctx: JobContext| {
        seen.lock().expect("lock").push(ctx.payload);
        async { Ok(Value::Null) }
    });
    for (name, priority) in [("low", 0), ("high", 5), ("mid", 2), ("high2", 5)] {
        queue
            .enqueue(JobSpec::new("note", json!(name)).priority(priority))
            .await
            .expect("enqueue");
    }
    queue.start();
    queue.until_settled().await;
    assert_eq!(
        *order.lock().expect("lock"),
        vec![json!("high"), json!("high2"), json!("mid"), json!("low")]
    );
}

#[tokio::test]
async fn a_job_and_application_data_commit_together() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (store, queue) = open(&dir).await;
    let events = store.db().open_tree("test_events").expect("tree");
    let mut batch = sled::Batch::default();
    batch.insert("event-1", "webhook body");
    let id = queue
        .enqueue_with(
            JobSpec::new("echo", Value::Null),
            vec![(events.clone(), batch)],
        )
        .await
        .expect("enqueue")
        .id;
    assert!(events.get("event-1").expect("read").is_some());
    assert!(queue.get(id).expect("read").is_some());
}

#[tokio::test]
async fn a_dead_job_can_be_retried_with_fresh_attempts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_store, queue) = open(&dir).await;
    let fail = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let failing = fail.clone();
    queue.register("sometimes", fast(), move |_ctx: JobContext| {
        let fail = failing.load(Ordering::SeqCst);
        async move {
            if fail {
                Err(JobError::permanent("down"))
            } else {
                Ok(json!("done"))
            }
        }
    });
    queue.start();
    let id = queue
        .enqueue(JobSpec::new("sometimes", Value::Null))
        .await
        .expect("enqueue")
        .id;
    queue.until_settled().await;
    assert_eq!(job(&queue, id).await.state, JobState::Dead);
    assert!(matches!(
        queue.retry(JobId(id.0 + 1000)).await,
        Err(QueueError::NotFound)
    ));
    fail.store(false, Ordering::SeqCst);
    queue.retry(id).await.expect("retry");
    queue.until_settled().await;
    let record = job(&queue, id).await;
    assert_eq!((record.state, record.attempts), (JobState::Succeeded, 1));
    assert_eq!(record.history.len(), 2, "the earlier attempt is kept");
    assert!(matches!(
        queue.retry(id).await,
        Err(QueueError::NotRetryable(JobState::Succeeded))
    ));
}

#[tokio::test]
async fn shutdown_puts_running_jobs_back_without_spending_their_attempt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let id = {
        let (_store, queue) = open(&dir).await;
        let started = register_until_cancelled(&queue);
        queue.start();
        let id = queue
            .enqueue(JobSpec::new("long", Value::Null))
            .await
            .expect("enqueue")
            .id;
        started.notified().await;
        queue.shutdown(Duration::from_millis(50)).await;
        let record = job(&queue, id).await;
        assert_eq!((record.state, record.attempts), (JobState::Ready, 0));
        assert!(matches!(
            queue.enqueue(JobSpec::new("long", Value::Null)).await,
            Err(QueueError::Stopped)
        ));
        id
    };
    let (_store, queue) = open(&dir).await;
    queue.register("long", fast(), echo);
    queue.start();
    queue.until_settled().await;
    assert_eq!(job(&queue, id).await.state, JobState::Succeeded);
}

#[tokio::test]
async fn shutdown_keeps_to_its_grace_even_when_a_handler_ignores_cancellation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_store, queue) = open(&dir).await;
    let started = Arc::new(Notify::new());
    let told = started.clone();
    let slow = RetryPolicy {
        timeout: Duration::from_secs(600),
        ..fast()
    };
    queue.register("stubborn", slow, move |_ctx: JobContext| {
        let told = told.clone();
        async move {
            told.notify_one();
            // Never looks at its cancellation token.
            tokio::time::sleep(Duration::from_secs(600)).await;
            Ok(Value::Null)
        }
    });
    queue.start();
    let id = queue
        .enqueue(JobSpec::new("stubborn", Value::Null))
        .await
        .expect("enqueue")
        .id;
    started.notified().await;
    tokio::time::timeout(
        Duration::from_secs(60),
        queue.shutdown(Duration::from_millis(50)),
    )
    .await
    .expect("shutdown ends long before the job would");
    let record = queue.load(id).expect("reads").expect("stored");
    assert_eq!(record.state, JobState::Ready, "back to waiting");
    assert_eq!(record.attempts, 0, "its attempt not spent");
}

#[tokio::test]
async fn progress_is_broadcast_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_store, queue) = open(&dir).await;
    let mut events = queue.subscribe();
    queue.register("import", fast(), |ctx: JobContext| async move {
        ctx.progress(40, "40 of 100 orders");
        Ok(Value::Null)
    });
    queue.start();
    let id = queue
        .enqueue(JobSpec::new("import", Value::Null))
        .await
        .expect("enqueue")
        .id;
    let progress = loop {
        let event = events.recv().await.expect("event");
        if let Some(progress) = event.progress.filter(|_| event.id == id) {
            break progress;
        }
    };
    assert_eq!(
        progress,
        Progress {
            percent: 40,
            message: "40 of 100 orders".into()
        }
    );
    queue.until_settled().await;
}

#[tokio::test]
async fn finished_jobs_are_pruned_by_age_and_dead_ones_also_by_count() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("store");
    let config = QueueConfig {
        retention: Retention {
            dead_cap: 2,
            ..Retention::default()
        },
        ..QueueConfig::default()
    };
    let queue = Queue::open(&store, config).await.expect("queue");
    queue.register("ok", fast(), echo);
    queue.register("no", fast(), |_ctx: JobContext| async {
        Err(JobError::permanent("no"))
    });
    queue.start();
    let ok = queue
        .enqueue(JobSpec::new("ok", Value::Null))
        .await
        .expect("enqueue")
        .id;
    let mut dead = Vec::new();
    for _ in 0..3 {
        dead.push(
            queue
                .enqueue(JobSpec::new("no", Value::Null))
                .await
                .expect("enqueue")
                .id,
        );
        queue.until_settled().await;
    }
    let later = OffsetDateTime::now_utc() + time::Duration::hours(1);
    let waiting = queue
        .enqueue(JobSpec::new("ok", Value::Null).run_at(later))
        .await
        .expect("w")
        .id;

    assert_eq!(
        queue.prune(OffsetDateTime::now_utc()).await.expect("prune"),
        1,
        "the oldest dead job"
    );
    assert!(queue.get(dead[0]).expect("read").is_none());
    assert!(queue.get(dead[1]).expect("read").is_some());
    assert!(
        queue.get(ok).expect("read").is_some(),
        "a fresh success stays"
    );

    let next_week = OffsetDateTime::now_utc() + time::Duration::days(8);
    assert_eq!(
        queue.prune(next_week).await.expect("prune"),
        1,
        "the week-old success"
    );
    assert!(queue.get(ok).expect("read").is_none());
    assert!(
        queue.get(waiting).expect("read").is_some(),
        "waiting jobs are never pruned"
    );
    let next_season = OffsetDateTime::now_utc() + time::Duration::days(91);
    assert_eq!(
        queue.prune(next_season).await.expect("prune"),
        2,
        "old dead jobs"
    );
}

mod state_machine {
    //! Random sequences of enqueues (keyed or not, failing or not), cancels, deletes and
    //! retries. After every step the index keeps its invariants; at the end every job has
    //! finished, within its attempts, and the stored copy equals what the queue reports.

    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone)]
    enum Op {
        Enqueue {
            key: Option<u8>,
            fails: u8,
            delay_ms: u8,
        },
        Cancel(u8),
        Delete(u8),
        Retry(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (proptest::option::of(0u8..3), 0u8..4, 0u8..3)
                .prop_map(|(key, fails, delay_ms)| Op::Enqueue { key, fails, delay_ms }),
            1 => any::<u8>().prop_map(Op::Cancel),
            1 => any::<u8>().prop_map(Op::Delete),
            1 => any::<u8>().prop_map(Op::Retry),
        ]
    }

    fn check_invariants(queue: &Queue) {
        let index = lock(&queue.inner.index);
        let mut waiting_per_key = HashMap::<&str, usize>::new();
        let mut running_per_key = HashMap::<&str, usize>::new();
        for record in index.live.values() {
            assert!(
                !record.state.is_terminal(),
                "a finished job is still live: {record:?}"
            );
            assert!(record.attempts <= record.max_attempts, "{record:?}");
            let running = index.running.contains_key(&record.id);
            assert_eq!(running, record.state == JobState::Running, "{record:?}");
            if let Some(key) = record.key.as_deref() {
                let per_key = if running {
                    &mut running_per_key
                } else {
                    &mut waiting_per_key
                };
                *per_key.entry(key).or_default() += 1;
            }
        }
        assert!(
            waiting_per_key.values().all(|n| *n <= 1),
            "two pending on a key: {waiting_per_key:?}"
        );
        assert!(
            running_per_key.values().all(|n| *n <= 1),
            "two running on a key: {running_per_key:?}"
        );
        for (key, slots) in &index.keys {
            if let Some(pending) = slots.pending {
                let record = index.live.get(&pending).expect("the pending job is live");
                assert_eq!(record.key.as_deref(), Some(key.as_str()));
                assert!(record.is_waiting());
            }
            if let Some(running) = slots.running {
                assert!(
                    index.running.contains_key(&running),
                    "key {key} holds a job not running"
                );
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        #[test]
        fn random_operations_keep_the_rules(ops in proptest::collection::vec(op(), 1..40)) {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let dir = tempfile::tempdir().expect("tempdir");
                let (_store, queue) = open(&dir).await;
                queue.register("work", fast(), |ctx: JobContext| async move {
                    let (fails, delay_ms): (u32, u64) = ctx.payload()?;
                    tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                    if ctx.attempt <= fails { Err(JobError::retryable("flaky")) } else { Ok(Value::Null) }
                });
                queue.start();
                let mut ids = Vec::new();
                for op in ops {
                    let pick = |n: u8| (!ids.is_empty()).then(|| ids[usize::from(n) % ids.len()]);
                    match op {
                        Op::Enqueue { key, fails, delay_ms } => {
                            let mut spec = JobSpec::new("work", json!([fails, delay_ms]));
                            if let Some(key) = key {
                                spec = spec.key(format!("k{key}"));
                            }
                            ids.push(queue.enqueue(spec).await.expect("enqueue").id);
                        }
                        Op::Cancel(n) => if let Some(id) = pick(n) { let _ = queue.cancel(id).await; },
                        Op::Delete(n) => if let Some(id) = pick(n) { let _ = queue.delete(id).await; },
                        Op::Retry(n) => if let Some(id) = pick(n) { let _ = queue.retry(id).await; },
                    }
                    check_invariants(&queue);
                }
                queue.until_settled().await;
                check_invariants(&queue);
                for id in ids {
                    let Some(record) = queue.get(id).expect("read") else { continue };
                    assert!(record.state.is_terminal(), "{record:?}");
                    assert!(record.attempts <= record.max_attempts);
                    let stored: JobRecord = crate::store::codec::decode(
                        &queue.inner.jobs.get(id.0.to_be_bytes()).expect("read").expect("stored"),
                    ).expect("decodes");
                    assert_eq!(stored, record, "memory and disk agree once settled");
                }
            });
        }
    }
}

#[tokio::test]
async fn a_batch_aggregates_its_parts_and_finishes_with_the_last_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("store");
    let queue = Queue::open(&store, one_worker()).await.expect("queue");
    let gate = Gate::default();
    queue.register("chunk", fast(), gate.handler());
    let (parent, parts) = queue
        .enqueue_batch(
            JobSpec::new("import", Value::Null).queue(QueueName::Bulk),
            (0..4)
                .map(|n| JobSpec::new("chunk", json!(n)).queue(QueueName::Bulk))
                .collect(),
        )
        .await
        .expect("batch");
    assert_eq!(parts.len(), 4);
    let record = job(&queue, parent).await;
    assert_eq!(record.state, JobState::Running);
    assert_eq!(record.batch.map(|b| b.total), Some(4));
    assert_eq!(job(&queue, parts[0]).await.parent, Some(parent));

    queue.start();
    for released in 1..=4 {
        gate.started.notified().await;
        gate.release.notify_one();
        if released == 2 {
            // Half of the parts are done: the parent says so.
            while job(&queue, parent).await.batch.map(|b| b.finished()) != Some(2) {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            let progress = job(&queue, parent).await.progress.expect("progress");
            assert!(progress.percent >= 50, "{progress:?}");
            assert_eq!(progress.message, "2 of 4 done");
        }
    }
    queue.until_settled().await;
    let record = job(&queue, parent).await;
    assert_eq!(record.state, JobState::Succeeded);
    assert_eq!(record.progress.map(|p| p.percent), Some(100));
    assert_eq!(
        record.result,
        Some(json!({"parts": 4, "succeeded": 4, "failed": 0}))
    );
}

#[tokio::test]
async fn a_batch_with_a_failed_part_ends_dead_and_reopens_when_the_part_is_retried() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_store, queue) = open(&dir).await;
    queue.register("chunk", fast(), |ctx: JobContext| async move {
        if ctx.payload == json!(1) {
            Err(JobError::permanent("bad chunk"))
        } else {
            Ok(Value::Null)
        }
    });
    queue.start();
    let (parent, parts) = queue
        .enqueue_batch(
            JobSpec::new("import", Value::Null),
            (0..3).map(|n| JobSpec::new("chunk", json!(n))).collect(),
        )
        .await
        .expect("batch");
    queue.until_settled().await;
    let record = job(&queue, parent).await;
    assert_eq!(record.state, JobState::Dead);
    assert_eq!(record.last_error(), Some("1 of 3 parts failed"));

    queue.register("chunk", fast(), echo);
    queue.retry(parts[1]).await.expect("retry the part");
    queue.until_settled().await;
    let record = job(&queue, parent).await;
    assert_eq!(record.state, JobState::Succeeded, "{record:?}");
    assert_eq!(record.batch.map(|b| (b.succeeded, b.failed)), Some((3, 0)));
}

#[tokio::test]
async fn cancelling_a_batch_cancels_its_parts_and_a_restart_keeps_a_running_batch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (parent, parts) = {
        let (_store, queue) = open(&dir).await;
        let later = OffsetDateTime::now_utc() + time::Duration::hours(1);
        let batch = queue
            .enqueue_batch(
                JobSpec::new("import", Value::Null),
                (0..3)
                    .map(|n| JobSpec::new("chunk", json!(n)).run_at(later))
                    .collect(),
            )
            .await
            .expect("batch");
        queue.shutdown(Duration::from_millis(10)).await;
        batch
    };
    let (_store, queue) = open(&dir).await;
    assert_eq!(
        job(&queue, parent).await.state,
        JobState::Running,
        "kept across a restart"
    );
    assert_eq!(
        queue.cancel(parent).await.expect("cancel"),
        JobState::Cancelled
    );
    queue.until_settled().await;
    assert_eq!(job(&queue, parent).await.state, JobState::Cancelled);
    for part in parts {
        assert_eq!(job(&queue, part).await.state, JobState::Cancelled);
    }
}
