//! The in-process event bus feeding `GET /api/events`: domain changes (a connection checked,
//! an order synced) published per user. Job changes come from the queue's own broadcast.

use app::UserId;
use serde::Serialize;
use tokio::sync::broadcast;

/// One change, for one user's pages.
#[derive(Debug, Clone, PartialEq)]
pub struct UserEvent {
    pub owner: UserId,
    /// SSE event name from `app::events`.
    pub name: &'static str,
    pub data: serde_json::Value,
}

/// The bus; cheap to clone.
#[derive(Clone)]
pub struct Events {
    sender: broadcast::Sender<UserEvent>,
}

impl Default for Events {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(1024).0,
        }
    }
}

impl Events {
    /// Tells `owner`'s open pages about a change (nobody listening is fine).
    pub fn publish(&self, owner: UserId, name: &'static str, data: &impl Serialize) {
        match serde_json::to_value(data) {
            Ok(data) => {
                let _ = self.sender.send(UserEvent { owner, name, data });
            }
            Err(err) => tracing::error!(%err, name, "cannot encode an event"),
        }
    }

    /// Every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<UserEvent> {
        self.sender.subscribe()
    }
}
