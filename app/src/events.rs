//! Server-sent events on `GET /api/events`: names and payloads.

use serde::{Deserialize, Serialize};

use crate::{JobId, JobState, ProgressView, QueueName, UserId};

/// SSE event name of a new or changed order; the data is a [`crate::OrderSummary`].
pub const ORDER_UPDATED: &str = "order.updated";
/// SSE event name of a sync's progress; the data is a [`SyncUpdated`].
pub const SYNC_UPDATED: &str = "sync.updated";

/// A sync with one marketplace started, moved on or finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncUpdated {
    pub marketplace: crate::Marketplace,
    /// The job doing it (a batch for imports).
    pub job: JobId,
    /// 0–100.
    pub percent: u8,
    pub message: String,
    pub done: bool,
}

/// SSE event name of a changed connection; the data is a [`crate::ConnectionView`].
pub const CONNECTION_UPDATED: &str = "connection.updated";

/// SSE event name of [`JobUpdated`].
pub const JOB_UPDATED: &str = "job.updated";
/// SSE event telling the page it missed events and should reload what it shows.
pub const RESYNC: &str = "resync";

/// A job changed state or reported progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobUpdated {
    pub id: JobId,
    pub kind: String,
    pub queue: QueueName,
    pub state: JobState,
    pub owner: Option<UserId>,
    pub progress: Option<ProgressView>,
}
