//! What the process-level tests share: `brickdesk serve` as a child against a simulator, the
//! address it announces, and a little randomness for kill moments.

#![allow(dead_code, clippy::unwrap_used)]

use std::{
    io::{BufRead as _, BufReader, Write as _},
    path::Path,
    process::{Child, Command, Output, Stdio},
};

use serde_json::{Value, json};
use server::sim::SimServer;

pub const BIN: &str = env!("CARGO_BIN_EXE_brickdesk");
pub const PASSWORD: &str = "correct horse battery";

/// `brickdesk serve` on a free port with `data_dir`, talking to `sim`, polling off; `env` is
/// added. The child is killed when the returned guard drops, so a failing test never leaves a
/// server behind holding the test's output open.
pub fn serve(data_dir: &Path, sim: &SimServer, env: &[(&str, &str)]) -> Served {
    let (bricklink, brickowl) = (sim.bricklink_url(), sim.brickowl_url());
    let mut all = vec![
        ("BRICKDESK_LOG", "error"),
        ("BRICKDESK_POLL_CRON", ""),
        ("BRICKDESK_BRICKLINK_BASE_URL", bricklink.as_str()),
        ("BRICKDESK_BRICKOWL_BASE_URL", brickowl.as_str()),
    ];
    all.extend_from_slice(env);
    Served::start_with(data_dir, &all, Stdio::inherit())
}

/// A simulator whose one seller has `lots` lots and no orders, and `brickdesk serve` on
/// `data_dir` against it with anna set up and both stores connected and valid: the
/// simulator, the server and anna's CSRF token.
pub async fn both_stores_connected(
    http: &reqwest::Client,
    data_dir: &Path,
    lots: usize,
) -> (SimServer, Served, String) {
    let sim = SimServer::start(
        server::sim::Sim::new(&server::sim::SimConfig {
            accounts: 1,
            bricklink_orders: 0,
            brickowl_orders: 0,
            lots,
            ..server::sim::SimConfig::default()
        }),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let served = serve(data_dir, &sim, &[]);
    let base = served.base.clone();
    let csrf = set_up_anna(http, &base).await;
    for marketplace in ["bricklink", "brickowl"] {
        save_keys(http, &base, &csrf, &sim, marketplace).await;
    }
    until_ok("both connections are valid", 30, async || {
        let all = get(http, format!("{base}/api/connections")).await;
        all.as_array()
            .is_some_and(|a| a.iter().filter(|c| c["status"] == "valid").count() == 2)
    })
    .await;
    (sim, served, csrf)
}

/// Asks `check` every 50 ms until it says yes; fails the test after `seconds`.
pub async fn until_ok(what: &str, seconds: u64, mut check: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while !check().await {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A number in `low..high` from the clock's nanoseconds: varied enough for kill moments.
pub fn random(low: u64, high: u64) -> u64 {
    let nanos = u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos(),
    );
    low + nanos % (high - low)
}

/// A client that keeps cookies, with a 10 s timeout.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Sets up the first account, anna, on `base`; its CSRF token.
pub async fn set_up_anna(http: &reqwest::Client, base: &str) -> String {
    let setup: Value = http
        .post(format!("{base}/api/setup"))
        .json(&json!({"username": "anna", "email": "anna@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    setup["csrf_token"].as_str().unwrap().to_owned()
}

/// Saves the simulator's first account's keys for `marketplace` (`bricklink`, `brickowl`).
pub async fn save_keys(
    http: &reqwest::Client,
    base: &str,
    csrf: &str,
    sim: &SimServer,
    marketplace: &str,
) {
    let keys = sim.sim.keys(0).unwrap();
    let body = match marketplace {
        "bricklink" => serde_json::to_value(keys.bricklink).unwrap(),
        _ => serde_json::to_value(keys.brickowl).unwrap(),
    };
    let saved = http
        .put(format!("{base}/api/connections/{marketplace}"))
        .header("x-csrf-token", csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 202);
}

/// A GET whose answer is JSON.
pub async fn get(http: &reqwest::Client, url: String) -> Value {
    http.get(url).send().await.unwrap().json().await.unwrap()
}

/// A `brickdesk serve` child on a free port.
pub struct Served {
    pub child: Child,
    pub base: String,
}

impl Served {
    pub fn start(data_dir: &Path) -> Self {
        Self::start_with(data_dir, &[("BRICKDESK_LOG", "warn")], Stdio::inherit())
    }

    pub fn start_with(data_dir: &Path, env: &[(&str, &str)], stderr: Stdio) -> Self {
        Self::start_args(data_dir, env, stderr, &[])
    }

    pub fn start_args(
        data_dir: &Path,
        env: &[(&str, &str)],
        stderr: Stdio,
        extra: &[&str],
    ) -> Self {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .expect("listening on http://…");
        Self {
            base: base.to_owned(),
            child,
        }
    }

    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(signal)
            .arg(self.child.id().to_string())
            .status();
        assert!(status.unwrap().success());
    }

    pub fn wait(mut self) -> std::process::ExitStatus {
        self.child.wait().unwrap()
    }

    /// `kill -9`, and the exit reaped.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn run_with_stdin(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

pub async fn login(base: &str, login: &str, password: &str) -> reqwest::StatusCode {
    reqwest::Client::new()
        .post(format!("{base}/api/session"))
        .json(&json!({"login": login, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
}

/// Sets up `anna` as the first admin: a browser-like client with her session, and its CSRF
/// token.
pub async fn first_admin(base: &str) -> (reqwest::Client, String) {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap();
    let session: serde_json::Value = client
        .post(format!("{base}/api/setup"))
        .json(&json!({"username": "anna", "email": "anna@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let csrf = session["csrf_token"].as_str().unwrap().to_owned();
    (client, csrf)
}
