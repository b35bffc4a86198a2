//! What the benchmarks that run `brickdesk serve` as a child process share. Each benchmark is
//! its own crate and uses only some of it.
#![allow(dead_code)]

use std::{
    io::{BufRead as _, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
};

/// The binary measured: the release build, or another one (`make dist`'s static build, say)
/// named by `BRICKDESK_BENCH_BIN`.
pub fn binary() -> String {
    std::env::var("BRICKDESK_BENCH_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_brickdesk").to_owned())
}

/// Starts `binary serve` on a loopback port over `dir`, quiet and without the poll schedule,
/// with `env` besides; the child and the address it says it listens on.
pub fn serve(binary: &str, dir: &Path, env: &[(&str, &str)]) -> (Child, String) {
    let mut child = Command::new(binary)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env("BRICKDESK_LOG", "error")
        .env("BRICKDESK_POLL_CRON", "")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
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

/// A field of `/proc/<pid>/status`, such as `VmHWM:` (peak RSS) or `VmRSS:`, as the kernel
/// writes it ("123456 kB"), or "unknown".
pub fn status_field(pid: u32, field: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .map_or_else(|| "unknown".to_owned(), |v| v.trim().to_owned())
}
