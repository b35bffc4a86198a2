//! effectum running 50,000 no-op jobs from 64 producers, and enqueue→start latency over 2,000
//! jobs, mirroring `server/benches/queue.rs`.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use effectum::{Job, JobRunner, Queue, RunningJob, Worker};

const JOBS: u64 = 50_000;
const PRODUCERS: u64 = 64;
const LATENCY_SAMPLES: usize = 2_000;

#[derive(Debug, Default)]
struct Context {
    done: AtomicU64,
    starts: Mutex<Vec<(u64, Instant)>>,
}

async fn noop(_job: RunningJob, context: Arc<Context>) -> Result<(), effectum::Error> {
    context.done.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

async fn mark(job: RunningJob, context: Arc<Context>) -> Result<(), effectum::Error> {
    let n: u64 = job.json_payload()?;
    context.starts.lock().expect("lock").push((n, Instant::now()));
    context.done.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

async fn wait_for(context: &Context, count: u64) {
    while context.done.load(Ordering::Relaxed) < count {
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

#[tokio::main]
async fn main() -> Result<(), effectum::Error> {
    let dir = tempfile::tempdir().expect("tempdir");
    let queue = Arc::new(Queue::new(&dir.path().join("throughput.db")).await?);
    let context = Arc::new(Context::default());
    let _worker = Worker::builder(&queue, context.clone())
        .max_concurrency(10)
        .jobs([JobRunner::builder("noop", noop).build()])
        .build()
        .await?;
    let started = Instant::now();
    let mut producers = tokio::task::JoinSet::new();
    for lane in 0..PRODUCERS {
        let queue = queue.clone();
        producers.spawn(async move {
            let mut n = lane;
            while n < JOBS {
                Job::builder("noop").json_payload(&n)?.add_to(&queue).await?;
                n += PRODUCERS;
            }
            Ok::<_, effectum::Error>(())
        });
    }
    for result in producers.join_all().await {
        result?;
    }
    let enqueued = started.elapsed();
    wait_for(&context, JOBS).await;
    let elapsed = started.elapsed();
    println!(
        "effectum throughput: {JOBS} no-op jobs in {:.2} s = {:.0} jobs/s end to end \
         (enqueue alone {:.0}/s; {PRODUCERS} producers, 10 workers)",
        elapsed.as_secs_f64(),
        JOBS as f64 / elapsed.as_secs_f64(),
        JOBS as f64 / enqueued.as_secs_f64(),
    );

    let queue = Queue::new(&dir.path().join("latency.db")).await?;
    let context = Arc::new(Context::default());
    let _worker = Worker::builder(&queue, context.clone())
        .max_concurrency(10)
        .jobs([JobRunner::builder("mark", mark).build()])
        .build()
        .await?;
    let mut sent = Vec::with_capacity(LATENCY_SAMPLES);
    for n in 0..LATENCY_SAMPLES as u64 {
        sent.push(Instant::now());
        Job::builder("mark").json_payload(&n)?.add_to(&queue).await?;
        wait_for(&context, n + 1).await;
    }
    let mut latencies: Vec<Duration> = context
        .starts
        .lock()
        .expect("lock")
        .iter()
        .map(|(n, at)| at.duration_since(sent[*n as usize]))
        .collect();
    latencies.sort();
    let pick = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q) as usize];
    println!(
        "effectum latency: enqueue -> handler start over {LATENCY_SAMPLES} jobs: p50 {:.3} ms, p99 {:.3} ms",
        pick(0.50).as_secs_f64() * 1e3,
        pick(0.99).as_secs_f64() * 1e3,
    );
    Ok(())
}
