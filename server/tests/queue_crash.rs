//! The queue under `kill -9`: a child process enqueues and runs jobs under load and is killed
//! at 24 random moments. Afterwards every enqueue it acknowledged has run to success, nothing
//! is left running, and jobs orphaned by the last kill resume within a second of the restart.
//!
//! The child is this test binary again, running `crash_child_process` with an environment
//! variable that makes it do the work instead of returning at once.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::{
    collections::BTreeSet,
    io::{BufRead as _, BufReader, Write as _},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use app::JobState;
use serde_json::{Value, json};
use server::{
    queue::{JobContext, JobError, JobSpec, Queue, QueueConfig, RetryPolicy},
    store::Store,
};

const CHILD_DIR: &str = "BRICKDESK_CRASH_DIR";
const CHILD_MODE: &str = "BRICKDESK_CRASH_MODE";
const CHILD_START: &str = "BRICKDESK_CRASH_START";
const ROUNDS: usize = 24;

#[test]
fn crash_child_process() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let mode = std::env::var(CHILD_MODE).unwrap();
    let start: u64 = std::env::var(CHILD_START)
        .unwrap_or_default()
        .parse()
        .unwrap_or(0);
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(child(dir, mode, start));
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").unwrap();
    out.flush().unwrap();
}

async fn child(dir: String, mode: String, start: u64) {
    let store = Store::open(dir.as_ref()).unwrap();
    let opened = Instant::now();
    let queue = Queue::open(&store, QueueConfig::default()).await.unwrap();
    let done = store.db().open_tree("crash_done").unwrap();
    let first_run = std::sync::Arc::new(std::sync::OnceLock::<Duration>::new());
    let first = first_run.clone();
    queue.register("work", RetryPolicy::default(), move |ctx: JobContext| {
        let done = done.clone();
        first.get_or_init(|| opened.elapsed());
        async move {
            let n: u64 = ctx.payload()?;
            done.update_and_fetch(n.to_be_bytes(), |old| {
                let runs = old.map_or(0, |b| u32::from_be_bytes(b.try_into().unwrap_or([0; 4])));
                Some((runs + 1).to_be_bytes().to_vec())
            })
            .map_err(JobError::retryable)?;
            tokio::time::sleep(Duration::from_micros(n % 3000)).await;
            Ok(Value::Null)
        }
    });
    let orphans = queue
        .list()
        .unwrap()
        .iter()
        .filter(|j| !j.state.is_terminal())
        .count();
    queue.start();
    say("ready");
    if mode == "drain" {
        queue.until_settled().await;
        if orphans > 0 {
            say(&format!(
                "first-run-ms {}",
                first_run.get().unwrap().as_millis()
            ));
        }
        queue.shutdown(Duration::from_secs(5)).await;
        say("drained");
        return;
    }
    let mut enqueuers = tokio::task::JoinSet::new();
    for lane in 0..8u64 {
        let queue = queue.clone();
        enqueuers.spawn(async move {
            let mut n = start + lane;
            loop {
                queue.enqueue(JobSpec::new("work", json!(n))).await.unwrap();
                say(&format!("ack {n}"));
                n += 8;
            }
        });
    }
    enqueuers.join_all().await;
}

fn spawn_child(dir: &std::path::Path, mode: &str, start: u64) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "crash_child_process",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, dir)
        .env(CHILD_MODE, mode)
        .env(CHILD_START, start.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

fn collect(line: &str, acked: &mut BTreeSet<u64>) {
    if let Some(n) = line.strip_prefix("ack ").and_then(|n| n.parse().ok()) {
        acked.insert(n);
    }
}

/// A small deterministic generator for the kill moments (no extra dependency).
fn next_random(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn acknowledged_jobs_survive_kill_9_at_random_moments() {
    let dir = tempfile::tempdir().unwrap();
    let mut acked = BTreeSet::new();
    let mut random = 0x9E37_79B9_7F4A_7C15_u64;
    let mut started = 0;
    for round in 0..ROUNDS {
        let start = (round as u64) * 1_000_000;
        let mut child = spawn_child(dir.path(), "load", start);
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                let _ = lines_tx.send(line);
            }
        });
        // Every fourth kill lands during start-up (while recovery runs); the others at a
        // random moment 20–200 ms into the load.
        let during_startup = round % 4 == 3;
        if during_startup {
            std::thread::sleep(Duration::from_millis(next_random(&mut random) % 60));
        } else {
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let line = lines_rx
                    .recv_timeout(deadline - Instant::now())
                    .expect("child ready");
                let ready = line.ends_with("ready");
                collect(&line, &mut acked);
                if ready {
                    break;
                }
            }
            started += 1;
            std::thread::sleep(Duration::from_millis(20 + next_random(&mut random) % 180));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        for line in lines_rx.try_iter() {
            collect(&line, &mut acked);
        }
    }
    assert!(started >= ROUNDS / 2, "most children came up: {started}");
    assert!(
        acked.len() > ROUNDS * 10,
        "the children did work: {} acks",
        acked.len()
    );

    let mut drain = spawn_child(dir.path(), "drain", 0);
    let lines: Vec<String> = BufReader::new(drain.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .collect();
    assert!(drain.wait().unwrap().success());
    assert!(lines.iter().any(|l| l.ends_with("drained")), "{lines:?}");
    if let Some(ms) = lines.iter().find_map(|l| l.strip_prefix("first-run-ms ")) {
        let ms: u64 = ms.parse().unwrap();
        assert!(ms < 1000, "orphans resumed {ms} ms after the restart");
        println!("orphans resumed {ms} ms after the restart");
    }

    let store = Store::open(dir.path()).unwrap();
    let done = store.db().open_tree("crash_done").unwrap();
    let jobs = store.db().open_tree("jobs").unwrap();
    let mut states = std::collections::HashMap::<String, usize>::new();
    let mut done_payloads = BTreeSet::new();
    for value in jobs.iter().values() {
        let value = value.unwrap();
        let job: Value = serde_json::from_slice(&value[1..]).unwrap();
        let state: JobState = serde_json::from_value(job["state"].clone()).unwrap();
        *states.entry(state.as_str().to_owned()).or_default() += 1;
        assert_eq!(
            state,
            JobState::Succeeded,
            "every stored job ran to success: {job}"
        );
        // No stale attempt completed: only the last attempt ended well; every earlier one was
        // cut short by a kill (recorded as interrupted at the next start).
        let history = job["history"].as_array().unwrap();
        let (last, earlier) = history.split_last().unwrap();
        assert!(
            last["error"].is_null(),
            "the final attempt succeeded: {job}"
        );
        assert!(
            earlier.iter().all(|a| a["error"]
                .as_str()
                .is_some_and(|e| e.contains("interrupted"))),
            "every earlier attempt was interrupted: {job}"
        );
        done_payloads.insert(job["payload"].as_u64().unwrap());
    }
    let missing: Vec<&u64> = acked
        .iter()
        .filter(|n| done.get(n.to_be_bytes()).unwrap().is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "acknowledged but never run: {missing:?}"
    );
    assert!(
        acked.is_subset(&done_payloads),
        "every acknowledged job is stored as succeeded"
    );
    let reruns = done
        .iter()
        .values()
        .filter(|v| u32::from_be_bytes(v.as_ref().unwrap().as_ref().try_into().unwrap()) > 1)
        .count();
    println!(
        "{} acknowledged enqueues over {ROUNDS} kills, all succeeded; {reruns} ran more than once \
         (at-least-once after a kill)",
        acked.len()
    );
}
