//! `poll_orders`: the backup for pushes that never came. Lists the marketplace's orders, compares
//! them with the store by change time and status, and queues `sync_order` only for what
//! changed. The scheduler queues one per live connection (`BRICKDESK_POLL_CRON`).

use std::time::Duration;

use app::{ActivityEntry, Marketplace, QueueName, UserId, events::SYNC_UPDATED};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{Deps, account, sync_order};
use crate::{
    connections,
    marketplace::{account::Listed, guard::Priority},
    queue::{Enqueued, JobContext, JobError, JobSpec, Queue, QueueError, RetryPolicy},
};

pub const KIND: &str = "poll_orders";

const POLICY: RetryPolicy = RetryPolicy {
    max_attempts: 3,
    timeout: Duration::from_secs(120),
    base: Duration::from_secs(5),
    cap: Duration::from_secs(60),
};

/// The job's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    pub user: UserId,
    pub marketplace: Marketplace,
}

/// Queues a poll (one waiting per connection).
pub async fn enqueue(queue: &Queue, input: &Input) -> Result<Enqueued, QueueError> {
    queue
        .enqueue(
            JobSpec::new(KIND, serde_json::to_value(input).unwrap_or_default())
                .queue(QueueName::Default)
                .owner(input.user)
                .key(format!(
                    "poll:{}:{}",
                    input.user,
                    input.marketplace.as_str()
                )),
        )
        .await
}

pub fn register(queue: &Queue, deps: Deps) {
    let on = queue.clone();
    queue.register(KIND, POLICY, move |ctx: JobContext| {
        let (deps, queue) = (deps.clone(), on.clone());
        async move { run(&deps, &queue, &ctx).await }
    });
}

/// The listed orders that are new or changed since they were stored.
pub fn changed(
    deps: &Deps,
    user: UserId,
    marketplace: Marketplace,
    listed: Vec<Listed>,
) -> Vec<String> {
    let known = deps.store.orders().known(user, marketplace);
    listed
        .into_iter()
        .filter(|l| {
            known
                .get(&l.order_id)
                .is_none_or(|(at, status)| *at != l.changed_at || *status != l.marketplace_status)
        })
        .map(|l| l.order_id)
        .collect()
}

async fn run(deps: &Deps, queue: &Queue, ctx: &JobContext) -> Result<serde_json::Value, JobError> {
    let input: Input = ctx.payload()?;
    let (user, marketplace) = (input.user, input.marketplace);
    let account = account::open(deps, user, marketplace)?;
    ctx.progress(10, format!("listing {marketplace} orders"));
    let listed = account.list(false, Priority::Background).await?;
    let total = listed.len();
    let todo = changed(deps, user, marketplace, listed);
    for order_id in &todo {
        let input = sync_order::Input {
            user,
            marketplace,
            order_id: order_id.clone(),
        };
        sync_order::enqueue(queue, &input, QueueName::Default)
            .await
            .map_err(JobError::retryable)?;
    }
    finished(deps, user, marketplace, ctx, todo.len())?;
    Ok(serde_json::json!({"listed": total, "changed": todo.len()}))
}

/// Notes the sync time and tells the pages.
pub fn finished(
    deps: &Deps,
    user: UserId,
    marketplace: Marketplace,
    ctx: &JobContext,
    changed: usize,
) -> Result<(), JobError> {
    let now = OffsetDateTime::now_utc();
    deps.store
        .connections()
        .set_last_sync(user, marketplace, now)
        .map_err(JobError::retryable)?;
    if changed > 0 {
        let entry = ActivityEntry {
            at: now,
            marketplace,
            kind: "sync".into(),
            order_id: None,
            text: format!("{marketplace} sync found {changed} new or changed orders"),
        };
        deps.store
            .activity()
            .record(user, &entry)
            .map_err(JobError::retryable)?;
    }
    deps.events.publish(
        user,
        SYNC_UPDATED,
        &app::events::SyncUpdated {
            marketplace,
            job: ctx.id,
            percent: 100,
            message: format!("{changed} new or changed"),
            done: true,
        },
    );
    connections::publish(deps, user, marketplace);
    Ok(())
}
