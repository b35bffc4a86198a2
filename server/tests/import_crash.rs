//! `kill -9` at random moments during a first import of 2,000 orders: after each restart the
//! import carries on from its durable chunk jobs, and at the end brickdesk holds exactly the
//! simulator's orders, none twice.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{client, get, random as random_millis, save_keys, serve, set_up_anna};
use server::sim::{Side, Sim, SimConfig, SimServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_killed_at_random_moments_ends_with_exactly_the_marketplaces_orders() {
    let sim = SimServer::start(
        Sim::new(&SimConfig {
            accounts: 1,
            bricklink_orders: 2_000,
            brickowl_orders: 0,
            ..SimConfig::default()
        }),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let http = client();
    let mut served = serve(dir.path(), &sim, &[]);
    let mut base = served.base.clone();
    let csrf = set_up_anna(&http, &base).await;
    save_keys(&http, &base, &csrf, &sim, "bricklink").await;

    let mut seen = Vec::new();
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(random_millis(150, 900))).await;
        let total = get(&http, format!("{base}/api/orders?per_page=1")).await["total"].clone();
        seen.push(total);
        served.kill();
        served = serve(dir.path(), &sim, &[]);
        base = served.base.clone();
    }
    let expected = sim.sim.orders(0, Side::BrickLink).len();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let orders = get(&http, format!("{base}/api/orders?per_page=1")).await;
        let waiting =
            get(&http, format!("{base}/api/jobs?state=ready&per_page=1")).await["total"].as_u64();
        let running =
            get(&http, format!("{base}/api/jobs?state=running&per_page=1")).await["total"].as_u64();
        if orders["total"].as_u64() == Some(expected as u64)
            && waiting == Some(0)
            && running == Some(0)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "stuck at {orders} after kills at {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut ids = Vec::new();
    for page in 1..=expected.div_ceil(500) {
        let list = get(&http, format!("{base}/api/orders?per_page=500&page={page}")).await;
        ids.extend(
            list["orders"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["order_id"].as_str().unwrap().to_owned()),
        );
    }
    let unique: std::collections::BTreeSet<_> = ids.iter().cloned().collect();
    assert_eq!(ids.len(), unique.len(), "no order twice");
    let wanted: std::collections::BTreeSet<String> = sim
        .sim
        .orders(0, Side::BrickLink)
        .iter()
        .map(|o| o.id.to_string())
        .collect();
    assert_eq!(unique, wanted, "exactly the marketplace's orders");

    // Each part's activity entry: the orders it stored, and apart those a run cut off by a
    // kill stored before it, so together they account for every order.
    served.kill();
    let store = server::store::Store::open(dir.path()).unwrap();
    let anna = store.users().list().unwrap()[0].id;
    let (mut stored, mut up_to_date) = (0, 0);
    for entry in store.activity().recent(anna, 10_000).unwrap() {
        let Some(counts) = entry.text.strip_prefix("BrickLink import: ") else {
            continue;
        };
        let number = |text: &str| text.split(' ').next().unwrap().parse::<usize>().unwrap();
        let (new, before) = counts.split_once(", ").unzip();
        stored += number(new.unwrap_or(counts));
        up_to_date += before.map_or(0, number);
    }
    assert!(stored <= expected, "no order reported twice: {stored}");
    assert!(
        stored + up_to_date >= expected,
        "every order reported: {stored} stored, {up_to_date} already up to date"
    );
    eprintln!("orders stored when killed: {seen:?}");
}
