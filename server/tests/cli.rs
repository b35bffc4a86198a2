//! The `brickdesk` binary itself: `serve` announces its address and stops cleanly on SIGTERM,
//! acknowledged writes survive `kill -9`, `user add` and `user reset-password` read passwords
//! from stdin, and a second process on the same data directory is refused in words.

#![allow(clippy::unwrap_used)]

use std::{
    io::{BufRead as _, BufReader, Write as _},
    path::Path,
    process::{Child, Command, Output, Stdio},
};

use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_brickdesk");
const PASSWORD: &str = "correct horse battery";

/// A `brickdesk serve` child on a free port.
struct Served {
    child: Child,
    base: String,
}

impl Served {
    fn start(data_dir: &Path) -> Self {
        Self::start_with(data_dir, &[("BRICKDESK_LOG", "warn")], Stdio::inherit())
    }

    fn start_with(data_dir: &Path, env: &[(&str, &str)], stderr: Stdio) -> Self {
        Self::start_args(data_dir, env, stderr, &[])
    }

    fn start_args(data_dir: &Path, env: &[(&str, &str)], stderr: Stdio, extra: &[&str]) -> Self {
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

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(signal)
            .arg(self.child.id().to_string())
            .status();
        assert!(status.unwrap().success());
    }

    fn wait(mut self) -> std::process::ExitStatus {
        self.child.wait().unwrap()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run_with_stdin(args: &[&str], stdin: &str) -> Output {
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

async fn login(base: &str, login: &str, password: &str) -> reqwest::StatusCode {
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
async fn first_admin(base: &str) -> (reqwest::Client, String) {
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

#[tokio::test]
async fn user_add_and_reset_password_read_passwords_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();

    let added = run_with_stdin(
        &[
            "user",
            "add",
            "--data-dir",
            data,
            "--username",
            "bob",
            "--email",
            "bob@example.com",
            "--admin",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    assert!(String::from_utf8_lossy(&added.stdout).contains("created admin bob"));

    let short = run_with_stdin(
        &[
            "user",
            "add",
            "--data-dir",
            data,
            "--username",
            "eve",
            "--email",
            "eve@example.com",
        ],
        "short\n",
    );
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 8 characters"));

    let duplicate = run_with_stdin(
        &[
            "user",
            "add",
            "--data-dir",
            data,
            "--username",
            "BOB",
            "--email",
            "x@example.com",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(!duplicate.status.success());
    assert!(String::from_utf8_lossy(&duplicate.stderr).contains("already taken"));

    let reset = run_with_stdin(
        &[
            "user",
            "reset-password",
            "--data-dir",
            data,
            "--login",
            "bob@example.com",
        ],
        "a different password\n",
    );
    assert!(
        reset.status.success(),
        "{}",
        String::from_utf8_lossy(&reset.stderr)
    );

    let unknown = run_with_stdin(
        &[
            "user",
            "reset-password",
            "--data-dir",
            data,
            "--login",
            "nobody",
        ],
        "a different password\n",
    );
    assert!(!unknown.status.success());

    let served = Served::start(dir.path());
    let setup: serde_json::Value = reqwest::get(format!("{}/api/setup", served.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        setup["needed"], false,
        "an account made on the command line completes setup"
    );
    assert_eq!(login(&served.base, "bob", PASSWORD).await, 401);
    assert_eq!(
        login(&served.base, "bob", "a different password").await,
        200
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
        json!({"needed": false, "demo": true, "code_needed": false})
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

#[tokio::test]
async fn backup_works_while_serving_and_restore_wants_an_empty_directory() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(dir.path());
    let answer = reqwest::Client::new()
        .post(format!("{}/api/setup", served.base))
        .json(&json!({"username": "anna", "email": "anna@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let files = tempfile::tempdir().unwrap();
    let out = files.path().join("shop.backup");
    let (data, file) = (dir.path().display().to_string(), out.display().to_string());
    let made = tokio::task::spawn_blocking(move || {
        run_with_stdin(&["backup", "--data-dir", &data, "--out", &file], "")
    })
    .await
    .unwrap();
    let said = String::from_utf8_lossy(&made.stdout);
    assert!(
        made.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&made.stderr)
    );
    assert!(said.contains("backup written to"), "{said}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "only its owner reads a backup");
    }
    served.signal("-TERM");
    tokio::task::spawn_blocking(move || served.wait())
        .await
        .unwrap();
    // With the server stopped, straight from the store.
    let offline = files.path().join("offline.backup");
    let (data, file) = (
        dir.path().display().to_string(),
        offline.display().to_string(),
    );
    let made = run_with_stdin(&["backup", "--data-dir", &data, "--out", &file], "");
    assert!(made.status.success());
    assert!(offline.exists());

    let fresh = tempfile::tempdir().unwrap();
    let target = fresh.path().join("data");
    let target_text = target.display().to_string();
    let file = out.display().to_string();
    let restored = run_with_stdin(&["restore", "--data-dir", &target_text, "--in", &file], "");
    let said = String::from_utf8_lossy(&restored.stdout);
    assert!(restored.status.success(), "{said}");
    assert!(said.contains("enter the marketplace keys again"), "{said}");
    let twice = run_with_stdin(&["restore", "--data-dir", &target_text, "--in", &file], "");
    assert!(!twice.status.success());
    assert!(
        String::from_utf8_lossy(&twice.stderr).contains("is not empty"),
        "{}",
        String::from_utf8_lossy(&twice.stderr)
    );
    let again = Served::start(&target);
    assert_eq!(login(&again.base, "anna", PASSWORD).await, 200);
}

#[tokio::test]
async fn user_list_disable_and_enable() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let added = run_with_stdin(
        &[
            "user",
            "add",
            "--data-dir",
            data,
            "--username",
            "carol",
            "--email",
            "carol@example.com",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(added.status.success());
    let disabled = run_with_stdin(
        &["user", "disable", "--data-dir", data, "--login", "carol"],
        "",
    );
    assert!(disabled.status.success());
    assert!(String::from_utf8_lossy(&disabled.stdout).contains("carol is disabled"));
    let listed = run_with_stdin(&["user", "list", "--data-dir", data], "");
    let table = String::from_utf8_lossy(&listed.stdout);
    assert!(
        table
            .lines()
            .any(|l| l.contains("carol") && l.contains("disabled")),
        "{table}"
    );

    let served = Served::start(dir.path());
    assert_eq!(login(&served.base, "carol", PASSWORD).await, 403);
    served.signal("-TERM");
    tokio::task::spawn_blocking(move || served.wait())
        .await
        .unwrap();
    let enabled = run_with_stdin(
        &["user", "enable", "--data-dir", data, "--login", "carol"],
        "",
    );
    assert!(enabled.status.success());
    let served = Served::start(dir.path());
    assert_eq!(login(&served.base, "carol", PASSWORD).await, 200);
}

#[test]
fn the_systemd_unit_verifies() {
    let Ok(probe) = Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("systemd-analyze is not installed; skipping");
        return;
    };
    if !probe.status.success() {
        return;
    }
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../assets/brickdesk.service"
    ))
    .unwrap();
    assert!(unit.contains("NoNewPrivileges=yes") && unit.contains("ProtectSystem=strict"));
    assert!(unit.contains("StateDirectory=brickdesk") && unit.contains("PrivateTmp=yes"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("brickdesk.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/brickdesk", BIN)).unwrap();
    let verified = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&verified.stderr);
    assert!(verified.status.success(), "{said}");
    assert!(
        !said.contains("brickdesk.service"),
        "no complaint about the unit: {said}"
    );
}

#[test]
fn commands_on_a_mistyped_data_directory_say_so_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("brickdesk-dtaa");
    let typo_text = typo.display().to_string();
    let out = dir.path().join("shop.backup").display().to_string();
    for args in [
        vec!["user", "list", "--data-dir", &typo_text],
        vec![
            "user",
            "disable",
            "--data-dir",
            &typo_text,
            "--login",
            "anna",
        ],
        vec!["backup", "--data-dir", &typo_text, "--out", &out],
    ] {
        let ran = run_with_stdin(&args, "");
        let said = String::from_utf8_lossy(&ran.stderr);
        assert!(!ran.status.success(), "{args:?}");
        assert!(said.contains("no brickdesk data in"), "{args:?}: {said}");
        assert!(!typo.exists(), "{args:?} created the directory");
    }
    assert!(!dir.path().join("shop.backup").exists());
}

#[tokio::test]
async fn setup_code_shows_the_code_until_the_first_account_exists() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(dir.path());
    let data = dir.path().display().to_string();
    let shown = run_with_stdin(&["setup-code", "--data-dir", &data], "");
    let code = String::from_utf8_lossy(&shown.stdout).trim().to_owned();
    assert!(shown.status.success());
    assert_eq!(code.len(), 9, "{code}");
    assert_eq!(code.as_bytes()[4], b'-', "{code}");
    let answer = reqwest::Client::new()
        .post(format!("{}/api/setup", served.base))
        .json(&json!({"username": "anna", "email": "anna@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer.status(),
        200,
        "from the server itself no code is needed"
    );
    let after = run_with_stdin(&["setup-code", "--data-dir", &data], "");
    assert!(!after.status.success());
    assert!(String::from_utf8_lossy(&after.stderr).contains("first account exists"));
}
