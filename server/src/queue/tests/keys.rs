//! Coalescing keys: one running and one pending job per key, released on every ending.

use super::*;

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
