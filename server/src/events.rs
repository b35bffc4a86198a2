//! The in-process event bus feeding `GET /api/events`: domain changes (a connection checked,
//! an order synced) published per user. Job changes come from the queue's own broadcast.

use app::{UserId, events::LiveEvent};
use tokio::sync::broadcast;

/// One change, for one user's pages.
#[derive(Debug, Clone, PartialEq)]
pub struct UserEvent {
    pub owner: UserId,
    pub event: LiveEvent,
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
    pub fn publish(&self, owner: UserId, event: LiveEvent) {
        let _ = self.sender.send(UserEvent { owner, event });
    }

    /// Every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<UserEvent> {
        self.sender.subscribe()
    }
}
