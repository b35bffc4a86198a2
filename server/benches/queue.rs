//! Queue benchmarks on this machine, durable group commit on (every state change flushed):
//!
//! - throughput: 50,000 no-op jobs enqueued by 64 concurrent producers, run by the default
//!   workers; jobs/s from the first enqueue to the last completion.
//! - latency: enqueue→start of 2,000 jobs enqueued one at a time, p50/p99.
//! - idle CPU: CPU time the process spends in 3 s with started, idle workers.
//!
//! `cargo bench -p server --bench queue`; results go in docs/benchmarks.md.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use server::{
    queue::{JobContext, JobError, JobSpec, Queue, QueueConfig, RetryPolicy},
    store::Store,
};

const JOBS: u64 = 50_000;
const PRODUCERS: u64 = 64;
const LATENCY_SAMPLES: usize = 2_000;

async fn noop(_ctx: JobContext) -> Result<Value, JobError> {
    Ok(Value::Null)
}

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

async fn throughput() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let queue = Queue::open(&store, QueueConfig::default()).await.unwrap();
    queue.register("noop", RetryPolicy::default(), noop);
    queue.start();
    let started = Instant::now();
    let mut producers = tokio::task::JoinSet::new();
    for lane in 0..PRODUCERS {
        let queue = queue.clone();
        producers.spawn(async move {
            let mut n = lane;
            while n < JOBS {
                queue.enqueue(JobSpec::new("noop", json!(n))).await.unwrap();
                n += PRODUCERS;
            }
        });
    }
    producers.join_all().await;
    let enqueued = started.elapsed();
    queue.until_settled().await;
    let elapsed = started.elapsed();
    println!(
        "throughput: {JOBS} no-op jobs in {:.2} s = {:.0} jobs/s end to end \
         (enqueue alone {:.0}/s; {PRODUCERS} producers, default workers, every change flushed)",
        elapsed.as_secs_f64(),
        JOBS as f64 / elapsed.as_secs_f64(),
        JOBS as f64 / enqueued.as_secs_f64(),
    );
    queue.shutdown(Duration::from_secs(5)).await;
}

async fn latency() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let queue = Queue::open(&store, QueueConfig::default()).await.unwrap();
    let starts = Arc::new(Mutex::new(Vec::<(u64, Instant)>::new()));
    let seen = starts.clone();
    queue.register("mark", RetryPolicy::default(), move |ctx: JobContext| {
        let n = ctx.payload.as_u64().unwrap();
        seen.lock().unwrap().push((n, Instant::now()));
        async { Ok(Value::Null) }
    });
    queue.start();
    let mut sent = Vec::with_capacity(LATENCY_SAMPLES);
    for n in 0..LATENCY_SAMPLES as u64 {
        sent.push(Instant::now());
        queue.enqueue(JobSpec::new("mark", json!(n))).await.unwrap();
        queue.until_idle().await;
    }
    queue.until_settled().await;
    let mut latencies: Vec<Duration> = starts
        .lock()
        .unwrap()
        .iter()
        .map(|(n, at)| at.duration_since(sent[*n as usize]))
        .collect();
    latencies.sort();
    let pick = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q) as usize];
    println!(
        "latency: enqueue -> handler start over {LATENCY_SAMPLES} jobs: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        pick(0.50).as_secs_f64() * 1e3,
        pick(0.99).as_secs_f64() * 1e3,
        pick(1.0).as_secs_f64() * 1e3,
    );
    queue.shutdown(Duration::from_secs(5)).await;
}

async fn idle_cpu() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let queue = Queue::open(&store, QueueConfig::default()).await.unwrap();
    queue.register("noop", RetryPolicy::default(), noop);
    queue.start();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = cpu_seconds();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let used = cpu_seconds() - before;
    println!(
        "idle CPU: {:.2} % of one core over 3 s with 10 idle workers",
        used / 3.0 * 100.0
    );
    queue.shutdown(Duration::from_secs(5)).await;
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        throughput().await;
        latency().await;
        idle_cpu().await;
    });
}
