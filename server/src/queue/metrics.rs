//! The queue's Prometheus series: job counts by queue and state, queue lag, and per kind the
//! enqueued / succeeded / failed / retried totals and a run-time histogram. Counters and the
//! histogram move as jobs do; counts and lag are read from the queue at scrape time.

use std::sync::Mutex;

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueStateLabel {
    pub queue: String,
    pub state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabel {
    pub queue: String,
}

fn run_time_histogram() -> Histogram {
    // 1 ms to ~33 min.
    Histogram::new(exponential_buckets(0.001, 2.0, 22))
}

/// The series, registered once.
pub struct QueueMetrics {
    registry: Mutex<Registry>,
    pub enqueued: Family<KindLabel, Counter>,
    pub succeeded: Family<KindLabel, Counter>,
    pub failed: Family<KindLabel, Counter>,
    pub retried: Family<KindLabel, Counter>,
    pub run_seconds: Family<KindLabel, Histogram, fn() -> Histogram>,
    pub jobs: Family<QueueStateLabel, Gauge>,
    pub lag_seconds: Family<QueueLabel, Gauge<f64, std::sync::atomic::AtomicU64>>,
}

impl Default for QueueMetrics {
    fn default() -> Self {
        let metrics = Self {
            registry: Mutex::new(Registry::with_prefix("brickdesk_jobs")),
            enqueued: Family::default(),
            succeeded: Family::default(),
            failed: Family::default(),
            retried: Family::default(),
            run_seconds: Family::new_with_constructor(run_time_histogram),
            jobs: Family::default(),
            lag_seconds: Family::default(),
        };
        {
            let mut registry = super::lock(&metrics.registry);
            registry.register(
                "enqueued",
                "Jobs enqueued (merges excluded)",
                metrics.enqueued.clone(),
            );
            registry.register(
                "succeeded",
                "Jobs that succeeded",
                metrics.succeeded.clone(),
            );
            registry.register(
                "failed",
                "Jobs that failed for good (dead)",
                metrics.failed.clone(),
            );
            registry.register(
                "retried",
                "Failed attempts that will be retried",
                metrics.retried.clone(),
            );
            registry.register(
                "run_seconds",
                "Run time of one attempt",
                metrics.run_seconds.clone(),
            );
            registry.register("count", "Jobs by queue and state", metrics.jobs.clone());
            registry.register(
                "queue_lag_seconds",
                "How long the oldest ready job has waited for a worker",
                metrics.lag_seconds.clone(),
            );
        }
        metrics
    }
}

impl QueueMetrics {
    /// The series in Prometheus text (OpenMetrics) format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let registry = super::lock(&self.registry);
        if prometheus_client::encoding::text::encode(&mut out, &registry).is_err() {
            out.clear();
        }
        out
    }

    /// Counts `kind` in `family`.
    pub fn inc(family: &Family<KindLabel, Counter>, kind: &str) {
        family
            .get_or_create(&KindLabel {
                kind: kind.to_owned(),
            })
            .inc();
    }
}
