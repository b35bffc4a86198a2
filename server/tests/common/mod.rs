//! What the process-level tests share: `brickdesk serve` as a child against a simulator, the
//! address it announces, and a little randomness for kill moments.

#![allow(dead_code, clippy::unwrap_used)]

use std::{
    io::{BufRead as _, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
};

use serde_json::Value;
use server::sim::SimServer;

pub const BIN: &str = env!("CARGO_BIN_EXE_brickdesk");
pub const PASSWORD: &str = "correct horse battery";

/// `brickdesk serve` on a free port with `data_dir`, talking to `sim`, polling off; `env` is
/// added. Returns the child and the base URL it announced.
pub fn serve(data_dir: &Path, sim: &SimServer, env: &[(&str, &str)]) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("BRICKDESK_LOG", "error")
        .env("BRICKDESK_POLL_CRON", "")
        .env("BRICKDESK_BRICKLINK_BASE_URL", sim.bricklink_url())
        .env("BRICKDESK_BRICKOWL_BASE_URL", sim.brickowl_url())
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    (child, base)
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

/// A GET whose answer is JSON.
pub async fn get(http: &reqwest::Client, url: String) -> Value {
    http.get(url).send().await.unwrap().json().await.unwrap()
}
