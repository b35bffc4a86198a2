//! Background jobs on the wire: ids, states and queue names shared by the server's job engine
//! and the Jobs page.

use std::fmt;

use serde::{Deserialize, Serialize};

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
