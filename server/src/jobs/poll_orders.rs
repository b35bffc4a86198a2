//! `poll_orders`: the backup for pushes that never came. Lists the marketplace's orders, compares
//! them with the store by change time and status, and queues `sync_order` only for what
//! changed. The scheduler queues one per live connection (`BRICKDESK_POLL_CRON`).

use std::time::Duration;

use app::{
    ActivityEntry, ActivityKind, Marketplace, UserId,
    events::{LiveEvent, SyncUpdated},
    jobs::kinds,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{Job, Outcome, sync_order::SyncOrder};
use crate::{
    marketplace::{account::Listed, guard::Priority},
    queue::{JobContext, JobError, RetryPolicy},
    services::Services,
};

/// The job.
pub struct PollOrders;

/// The job's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    pub user: UserId,
    pub marketplace: Marketplace,
}

/// One waiting poll per connection.
impl Job for PollOrders {
    const KIND: &'static str = kinds::POLL_ORDERS;
    const POLICY: RetryPolicy = RetryPolicy {
        max_attempts: 3,
        timeout: Duration::from_secs(120),
        base: Duration::from_secs(5),
        cap: Duration::from_secs(60),
    };
    type Payload = Input;

    fn owner(input: &Input) -> UserId {
        input.user
    }

    fn key(input: &Input) -> Option<String> {
        Some(format!(
            "poll:{}:{}",
            input.user,
            input.marketplace.as_str()
        ))
    }

    async fn run(services: Services, ctx: JobContext, input: Input) -> Outcome {
        let (user, marketplace) = (input.user, input.marketplace);
        let account = services.account(user, marketplace)?;
        ctx.progress(10, format!("listing {marketplace} orders"));
        let listed = account.list(false, Priority::Background).await?;
        let total = listed.len();
        let todo = changed(&services, user, marketplace, listed);
        for order_id in &todo {
            let input = super::sync_order::Input {
                user,
                marketplace,
                order_id: order_id.clone(),
                background: true,
            };
            super::enqueue::<SyncOrder>(&services.queue, &input).await?;
        }
        finished(&services, user, marketplace, &ctx, todo.len())?;
        Ok(serde_json::json!({"listed": total, "changed": todo.len()}))
    }
}

/// The listed orders that are new or changed since they were stored.
pub fn changed(
    services: &Services,
    user: UserId,
    marketplace: Marketplace,
    listed: Vec<Listed>,
) -> Vec<String> {
    let known = services.store.orders().known(user, marketplace);
    let mut todo: Vec<String> = listed
        .into_iter()
        .filter(|l| {
            known
                .get(&l.order_id)
                .is_none_or(|(at, marketplace_status, status)| {
                    *at != l.changed_at
                        || *marketplace_status != l.marketplace_status
                        || *status != l.status
                })
        })
        .map(|l| l.order_id)
        .collect();
    // Collected in place, the numbers would keep the whole list's allocation (about 130 bytes
    // an order) while the import queues its chunks.
    todo.shrink_to_fit();
    todo
}

/// Notes the sync time and tells the pages.
pub fn finished(
    services: &Services,
    user: UserId,
    marketplace: Marketplace,
    ctx: &JobContext,
    changed: usize,
) -> Result<(), JobError> {
    let now = OffsetDateTime::now_utc();
    services
        .store
        .connections()
        .set_last_sync(user, marketplace, now)?;
    if changed > 0 {
        let entry = ActivityEntry {
            at: now,
            marketplace,
            kind: ActivityKind::Sync,
            order_id: None,
            text: format!("{marketplace} sync found {changed} new or changed orders"),
        };
        services.store.activity().record(user, &entry)?;
    }
    services.events.publish(
        user,
        LiveEvent::Sync(SyncUpdated {
            marketplace,
            job: ctx.id,
            percent: 100,
            message: format!("{changed} new or changed"),
            done: true,
        }),
    );
    services.publish_connection(user, marketplace);
    Ok(())
}
