//! `kill -9` at random moments during a burst of 200 sales on both marketplaces with stock
//! sync on: after the restarts (pushes lost while brickdesk is down are caught by a full
//! import of the orders, which sees every order again), every linked lot has lost exactly the
//! pieces sold on either marketplace, on both, and each sale was taken off the other
//! marketplace once.

#![allow(clippy::unwrap_used)]

mod common;

use std::{collections::BTreeMap, time::Duration};

use common::{PASSWORD, Served, both_stores_connected, client, get, random, serve, until_ok};
use serde_json::{Value, json};
use server::sim::{Faults, Side, SimServer};

/// Points the simulator's pushes at `served`'s webhooks (its port changes at each start).
async fn wire_pushes(http: &reqwest::Client, served: &Served, sim: &SimServer) {
    let all = get(http, format!("{}/api/connections", served.base)).await;
    let url = |marketplace: &str| {
        all.as_array()
            .unwrap()
            .iter()
            .find(|c| c["marketplace"] == marketplace)
            .unwrap()["webhook_url"]
            .as_str()
            .map(str::to_owned)
    };
    sim.sim.set_callbacks(0, url("bricklink"), url("brickowl"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_sales_killed_at_random_end_with_every_lot_right_on_both_marketplaces() {
    let dir = tempfile::tempdir().unwrap();
    let http = client();
    let (sim, mut served, mut csrf) = both_stores_connected(&http, dir.path(), 80).await;
    let base = served.base.clone();
    let send =
        async |method: reqwest::Method, base: &str, csrf: &str, path: &str, body: Value| -> Value {
            let answer = http
                .request(method, format!("{base}{path}"))
                .header("x-csrf-token", csrf)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert!(answer.status().is_success(), "{path}: {}", answer.status());
            answer.json().await.unwrap()
        };
    let import = send(
        reqwest::Method::POST,
        &base,
        &csrf,
        "/api/inventory/import",
        json!({}),
    )
    .await;
    let job = import["job_ids"][0].as_u64().unwrap();
    until_ok("the import succeeds", 30, async || {
        get(&http, format!("{base}/api/jobs/{job}")).await["state"] == "succeeded"
    })
    .await;
    send(
        reqwest::Method::PUT,
        &base,
        &csrf,
        "/api/stock-sync",
        json!({"enabled": true, "bricklink_at_zero": "delete"}),
    )
    .await;
    wire_pushes(&http, &served, &sim).await;

    // The linked lots with pieces to spare on both sides, as (BrickLink id, BrickOwl id).
    let lots = get(
        &http,
        format!("{base}/api/inventory?linked=true&per_page=500"),
    )
    .await;
    let linked: Vec<(i64, i64)> = lots["lots"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| {
            l["stockroom"] == false
                && l["bricklink"]["quantity"].as_i64() >= Some(12)
                && l["brickowl"]["quantity"].as_i64() >= Some(12)
        })
        .map(|l| {
            (
                l["bricklink"]["inventory_id"].as_i64().unwrap(),
                l["brickowl"]["lot_id"].as_i64().unwrap(),
            )
        })
        .take(25)
        .collect();
    assert!(linked.len() >= 10, "{} linked lots", linked.len());
    let quantities = |sim: &SimServer| {
        let bricklink: BTreeMap<i64, i64> = sim
            .sim
            .edit_bricklink_lots(0, |l| l.iter().map(|(id, l)| (*id, l.quantity)).collect())
            .unwrap();
        let brickowl: BTreeMap<i64, i64> = sim
            .sim
            .edit_brickowl_lots(0, |l| l.iter().map(|(id, l)| (*id, l.quantity)).collect())
            .unwrap();
        (bricklink, brickowl)
    };
    let (bricklink_before, brickowl_before) = quantities(&sim);

    // Every call slowed down, so kills land with work in flight.
    let slow = Faults {
        latency_ms: 20,
        ..Faults::default()
    };
    sim.sim.set_faults(Side::BrickLink, slow.clone());
    sim.sim.set_faults(Side::BrickOwl, slow);
    let buyers = {
        let sim = sim.sim.clone();
        let linked = linked.clone();
        tokio::spawn(async move {
            let mut sold: BTreeMap<usize, i64> = BTreeMap::new();
            for n in 0..200_usize {
                let at = (n * 7 + n / 3) % linked.len();
                let (bl, owl) = linked[at];
                let (side, lot) = if n % 2 == 0 {
                    (Side::BrickLink, bl)
                } else {
                    (Side::BrickOwl, owl)
                };
                sim.sell(0, side, &[(lot, 1)]).unwrap();
                *sold.entry(at).or_default() += 1;
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            sold
        })
    };
    let mut kills = 0;
    while !buyers.is_finished() {
        tokio::time::sleep(Duration::from_millis(random(300, 1_200))).await;
        served.kill();
        kills += 1;
        served = serve(dir.path(), &sim, &[]);
        let login = http
            .post(format!("{}/api/session", served.base))
            .json(&json!({"login": "anna", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert!(login.status().is_success());
        let session: Value = login.json().await.unwrap();
        csrf = session["csrf_token"].as_str().unwrap().to_owned();
        wire_pushes(&http, &served, &sim).await;
    }
    let sold = buyers.await.unwrap();
    sim.sim.set_faults(Side::BrickLink, Faults::default());
    sim.sim.set_faults(Side::BrickOwl, Faults::default());
    let base = served.base.clone();
    // Orders whose pushes were lost while brickdesk was down: every order is read again.
    send(
        reqwest::Method::POST,
        &base,
        &csrf,
        "/api/sync",
        json!({"full": true}),
    )
    .await;
    until_ok("every sale is taken off the other side", 180, async || {
        let state = get(&http, format!("{base}/api/stock-sync")).await;
        state["propagated_today"] == 200 && state["waiting"] == 0
    })
    .await;

    let state = get(&http, format!("{base}/api/stock-sync")).await;
    let log = get(&http, format!("{base}/api/inventory/changes?per_page=500")).await;
    let refused: Vec<&Value> = log["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c.to_string().contains("\"failed\""))
        .collect();
    assert_eq!(state["failed"], 0, "{state}: {refused:?}");
    assert_eq!(state["oversold"], json!([]), "{state}");
    let (bricklink_after, brickowl_after) = quantities(&sim);
    let journal = sim.sim.inventory_writes(0);
    for (at, (bl, owl)) in linked.iter().enumerate() {
        let pieces = sold.get(&at).copied().unwrap_or(0);
        assert_eq!(
            bricklink_after[bl],
            bricklink_before[bl] - pieces,
            "BrickLink lot {bl} after {pieces} sales"
        );
        assert_eq!(
            brickowl_after[owl],
            brickowl_before[owl] - pieces,
            "BrickOwl lot {owl} after {pieces} sales"
        );
        let bricklink_sales = journal
            .iter()
            .filter(|w| w.starts_with(&format!("BL SOLD {bl} ")))
            .count();
        let taken_on_bricklink = journal
            .iter()
            .filter(|w| w.starts_with(&format!("BL PUT {bl} ")))
            .count();
        assert_eq!(
            bricklink_sales + taken_on_bricklink,
            usize::try_from(pieces).unwrap(),
            "BrickLink lot {bl}"
        );
    }
    eprintln!("{kills} kills during the burst");
}
