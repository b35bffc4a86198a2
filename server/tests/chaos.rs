//! Chaos: a mixed load against the simulator with faults on — buyers ordering on both
//! marketplaces (pushes), a seller creating lists, adding minifigs to them and changing order
//! statuses, the first import — while brickdesk is killed with `kill -9` at random moments and
//! restarted. Then the invariants: every acknowledged write is there, every minifig's fetch has
//! ended, the orders (and their statuses) are exactly the marketplaces', no job is left waiting
//! or running, no id was handed out twice.
//!
//! Short by default; `BRICKDESK_CHAOS_ROUNDS=40 cargo test -p server --test chaos -- --nocapture`
//! runs a long one. Figures: docs/benchmarks.md.

#![allow(clippy::unwrap_used)]

mod common;

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
    time::{Duration, Instant},
};

use common::{PASSWORD, Served, get, random};
use serde_json::{Value, json};
use server::sim::{Faults, Side, Sim, SimConfig, SimServer};

fn start(data_dir: &Path, sim: &SimServer) -> Served {
    common::serve(
        data_dir,
        sim,
        &[
            ("BRICKDESK_BACKUP_CRON", ""),
            ("BRICKDESK_MARKETPLACE_TIMEOUT_SECONDS", "3"),
        ],
    )
}

/// Points the simulated stores' pushes at this run's webhooks (the port changes per start).
async fn point_pushes(http: &reqwest::Client, base: &str, sim: &SimServer) {
    let connections = get(http, format!("{base}/api/connections")).await;
    let url = |m: &str| {
        connections
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["marketplace"] == m)
            .and_then(|c| c["webhook_url"].as_str().map(str::to_owned))
    };
    sim.sim.set_callbacks(0, url("bricklink"), url("brickowl"));
}

fn faulty() -> Faults {
    Faults {
        unavailable: 0.08,
        rate_limited: 0.04,
        malformed: 0.04,
        drop_pushes: 0.1,
        ..Faults::default()
    }
}

/// Every order of one marketplace brickdesk holds: id → the marketplace's status.
async fn stored(http: &reqwest::Client, base: &str, marketplace: &str) -> BTreeMap<String, String> {
    let mut all = BTreeMap::new();
    for page in 1.. {
        let list = get(
            http,
            format!("{base}/api/orders?marketplace={marketplace}&per_page=500&page={page}"),
        )
        .await;
        let orders = list["orders"].as_array().unwrap();
        all.extend(orders.iter().map(|o| {
            (
                o["order_id"].as_str().unwrap().to_owned(),
                o["marketplace_status"].as_str().unwrap().to_owned(),
            )
        }));
        if orders.len() < 500 {
            break;
        }
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_load_with_faults_and_kills_keeps_every_acknowledged_write() {
    let rounds: usize = std::env::var("BRICKDESK_CHAOS_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(4);
    let began = Instant::now();
    let sim = SimServer::start(
        Sim::new(&SimConfig {
            accounts: 1,
            bricklink_orders: 200,
            brickowl_orders: 80,
            ..SimConfig::default()
        }),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut served = start(dir.path(), &sim);
    let mut base = served.base.clone();
    let setup: Value = http
        .post(format!("{base}/api/setup"))
        .json(&json!({"username": "anna", "email": "anna@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let csrf = setup["csrf_token"].as_str().unwrap().to_owned();
    let keys = sim.sim.keys(0).unwrap();
    for (marketplace, body) in [
        ("bricklink", serde_json::to_value(&keys.bricklink).unwrap()),
        ("brickowl", serde_json::to_value(&keys.brickowl).unwrap()),
    ] {
        let saved = http
            .put(format!("{base}/api/connections/{marketplace}"))
            .header("x-csrf-token", &csrf)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(saved.status(), 202);
    }
    point_pushes(&http, &base, &sim).await;
    sim.sim.set_faults(Side::BrickLink, faulty());
    sim.sim.set_faults(Side::BrickOwl, faulty());

    let (mut lists, mut status_changes, mut placed, mut kills) = (Vec::new(), 0, 0, 0);
    let mut minifigs: Vec<(u64, u64)> = Vec::new();
    for round in 0..rounds {
        let until = Instant::now() + Duration::from_millis(random(200, 900));
        let mut n = 0;
        while Instant::now() < until {
            n += 1;
            // About 40 requests a second: a busy seller and steady buyers, not a flood.
            tokio::time::sleep(Duration::from_millis(25)).await;
            if n % 3 == 0 {
                let side = if n % 2 == 0 {
                    Side::BrickOwl
                } else {
                    Side::BrickLink
                };
                sim.sim.place_order(0, side);
                placed += 1;
            }
            let name = format!("round {round} list {n}");
            let created = http
                .post(format!("{base}/api/minifig-lists"))
                .header("x-csrf-token", &csrf)
                .json(&json!({ "name": name }))
                .send()
                .await;
            // Only what was acknowledged counts; a request cut by the kill may or may not land.
            if let Ok(answer) = created
                && answer.status() == 201
            {
                let list: Value = answer.json().await.unwrap();
                lists.push((list["id"].as_u64().unwrap(), name));
            }
            if n % 7 == 0
                && let Some((list, _)) = lists.last()
            {
                let added = http
                    .post(format!("{base}/api/minifig-lists/{list}/minifigs"))
                    .header("x-csrf-token", &csrf)
                    .json(&json!({ "bricklink_id": "sw0001a" }))
                    .send()
                    .await;
                if let Ok(answer) = added
                    && answer.status() == 202
                {
                    let queued: Value = answer.json().await.unwrap();
                    minifigs.push((*list, queued["minifig"]["id"].as_u64().unwrap()));
                }
            }
            if n % 5 == 0 {
                let first = http
                    .get(format!(
                        "{base}/api/orders?marketplace=bricklink&per_page=1"
                    ))
                    .send()
                    .await;
                let Ok(first) = first else { continue };
                let Ok(first) = first.json::<Value>().await else {
                    continue;
                };
                let Some(id) = first["orders"][0]["order_id"].as_str() else {
                    continue;
                };
                let status = if n % 2 == 0 { "packed" } else { "shipped" };
                let changed = http
                    .put(format!("{base}/api/orders/bricklink/{id}/status"))
                    .header("x-csrf-token", &csrf)
                    .json(&json!({ "status": status }))
                    .send()
                    .await;
                if changed.is_ok_and(|a| a.status() == 202) {
                    status_changes += 1;
                }
            }
        }
        served.kill();
        kills += 1;
        served = start(dir.path(), &sim);
        base = served.base.clone();
        point_pushes(&http, &base, &sim).await;
    }

    // The marketplaces calm down; a sync catches the pushes that went to a dead server.
    sim.sim.set_faults(Side::BrickLink, Faults::default());
    sim.sim.set_faults(Side::BrickOwl, Faults::default());
    let synced = http
        .post(format!("{base}/api/sync"))
        .header("x-csrf-token", &csrf)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(synced.status(), 202);
    let wanted = |side| -> BTreeSet<String> {
        sim.sim
            .orders(0, side)
            .iter()
            .map(|o| o.id.to_string())
            .collect()
    };
    let ids = |orders: &BTreeMap<String, String>| -> BTreeSet<String> {
        orders.keys().cloned().collect()
    };
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let busy = ["ready", "running", "retrying", "scheduled"];
        let mut waiting = 0;
        for state in busy {
            waiting +=
                get(&http, format!("{base}/api/jobs?state={state}&per_page=1")).await["total"]
                    .as_u64()
                    .unwrap();
        }
        let bricklink = stored(&http, &base, "bricklink").await;
        let brickowl = stored(&http, &base, "brickowl").await;
        // (order, the marketplace's status, brickdesk's) where they differ.
        let differ: Vec<(i64, String, Option<String>)> = sim
            .sim
            .orders(0, Side::BrickLink)
            .into_iter()
            .filter(|o| bricklink.get(&o.id.to_string()) != Some(&o.status))
            .map(|o| (o.id, o.status, bricklink.get(&o.id.to_string()).cloned()))
            .collect();
        if waiting == 0
            && ids(&bricklink) == wanted(Side::BrickLink)
            && ids(&brickowl) == wanted(Side::BrickOwl)
            && differ.is_empty()
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not settled: {waiting} jobs waiting or running; {} of {} BrickLink and {} of {} \
             BrickOwl orders; BrickLink statuses that differ (order, marketplace, brickdesk): \
             {differ:?}",
            bricklink.len(),
            wanted(Side::BrickLink).len(),
            brickowl.len(),
            wanted(Side::BrickOwl).len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Every acknowledged list is there under its own id; no id was handed out twice.
    let present = get(&http, format!("{base}/api/minifig-lists")).await;
    let present: Vec<(u64, String)> = present
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["id"].as_u64().unwrap(),
                l["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for acknowledged in &lists {
        assert!(present.contains(acknowledged), "lost: {acknowledged:?}");
    }
    let ids: BTreeSet<u64> = present.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids.len(), present.len(), "a list id twice");
    // Every acknowledged minifig is in its list, and its fetch has ended one way or the other.
    for (list, minifig) in &minifigs {
        let stored = get(
            &http,
            format!("{base}/api/minifig-lists/{list}/minifigs/{minifig}"),
        )
        .await;
        assert_eq!(
            stored["id"].as_u64(),
            Some(*minifig),
            "lost minifig {minifig}"
        );
        assert_ne!(stored["fetch"]["state"], "loading", "{stored}");
    }
    eprintln!(
        "chaos: {rounds} rounds, {kills} kills, {} acknowledged list creates, {} acknowledged \
         minifig adds, {status_changes} acknowledged status changes, {placed} orders placed \
         during the load; {} + {} orders in the end, {:.1} s",
        lists.len(),
        minifigs.len(),
        wanted(Side::BrickLink).len(),
        wanted(Side::BrickOwl).len(),
        began.elapsed().as_secs_f64()
    );
}
