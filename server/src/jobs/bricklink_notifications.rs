//! `bricklink_notifications`: a push from BrickLink (or a poll) asks for the unread
//! notifications; order events become one coalesced `sync_order` each, messages and feedback
//! go to the activity feed and are read (`fetch_messages`). Coalesced per user: a burst of 500 pushes makes at most one fetch
//! running and one waiting.

use std::time::Duration;

use app::{ActivityEntry, ActivityKind, Marketplace, QueueName, UserId, jobs::kinds};
use serde::{Deserialize, Serialize};

use super::{Job, Outcome, sync_order::SyncOrder};
use crate::{
    marketplace::{account::Account, guard::Priority},
    queue::{JobContext, JobError, JobSpec, QueueError, RetryPolicy},
    services::Services,
};

/// The job.
pub struct BrickLinkNotifications;

/// The job's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    pub user: UserId,
}

/// How long a push waits before notifications are read, so that every push of a burst
/// merges into the one waiting job: a burst of hundreds costs one or two reads.
pub const DEBOUNCE: Duration = Duration::from_secs(2);

impl Job for BrickLinkNotifications {
    const KIND: &'static str = kinds::BRICKLINK_NOTIFICATIONS;
    const POLICY: RetryPolicy = RetryPolicy {
        max_attempts: 10,
        timeout: Duration::from_secs(60),
        base: Duration::from_secs(2),
        cap: Duration::from_secs(10 * 60),
    };
    const QUEUE: QueueName = QueueName::Critical;
    type Payload = Input;

    fn owner(input: &Input) -> UserId {
        input.user
    }

    fn key(input: &Input) -> Option<String> {
        Some(format!("bricklink-notifications:{}", input.user))
    }

    async fn run(services: Services, _ctx: JobContext, Input { user }: Input) -> Outcome {
        let Account::BrickLink(client) = services.account(user, Marketplace::BrickLink)? else {
            return Err(JobError::permanent("not a BrickLink account"));
        };
        // Reading them marks them read on BrickLink: what they ask for is committed at once,
        // all of it in one durable commit, so a crash cannot drop part of it.
        let unread = client.notifications(Priority::Interactive).await?;
        let mut syncs = Vec::new();
        let mut entries = Vec::new();
        for note in &unread {
            match note.event_type.as_str() {
                "Order" => {
                    let input = super::sync_order::Input {
                        user,
                        marketplace: Marketplace::BrickLink,
                        order_id: note.resource_id.to_string(),
                        background: false,
                    };
                    syncs.push(super::spec::<SyncOrder>(&input)?.queue(QueueName::Critical));
                }
                kind => {
                    let fetch = match kind {
                        "Message" => Some((Some(note.resource_id.to_string()), None)),
                        "Feedback" => Some((None, Some(note.resource_id))),
                        _ => None,
                    };
                    if let Some((order_id, feedback_id)) = fetch {
                        let input = super::fetch_messages::Input {
                            user,
                            marketplace: Marketplace::BrickLink,
                            order_id,
                            feedback_id,
                        };
                        syncs.push(super::spec::<super::fetch_messages::FetchMessages>(&input)?);
                    }
                    let (activity, text) = match kind {
                        "Message" => (
                            ActivityKind::Message,
                            format!("New BrickLink message about order {}", note.resource_id),
                        ),
                        "Feedback" => (
                            ActivityKind::Feedback,
                            format!("New BrickLink feedback ({})", note.resource_id),
                        ),
                        other => (
                            ActivityKind::Other,
                            format!("BrickLink event {other} ({})", note.resource_id),
                        ),
                    };
                    entries.push(ActivityEntry {
                        at: note.timestamp,
                        marketplace: Marketplace::BrickLink,
                        kind: activity,
                        order_id: (activity == ActivityKind::Message)
                            .then(|| note.resource_id.to_string()),
                        text,
                    });
                }
            }
        }
        let orders = unread.iter().filter(|n| n.event_type == "Order").count();
        let other = entries.len();
        let writes = services.store.activity().all_recorded(user, &entries);
        services.queue.enqueue_all(syncs, writes).await?;
        Ok(serde_json::json!({"orders": orders, "other": other}))
    }
}

/// The coalesced job spec for `user`, run after [`DEBOUNCE`].
pub fn spec(user: UserId) -> Result<JobSpec, QueueError> {
    Ok(super::spec::<BrickLinkNotifications>(&Input { user })?
        .run_at(time::OffsetDateTime::now_utc() + DEBOUNCE))
}
