//! `update_order_status`: writes a status change (and tracking number) back to the marketplace,
//! then fetches the order again so brickdesk shows what the marketplace now says.

use std::time::Duration;

use app::{Marketplace, OrderStatus, QueueName, UserId};
use serde::{Deserialize, Serialize};

use super::{Deps, account, sync_order};
use crate::{
    marketplace::guard::Priority,
    queue::{Enqueued, JobContext, JobSpec, Queue, QueueError, RetryPolicy},
};

pub const KIND: &str = "update_order_status";

const POLICY: RetryPolicy = RetryPolicy {
    max_attempts: 8,
    timeout: Duration::from_secs(120),
    base: Duration::from_secs(2),
    cap: Duration::from_secs(10 * 60),
};

/// The job's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    pub user: UserId,
    pub marketplace: Marketplace,
    pub order_id: String,
    pub status: OrderStatus,
    pub tracking: Option<String>,
}

/// Queues the change (the latest wins while one waits).
pub async fn enqueue(queue: &Queue, input: &Input) -> Result<Enqueued, QueueError> {
    queue
        .enqueue(
            JobSpec::new(KIND, serde_json::to_value(input).unwrap_or_default())
                .queue(QueueName::Critical)
                .owner(input.user)
                .key(format!(
                    "status:{}:{}:{}",
                    input.user,
                    input.marketplace.as_str(),
                    input.order_id
                )),
        )
        .await
}

pub fn register(queue: &Queue, deps: Deps) {
    queue.register(KIND, POLICY, move |ctx: JobContext| {
        let deps = deps.clone();
        async move {
            let input: Input = ctx.payload()?;
            let account = account::open(&deps, input.user, input.marketplace)?;
            ctx.progress(20, format!("telling {}", input.marketplace));
            account
                .set_status(
                    &input.order_id,
                    input.status,
                    input.tracking.as_deref(),
                    Priority::Interactive,
                )
                .await?;
            ctx.progress(70, "fetching the order again");
            let sync = sync_order::Input {
                user: input.user,
                marketplace: input.marketplace,
                order_id: input.order_id.clone(),
            };
            sync_order::fetch_and_store(&deps, &sync, Priority::Interactive).await?;
            Ok(serde_json::json!({"status": input.status}))
        }
    });
}
