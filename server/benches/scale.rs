//! A large store (docs/benchmarks.md): `cargo bench -p server --bench scale`, with
//! `BRICKDESK_BENCH_ORDERS=1000000` for a million (default 100,000); `BRICKDESK_BENCH_BIN`
//! measures another build of the binary; `BRICKDESK_BENCH_LINES=20` gives every order 20
//! lines (default 1–12).
//!
//! Builds the store straight through the store API (four users, orders spread over the last
//! two years, 1–12 lines each, buyers who come back), then measures:
//! 1. in this process: the orders list and search p50/p95 and the dashboard statistics p95;
//! 2. `brickdesk serve` (the release binary) on that store: time to listening and to ready,
//!    idle RSS, and RSS under a mixed load (list pages, searches, the dashboard, from four
//!    sessions at once) against the same server on an empty store;
//! 3. `brickdesk backup` of the store: time and size.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod common;

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use app::{
    Marketplace, Money, OrderDetail, OrderLine, OrderSort, OrderStatus, OrderSummary, Shipment,
    UserId,
    validate::{Email, Username},
};
use serde_json::{Value, json};
use server::{
    auth::password,
    store::{NewUser, OrderFilter, Store, users::Creation},
};
use time::OffsetDateTime;

const PASSWORD: &str = "correct horse battery";
const USERS: [&str; 4] = ["anna", "bob", "carol", "dave"];

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Lines in every order when `BRICKDESK_BENCH_LINES` is set (the import benchmark's orders
/// have 20); otherwise 1–12.
fn fixed_lines() -> Option<u64> {
    static LINES: std::sync::LazyLock<Option<u64>> = std::sync::LazyLock::new(|| {
        std::env::var("BRICKDESK_BENCH_LINES")
            .ok()
            .and_then(|n| n.parse().ok())
    });
    *LINES
}

/// Order `i` of a shop: deterministic, varied like a real one.
fn order(i: u64) -> OrderDetail {
    const NAMES: [&str; 8] = [
        "Brick 2 x 4",
        "Plate 1 x 2",
        "Tile 2 x 2",
        "Slope 45 2 x 1",
        "Minifigure, Head",
        "Technic Pin",
        "Round Brick 1 x 1",
        "Wedge Plate 3 x 2",
    ];
    let mix = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let at = OffsetDateTime::now_utc() - time::Duration::minutes((i % 1_051_200) as i64);
    let lines = fixed_lines().unwrap_or(1 + (mix % 12));
    OrderDetail {
        summary: OrderSummary {
            marketplace: if i.is_multiple_of(3) {
                Marketplace::BrickOwl
            } else {
                Marketplace::BrickLink
            },
            order_id: (10_000_000 + i).to_string(),
            ordered_at: at,
            changed_at: at,
            status: OrderStatus::ALL[(mix % 11) as usize],
            marketplace_status: "COMPLETED".into(),
            buyer: format!("buyer{}", mix % 40_000),
            total: Money((mix % 20_000) as i64 * 100),
            currency: if mix.is_multiple_of(5) { "EUR" } else { "USD" }.into(),
            items: (lines * 3) as i64,
            lots: lines as i64,
            filed: false,
        },
        buyer_email: Some(format!("buyer{}@example.com", mix % 40_000)),
        shipment: Shipment::default(),
        subtotal: Money(0),
        shipping_cost: Money(0),
        remarks: None,
        lines: (0..lines)
            .map(|n| {
                let part = (mix >> 8).wrapping_add(n * 7919) % 5_000;
                OrderLine {
                    item_type: "PART".into(),
                    item_no: format!("{}", 3000 + part),
                    name: NAMES[(part % 8) as usize].into(),
                    color_id: (part % 90) as i64,
                    color_name: Some("Black".into()),
                    quantity: 3,
                    new: true,
                    unit_price: Money(500),
                    remarks: None,
                    batch: 1,
                    image: None,
                    lot: None,
                }
            })
            .collect(),
        synced_at: at,
        store_id: None,
        tax: None,
    }
}

fn build(dir: &Path, count: u64) {
    let store = Store::open(dir).unwrap();
    let hash = password::hash_blocking(PASSWORD).unwrap();
    let users: Vec<UserId> = USERS
        .iter()
        .enumerate()
        .map(|(n, name)| {
            let new = NewUser {
                username: Username::parse(name).unwrap(),
                email: Email::parse(&format!("{name}@example.com")).unwrap(),
                is_admin: n == 0,
                password_hash: hash.clone(),
            };
            let creation = if n == 0 {
                Creation::FirstOnly
            } else {
                Creation::Any
            };
            store.users().create(new, creation).unwrap().id
        })
        .collect();
    let started = Instant::now();
    for i in 0..count {
        let user = users[(i % users.len() as u64) as usize];
        store.orders().upsert(user, &order(i)).unwrap();
    }
    store.flush_blocking().unwrap();
    println!(
        "stored {count} orders for {} users in {:.1} s",
        users.len(),
        started.elapsed().as_secs_f64()
    );
}

fn in_process(dir: &Path, user: UserId) {
    let started = Instant::now();
    let store = Store::open(dir).unwrap();
    println!(
        "Store::open with the index: {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let lists = [
        (
            "needs action, newest first",
            OrderFilter {
                statuses: vec![OrderStatus::New, OrderStatus::Paid, OrderStatus::Packed],
                descending: true,
                ..OrderFilter::default()
            },
        ),
        (
            "by highest total",
            OrderFilter {
                sort: OrderSort::Total,
                descending: true,
                ..OrderFilter::default()
            },
        ),
        (
            "search a buyer",
            OrderFilter {
                query: Some("buyer1234".into()),
                ..OrderFilter::default()
            },
        ),
    ];
    for (name, mut filter) in lists {
        filter.per_page = 50;
        let mut samples: Vec<Duration> = (0..60)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(store.orders().list(user, &filter));
                t.elapsed()
            })
            .collect();
        println!(
            "list, {name}: p50 {} p95 {}",
            ms(percentile(&mut samples, 0.5)),
            ms(percentile(&mut samples, 0.95))
        );
    }
    for query in ["buyer1234", "3017", "wedge plate"] {
        let mut samples: Vec<Duration> = (0..60)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(store.orders().search(user, query, 5));
                t.elapsed()
            })
            .collect();
        println!(
            "search {query:?}: p50 {} p95 {}",
            ms(percentile(&mut samples, 0.5)),
            ms(percentile(&mut samples, 0.95))
        );
    }
    let mut samples: Vec<Duration> = (0..30)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(store.orders().stats(user, OffsetDateTime::now_utc(), 10));
            t.elapsed()
        })
        .collect();
    println!(
        "dashboard statistics: p50 {} p95 {}",
        ms(percentile(&mut samples, 0.5)),
        ms(percentile(&mut samples, 0.95))
    );
}

fn rss_kib(child: &Child, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{}/status", child.id()))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Starts `brickdesk serve` on `dir`: the child, its address, seconds to listening and ready.
async fn serve(dir: &Path) -> (Child, String, f64, f64) {
    let started = Instant::now();
    let (child, base) = common::serve(
        &common::binary(),
        dir,
        &[
            ("BRICKDESK_BACKUP_CRON", ""),
            ("BRICKDESK_SEARCH_REFRESH_CRON", ""),
        ],
    );
    let listening = started.elapsed().as_secs_f64();
    loop {
        let ready = reqwest::get(format!("{base}/readyz")).await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (child, base, listening, started.elapsed().as_secs_f64())
}

/// Four sessions at once, each: list pages, searches and the dashboard, `rounds` times.
async fn mixed_load(base: &str, rounds: usize) -> Vec<Duration> {
    let mut sessions = tokio::task::JoinSet::new();
    for name in USERS {
        let base = base.to_owned();
        sessions.spawn(async move {
            let http = reqwest::Client::builder()
                .cookie_store(true)
                .build()
                .unwrap();
            let login = http
                .post(format!("{base}/api/session"))
                .json(&json!({"login": name, "password": PASSWORD}))
                .send()
                .await
                .unwrap();
            assert!(login.status().is_success(), "{name} logs in");
            let paths = [
                "/api/orders?per_page=50",
                "/api/orders?per_page=50&sort=total&order=desc",
                "/api/orders?per_page=50&q=buyer77",
                "/api/search?q=wedge",
                "/api/dashboard",
            ];
            let mut took = Vec::new();
            for round in 0..rounds {
                let path = paths[round % paths.len()];
                let t = Instant::now();
                let answer = http.get(format!("{base}{path}")).send().await.unwrap();
                assert!(answer.status().is_success(), "{path}: {}", answer.status());
                let _: Value = answer.json().await.unwrap();
                took.push(t.elapsed());
            }
            took
        });
    }
    sessions.join_all().await.concat()
}

async fn as_a_server(dir: &Path, empty: &Path, count: u64) {
    let (mut blank, blank_base, _, _) = serve(empty).await;
    let _ = mixed_load(&blank_base, 10).await;
    let blank_idle = rss_kib(&blank, "VmRSS:");
    let _ = blank.kill();
    let _ = blank.wait();

    let (mut child, base, listening, ready) = serve(dir).await;
    println!(
        "brickdesk serve with {count} orders: listening after {listening:.2} s, ready after \
         {ready:.2} s"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = rss_kib(&child, "VmRSS:");
    let mut samples = mixed_load(&base, 50).await;
    let under_load = rss_kib(&child, "VmRSS:");
    let peak = rss_kib(&child, "VmHWM:");
    println!(
        "idle RSS {} MiB ({} MiB with no orders: {:.0} bytes per order); under a mixed load of \
         4 sessions {} MiB, peak {} MiB; request p50 {} p95 {}",
        idle / 1024,
        blank_idle / 1024,
        (idle.saturating_sub(blank_idle) * 1024) as f64 / count as f64,
        under_load / 1024,
        peak / 1024,
        ms(percentile(&mut samples, 0.5)),
        ms(percentile(&mut samples, 0.95))
    );
    let _ = child.kill();
    let _ = child.wait();
}

fn backup(dir: &Path) {
    let out = std::env::temp_dir().join(format!("brickdesk-bench-{}.backup", std::process::id()));
    let started = Instant::now();
    let status = Command::new(common::binary())
        .args(["backup", "--data-dir"])
        .arg(dir)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    println!(
        "backup: {:.1} s, {} MiB",
        started.elapsed().as_secs_f64(),
        std::fs::metadata(&out).unwrap().len() / (1024 * 1024)
    );
    let _ = std::fs::remove_file(&out);
}

fn main() {
    let count: u64 = std::env::var("BRICKDESK_BENCH_ORDERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    // `BRICKDESK_BENCH_DIR` keeps the built store there and reuses it on the next run (a
    // million orders take a while to build).
    let temporary = tempfile::tempdir().unwrap();
    let dir = std::env::var_os("BRICKDESK_BENCH_DIR")
        .map_or_else(|| temporary.path().to_owned(), std::path::PathBuf::from);
    let empty = tempfile::tempdir().unwrap();
    if !dir.join("db").exists() {
        build(&dir, count);
    }
    build(empty.path(), 0);
    let first = {
        let store = Store::open(&dir).unwrap();
        store.users().list().unwrap()[0].id
    };
    in_process(&dir, first);
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(as_a_server(&dir, empty.path(), count));
    backup(&dir);
}
