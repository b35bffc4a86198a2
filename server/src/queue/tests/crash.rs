//! Crashes: jobs a dead process left running run again at once, and keys stay whole.

use super::*;

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
pub(super) fn crash(store: Store, queue: Queue) {
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
pub(super) fn reopened(dir: &tempfile::TempDir) -> tempfile::TempDir {
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

/// Disk full: an enqueue whose commit fails answers an error, its job never runs (not in this
/// process, which stops claiming, nor after a restart, which reads the disk), and every later
/// write is refused with the reason instead of letting memory run ahead of the disk.
#[tokio::test]
async fn a_failed_commit_stops_the_queue_and_the_refused_job_never_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ran = Arc::new(Mutex::new(Vec::new()));
    let record = |ran: Arc<Mutex<Vec<Value>>>| {
        move |ctx: JobContext| {
            let ran = ran.clone();
            async move {
                ran.lock().expect("lock").push(ctx.payload.clone());
                Ok(ctx.payload)
            }
        }
    };
    {
        let (store, queue) = open(&dir).await;
        queue.register("sync", fast(), record(ran.clone()));
        queue.start();
        queue.inner.failure.simulated.store(true, Ordering::Relaxed);
        let refused = queue.enqueue(JobSpec::new("sync", json!("refused"))).await;
        assert!(
            matches!(refused, Err(QueueError::Storage(_))),
            "{refused:?}"
        );
        queue.stopped().await;
        assert!(queue.failure().is_some_and(|r| r.contains("no space left")));
        assert!(!queue.is_running());
        let later = queue.enqueue(JobSpec::new("sync", json!("later"))).await;
        assert!(
            matches!(&later, Err(QueueError::Storage(r)) if r.contains("no space left")),
            "{later:?}"
        );
        queue.shutdown(Duration::from_secs(1)).await;
        drop(store);
    }
    let (_store, queue) = open(&dir).await;
    queue.register("sync", fast(), record(ran.clone()));
    queue.start();
    queue
        .enqueue(JobSpec::new("sync", json!("after the restart")))
        .await
        .expect("the disk takes writes again");
    queue.until_settled().await;
    assert_eq!(
        *ran.lock().expect("lock"),
        vec![json!("after the restart")],
        "the refused job never ran"
    );
}
