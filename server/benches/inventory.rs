//! Inventory benchmark (docs/benchmarks.md): `cargo bench -p server --bench inventory`.
//!
//! The release binary against the simulator holding `BRICKDESK_BENCH_LOTS` BrickLink lots
//! (default 50,000; BrickOwl lists most of them again): the import of both stores (time, peak
//! RSS, calls), the inventory list over HTTP (p50/p95 of typical queries), and a bulk price
//! change of 5,000 lots (calls used, time until every change is applied on both marketplaces),
//! and stock sync: sales pushed with 200 ms latency (push -> the other marketplace updated,
//! p50/p95) and a reconcile of the whole store (time, calls, peak RSS).
//! BrickLink's daily call budget is raised for the run, so the figures show brickdesk's own
//! time; the calls are reported against the real budget.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod common;

use std::{
    process::Child,
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use server::sim::{Faults, Side, Sim, SimConfig, SimServer};

const BULK_LOTS: usize = 5_000;

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn memory(child: &Child, field: &str) -> String {
    common::status_field(child.id(), field)
}

struct Api {
    http: reqwest::Client,
    base: String,
    csrf: String,
}

impl Api {
    async fn get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: &Value) -> Value {
        let answer = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("x-csrf-token", &self.csrf)
            .json(body)
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{path}: {}", answer.status());
        answer.json().await.unwrap()
    }

    /// Waits until no job is waiting or running.
    async fn settled(&self) {
        loop {
            let ready = self.get("/api/jobs?state=ready&per_page=1").await["total"].as_u64();
            let running = self.get("/api/jobs?state=running&per_page=1").await["total"].as_u64();
            if ready == Some(0) && running == Some(0) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let lots: usize = std::env::var("BRICKDESK_BENCH_LOTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(50_000);
    let sim = SimServer::start(
        Sim::new(&SimConfig {
            accounts: 1,
            bricklink_orders: 0,
            brickowl_orders: 0,
            lots,
            ..SimConfig::default()
        }),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let owl_lots = sim.sim.edit_brickowl_lots(0, |l| l.len()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (mut child, base) = common::serve(
        &common::binary(),
        dir.path(),
        &[
            ("BRICKDESK_BRICKLINK_DAILY_CALLS", "1000000"),
            ("BRICKDESK_BRICKLINK_BASE_URL", &sim.bricklink_url()),
            ("BRICKDESK_BRICKOWL_BASE_URL", &sim.brickowl_url()),
        ],
    );
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let setup: Value = http
        .post(format!("{base}/api/setup"))
        .json(&json!({"username": "anna", "email": "anna@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let api = Api {
        http,
        base,
        csrf: setup["csrf_token"].as_str().unwrap().to_owned(),
    };
    let keys = sim.sim.keys(0).unwrap();
    for (marketplace, body) in [
        ("bricklink", serde_json::to_value(&keys.bricklink).unwrap()),
        ("brickowl", serde_json::to_value(&keys.brickowl).unwrap()),
    ] {
        api.send(
            reqwest::Method::PUT,
            &format!("/api/connections/{marketplace}"),
            &body,
        )
        .await;
    }
    api.settled().await;
    let idle = memory(&child, "VmRSS:");

    // The import of both stores.
    sim.sim.reset_stats();
    let started = Instant::now();
    let queued = api
        .send(reqwest::Method::POST, "/api/inventory/import", &json!({}))
        .await;
    let job = queued["job_ids"][0].as_u64().unwrap();
    loop {
        let view = api.get(&format!("/api/jobs/{job}")).await;
        match view["state"].as_str() {
            Some("succeeded") => break,
            Some("dead" | "cancelled") => panic!("the import failed: {view}"),
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    let took = started.elapsed();
    let stats = sim.sim.stats();
    let total = api.get("/api/inventory?per_page=1").await["total"].clone();
    println!(
        "import of {lots} BrickLink + {owl_lots} BrickOwl lots ({total} brickdesk lots): {:.1} s, \
         {} BrickLink + {} BrickOwl calls, peak RSS {} (idle before {idle}), RSS after {}",
        took.as_secs_f64(),
        stats.bricklink.total,
        stats.brickowl.total,
        memory(&child, "VmHWM:"),
        memory(&child, "VmRSS:"),
    );

    // The list, as the page asks for it.
    let queries = [
        ("first page, by location", "per_page=100"),
        ("page 200", "per_page=100&page=200"),
        ("search \"brick\"", "q=brick&per_page=100"),
        ("search a location", "q=B-07&per_page=100"),
        ("minifigures", "type=MINIFIG&per_page=100"),
        ("highest price", "sort=price&order=desc&per_page=100"),
        ("BrickOwl only", "linked=false&per_page=100"),
    ];
    for (name, query) in queries {
        let mut times = Vec::new();
        for _ in 0..40 {
            let started = Instant::now();
            let list = api.get(&format!("/api/inventory?{query}")).await;
            times.push(started.elapsed());
            assert!(list["total"].is_u64());
        }
        times.sort();
        println!(
            "list {name}: p50 {}, p95 {}",
            ms(times[times.len() / 2]),
            ms(times[times.len() * 95 / 100])
        );
    }
    println!("RSS after the lists: {}", memory(&child, "VmRSS:"));

    // A bulk price change of 5,000 lots.
    let mut ids = Vec::new();
    for page in 1..=BULK_LOTS.div_ceil(500) {
        let list = api
            .get(&format!("/api/inventory?per_page=500&page={page}"))
            .await;
        ids.extend(
            list["lots"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["id"].clone()),
        );
    }
    ids.truncate(BULK_LOTS);
    sim.sim.reset_stats();
    let started = Instant::now();
    let answer = api
        .send(
            reqwest::Method::POST,
            "/api/inventory/bulk",
            &json!({"ids": ids, "operation": {"kind": "percent_price", "value": 5}, "confirm": true}),
        )
        .await;
    let saved = started.elapsed();
    assert_eq!(
        answer["changes"].as_u64(),
        Some(BULK_LOTS as u64),
        "{answer}"
    );
    api.settled().await;
    let applied = started.elapsed();
    let stats = sim.sim.stats();
    let log = api.get("/api/inventory/changes?per_page=1").await;
    println!(
        "bulk price change of {BULK_LOTS} lots: saved and queued in {}, applied on both \
         marketplaces in {:.1} s; {} BrickLink calls (PUT /inventories/{{id}}: {}), {} BrickOwl \
         calls (bulk/batch: {}); {} changes logged; peak RSS {}",
        ms(saved),
        applied.as_secs_f64(),
        stats.bricklink.total,
        stats
            .bricklink
            .calls
            .get("PUT /inventories/{id}")
            .copied()
            .unwrap_or(0),
        stats.brickowl.total,
        stats
            .brickowl
            .calls
            .get("POST /bulk/batch")
            .copied()
            .unwrap_or(0),
        log["total"],
        memory(&child, "VmHWM:"),
    );

    stock_sync(&sim, &api, &child).await;
    let _ = child.kill();
    let _ = child.wait();
}

/// Stock sync: sales pushed with 200 ms on every marketplace call (push -> the other
/// marketplace's lot lowered, p50/p95), then a reconcile of the whole store after 500 lots
/// were recounted on BrickLink's site (time, calls, peak RSS).
async fn stock_sync(sim: &SimServer, api: &Api, child: &Child) {
    api.send(
        reqwest::Method::PUT,
        "/api/stock-sync",
        &json!({"enabled": true, "bricklink_at_zero": "delete", "max_removed_percent": 100}),
    )
    .await;
    let connections = api.get("/api/connections").await;
    let hook = |marketplace: &str| {
        connections
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["marketplace"] == marketplace)
            .and_then(|c| c["webhook_url"].as_str())
            .map(str::to_owned)
    };
    sim.sim
        .set_callbacks(0, hook("bricklink"), hook("brickowl"));
    let linked = api.get("/api/inventory?linked=true&per_page=100").await;
    let pairs: Vec<(i64, i64)> = linked["lots"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| {
            l["stockroom"] == false
                && l["bricklink"]["quantity"].as_i64() >= Some(3)
                && l["brickowl"]["quantity"].as_i64() >= Some(3)
        })
        .map(|l| {
            (
                l["bricklink"]["inventory_id"].as_i64().unwrap(),
                l["brickowl"]["lot_id"].as_i64().unwrap(),
            )
        })
        .take(20)
        .collect();
    let slow = Faults {
        latency_ms: 200,
        ..Faults::default()
    };
    sim.sim.set_faults(Side::BrickLink, slow.clone());
    sim.sim.set_faults(Side::BrickOwl, slow);
    let mut times = Vec::new();
    for (n, (bl, owl)) in pairs.iter().enumerate() {
        let (side, sold, other) = if n % 2 == 0 {
            (Side::BrickLink, *bl, *owl)
        } else {
            (Side::BrickOwl, *owl, *bl)
        };
        let held = |id: i64| match side {
            Side::BrickLink => sim.sim.edit_brickowl_lots(0, |l| l[&id].quantity),
            Side::BrickOwl => sim.sim.edit_bricklink_lots(0, |l| l[&id].quantity),
        };
        let before = held(other).unwrap();
        let started = Instant::now();
        sim.sim.sell(0, side, &[(sold, 1)]).unwrap();
        while held(other) != Some(before - 1) {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "sale {n} never arrived"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        times.push(started.elapsed());
    }
    sim.sim.set_faults(Side::BrickLink, Faults::default());
    sim.sim.set_faults(Side::BrickOwl, Faults::default());
    times.sort();
    println!(
        "stock sync, {} sales pushed with 200 ms on every marketplace call: push -> the other \
         marketplace's lot lowered p50 {}, p95 {}",
        times.len(),
        ms(times[times.len() / 2]),
        ms(times[times.len() * 95 / 100])
    );
    api.settled().await;

    // 500 lots recounted on BrickLink's own site, then a reconcile.
    let recounted: Vec<i64> = sim
        .sim
        .edit_bricklink_lots(0, |lots| {
            lots.values_mut()
                .filter(|l| !l.stockroom)
                .take(500)
                .map(|l| {
                    l.quantity += 2;
                    l.id
                })
                .collect()
        })
        .unwrap();
    sim.sim.reset_stats();
    let started = Instant::now();
    let queued = api
        .send(
            reqwest::Method::POST,
            "/api/stock-sync/reconcile",
            &json!({}),
        )
        .await;
    let job = queued["job_ids"][0].as_u64().unwrap();
    let view = loop {
        let view = api.get(&format!("/api/jobs/{job}")).await;
        match view["state"].as_str() {
            Some("succeeded") => break view,
            Some("dead" | "cancelled") => panic!("the reconcile failed: {view}"),
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    };
    let compared = started.elapsed();
    api.settled().await;
    let applied = started.elapsed();
    let stats = sim.sim.stats();
    println!(
        "reconcile after {} lots recounted on BrickLink: read and compared in {:.1} s, changes \
         applied in {:.1} s; {} BrickLink calls, {} BrickOwl calls ({} bulk/batch); summary {}; \
         peak RSS {}",
        recounted.len(),
        compared.as_secs_f64(),
        applied.as_secs_f64(),
        stats.bricklink.total,
        stats.brickowl.total,
        stats
            .brickowl
            .calls
            .get("POST /bulk/batch")
            .copied()
            .unwrap_or(0),
        view["result"]["reconcile"],
        memory(child, "VmHWM:"),
    );
}
