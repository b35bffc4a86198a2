//! Minifig benchmark (docs/benchmarks.md): `cargo bench -p server --bench minifigs`.
//!
//! A 10-part minifig (`col0001`) from the simulator with 50 ms latency on every BrickLink
//! call: the `fetch_minifig` job (parts, pictures and price guides concurrently, nothing
//! cached) against the same calls made one after another, as the original app did. Both are
//! reported against a single call's latency. The job runs at brickdesk's BrickLink limit of 4
//! calls in flight (BrickLink answers 503 when hammered) and, to show where the time goes,
//! with that limit raised to 32.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use app::{Condition, FetchState, UserId};
use server::{
    jobs::{
        self,
        fetch_minifig::{self, FetchMinifig},
    },
    marketplace::{
        Endpoints, Marketplaces,
        bricklink::GuideType,
        guard::{Guard, Limits, Priority},
    },
    queue::{Queue, QueueConfig},
    services::Services,
    sim::{Faults, Side, Sim, SimConfig, SimServer},
    store::{Store, minifigs::NewMinifig},
};
use time::OffsetDateTime;

const LATENCY_MS: u64 = 50;
const RUNS: usize = 5;
const MINIFIG: &str = "col0001";

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn markets(sim: &SimServer, in_flight: usize) -> Marketplaces {
    Marketplaces::new(
        Endpoints {
            bricklink: sim.bricklink_url().parse().unwrap(),
            brickowl: sim.brickowl_url().parse().unwrap(),
            timeout: Duration::from_secs(10),
        },
        Guard::new(
            Limits {
                bricklink_in_flight: in_flight,
                ..Limits::default()
            },
            None,
        ),
    )
    .unwrap()
}

/// One run of the job on a fresh store (nothing cached): the time from queueing to ready.
async fn job_run(sim: &SimServer, in_flight: usize) -> (Duration, usize, u64) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let queue = Queue::open(&store, QueueConfig::default()).await.unwrap();
    let services = Services::new(
        store.clone(),
        queue.clone(),
        markets(sim, in_flight),
        Arc::from("http://127.0.0.1"),
    );
    jobs::register_all(&queue, &services);
    queue.start();
    let user = UserId(1);
    let keys = sim.sim.keys(0).unwrap();
    store
        .connections()
        .save_keys(
            user,
            app::Marketplace::BrickLink,
            &keys.bricklink,
            OffsetDateTime::now_utc(),
        )
        .unwrap();
    let minifigs = store.minifigs();
    let list = minifigs.create_list(user, "bench".into(), None).unwrap();
    let minifig = minifigs
        .add_minifig(
            user,
            list.id,
            NewMinifig {
                bricklink_id: MINIFIG.into(),
                condition: Condition::New,
                reference_id: None,
                notes: None,
            },
        )
        .unwrap()
        .unwrap();
    sim.sim.reset_stats();
    let started = Instant::now();
    jobs::enqueue::<FetchMinifig>(
        &queue,
        &fetch_minifig::Input {
            user,
            no: MINIFIG.into(),
            target: Some((list.id, minifig.id)),
        },
    )
    .await
    .unwrap();
    loop {
        let now = minifigs
            .minifig(user, list.id, minifig.id)
            .unwrap()
            .unwrap();
        match now.fetch {
            FetchState::Ready => break,
            FetchState::Failed { message } => panic!("fetch failed: {message}"),
            FetchState::Loading { .. } => tokio::time::sleep(Duration::from_millis(1)).await,
        }
    }
    let took = started.elapsed();
    let stats = sim.sim.stats().bricklink;
    queue.shutdown(Duration::from_secs(5)).await;
    (took, stats.max_in_flight, stats.total)
}

/// The same calls, one after another.
async fn one_by_one(sim: &SimServer) -> Duration {
    let markets = markets(sim, 4);
    let keys = sim.sim.keys(0).unwrap();
    let client = markets.bricklink(UserId(1), keys.bricklink.into());
    let p = Priority::Interactive;
    let started = Instant::now();
    let item = client.item("MINIFIG", MINIFIG, p).await.unwrap();
    let mut wanted = vec![("MINIFIG".to_owned(), item.no.clone(), 0)];
    for group in client.subsets("MINIFIG", MINIFIG, p).await.unwrap() {
        for entry in group.entries {
            wanted.push((entry.item.kind, entry.item.no, entry.color_id));
        }
    }
    for (kind, no, color) in wanted {
        let image = client.image(&kind, &no, color, p).await.unwrap();
        markets.download(&image.thumbnail_url).await.unwrap();
        for condition in ["N", "U"] {
            client
                .price_guide(&kind, &no, color, GuideType::Sold, condition, p)
                .await
                .unwrap();
        }
    }
    started.elapsed()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let sim = SimServer::start(
        Sim::new(&SimConfig {
            bricklink_orders: 0,
            brickowl_orders: 0,
            ..SimConfig::default()
        }),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    sim.sim.set_faults(
        Side::BrickLink,
        Faults {
            latency_ms: LATENCY_MS,
            ..Faults::default()
        },
    );

    let markets = markets(&sim, 4);
    let client = markets.bricklink(UserId(1), sim.sim.keys(0).unwrap().bricklink.into());
    let mut single: Vec<Duration> = Vec::new();
    for _ in 0..10 {
        let started = Instant::now();
        client
            .item("PART", "3626bpb0001", Priority::Interactive)
            .await
            .unwrap();
        single.push(started.elapsed());
    }
    let single = median(&mut single);

    let mut sequential = Vec::new();
    for _ in 0..RUNS {
        sequential.push(one_by_one(&sim).await);
    }
    let sequential = median(&mut sequential);

    println!(
        "minifig fetch, {MINIFIG} (10 parts), {LATENCY_MS} ms upstream latency, {RUNS} runs each"
    );
    println!("  one call:                      {}", ms(single));
    println!(
        "  one by one (original app):     {}  = {:.1}x a call",
        ms(sequential),
        sequential.as_secs_f64() / single.as_secs_f64()
    );
    for in_flight in [4, 32] {
        let mut runs = Vec::new();
        let (mut peak, mut calls) = (0, 0);
        for _ in 0..RUNS {
            let (took, max, made) = job_run(&sim, in_flight).await;
            runs.push(took);
            peak = peak.max(max);
            calls = made;
        }
        let took = median(&mut runs);
        println!(
            "  fetch_minifig, limit {in_flight:>2} in flight: {}  = {:.1}x a call, {:.1}x faster than one by one (peak {peak} in flight, {calls} BrickLink calls)",
            ms(took),
            took.as_secs_f64() / single.as_secs_f64(),
            sequential.as_secs_f64() / took.as_secs_f64()
        );
    }
}
