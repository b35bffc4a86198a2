//! Attacks by volume on a brickdesk reachable from the internet (the rest of the list is in
//! `security.rs`): slow clients, hoarded connections, and floods of pushes through a leaked
//! webhook address or BrickOwl's token-less notify port. Each test is one attack, run against
//! the real server over the network.

use std::{net::SocketAddr, time::Duration};

use app::Marketplace;
use reqwest::StatusCode;
use serde_json::Value;
use server::sim::Side;
use tests::TestApp;
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
};

/// The longest any of these waits for the server to act; it acts within a second or two.
const PATIENCE: Duration = Duration::from_secs(30);

fn address(app: &TestApp) -> SocketAddr {
    app.base.trim_start_matches("http://").parse().unwrap()
}

/// Reads what the server sends until it closes the connection or `enough` is in it.
async fn read_until_closed_or(stream: &mut TcpStream, enough: &str) -> String {
    let mut seen = Vec::new();
    let read = async {
        let mut chunk = [0_u8; 4096];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&chunk[..n]),
            }
            if String::from_utf8_lossy(&seen).contains(enough) {
                break;
            }
        }
    };
    tokio::time::timeout(PATIENCE, read)
        .await
        .expect("the server neither answered nor closed the connection");
    String::from_utf8_lossy(&seen).into_owned()
}

/// Attack (slowloris): open connections and send the request headers a little at a time, or
/// never finish them, until the server has no sockets or tasks left; on BrickOwl's fixed notify
/// port too, which faces the internet with no proxy in front.
#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let app = TestApp::spawn_with(|config| {
        config.header_timeout_seconds = 1;
        config.brickowl_notify_listen = "127.0.0.1:0".into();
    })
    .await;
    for addr in [address(&app), app.notify.unwrap()] {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: brickdesk\r\nX-Slow: 1")
            .await
            .unwrap();
        let seen = read_until_closed_or(&mut stream, "\r\n\r\n").await;
        assert!(
            !seen.contains("200 OK"),
            "{addr} answered a request it never got whole"
        );
    }
}

/// Attack: send a request's headers, then its body a few bytes at a time or not at all, to hold
/// a task and a connection for ever.
#[tokio::test]
async fn a_body_that_never_arrives_is_answered_408() {
    let app = TestApp::spawn_with(|config| config.request_timeout_seconds = 1).await;
    let mut stream = TcpStream::connect(address(&app)).await.unwrap();
    stream
        .write_all(
            b"POST /api/session HTTP/1.1\r\nHost: brickdesk\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"login\":",
        )
        .await
        .unwrap();
    let seen = read_until_closed_or(&mut stream, "request-timeout").await;
    assert!(seen.starts_with("HTTP/1.1 408"), "{seen}");
    assert!(seen.contains("\"code\":\"request-timeout\""), "{seen}");
}

/// Attack: open connections from one address and keep them idle until nobody else can connect.
#[tokio::test]
async fn one_address_cannot_hold_every_connection() {
    let app = TestApp::spawn_with(|config| config.connections_per_address = 3).await;
    let addr = address(&app);
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(addr).await.unwrap());
    }
    let mut fourth = TcpStream::connect(addr).await.unwrap();
    fourth
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: brickdesk\r\n\r\n")
        .await
        .unwrap();
    let seen = read_until_closed_or(&mut fourth, "\r\n\r\n").await;
    assert!(seen.is_empty(), "the fourth connection was served: {seen}");
    // Its share comes back as its connections close.
    drop(held.pop());
    let served = tokio::time::timeout(PATIENCE, async {
        loop {
            let mut again = TcpStream::connect(addr).await.unwrap();
            again
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: brickdesk\r\nConnection: close\r\n\r\n")
                .await
                .unwrap();
            if read_until_closed_or(&mut again, "\r\n\r\n")
                .await
                .contains("200 OK")
            {
                break;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(served.is_ok(), "a closed connection gives its place back");
}

async fn jobs_total(app: &TestApp) -> u64 {
    app.api.list_jobs("per_page=1").await.json::<Value>()["total"]
        .as_u64()
        .unwrap()
}

fn activity_count(app: &TestApp, user: app::UserId) -> usize {
    app.state
        .services
        .store
        .activity()
        .recent(user, 100_000)
        .unwrap()
        .len()
}

/// Attack: flood BrickOwl's token-less notify port with made-up order ids, to fill the job
/// queue and the activity log and have brickdesk ask BrickOwl about each; or name orders the
/// store cannot have, or another store.
#[tokio::test]
async fn a_notify_flood_fills_neither_the_queue_nor_the_activity_log() {
    let app = TestApp::spawn_with(|config| {
        config.brickowl_notify_listen = "127.0.0.1:0".into();
    })
    .await;
    let user = app.setup_admin().await.user.id;
    app.connect(&app.api, 0, Marketplace::BrickOwl).await;
    app.settle().await;
    let notify = format!("http://{}/brick_owl_order_notify", app.notify.unwrap());
    let store = app.sim.sim.keys(0).unwrap().store_id;
    let ids: Vec<i64> = app
        .sim
        .sim
        .orders(0, Side::BrickOwl)
        .iter()
        .map(|o| o.id)
        .collect();
    let (lowest, newest) = (ids.iter().min().unwrap(), ids.iter().max().unwrap());
    let http = reqwest::Client::new();
    let ask = |query: String| http.get(format!("{notify}?{query}")).send();

    let below = ask(format!("order_id={}&store_id={store}", lowest - 1))
        .await
        .unwrap();
    assert_eq!(
        below.status(),
        StatusCode::NOT_FOUND,
        "older than the store's first order"
    );
    let elsewhere = ask(format!("order_id={newest}&store_id=999999"))
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), StatusCode::NOT_FOUND, "another store");
    for bad in ["0", "1234567890123", "12a", ""] {
        let answer = ask(format!("order_id={bad}&store_id={store}"))
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST, "order_id={bad}");
    }

    let (jobs, activity) = (jobs_total(&app).await, activity_count(&app, user));
    for made_up in 1..=200 {
        let answer = ask(format!("order_id={}&store_id={store}", newest + made_up))
            .await
            .unwrap();
        assert_eq!(
            answer.status(),
            StatusCode::NO_CONTENT,
            "pushes are always taken"
        );
    }
    let added_jobs = jobs_total(&app).await - jobs;
    let added_activity = activity_count(&app, user) - activity;
    assert!(added_jobs <= 31, "{added_jobs} jobs for 200 notifies");
    assert!(
        added_activity <= 30,
        "{added_activity} activity entries for 200 notifies"
    );
}

/// Attack: with a leaked BrickLink webhook address, push again and again so that brickdesk
/// reads notifications (and writes the activity log) for every push.
#[tokio::test]
async fn a_leaked_webhook_address_cannot_flood_the_activity_log() {
    let app = TestApp::spawn().await;
    let user = app.setup_admin().await.user.id;
    app.connect(&app.api, 0, Marketplace::BrickLink).await;
    let hook = app
        .api
        .connection(Marketplace::BrickLink)
        .await
        .webhook_url
        .unwrap();
    let activity = activity_count(&app, user);
    let http = reqwest::Client::new();
    for _ in 0..100 {
        let pushed = http.post(&hook).send().await.unwrap();
        assert_eq!(pushed.status(), StatusCode::NO_CONTENT);
    }
    let added = activity_count(&app, user) - activity;
    assert!(added <= 10, "{added} activity entries for 100 pushes");
    let waiting: Value = app
        .api
        .list_jobs("kind=bricklink_notifications&state=scheduled")
        .await
        .json();
    assert!(
        waiting["total"].as_u64().unwrap() <= 1,
        "the pushes fold into one read"
    );
}
