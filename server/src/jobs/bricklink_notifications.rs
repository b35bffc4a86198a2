//! `bricklink_notifications`: a push from BrickLink (or a poll) asks for the unread
//! notifications; order events become one coalesced `sync_order` each, messages and feedback
//! go to the activity feed. Coalesced per user: a burst of 500 pushes makes at most one fetch
//! running and one waiting.

use std::time::Duration;

use app::{ActivityEntry, Marketplace, QueueName, UserId};
use serde::{Deserialize, Serialize};

use super::{Deps, account, sync_order};
use crate::{
    marketplace::{account::Account, guard::Priority},
    queue::{JobContext, JobError, JobSpec, Queue, RetryPolicy},
};

pub const KIND: &str = "bricklink_notifications";

const POLICY: RetryPolicy = RetryPolicy {
    max_attempts: 10,
    timeout: Duration::from_secs(60),
    base: Duration::from_secs(2),
    cap: Duration::from_secs(10 * 60),
};

/// The job's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    pub user: UserId,
}

/// How long a push waits before notifications are read, so that every push of a burst
/// merges into the one waiting job: a burst of hundreds costs one or two reads.
pub const DEBOUNCE: Duration = Duration::from_secs(2);

/// The coalesced job spec for `user`, run after [`DEBOUNCE`].
pub fn spec(user: UserId) -> JobSpec {
    JobSpec::new(
        KIND,
        serde_json::to_value(Input { user }).unwrap_or_default(),
    )
    .queue(QueueName::Critical)
    .owner(user)
    .key(format!("bricklink-notifications:{user}"))
    .run_at(time::OffsetDateTime::now_utc() + DEBOUNCE)
}

pub fn register(queue: &Queue, deps: Deps) {
    let on = queue.clone();
    queue.register(KIND, POLICY, move |ctx: JobContext| {
        let (deps, queue) = (deps.clone(), on.clone());
        async move { run(&deps, &queue, &ctx).await }
    });
}

async fn run(deps: &Deps, queue: &Queue, ctx: &JobContext) -> Result<serde_json::Value, JobError> {
    let Input { user } = ctx.payload()?;
    let Account::BrickLink(client) = account::open(deps, user, Marketplace::BrickLink)? else {
        return Err(JobError::permanent("not a BrickLink account"));
    };
    let unread = client.notifications(Priority::Interactive).await?;
    let (mut orders, mut other) = (0, 0);
    for note in &unread {
        match note.event_type.as_str() {
            "Order" => {
                let input = sync_order::Input {
                    user,
                    marketplace: Marketplace::BrickLink,
                    order_id: note.resource_id.to_string(),
                };
                sync_order::enqueue(queue, &input, QueueName::Critical)
                    .await
                    .map_err(JobError::retryable)?;
                orders += 1;
            }
            kind => {
                let text = match kind {
                    "Message" => format!("New BrickLink message about order {}", note.resource_id),
                    "Feedback" => format!("New BrickLink feedback ({})", note.resource_id),
                    other => format!("BrickLink event {other} ({})", note.resource_id),
                };
                let entry = ActivityEntry {
                    at: note.timestamp,
                    marketplace: Marketplace::BrickLink,
                    kind: kind.to_lowercase(),
                    order_id: (kind == "Message").then(|| note.resource_id.to_string()),
                    text,
                };
                deps.store
                    .activity()
                    .record(user, &entry)
                    .map_err(JobError::retryable)?;
                other += 1;
            }
        }
    }
    Ok(serde_json::json!({"orders": orders, "other": other}))
}
