//! `sync_order`: fetches one order with its items, stores it (idempotently) and tells the
//! user's pages. Coalesced per order, so a burst of pushes about one order fetches it once or
//! twice, never fifty times.

use std::time::Duration;

use app::{ActivityEntry, Marketplace, QueueName, UserId, events::ORDER_UPDATED};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{Deps, account, prefetch_pictures};
use crate::{
    marketplace::guard::Priority,
    queue::{Enqueued, JobContext, JobError, JobSpec, Queue, QueueError, RetryPolicy},
    store::Upserted,
};

pub const KIND: &str = "sync_order";

const POLICY: RetryPolicy = RetryPolicy {
    max_attempts: 10,
    timeout: Duration::from_secs(120),
    base: Duration::from_secs(2),
    cap: Duration::from_secs(15 * 60),
};

/// The job's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    pub user: UserId,
    pub marketplace: Marketplace,
    pub order_id: String,
}

/// Queues a sync of one order on `queue` (`Critical` for pushes, `Default` for polling).
pub async fn enqueue(queue: &Queue, input: &Input, on: QueueName) -> Result<Enqueued, QueueError> {
    queue.enqueue(spec(input, on)).await
}

/// The job spec, for enqueuing in a batch or with other writes.
pub fn spec(input: &Input, on: QueueName) -> JobSpec {
    JobSpec::new(KIND, serde_json::to_value(input).unwrap_or_default())
        .queue(on)
        .owner(input.user)
        .key(format!(
            "order:{}:{}:{}",
            input.user,
            input.marketplace.as_str(),
            input.order_id
        ))
}

pub fn register(queue: &Queue, deps: Deps) {
    queue.register(KIND, POLICY, move |ctx: JobContext| {
        let deps = deps.clone();
        async move {
            let input: Input = ctx.payload()?;
            let (outcome, order) = fetch_and_store(&deps, &input, Priority::Interactive).await?;
            // A new order's pictures are wanted soon; warm them in the background.
            if outcome == Upserted::New {
                prefetch_pictures::enqueue_for(&deps.queue, &deps, input.user, &order)
                    .await
                    .map_err(JobError::retryable)?;
            }
            Ok(serde_json::json!({"outcome": format!("{outcome:?}").to_lowercase()}))
        }
    });
}

/// Fetches the order, stores it, and announces a change; hands back what it stored.
pub async fn fetch_and_store(
    deps: &Deps,
    input: &Input,
    priority: Priority,
) -> Result<(Upserted, app::OrderDetail), JobError> {
    let account = account::open(deps, input.user, input.marketplace)?;
    let detail = account.order(&input.order_id, priority).await?;
    let outcome = deps
        .store
        .orders()
        .upsert(input.user, &detail)
        .map_err(JobError::retryable)?;
    if let Some(store_id) = &detail.store_id {
        deps.store
            .connections()
            .set_store_id(input.user, input.marketplace, store_id)
            .map_err(JobError::retryable)?;
    }
    if outcome != Upserted::Unchanged {
        let summary = &detail.summary;
        let (kind, text) = match outcome {
            Upserted::New => (
                "order.new",
                format!(
                    "New {} order {} from {}",
                    input.marketplace, summary.order_id, summary.buyer
                ),
            ),
            _ => (
                "order.changed",
                format!(
                    "{} order {} is now {}",
                    input.marketplace,
                    summary.order_id,
                    summary.status.label().to_lowercase()
                ),
            ),
        };
        let entry = ActivityEntry {
            at: OffsetDateTime::now_utc(),
            marketplace: input.marketplace,
            kind: kind.into(),
            order_id: Some(summary.order_id.clone()),
            text,
        };
        deps.store
            .activity()
            .record(input.user, &entry)
            .map_err(JobError::retryable)?;
        deps.events.publish(input.user, ORDER_UPDATED, summary);
    }
    Ok((outcome, detail))
}
