//! Server-sent events on `GET /api/events`: names and payloads, tied together by
//! [`LiveEvent`] so a name can only travel with its own payload.

use serde::{Deserialize, Serialize};

use crate::{
    ConnectionView, JobId, JobState, OrderSummary, PartialMinifig, ProgressView, QueueName, UserId,
    fulfilment::{PICK_TICKED, PickTicked},
    messages::Conversation,
    minifigs::MINIFIG_UPDATED,
};

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

/// SSE event name of an order's messages and feedback, read again; the data is a
/// [`crate::Conversation`].
pub const CONVERSATION_UPDATED: &str = "conversation.updated";

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

/// One live change, as the server sends it and the browser reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveEvent {
    /// [`ORDER_UPDATED`]: a new or changed order.
    Order(OrderSummary),
    /// [`SYNC_UPDATED`]: a sync's progress.
    Sync(SyncUpdated),
    /// [`CONNECTION_UPDATED`]: a connection's status or usage.
    Connection(ConnectionView),
    /// [`JOB_UPDATED`]: a job's state or progress.
    Job(JobUpdated),
    /// [`MINIFIG_UPDATED`]: a minifig's data or parts.
    Minifig(Box<PartialMinifig>),
    /// [`PICK_TICKED`]: a pick line ticked or unticked.
    PickTicked(PickTicked),
    /// [`CONVERSATION_UPDATED`]: an order's messages and feedback.
    Conversation(Box<Conversation>),
    /// [`RESYNC`]: events were missed; reload what the page shows.
    Resync,
}

impl LiveEvent {
    /// Every event name, for subscribing.
    pub const NAMES: [&'static str; 8] = [
        ORDER_UPDATED,
        SYNC_UPDATED,
        CONNECTION_UPDATED,
        JOB_UPDATED,
        MINIFIG_UPDATED,
        PICK_TICKED,
        CONVERSATION_UPDATED,
        RESYNC,
    ];

    /// The SSE event name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Order(_) => ORDER_UPDATED,
            Self::Sync(_) => SYNC_UPDATED,
            Self::Connection(_) => CONNECTION_UPDATED,
            Self::Job(_) => JOB_UPDATED,
            Self::Minifig(_) => MINIFIG_UPDATED,
            Self::PickTicked(_) => PICK_TICKED,
            Self::Conversation(_) => CONVERSATION_UPDATED,
            Self::Resync => RESYNC,
        }
    }

    /// The SSE data: the payload as JSON.
    pub fn data(&self) -> Result<String, serde_json::Error> {
        match self {
            Self::Order(v) => serde_json::to_string(v),
            Self::Sync(v) => serde_json::to_string(v),
            Self::Connection(v) => serde_json::to_string(v),
            Self::Job(v) => serde_json::to_string(v),
            Self::Minifig(v) => serde_json::to_string(v),
            Self::PickTicked(v) => serde_json::to_string(v),
            Self::Conversation(v) => serde_json::to_string(v),
            Self::Resync => Ok("{}".to_owned()),
        }
    }

    /// Reads an event from its name and data; `None` for an unknown name or a bad payload.
    pub fn parse(name: &str, data: &str) -> Option<Self> {
        Some(match name {
            ORDER_UPDATED => Self::Order(serde_json::from_str(data).ok()?),
            SYNC_UPDATED => Self::Sync(serde_json::from_str(data).ok()?),
            CONNECTION_UPDATED => Self::Connection(serde_json::from_str(data).ok()?),
            JOB_UPDATED => Self::Job(serde_json::from_str(data).ok()?),
            MINIFIG_UPDATED => Self::Minifig(serde_json::from_str(data).ok()?),
            PICK_TICKED => Self::PickTicked(serde_json::from_str(data).ok()?),
            CONVERSATION_UPDATED => Self::Conversation(serde_json::from_str(data).ok()?),
            RESYNC => Self::Resync,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_reads_back_under_its_own_name() {
        let job = LiveEvent::Job(JobUpdated {
            id: JobId(7),
            kind: crate::jobs::kinds::SYNC_ORDER.to_owned(),
            queue: QueueName::Critical,
            state: JobState::Running,
            owner: Some(UserId(1)),
            progress: None,
        });
        for event in [job, LiveEvent::Resync] {
            let data = event.data().expect("encodes");
            assert_eq!(LiveEvent::parse(event.name(), &data), Some(event.clone()));
            assert!(LiveEvent::NAMES.contains(&event.name()));
        }
        assert_eq!(
            LiveEvent::parse("order.updated", "{}"),
            None,
            "a bad payload"
        );
        assert_eq!(LiveEvent::parse("no.such", "{}"), None, "an unknown name");
    }
}
