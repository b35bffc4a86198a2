//! The dashboard (`GET /api/dashboard`), the search (`GET /api/search`) and the scheduler's
//! table (`GET /api/schedules`).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{ActivityEntry, ConnectionView, ListId, Marketplace, MinifigId, Money, Totals};

/// Sales in a time window: money in one currency, and how many orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Period {
    pub total: Money,
    pub orders: u32,
}

/// Sales of one store (marketplace and currency) today, in the last 7 and 30 days (UTC days,
/// today included; cancelled orders left out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sales {
    pub marketplace: Marketplace,
    pub currency: String,
    pub today: Period,
    pub week: Period,
    pub month: Period,
    /// One per day, oldest first, 30 days ending today.
    pub daily: Vec<Day>,
}

/// One day of sales.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Day {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub total: Money,
    pub orders: u32,
}

/// Orders waiting on the seller, with the statuses each card links to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NeedsAction {
    /// New orders: to invoice or confirm.
    pub to_invoice: u32,
    /// Paid or being picked: to pack.
    pub to_pack: u32,
    /// Packed: to ship.
    pub to_ship: u32,
    /// On hold: a problem to look at.
    pub on_hold: u32,
}

impl NeedsAction {
    /// The `status` filter of the orders list behind each card.
    pub const TO_INVOICE: &str = "new";
    pub const TO_PACK: &str = "paid,picking";
    pub const TO_SHIP: &str = "packed";
    pub const ON_HOLD: &str = "on-hold";
}

/// An item sold often in the last 30 days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopItem {
    pub item_type: String,
    pub item_no: String,
    pub name: String,
    pub color_id: i64,
    pub color_name: Option<String>,
    /// Pieces sold.
    pub quantity: u64,
    /// Orders it was in.
    pub orders: u32,
    /// `/img/...` path.
    pub image: String,
}

/// Partial-minifig lists in numbers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MinifigStats {
    pub lists: u32,
    pub totals: Totals,
}

/// The user's jobs by state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct JobHealth {
    pub waiting: u32,
    pub running: u32,
    pub retrying: u32,
    pub dead: u32,
}

/// `GET /api/dashboard`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    /// One per marketplace and currency that sold anything in 30 days.
    pub sales: Vec<Sales>,
    pub needs_action: NeedsAction,
    pub top_items: Vec<TopItem>,
    pub minifigs: MinifigStats,
    /// Newest first.
    pub activity: Vec<ActivityEntry>,
    /// Sync status, last sync and API calls today against the budget.
    pub connections: Vec<ConnectionView>,
    pub jobs: JobHealth,
    pub backups: BackupHealth,
    /// Messages waiting for an answer and feedback to leave.
    #[serde(default)]
    pub conversations: crate::ConversationCounts,
}

/// How fresh the scheduled backups are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BackupHealth {
    /// Whether backups run by schedule (`backup_cron`).
    pub scheduled: bool,
    /// When the newest backup in the backup folder was written.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_at: Option<OffsetDateTime>,
    /// True when the newest is more than [`BackupHealth::STALE_DAYS`] old, or there is none
    /// although the shop has been in use for longer than that.
    pub stale: bool,
}

impl BackupHealth {
    /// Days after which a backup is too old to rely on.
    pub const STALE_DAYS: i64 = 2;

    /// The health of backups whose newest was written at `last_at`, for a shop in use since
    /// `since`, as of `now`.
    pub fn at(
        scheduled: bool,
        last_at: Option<OffsetDateTime>,
        since: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Self {
        let old = |at: OffsetDateTime| now - at > time::Duration::days(Self::STALE_DAYS);
        let stale = match last_at {
            Some(at) => old(at),
            None => since.is_some_and(old),
        };
        Self {
            scheduled,
            last_at,
            stale,
        }
    }
}

/// What a search hit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HitKind {
    Order,
    Buyer,
    Item,
    Minifig,
    List,
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hit {
    pub kind: HitKind,
    pub title: String,
    pub detail: String,
    /// Where it opens in the UI (`/orders/bricklink/123`, `/orders?q=anna`, `/minifigs/4`).
    pub href: String,
    /// Higher is better.
    pub score: u32,
    /// Set for minifigs.
    #[serde(default)]
    pub minifig: Option<(ListId, MinifigId)>,
}

/// `GET /api/search?q=`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResults {
    pub query: String,
    /// Best first.
    pub hits: Vec<Hit>,
    /// Whether the answer came from the cache.
    pub cached: bool,
}

/// One entry of the scheduler's table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// The config key (`poll_cron`).
    pub name: String,
    /// What it does, in words.
    pub description: String,
    /// The cron pattern; empty when turned off.
    pub pattern: String,
    pub enabled: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_run: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_run: Option<OffsetDateTime>,
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn a_backup_older_than_two_days_or_none_at_all_is_stale() {
        let now = datetime!(2026-11-29 12:00 UTC);
        let (yesterday, last_week) = (
            datetime!(2026-11-28 12:00 UTC),
            datetime!(2026-11-22 12:00 UTC),
        );
        assert!(
            !BackupHealth::at(true, None, Some(yesterday), now).stale,
            "a new shop"
        );
        assert!(
            BackupHealth::at(true, None, Some(last_week), now).stale,
            "never backed up"
        );
        let recent = Some(datetime!(2026-11-27 13:00 UTC));
        assert!(!BackupHealth::at(true, recent, Some(last_week), now).stale);
        let old = Some(datetime!(2026-11-27 11:00 UTC));
        assert!(BackupHealth::at(true, old, Some(last_week), now).stale);
    }
}
