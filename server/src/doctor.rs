//! `brickdesk doctor`, `brickdesk upgrade-check` and `brickdesk healthcheck`: what breaks home
//! installs, found before a seller does, each with the way to fix it.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use time::OffsetDateTime;

use crate::{Config, store};

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    Warn,
    Fail,
}

/// One check: what was looked at, what was found, how to fix it.
#[derive(Debug, Clone)]
pub struct Finding {
    pub verdict: Verdict,
    pub what: &'static str,
    pub said: String,
    pub fix: Option<String>,
}

impl Finding {
    fn ok(what: &'static str, said: impl Into<String>) -> Self {
        Self {
            verdict: Verdict::Ok,
            what,
            said: said.into(),
            fix: None,
        }
    }

    fn bad(
        verdict: Verdict,
        what: &'static str,
        said: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            verdict,
            what,
            said: said.into(),
            fix: Some(fix.into()),
        }
    }

    /// `ok    clock: …` / `FAIL  public URL: … Fix: …`.
    pub fn line(&self) -> String {
        let mark = match self.verdict {
            Verdict::Ok => "ok  ",
            Verdict::Warn => "WARN",
            Verdict::Fail => "FAIL",
        };
        match &self.fix {
            Some(fix) => format!("{mark}  {}: {} Fix: {fix}", self.what, self.said),
            None => format!("{mark}  {}: {}", self.what, self.said),
        }
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default()
}

/// Every check, in order.
pub async fn examine(config: &Config) -> Vec<Finding> {
    let mut findings = vec![data_directory(&config.data_dir)];
    for (name, base) in [
        ("BrickLink", config.bricklink_base_url.as_str()),
        ("BrickOwl", config.brickowl_base_url.as_str()),
    ] {
        findings.push(clock(name, base).await);
    }
    findings.extend(public_url(config).await);
    findings.push(backups(&config.backup_folder()));
    findings.push(notify_port(config));
    findings
}

fn data_directory(dir: &Path) -> Finding {
    const WHAT: &str = "data directory";
    if !dir.is_dir() {
        return Finding::bad(
            Verdict::Warn,
            WHAT,
            format!("{} does not exist yet.", dir.display()),
            "brickdesk creates it on its first start; make sure its parent is writable by the user brickdesk runs as.",
        );
    }
    let probe = dir.join(".doctor-probe");
    if let Err(err) = std::fs::write(&probe, b"probe") {
        return Finding::bad(
            Verdict::Fail,
            WHAT,
            format!("{} cannot be written to ({err}).", dir.display()),
            format!(
                "give the user brickdesk runs as the directory: `chown -R <user> {}`.",
                dir.display()
            ),
        );
    }
    let _ = std::fs::remove_file(&probe);
    let free = fs2::available_space(dir).unwrap_or(u64::MAX);
    let gib = free as f64 / (1u64 << 30) as f64;
    #[cfg(unix)]
    let open_to_others = {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(dir).map_or(0, |m| m.permissions().mode() & 0o077)
    };
    #[cfg(not(unix))]
    let open_to_others = 0;
    if free < 100 << 20 {
        return Finding::bad(
            Verdict::Fail,
            WHAT,
            format!(
                "only {:.0} MiB free under {}.",
                free as f64 / f64::from(1 << 20),
                dir.display()
            ),
            "free some space: brickdesk stops taking orders when the disk is full.",
        );
    }
    if open_to_others != 0 {
        return Finding::bad(
            Verdict::Warn,
            WHAT,
            format!(
                "{} can be read by other users (it holds the key to your marketplace keys).",
                dir.display()
            ),
            format!("`chmod 700 {}`.", dir.display()),
        );
    }
    if gib < 1.0 {
        return Finding::bad(
            Verdict::Warn,
            WHAT,
            format!("{:.2} GiB free under {}.", gib, dir.display()),
            "keep at least a gigabyte free for the store, its backups and upgrades.",
        );
    }
    Finding::ok(
        WHAT,
        format!("{} is writable, private, {gib:.1} GiB free.", dir.display()),
    )
}

/// The marketplace's clock against this one, from the `Date` header of any answer: OAuth
/// requests signed more than a few minutes off are refused.
async fn clock(name: &'static str, base: &str) -> Finding {
    const WHAT: &str = "clock";
    let answer = match http().head(base).send().await {
        Ok(answer) => answer,
        Err(err) => {
            return Finding::bad(
                Verdict::Warn,
                WHAT,
                format!("cannot reach {name} at {base} to compare clocks ({err})."),
                "check the server's internet connection and DNS.",
            );
        }
    };
    let theirs = answer
        .headers()
        .get(reqwest::header::DATE)
        .and_then(|d| d.to_str().ok())
        .and_then(|d| {
            OffsetDateTime::parse(d, &time::format_description::well_known::Rfc2822).ok()
        });
    let Some(theirs) = theirs else {
        return Finding::bad(
            Verdict::Warn,
            WHAT,
            format!("{name} sent no date to compare with."),
            "make sure the server's clock is set by NTP (`timedatectl status`).",
        );
    };
    let skew = (OffsetDateTime::now_utc() - theirs).whole_seconds().abs();
    match skew {
        0..=60 => Finding::ok(WHAT, format!("within {skew} s of {name}'s.")),
        61..=299 => Finding::bad(
            Verdict::Warn,
            WHAT,
            format!("{skew} s off {name}'s."),
            "turn on NTP (`timedatectl set-ntp true`): past 5 minutes marketplaces refuse signed requests.",
        ),
        _ => Finding::bad(
            Verdict::Fail,
            WHAT,
            format!("{skew} s off {name}'s: its signed requests will be refused."),
            "set the clock by NTP (`timedatectl set-ntp true`) and check the time zone.",
        ),
    }
}

/// The public URL answers from outside (pushes come that way), and server-sent events pass
/// the reverse proxy at once.
async fn public_url(config: &Config) -> Vec<Finding> {
    const WHAT: &str = "public URL";
    let Some(base) = config
        .public_url
        .as_deref()
        .map(|u| u.trim_end_matches('/'))
    else {
        return vec![Finding::bad(
            Verdict::Warn,
            WHAT,
            "none set: marketplaces cannot push new orders, brickdesk polls every 10 minutes instead.",
            "set BRICKDESK_PUBLIC_URL to the https address your reverse proxy serves brickdesk at.",
        )];
    };
    let health = format!("{base}{}", app::routes::HEALTHZ);
    let reached = match http().get(&health).send().await {
        Ok(answer) if answer.status().is_success() => {
            Finding::ok(WHAT, format!("{health} answers."))
        }
        Ok(answer) => Finding::bad(
            Verdict::Fail,
            WHAT,
            format!("{health} answered HTTP {}.", answer.status()),
            "point the reverse proxy at brickdesk's listen address (see assets/nginx.conf, assets/Caddyfile).",
        ),
        Err(err) => Finding::bad(
            Verdict::Fail,
            WHAT,
            format!("{health} cannot be reached ({err}): marketplace pushes will not arrive."),
            "forward the port on your router and check DNS and the reverse proxy.",
        ),
    };
    if reached.verdict != Verdict::Ok {
        return vec![reached];
    }
    vec![reached, events_pass(base).await]
}

async fn events_pass(base: &str) -> Finding {
    const WHAT: &str = "live updates";
    let url = format!("{base}{}", app::routes::HEALTHZ_STREAM);
    let started = Instant::now();
    let mut answer = match http().get(&url).send().await {
        Ok(answer) if answer.status().is_success() => answer,
        Ok(answer) => {
            return Finding::bad(
                Verdict::Fail,
                WHAT,
                format!("{url} answered HTTP {}.", answer.status()),
                "pass /healthz/stream and /api/events to brickdesk unchanged.",
            );
        }
        Err(err) => {
            return Finding::bad(
                Verdict::Fail,
                WHAT,
                format!("{url}: {err}"),
                "check the reverse proxy.",
            );
        }
    };
    let first = answer.chunk().await;
    let waited = started.elapsed();
    match first {
        Ok(Some(_)) if waited < Duration::from_millis(900) => Finding::ok(
            WHAT,
            format!("events pass the proxy at once ({} ms).", waited.as_millis()),
        ),
        Ok(_) => Finding::bad(
            Verdict::Fail,
            WHAT,
            format!(
                "the first event took {} ms: the proxy holds events back, pages stop updating live.",
                waited.as_millis()
            ),
            "turn buffering off for brickdesk (nginx: `proxy_buffering off;`, see assets/nginx.conf).",
        ),
        Err(err) => Finding::bad(
            Verdict::Fail,
            WHAT,
            format!("{url}: {err}"),
            "check the reverse proxy.",
        ),
    }
}

fn backups(folder: &Path) -> Finding {
    const WHAT: &str = "backups";
    let Some(newest) = crate::backup::newest(folder) else {
        return Finding::bad(
            Verdict::Warn,
            WHAT,
            format!("none in {} yet.", folder.display()),
            "keep `backup_cron` on (the default backs up nightly) and copy the folder to another disk.",
        );
    };
    let age = OffsetDateTime::now_utc() - newest;
    let days = age.whole_days();
    if days > app::BackupHealth::STALE_DAYS {
        return Finding::bad(
            Verdict::Warn,
            WHAT,
            format!("the newest in {} is {days} days old.", folder.display()),
            "check the server's log for failed backups and that `backup_cron` is on.",
        );
    }
    Finding::ok(
        WHAT,
        format!("the newest is {} hours old.", age.whole_hours()),
    )
}

fn notify_port(config: &Config) -> Finding {
    const WHAT: &str = "BrickOwl notify port";
    let listen = config.brickowl_notify_listen.trim();
    if listen.is_empty() {
        return Finding::ok(
            WHAT,
            "not used: BrickOwl pushes arrive at the webhook URL under the public URL.",
        );
    }
    let Ok(addr) = listen.parse::<std::net::SocketAddr>() else {
        return Finding::bad(
            Verdict::Fail,
            WHAT,
            format!("{listen:?} is not an address."),
            "write it as IP:port, e.g. 0.0.0.0:9090.",
        );
    };
    let local = if addr.ip().is_unspecified() {
        std::net::SocketAddr::from(([127, 0, 0, 1], addr.port()))
    } else {
        addr
    };
    match std::net::TcpStream::connect_timeout(&local, Duration::from_secs(2)) {
        Ok(_) => Finding::ok(
            WHAT,
            format!("{listen} takes connections; forward its port on the router."),
        ),
        Err(_) => Finding::bad(
            Verdict::Warn,
            WHAT,
            format!("nothing listens on {listen} (is the server running?)."),
            "start brickdesk; BrickOwl pushes need that port open from outside.",
        ),
    }
}

/// What `brickdesk upgrade-check` says, and whether the store can be opened by this build.
pub async fn upgrade_check(data_dir: &Path) -> anyhow::Result<(String, bool)> {
    let current = store::SCHEMA_VERSION;
    let dir = data_dir.to_owned();
    let found = match tokio::task::spawn_blocking(move || store::schema_at(&dir)).await? {
        Ok(found) => found,
        Err(store::StoreError::InUse(_)) => {
            let Some(schema) = running_schema(data_dir).await else {
                anyhow::bail!(
                    "a brickdesk holds {} but does not say its schema; stop it and run this again",
                    data_dir.display()
                );
            };
            Some(schema)
        }
        Err(err) => return Err(err.into()),
    };
    let me = format!("this brickdesk ({})", crate::version::LONG);
    Ok(match found {
        None => (
            format!(
                "no store in {}: {me} creates one at schema {current}.",
                data_dir.display()
            ),
            true,
        ),
        Some(found) if found == current => (
            format!(
                "the store in {} is at schema {current}, which {me} writes: nothing to migrate.",
                data_dir.display()
            ),
            true,
        ),
        Some(found) if found > current => (
            format!(
                "the store in {} is at schema {found}, newer than {me} reads (schema {current}): \
                 run a brickdesk at least as new as the one that wrote it, or restore a backup.",
                data_dir.display()
            ),
            false,
        ),
        Some(found) => {
            let mut said = format!(
                "the store in {} is at schema {found}; {me} writes schema {current}. On its \
                 first start it will:\n  1. back up the store as it is to the backup folder \
                 (before-schema-{current}-<time>.backup; `brickdesk restore` undoes the upgrade)",
                data_dir.display()
            );
            for (n, step) in store::steps_from(found).enumerate() {
                said.push_str(&format!("\n  {}. schema {}: {}", n + 2, step.to, step.does));
            }
            (said, true)
        }
    })
}

/// The schema a running server on `data_dir` reports in `/readyz`.
async fn running_schema(data_dir: &Path) -> Option<u32> {
    let control = crate::control::read(data_dir)?;
    let body: serde_json::Value = http()
        .get(format!("{}{}", control.url, app::routes::READYZ))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    body["schema"].as_u64().and_then(|s| u32::try_from(s).ok())
}

/// `brickdesk healthcheck`: the server at `listen` answers `/healthz` (for container health
/// checks; the image has no curl).
pub async fn healthcheck(listen: std::net::SocketAddr) -> anyhow::Result<()> {
    let addr = if listen.ip().is_unspecified() {
        std::net::SocketAddr::from(([127, 0, 0, 1], listen.port()))
    } else {
        listen
    };
    let url = format!("http://{addr}{}", app::routes::HEALTHZ);
    let answer = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?
        .get(&url)
        .send()
        .await?;
    anyhow::ensure!(
        answer.status().is_success(),
        "{url} answered HTTP {}",
        answer.status()
    );
    Ok(())
}
