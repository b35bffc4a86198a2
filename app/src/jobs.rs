//! Background jobs on the wire: ids, states and queue names shared by the server's job engine
//! and the Jobs page.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The kinds of job the server runs, as stored on each record and shown on the Jobs page.
/// Stored records carry these names: never rename one.
pub mod kinds {
    pub const VALIDATE_CONNECTION: &str = "validate_connection";
    pub const BRICKLINK_NOTIFICATIONS: &str = "bricklink_notifications";
    pub const SYNC_ORDER: &str = "sync_order";
    pub const POLL_ORDERS: &str = "poll_orders";
    pub const IMPORT_ORDERS: &str = "import_orders";
    /// The batch parent of an import: its progress is the import's progress bar.
    pub const IMPORT_ORDERS_BATCH: &str = "import_orders_batch";
    pub const SYNC_ORDERS_CHUNK: &str = "sync_orders_chunk";
    pub const UPDATE_ORDER_STATUS: &str = "update_order_status";
    pub const PREFETCH_PICTURES: &str = "prefetch_pictures";
    pub const FETCH_MINIFIG: &str = "fetch_minifig";
    pub const SYNC_COLORS: &str = "sync_colors";
    pub const IMPORT_INVENTORY: &str = "import_inventory";
    pub const APPLY_LOT_CHANGES: &str = "apply_lot_changes";
    pub const FETCH_PRICE_GUIDES: &str = "fetch_price_guides";
    pub const RECONCILE_STOCK: &str = "reconcile_stock";
    pub const FETCH_MESSAGES: &str = "fetch_messages";
    pub const SEND_FEEDBACK: &str = "send_feedback";

    /// The kinds that bring orders in: the orders page shows their progress.
    pub const ORDER_SYNCS: [&str; 3] = [IMPORT_ORDERS_BATCH, IMPORT_ORDERS, POLL_ORDERS];
}

/// A job's id: increasing in enqueue order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub u64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for its run-at time.
    Scheduled,
    /// Waiting for a free worker.
    Ready,
    /// A worker is running it.
    Running,
    /// Done.
    Succeeded,
    /// Failed; will run again at its run-at time.
    Retrying,
    /// Failed for good (permanent error or attempts used up); kept for inspection and retry.
    Dead,
    /// Cancelled before it finished.
    Cancelled,
}

impl JobState {
    /// Every state, in life order.
    pub const ALL: [JobState; 7] = [
        JobState::Scheduled,
        JobState::Ready,
        JobState::Running,
        JobState::Succeeded,
        JobState::Retrying,
        JobState::Dead,
        JobState::Cancelled,
    ];

    /// Whether the job will not run again by itself.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobState::Succeeded | JobState::Dead | JobState::Cancelled
        )
    }

    /// The snake_case wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Scheduled => "scheduled",
            JobState::Ready => "ready",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Retrying => "retrying",
            JobState::Dead => "dead",
            JobState::Cancelled => "cancelled",
        }
    }
}

/// The named queues, each with its own workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueName {
    /// Webhook follow-ups: small and urgent.
    Critical,
    /// Syncs and validations.
    Default,
    /// Imports and prefetching: large and patient.
    Bulk,
}

impl QueueName {
    /// Every queue.
    pub const ALL: [QueueName; 3] = [QueueName::Critical, QueueName::Default, QueueName::Bulk];

    /// The snake_case wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            QueueName::Critical => "critical",
            QueueName::Default => "default",
            QueueName::Bulk => "bulk",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_serde() {
        for state in JobState::ALL {
            let json = serde_json::to_value(state).expect("serialises");
            assert_eq!(json, state.as_str());
        }
        for queue in QueueName::ALL {
            assert_eq!(
                serde_json::to_value(queue).expect("serialises"),
                queue.as_str()
            );
        }
        assert!(JobState::Dead.is_terminal() && !JobState::Retrying.is_terminal());
    }
}

/// One run of a job, as the Jobs page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptView {
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub ended_at: Option<time::OffsetDateTime>,
    pub error: Option<String>,
}

/// Progress a running job reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressView {
    /// 0–100.
    pub percent: u8,
    pub message: String,
}

/// A job as `GET /api/jobs` and `GET /api/jobs/{id}` show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobView {
    pub id: JobId,
    pub kind: String,
    pub queue: QueueName,
    pub state: JobState,
    pub priority: i16,
    pub attempts: u32,
    pub max_attempts: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub run_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: time::OffsetDateTime,
    pub owner: Option<crate::UserId>,
    pub key: Option<String>,
    /// Enqueues merged into this job by its key.
    pub merged: u32,
    pub progress: Option<ProgressView>,
    pub last_error: Option<String>,
    /// The batch this job is a part of.
    #[serde(default)]
    pub parent: Option<JobId>,
    /// On a batch: how its parts stand.
    #[serde(default)]
    pub parts: Option<PartsView>,
    /// Only in the detail view.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<AttemptView>,
    /// Only in the detail view.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
}

/// How the parts of a batch stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartsView {
    pub total: u32,
    pub succeeded: u32,
    /// Dead or cancelled parts.
    pub failed: u32,
}

/// A page of jobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobList {
    pub jobs: Vec<JobView>,
    pub total: usize,
    pub page: usize,
    pub per_page: usize,
}

/// `GET /api/queues`: the queues, and the marketplace limits the jobs run under.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueuesView {
    pub queues: Vec<QueueCounts>,
    /// The user's account on each marketplace: calls today against the allowance, the
    /// per-minute rate, and the circuit breaker's state.
    pub marketplaces: Vec<MarketplaceLimits>,
}

/// One marketplace account's limits as they stand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketplaceLimits {
    pub marketplace: crate::Marketplace,
    pub configured: bool,
    pub usage: crate::ApiUsage,
}

/// Job counts of one queue by state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueCounts {
    pub queue: QueueName,
    /// Every state, zero included.
    pub counts: std::collections::BTreeMap<String, usize>,
    /// How long the oldest ready job has waited for a worker, in seconds.
    pub lag_seconds: f64,
}
