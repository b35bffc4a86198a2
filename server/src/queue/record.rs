//! What the queue stores per job, and what callers give it to enqueue one.

use std::time::Duration;

use app::{JobId, JobState, QueueName, UserId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A request to run something in the background.
#[derive(Debug, Clone)]
pub struct JobSpec {
    /// Which handler runs it.
    pub kind: String,
    /// The handler's input.
    pub payload: serde_json::Value,
    /// Which queue's workers run it.
    pub queue: QueueName,
    /// Higher runs first within a queue.
    pub priority: i16,
    /// Not before this time; `None` means now.
    pub run_at: Option<OffsetDateTime>,
    /// Overrides the kind's policy.
    pub max_attempts: Option<u32>,
    /// Overrides the kind's policy.
    pub timeout: Option<Duration>,
    /// The user the job works for; scopes who may see it.
    pub owner: Option<UserId>,
    /// Coalescing key: at most one pending and one running job per key.
    pub key: Option<String>,
    /// The batch this job is a part of (set by `Queue::enqueue_batch`).
    pub parent: Option<JobId>,
}

impl JobSpec {
    /// A job of `kind` with `payload` on the default queue, now.
    pub fn new(kind: impl Into<String>, payload: serde_json::Value) -> Self {
        Self {
            kind: kind.into(),
            payload,
            queue: QueueName::Default,
            priority: 0,
            run_at: None,
            max_attempts: None,
            timeout: None,
            owner: None,
            key: None,
            parent: None,
        }
    }

    /// On `queue`.
    #[must_use]
    pub fn queue(mut self, queue: QueueName) -> Self {
        self.queue = queue;
        self
    }

    /// With `priority` (higher first).
    #[must_use]
    pub fn priority(mut self, priority: i16) -> Self {
        self.priority = priority;
        self
    }

    /// Not before `at`.
    #[must_use]
    pub fn run_at(mut self, at: OffsetDateTime) -> Self {
        self.run_at = Some(at);
        self
    }

    /// Coalesced under `key`.
    #[must_use]
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Owned by `user`.
    #[must_use]
    pub fn owner(mut self, user: UserId) -> Self {
        self.owner = Some(user);
        self
    }

    /// At most `attempts` runs.
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = Some(attempts);
        self
    }

    /// Each run may take at most `timeout`.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

/// One run of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

/// How the parts of a batch stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    pub total: u32,
    pub succeeded: u32,
    /// Dead or cancelled parts.
    pub failed: u32,
    /// The whole batch was cancelled; it ends `cancelled` with its last part.
    #[serde(default)]
    pub cancelled: bool,
}

impl Batch {
    /// Parts that finished, either way.
    pub fn finished(&self) -> u32 {
        self.succeeded + self.failed
    }
}

/// The last progress a running job reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// 0–100.
    pub percent: u8,
    pub message: String,
}

impl From<Progress> for app::ProgressView {
    fn from(progress: Progress) -> Self {
        Self {
            percent: progress.percent,
            message: progress.message,
        }
    }
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub id: JobId,
    pub kind: String,
    pub payload: serde_json::Value,
    pub queue: QueueName,
    pub priority: i16,
    /// `Scheduled`/`Ready` are stored as written; readers compare `run_at` with the clock.
    pub state: JobState,
    #[serde(with = "time::serde::rfc3339")]
    pub run_at: OffsetDateTime,
    pub attempts: u32,
    pub max_attempts: u32,
    pub timeout_ms: u64,
    pub owner: Option<UserId>,
    pub key: Option<String>,
    pub history: Vec<Attempt>,
    pub progress: Option<Progress>,
    pub result: Option<serde_json::Value>,
    /// Times later enqueues were merged into this job.
    pub merged: u32,
    /// The batch this job is a part of.
    #[serde(default)]
    pub parent: Option<JobId>,
    /// On a batch's parent: how its parts stand. A parent runs no handler; it finishes when
    /// its last part does.
    #[serde(default)]
    pub batch: Option<Batch>,
    /// Boot epoch of the process that last claimed it.
    pub epoch: u64,
    /// Fencing token of the current (or last) attempt.
    pub token: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl JobRecord {
    /// The state as of `now`: a waiting job whose time has come is `Ready`.
    pub fn state_at(&self, now: OffsetDateTime) -> JobState {
        match self.state {
            JobState::Scheduled | JobState::Ready if self.run_at <= now => JobState::Ready,
            JobState::Scheduled | JobState::Ready => JobState::Scheduled,
            other => other,
        }
    }

    /// Waiting to run (scheduled, ready or retrying).
    pub fn is_waiting(&self) -> bool {
        matches!(
            self.state,
            JobState::Scheduled | JobState::Ready | JobState::Retrying
        )
    }

    /// The run time limit.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// The error of the last attempt.
    pub fn last_error(&self) -> Option<&str> {
        self.history.last().and_then(|a| a.error.as_deref())
    }
}
