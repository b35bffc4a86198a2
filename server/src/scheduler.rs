//! The cron table: each entry only queues jobs, never does the work itself. Backup polling of
//! every live connection (`BRICKDESK_POLL_CRON`, default every 10 minutes) and BrickLink's
//! colour table (`BRICKDESK_COLORS_CRON`, weekly). An empty schedule turns an entry off.

use std::{future::Future, str::FromStr as _, time::Duration};

use app::{ConnectionStatus, Marketplace};
use croner::Cron;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use crate::jobs::{Deps, bricklink_notifications, poll_orders, sync_colors};

/// The parsed cron table.
#[derive(Debug, Clone, Default)]
pub struct Schedules {
    pub poll: Option<Cron>,
    pub colors: Option<Cron>,
}

impl Schedules {
    /// Parses the configured entries.
    pub fn from_config(config: &crate::config::Config) -> Result<Self, BadSchedule> {
        Ok(Self {
            poll: parse(&config.poll_cron)?,
            colors: parse(&config.colors_cron)?,
        })
    }
}

/// Why a schedule was refused.
#[derive(Debug, thiserror::Error)]
#[error("the schedule {pattern:?} is not valid cron ({reason}); write it like \"*/10 * * * *\"")]
pub struct BadSchedule {
    pub pattern: String,
    pub reason: String,
}

/// A parsed schedule; `None` when turned off.
pub fn parse(pattern: &str) -> Result<Option<Cron>, BadSchedule> {
    let pattern = pattern.trim();
    if pattern.is_empty() {
        return Ok(None);
    }
    Cron::from_str(pattern).map(Some).map_err(|e| BadSchedule {
        pattern: pattern.to_owned(),
        reason: e.to_string(),
    })
}

fn to_chrono(at: OffsetDateTime) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(at.unix_timestamp(), at.nanosecond()).unwrap_or_default()
}

/// The first time after `after` the schedule fires.
pub fn next_after(cron: &Cron, after: OffsetDateTime) -> Option<OffsetDateTime> {
    let next = cron.find_next_occurrence(&to_chrono(after), false).ok()?;
    OffsetDateTime::from_unix_timestamp(next.timestamp()).ok()
}

/// Whether a run is due at `now` when the last one was at `last`.
pub fn due(cron: &Cron, last: OffsetDateTime, now: OffsetDateTime) -> bool {
    next_after(cron, last).is_some_and(|next| next <= now)
}

/// Runs every entry until `stop`.
pub async fn run(deps: Deps, schedules: Schedules, stop: CancellationToken) {
    tokio::join!(
        entry("poll_cron", schedules.poll, &stop, || poll_all(&deps)),
        entry("colors_cron", schedules.colors, &stop, || sync_colors(
            &deps
        )),
    );
}

async fn entry<F, Fut>(name: &str, cron: Option<Cron>, stop: &CancellationToken, mut action: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<usize>>,
{
    let Some(cron) = cron else {
        tracing::info!(entry = name, "schedule entry is off (empty)");
        return;
    };
    loop {
        let now = OffsetDateTime::now_utc();
        let Some(next) = next_after(&cron, now) else {
            tracing::warn!(entry = name, "the schedule never fires again");
            return;
        };
        let wait = Duration::try_from(next - now).unwrap_or(Duration::ZERO);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = stop.cancelled() => return,
        }
        if let Err(err) = action().await {
            tracing::error!(%err, entry = name, "cannot queue the scheduled jobs");
        }
    }
}

/// Queues a colour sync through the first valid BrickLink connection, if any.
pub async fn sync_colors(deps: &Deps) -> anyhow::Result<usize> {
    for (user, marketplace, record) in deps.store.connections().all()? {
        if marketplace == Marketplace::BrickLink && record.status == ConnectionStatus::Valid {
            sync_colors::enqueue(&deps.queue, user).await?;
            return Ok(1);
        }
    }
    Ok(0)
}

/// Queues a poll (and for BrickLink a notifications read) for every live connection.
pub async fn poll_all(deps: &Deps) -> anyhow::Result<usize> {
    let mut queued = 0;
    for (user, marketplace, record) in deps.store.connections().all()? {
        if record.status != ConnectionStatus::Valid {
            continue;
        }
        if marketplace == Marketplace::BrickLink {
            deps.queue
                .enqueue(bricklink_notifications::spec(user))
                .await?;
        }
        poll_orders::enqueue(&deps.queue, &poll_orders::Input { user, marketplace }).await?;
        let _ = deps.store.activity().prune(user);
        queued += 1;
    }
    tracing::info!(connections = queued, "scheduled polls queued");
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn every_ten_minutes_is_due_on_the_tens() {
        let cron = parse("*/10 * * * *").expect("valid").expect("on");
        let last = datetime!(2026-11-29 10:00:00 UTC);
        assert_eq!(
            next_after(&cron, last),
            Some(datetime!(2026-11-29 10:10:00 UTC))
        );
        assert!(!due(&cron, last, datetime!(2026-11-29 10:09:59 UTC)));
        assert!(due(&cron, last, datetime!(2026-11-29 10:10:00 UTC)));
        assert!(
            due(&cron, last, datetime!(2026-11-29 13:00:00 UTC)),
            "missed runs are due"
        );
    }

    #[test]
    fn the_default_colour_sync_runs_weekly_and_can_be_turned_off() {
        let config = crate::config::Config::default();
        let schedules = Schedules::from_config(&config).expect("valid defaults");
        let colors = schedules.colors.expect("on by default");
        // Sunday evening → Monday 04:00.
        assert_eq!(
            next_after(&colors, datetime!(2026-11-29 20:00:00 UTC)),
            Some(datetime!(2026-11-30 04:00:00 UTC))
        );
        assert!(schedules.poll.is_some());
        let off = crate::config::Config {
            colors_cron: String::new(),
            ..config
        };
        assert!(
            Schedules::from_config(&off)
                .expect("valid")
                .colors
                .is_none()
        );
    }

    #[test]
    fn an_empty_schedule_is_off_and_nonsense_is_refused_in_words() {
        assert!(parse("  ").expect("valid").is_none());
        let err = parse("every ten minutes").expect_err("refused");
        assert!(err.to_string().contains("*/10 * * * *"), "{err}");
        let nightly = parse("30 3 * * *").expect("valid").expect("on");
        assert_eq!(
            next_after(&nightly, datetime!(2026-11-29 10:00:00 UTC)),
            Some(datetime!(2026-11-30 03:30:00 UTC))
        );
    }
}
