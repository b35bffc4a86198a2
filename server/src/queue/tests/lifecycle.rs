//! A job's life: cancellation, time limits, stale completions, scheduling, priorities,
//! commits with application data, retries, shutdown, progress and pruning.

use super::*;

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
