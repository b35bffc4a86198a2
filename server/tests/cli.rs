//! The `brickdesk` binary itself: `serve` announces its address and stops cleanly on SIGTERM,
//! acknowledged writes survive `kill -9`, secrets never reach the logs, a second process on
//! the same data directory is refused in words, and the demo brings simulated orders.

#![allow(clippy::unwrap_used)]

mod common;

use std::{
    io::BufReader,
    process::{Command, Stdio},
};

use common::{BIN, PASSWORD, Served, first_admin, login};
use serde_json::json;

#[tokio::test]
async fn serve_announces_its_address_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(dir.path());
    let health = reqwest::get(format!("{}/healthz", served.base))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    served.signal("-TERM");
    let status = tokio::task::spawn_blocking(move || served.wait())
        .await
        .unwrap();
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn json_logs_carry_the_request_id_and_never_a_password() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("BRICKDESK_LOG", "debug"), ("BRICKDESK_LOG_FORMAT", "json")];
    let mut served = Served::start_with(dir.path(), &env, Stdio::piped());
    let http = reqwest::Client::new();
    let setup = http
        .post(format!("{}/api/setup", served.base))
        .header("x-request-id", "trace-me-123")
        .json(&json!({"username": "anna", "email": "anna@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(setup.status(), 200);
    assert_eq!(login(&served.base, "anna", PASSWORD).await, 200);
    assert_eq!(login(&served.base, "anna", "a wrong password").await, 401);
    served.signal("-TERM");
    let stderr = served.child.stderr.take().unwrap();
    let logs = tokio::task::spawn_blocking(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut text).unwrap();
        text
    })
    .await
    .unwrap();

    let lines: Vec<serde_json::Value> = logs
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let traced = lines
        .iter()
        .find(|line| line["span"]["id"] == "trace-me-123" && line["span"]["path"] == "/api/setup")
        .unwrap_or_else(|| panic!("no line of the setup request's span in:\n{logs}"));
    assert_eq!(traced["span"]["method"], "POST");
    assert!(
        !logs.contains(PASSWORD) && !logs.contains("a wrong password"),
        "{logs}"
    );
    assert!(
        !logs.contains("brickdesk_session="),
        "no session cookie in logs"
    );
}

#[tokio::test]
async fn an_acknowledged_setup_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(dir.path());
    let answer = reqwest::Client::new()
        .post(format!("{}/api/setup", served.base))
        .json(&json!({"username": "anna", "email": "anna@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    served.signal("-KILL");
    drop(served);

    let again = Served::start(dir.path());
    assert_eq!(login(&again.base, "anna", PASSWORD).await, 200);
}

/// Every mutating request is flushed before its answer, whatever the handler: list edits
/// (which no handler flushes itself) survive a `kill -9` right after the last answer.
#[tokio::test]
async fn acknowledged_list_edits_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(dir.path());
    let (client, csrf) = first_admin(&served.base).await;
    let mut names = Vec::new();
    for n in 0..20 {
        let created = client
            .post(format!("{}/api/minifig-lists", served.base))
            .header("x-csrf-token", &csrf)
            .json(&json!({"name": format!("list {n}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201, "list {n}");
        let list: serde_json::Value = created.json().await.unwrap();
        let renamed = client
            .put(format!("{}/api/minifig-lists/{}", served.base, list["id"]))
            .header("x-csrf-token", &csrf)
            .json(&json!({"name": format!("renamed {n}")}))
            .send()
            .await
            .unwrap();
        assert!(renamed.status().is_success(), "rename {n}");
        names.push(format!("renamed {n}"));
    }
    served.signal("-KILL");
    drop(served);

    let again = Served::start(dir.path());
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let login = client
        .post(format!("{}/api/session", again.base))
        .json(&json!({"login": "anna", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let lists: Vec<serde_json::Value> = client
        .get(format!("{}/api/minifig-lists", again.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut found: Vec<String> = lists
        .iter()
        .map(|l| l["name"].as_str().unwrap().to_owned())
        .collect();
    found.sort();
    names.sort();
    assert_eq!(
        found, names,
        "every acknowledged create and rename is there"
    );
}

#[test]
fn a_second_process_on_the_same_data_directory_is_refused_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let _served = Served::start(dir.path());
    let output = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("in use by another brickdesk"), "{stderr}");
}

#[test]
fn bad_configuration_is_refused_with_the_key_named() {
    let output = Command::new(BIN)
        .args(["serve", "--data-dir", "/tmp/unused"])
        .env("BRICKDESK_LISTEN", "nowhere")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr).to_lowercase();
    assert!(stderr.contains("listen"), "{stderr}");
}

#[tokio::test]
async fn marketplace_secrets_never_reach_the_logs() {
    let sim = server::sim::SimServer::start(
        server::sim::Sim::new(&server::sim::SimConfig::default()),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let keys = sim.sim.keys(0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (bricklink_url, brickowl_url) = (sim.bricklink_url(), sim.brickowl_url());
    let env = [
        ("BRICKDESK_LOG", "debug"),
        ("BRICKDESK_LOG_FORMAT", "json"),
        ("BRICKDESK_BRICKLINK_BASE_URL", bricklink_url.as_str()),
        ("BRICKDESK_BRICKOWL_BASE_URL", brickowl_url.as_str()),
    ];
    let mut served = Served::start_with(dir.path(), &env, Stdio::piped());
    // Read the logs as they come: a full pipe would stall the server.
    let stderr = served.child.stderr.take().unwrap();
    let logs = tokio::task::spawn_blocking(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut text).unwrap();
        text
    });
    let (http, csrf) = first_admin(&served.base).await;
    for (marketplace, body) in [
        ("bricklink", serde_json::to_value(&keys.bricklink).unwrap()),
        ("brickowl", serde_json::to_value(&keys.brickowl).unwrap()),
    ] {
        let saved = http
            .put(format!("{}/api/connections/{marketplace}", served.base))
            .header("x-csrf-token", &csrf)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(saved.status(), 202);
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let views: Vec<serde_json::Value> = http
            .get(format!("{}/api/connections", served.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if views.iter().all(|v| v["status"] == "valid") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{views:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    served.signal("-TERM");
    let logs = logs.await.unwrap();
    assert!(logs.contains("keys saved; check queued"), "{logs}");
    for secret in [
        &keys.bricklink.consumer_secret,
        &keys.bricklink.token_secret,
        &keys.brickowl.api_key,
    ] {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret in the logs:\n{logs}"
        );
    }
}

#[tokio::test]
async fn demo_mode_brings_simulated_orders_to_the_demo_user() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start_args(
        dir.path(),
        &[("BRICKDESK_LOG", "warn")],
        Stdio::inherit(),
        &["--demo"],
    );
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap();
    let setup: serde_json::Value = http
        .get(format!("{}/api/setup", served.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        setup,
        json!({
            "needed": false, "demo": true, "code_needed": false,
            "version": server::version::info(),
        })
    );
    assert_eq!(login(&served.base, "demo", "demo").await, 200);
    let logged = http
        .post(format!("{}/api/session", served.base))
        .json(&json!({"login": "demo", "password": "demo"}))
        .send()
        .await
        .unwrap();
    assert_eq!(logged.status(), 200);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let list: serde_json::Value = http
            .get(format!("{}/api/orders?per_page=1", served.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        // The simulator's first seller has 30 BrickLink and 20 BrickOwl orders.
        if list["total"].as_u64() == Some(50) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{list}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let connections: serde_json::Value = http
        .get(format!("{}/api/connections", served.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        connections
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] == "valid"),
        "{connections}"
    );
    served.signal("-TERM");
    let status = tokio::task::spawn_blocking(move || served.wait())
        .await
        .unwrap();
    assert!(status.success());
}
