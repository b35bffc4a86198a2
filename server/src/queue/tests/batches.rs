//! Batches: aggregated progress, failed parts, cancellation and restarts.

use super::*;

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
