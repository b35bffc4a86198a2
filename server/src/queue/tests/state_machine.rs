//! Random sequences of enqueues (keyed or not, failing or not), cancels, deletes, retries and
//! crashes (the process dies; the queue reopens from what is on disk). After every step the
//! index keeps its invariants (after a crash: recovery rebuilt each key's slots, never two of a
//! key waiting or running); at the end every job has finished, within its attempts, and the
//! stored copy equals what the queue reports.

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
    Crash,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (proptest::option::of(0u8..3), 0u8..4, 0u8..3)
            .prop_map(|(key, fails, delay_ms)| Op::Enqueue { key, fails, delay_ms }),
        1 => any::<u8>().prop_map(Op::Cancel),
        1 => any::<u8>().prop_map(Op::Delete),
        1 => any::<u8>().prop_map(Op::Retry),
        1 => Just(Op::Crash),
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
            let mut dir = tempfile::tempdir().expect("tempdir");
            let (mut store, mut queue) = open(&dir).await;
            let register = |queue: &Queue| {
                queue.register("work", fast(), |ctx: JobContext| async move {
                    let (fails, delay_ms): (u32, u64) = ctx.payload()?;
                    tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                    if ctx.attempt <= fails { Err(JobError::retryable("flaky")) } else { Ok(Value::Null) }
                });
                queue.start();
            };
            register(&queue);
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
                    Op::Crash => {
                        super::crash::crash(store, queue);
                        dir = super::crash::reopened(&dir);
                        (store, queue) = open(&dir).await;
                        check_invariants(&queue);
                        register(&queue);
                    }
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
