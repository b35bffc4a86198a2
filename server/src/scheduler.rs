//! The cron table: each entry only queues jobs or refreshes caches, never does marketplace
//! work itself. Backup polling of every live connection (`poll_cron`, every 10 minutes),
//! BrickLink's colour table (`colors_cron`, weekly), the most asked searches
//! (`search_refresh_cron`, every 5 minutes), retention pruning of finished jobs and old
//! activity (`prune_cron`, hourly), and a fresh read of every inventory already read once
//! (`inventory_cron`, nightly: merged as a diff, edits on their way kept). An empty schedule turns an entry off. `GET /api/schedules`
//! shows each with its last and next run (last runs are remembered since the server started).

use std::{
    collections::HashMap,
    str::FromStr as _,
    sync::{Arc, Mutex},
    time::Duration,
};

use app::{ConnectionStatus, Marketplace, Schedule};
use croner::Cron;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use crate::{
    jobs::{
        self, bricklink_notifications,
        import_inventory::{self, ImportInventory},
        poll_orders::{self, PollOrders},
        reconcile_stock::{self, ReconcileStock},
        sync_colors::{self, SyncColors},
    },
    services::Services,
    store::Store,
};

/// What an entry does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Task {
    Poll,
    Colors,
    SearchRefresh,
    Prune,
    Backup,
    Inventory,
}

impl Task {
    /// The config key of its schedule.
    pub fn name(self) -> &'static str {
        match self {
            Self::Poll => "poll_cron",
            Self::Colors => "colors_cron",
            Self::SearchRefresh => "search_refresh_cron",
            Self::Prune => "prune_cron",
            Self::Backup => "backup_cron",
            Self::Inventory => "inventory_cron",
        }
    }

    fn description(self) -> &'static str {
        match self {
            Self::Poll => {
                "Backup polling: asks every connected marketplace for orders whose push never came"
            }
            Self::Colors => "Copies BrickLink's colour table, for colour names and swatches",
            Self::SearchRefresh => "Computes your most used searches again, so they stay instant",
            Self::Prune => {
                "Deletes finished jobs past their retention and activity beyond the newest 2,000 entries"
            }
            Self::Backup => {
                "Writes a backup of everything into the backup folder, keeping the newest few"
            }
            Self::Inventory => {
                "Reads your BrickLink and BrickOwl stores again (once you have read them), so the inventory shows what sold or changed there; with stock sync on, reconciles them"
            }
        }
    }
}

struct Entry {
    task: Task,
    pattern: String,
    cron: Option<Cron>,
}

/// The parsed cron table and when each entry last ran; cheap to clone.
#[derive(Clone)]
pub struct Scheduler {
    entries: Arc<Vec<Entry>>,
    last: Arc<Mutex<HashMap<Task, OffsetDateTime>>>,
    /// The data directory, where rotating backups go, and how many stay.
    backups: Arc<(std::path::PathBuf, std::path::PathBuf, usize)>,
}

impl Scheduler {
    /// Parses the configured entries.
    pub fn from_config(config: &crate::config::Config) -> Result<Self, BadSchedule> {
        let entries = [
            (Task::Poll, &config.poll_cron),
            (Task::Colors, &config.colors_cron),
            (Task::SearchRefresh, &config.search_refresh_cron),
            (Task::Prune, &config.prune_cron),
            (Task::Backup, &config.backup_cron),
            (Task::Inventory, &config.inventory_cron),
        ]
        .into_iter()
        .map(|(task, pattern)| {
            Ok(Entry {
                task,
                pattern: pattern.trim().to_owned(),
                cron: parse(pattern)?,
            })
        })
        .collect::<Result<Vec<_>, BadSchedule>>()?;
        let folder = config.backup_folder();
        Ok(Self {
            entries: Arc::new(entries),
            last: Arc::default(),
            backups: Arc::new((config.data_dir.clone(), folder, config.backup_keep.max(1))),
        })
    }

    /// How fresh the rotating backups are as of `now` (reads the backup folder; the shop is
    /// in use since its first account).
    pub fn backup_health(&self, store: &Store, now: OffsetDateTime) -> app::BackupHealth {
        let (_, folder, _) = &*self.backups;
        let since = store
            .users()
            .list()
            .ok()
            .and_then(|users| users.iter().map(|u| u.created_at).min());
        app::BackupHealth::at(
            self.cron(Task::Backup).is_some(),
            crate::backup::newest(folder),
            since,
            now,
        )
    }

    /// The schedule of `task`, when on.
    pub fn cron(&self, task: Task) -> Option<&Cron> {
        self.entries
            .iter()
            .find(|e| e.task == task)
            .and_then(|e| e.cron.as_ref())
    }

    /// Every entry with its last and next run as of `now`.
    pub fn table(&self, now: OffsetDateTime) -> Vec<Schedule> {
        let last = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        self.entries
            .iter()
            .map(|e| Schedule {
                name: e.task.name().to_owned(),
                description: e.task.description().to_owned(),
                pattern: e.pattern.clone(),
                enabled: e.cron.is_some(),
                last_run: last.get(&e.task).copied(),
                next_run: e.cron.as_ref().and_then(|c| next_after(c, now)),
            })
            .collect()
    }

    /// Runs every entry until `stop`.
    pub async fn run(self, services: Services, stop: CancellationToken) {
        let runs = self.entries.iter().map(|e| self.entry(&services, e, &stop));
        futures_util::future::join_all(runs).await;
    }

    async fn entry(&self, services: &Services, entry: &Entry, stop: &CancellationToken) {
        let name = entry.task.name();
        let Some(cron) = &entry.cron else {
            tracing::info!(entry = name, "schedule entry is off (empty)");
            return;
        };
        loop {
            let now = OffsetDateTime::now_utc();
            let Some(next) = next_after(cron, now) else {
                tracing::warn!(entry = name, "the schedule never fires again");
                return;
            };
            let wait = Duration::try_from(next - now).unwrap_or(Duration::ZERO);
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = stop.cancelled() => return,
            }
            if let Err(err) = self.run_now(services, entry.task).await {
                tracing::error!(%err, entry = name, "the scheduled run failed");
            }
        }
    }

    /// Runs `task` once now and records the run; returns how many things it queued or did.
    pub async fn run_now(&self, services: &Services, task: Task) -> anyhow::Result<usize> {
        self.last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(task, OffsetDateTime::now_utc());
        match task {
            Task::Poll => poll_all(services).await,
            Task::Colors => sync_colors(services).await,
            Task::SearchRefresh => {
                let (search, store) = (services.search.clone(), services.store.clone());
                Ok(tokio::task::spawn_blocking(move || search.refresh(&store)).await??)
            }
            Task::Prune => prune(services).await,
            Task::Inventory => import_inventories(services).await,
            Task::Backup => {
                let (store, backups) = (services.store.clone(), self.backups.clone());
                let path = tokio::task::spawn_blocking(move || {
                    let (data_dir, folder, keep) = &*backups;
                    crate::backup::rotate(&store, data_dir, folder, *keep)
                })
                .await??;
                tracing::info!(path = %path.display(), "scheduled backup written");
                Ok(1)
            }
        }
    }
}

/// Prunes finished jobs past their retention and each user's old activity.
pub async fn prune(services: &Services) -> anyhow::Result<usize> {
    let mut pruned = services.queue.prune(OffsetDateTime::now_utc()).await?;
    for user in services.store.users().list()? {
        pruned += services.store.activity().prune(user.id)?;
    }
    Ok(pruned)
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

/// Whether `user` may use brickdesk: a disabled account's connections rest.
fn active(services: &Services, user: app::UserId) -> anyhow::Result<bool> {
    Ok(services
        .store
        .users()
        .get(user)?
        .is_some_and(|u| !u.disabled))
}

/// Queues a colour sync through the first valid BrickLink connection, if any.
pub async fn sync_colors(services: &Services) -> anyhow::Result<usize> {
    for (user, marketplace, record) in services.store.connections().all()? {
        if marketplace == Marketplace::BrickLink
            && record.status == ConnectionStatus::Valid
            && active(services, user)?
        {
            jobs::enqueue::<SyncColors>(&services.queue, &sync_colors::Input { user }).await?;
            return Ok(1);
        }
    }
    Ok(0)
}

/// Queues a read of the stores of every user whose inventory was read before and who has a
/// usable connection.
pub async fn import_inventories(services: &Services) -> anyhow::Result<usize> {
    let mut users: Vec<app::UserId> = Vec::new();
    for (user, _, record) in services.store.connections().all()? {
        if record.status.is_usable()
            && !users.contains(&user)
            && active(services, user)?
            && services.store.inventory().count(user) > 0
        {
            users.push(user);
        }
    }
    for user in &users {
        // With stock sync on, the nightly read is a reconcile (it reads both stores too).
        if services
            .store
            .inventory()
            .stock_sync_since(*user)?
            .is_some()
        {
            let input = reconcile_stock::Input {
                user: *user,
                confirm: false,
            };
            jobs::enqueue::<ReconcileStock>(&services.queue, &input).await?;
        } else {
            let input = import_inventory::Input { user: *user };
            jobs::enqueue::<ImportInventory>(&services.queue, &input).await?;
        }
    }
    Ok(users.len())
}

/// Queues a poll (and for BrickLink a notifications read) for every live connection.
pub async fn poll_all(services: &Services) -> anyhow::Result<usize> {
    let mut queued = 0;
    for (user, marketplace, record) in services.store.connections().all()? {
        if !record.status.is_usable() || !active(services, user)? {
            continue;
        }
        if marketplace == Marketplace::BrickLink {
            services
                .queue
                .enqueue(bricklink_notifications::spec(user)?)
                .await?;
        }
        jobs::enqueue::<PollOrders>(&services.queue, &poll_orders::Input { user, marketplace })
            .await?;
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
        let schedules = Scheduler::from_config(&config).expect("valid defaults");
        let colors = schedules.cron(Task::Colors).expect("on by default").clone();
        // Sunday evening → Monday 04:00.
        assert_eq!(
            next_after(&colors, datetime!(2026-11-29 20:00:00 UTC)),
            Some(datetime!(2026-11-30 04:00:00 UTC))
        );
        assert!(schedules.cron(Task::Poll).is_some());
        let table = schedules.table(datetime!(2026-11-29 20:00:00 UTC));
        let names: Vec<&str> = table.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "poll_cron",
                "colors_cron",
                "search_refresh_cron",
                "prune_cron",
                "backup_cron",
                "inventory_cron"
            ]
        );
        assert!(table.iter().all(|s| s.enabled && s.last_run.is_none()));
        let backup = schedules.cron(Task::Backup).expect("nightly by default");
        assert_eq!(
            next_after(backup, datetime!(2026-11-29 20:00:00 UTC)),
            Some(datetime!(2026-11-30 03:30:00 UTC))
        );
        assert_eq!(table[0].next_run, Some(datetime!(2026-11-29 20:10:00 UTC)));
        let off = crate::config::Config {
            colors_cron: String::new(),
            ..config
        };
        let off = Scheduler::from_config(&off).expect("valid");
        assert!(off.cron(Task::Colors).is_none());
        let colors = &off.table(datetime!(2026-11-29 20:00:00 UTC))[1];
        assert!(!colors.enabled && colors.next_run.is_none());
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
