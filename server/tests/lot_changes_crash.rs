//! `kill -9` at the worst moment of a bulk edit: each time a marketplace has just carried out
//! a change and holds its answer, brickdesk is killed before hearing it. After the restarts
//! every change is applied exactly once on both marketplaces: each lot is one piece up, and
//! the marketplaces' journals hold each lot's change once.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use common::{PASSWORD, both_stores_connected, client, get, serve, until_ok};
use serde_json::{Value, json};
use server::sim::{Faults, Side};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_edit_killed_while_answers_are_held_applies_each_change_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let http = client();
    let (sim, mut served, csrf) = both_stores_connected(&http, dir.path(), 80).await;
    let mut base = served.base.clone();
    let post = async |base: &str, path: &str, body: Value| -> Value {
        let answer = http
            .post(format!("{base}{path}"))
            .header("x-csrf-token", &csrf)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{path}: {}", answer.status());
        answer.json().await.unwrap()
    };
    let import = post(&base, "/api/inventory/import", json!({})).await;
    let job = import["job_ids"][0].as_u64().unwrap();
    until_ok("the import succeeds", 30, async || {
        get(&http, format!("{base}/api/jobs/{job}")).await["state"] == "succeeded"
    })
    .await;
    let lots = get(&http, format!("{base}/api/inventory?per_page=500")).await;
    let lots = lots["lots"].as_array().unwrap().clone();
    let bricklink_before: BTreeMap<i64, i64> = sim
        .sim
        .edit_bricklink_lots(0, |l| l.iter().map(|(id, l)| (*id, l.quantity)).collect())
        .unwrap();
    let brickowl_before: BTreeMap<i64, i64> = sim
        .sim
        .edit_brickowl_lots(0, |l| l.iter().map(|(id, l)| (*id, l.quantity)).collect())
        .unwrap();

    // Every answer held 400 ms after the marketplace carried out the call.
    let held = Faults {
        hold_answer_ms: 400,
        ..Faults::default()
    };
    sim.sim.set_faults(Side::BrickLink, held.clone());
    sim.sim.set_faults(Side::BrickOwl, held);
    let queued = post(
        &base,
        "/api/inventory/bulk",
        json!({"filter": {}, "operation": {"kind": "add_quantity", "value": 1}, "confirm": true}),
    )
    .await;
    assert_eq!(queued["changes"].as_u64(), Some(lots.len() as u64));

    let mut kills = Vec::new();
    for _ in 0..5 {
        let seen = sim.sim.inventory_writes(0).len();
        until_ok("a change reaches a marketplace", 60, async || {
            sim.sim.inventory_writes(0).len() > seen
        })
        .await;
        // The marketplace holds the answer now: kill before it arrives.
        served.kill();
        kills.push(sim.sim.inventory_writes(0).len());
        served = serve(dir.path(), &sim, &[]);
        base = served.base.clone();
        let login = http
            .post(format!("{base}/api/session"))
            .json(&json!({"login": "anna", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert!(login.status().is_success());
    }
    sim.sim.set_faults(Side::BrickLink, Faults::default());
    sim.sim.set_faults(Side::BrickOwl, Faults::default());
    until_ok("every change is applied", 120, async || {
        let log = get(&http, format!("{base}/api/inventory/changes?per_page=500")).await;
        log["changes"].as_array().is_some_and(|changes| {
            changes.len() == lots.len()
                && changes.iter().all(|c| {
                    c["sides"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .all(|s| s["state"] == "applied")
                })
        })
    })
    .await;

    let journal = sim.sim.inventory_writes(0);
    let bricklink_after = sim
        .sim
        .edit_bricklink_lots(0, |l| {
            l.iter()
                .map(|(id, l)| (*id, l.quantity))
                .collect::<BTreeMap<_, _>>()
        })
        .unwrap();
    let brickowl_after = sim
        .sim
        .edit_brickowl_lots(0, |l| {
            l.iter()
                .map(|(id, l)| (*id, l.quantity))
                .collect::<BTreeMap<_, _>>()
        })
        .unwrap();
    for lot in &lots {
        if let Some(id) = lot["bricklink"]["inventory_id"].as_i64() {
            assert_eq!(
                bricklink_after[&id],
                bricklink_before[&id] + 1,
                "BrickLink {id}"
            );
            let times = journal
                .iter()
                .filter(|w| w.starts_with(&format!("BL PUT {id} ")))
                .count();
            assert_eq!(times, 1, "BrickLink lot {id} changed {times} times");
        }
        if let Some(id) = lot["brickowl"]["lot_id"].as_i64() {
            assert_eq!(
                brickowl_after[&id],
                brickowl_before[&id] + 1,
                "BrickOwl {id}"
            );
            let times = journal
                .iter()
                .filter(|w| w.starts_with(&format!("BO {id} ")))
                .count();
            assert_eq!(times, 1, "BrickOwl lot {id} changed {times} times");
        }
    }
    eprintln!(
        "journal length at each kill: {kills:?} of {}",
        journal.len()
    );
}
