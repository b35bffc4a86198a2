//! The shipped artefacts, driven for real: the release binary (with the embedded UI) started as
//! a child process, and headless Chromium through chromedriver.
//!
//! These need `make build` (the binary) and Debian's chromium + chromium-driver. Under
//! `make test` (`BRICKDESK_REQUIRE_BROWSER=1`) a missing piece fails the test; under a plain
//! `cargo test` it is reported and the test returns early.

use std::{path::PathBuf, process::Stdio, time::Duration};

use fantoccini::{Client, ClientBuilder, Locator, elements::Element};
use serde_json::json;
use tempfile::TempDir;
use tokio::{
    io::{AsyncBufReadExt as _, BufReader},
    process::{Child, Command},
    time::{Instant, sleep, timeout},
};

/// How long the UI gets to show what a step waits for.
pub const UI_DEADLINE: Duration = Duration::from_secs(20);

const CHROMIUM: &str = "/usr/lib/chromium/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

fn required() -> bool {
    std::env::var("BRICKDESK_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
}

/// Fails under `make test`, or says why and lets the caller return under plain `cargo test`.
fn unavailable(what: &str) -> Option<std::convert::Infallible> {
    assert!(!required(), "{what} (BRICKDESK_REQUIRE_BROWSER=1)");
    eprintln!("skipping: {what}; run `make test` to build and install it");
    None
}

/// The release binary: `BRICKDESK_BIN`, else `target/release/brickdesk`.
pub fn release_binary() -> PathBuf {
    if let Ok(bin) = std::env::var("BRICKDESK_BIN") {
        return PathBuf::from(bin);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("release/brickdesk")
}

/// `brickdesk serve` from the release build, on a free port and a fresh data directory.
pub struct ReleaseServer {
    pub base: String,
    pub data_dir: TempDir,
    child: Child,
}

impl ReleaseServer {
    /// Starts the binary and waits for its `listening on` line.
    pub async fn start() -> Option<Self> {
        let bin = release_binary();
        if !bin.is_file() {
            unavailable(&format!("{} is missing", bin.display()))?;
        }
        let data_dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(&bin)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir.path())
            .env("BRICKDESK_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let line = timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the server printed its address within 30 s")
            .unwrap()
            .expect("the server printed a line");
        let base = line
            .strip_prefix("listening on ")
            .expect("listening on http://…")
            .to_owned();
        Some(Self {
            base,
            data_dir,
            child,
        })
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub async fn stop(mut self) -> std::process::ExitStatus {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status();
        }
        timeout(Duration::from_secs(30), self.child.wait())
            .await
            .unwrap()
            .unwrap()
    }
}

/// Headless Chromium under chromedriver.
pub struct Browser {
    pub client: Client,
    _driver: Child,
    _profile: TempDir,
}

impl Browser {
    /// Starts chromedriver and a fresh Chromium profile.
    pub async fn start() -> Option<Self> {
        if !std::path::Path::new(CHROMEDRIVER).is_file()
            || !std::path::Path::new(CHROMIUM).is_file()
        {
            unavailable("Debian's chromium and chromium-driver are not installed")?;
        }
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let profile = tempfile::tempdir().unwrap();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                    "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        let client = loop {
            let attempt =
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                    .capabilities(caps.clone())
                    .connect(&url)
                    .await;
            match attempt {
                Ok(client) => break client,
                Err(err) if Instant::now() < deadline => {
                    let _ = err;
                    sleep(Duration::from_millis(100)).await;
                }
                Err(err) => panic!("chromedriver did not start: {err}"),
            }
        };
        Some(Self {
            client,
            _driver: driver,
            _profile: profile,
        })
    }

    /// Waits until the element is there.
    pub async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(UI_DEADLINE)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} did not appear: {e}"))
    }

    /// Waits until the element's text contains `expected`.
    pub async fn wait_for_text(&self, css: &str, expected: &str) {
        let deadline = Instant::now() + UI_DEADLINE;
        loop {
            let text = match self.client.find(Locator::Css(css)).await {
                Ok(element) => element.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if text.contains(expected) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{css} never said {expected:?}; last: {text:?}"
            );
            sleep(Duration::from_millis(50)).await;
        }
    }

    /// Replaces a field's contents.
    pub async fn fill(&self, css: &str, value: &str) {
        let field = self.find(css).await;
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    /// Clicks an element once it is there, scrolled to the middle of the window first (the
    /// sticky top bar would take a click on an element just under it).
    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        let arg = serde_json::to_value(&element).unwrap();
        self.client
            .execute("arguments[0].scrollIntoView({block: 'center'});", vec![arg])
            .await
            .unwrap();
        element.click().await.unwrap();
    }

    /// Saves a screenshot under `target/screenshots/` when `BRICKDESK_SCREENSHOTS` is set.
    pub async fn screenshot(&self, name: &str) {
        if std::env::var_os("BRICKDESK_SCREENSHOTS").is_none() {
            return;
        }
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// Ends the browser session.
    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// False (after saying why) when the web UI is not embedded in this build, so a browser test
/// has nothing to drive; under `make test` (`BRICKDESK_REQUIRE_BROWSER=1`) that is a failure.
pub fn ui_available() -> bool {
    if server::http::assets::ui_built() {
        return true;
    }
    assert!(
        std::env::var("BRICKDESK_REQUIRE_BROWSER").as_deref() != Ok("1"),
        "the UI was not built before the test binary"
    );
    eprintln!("skipping: the web UI is not built (run `make test`)");
    false
}

impl Browser {
    /// Opens `url` and logs in on the login page it shows.
    pub async fn log_in_at(&self, url: &str, login: &str, password: &str) {
        self.client.goto(url).await.unwrap();
        self.fill("#login-login", login).await;
        self.fill("#login-password", password).await;
        self.click("#login-submit").await;
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
