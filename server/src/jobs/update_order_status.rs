//! `update_order_status`: writes a status change (and tracking number) back to the marketplace,
//! then fetches the order again so brickdesk shows what the marketplace now says.

use std::time::Duration;

use app::{Marketplace, OrderStatus, QueueName, UserId, jobs::kinds};
use serde::{Deserialize, Serialize};

use super::{Job, Outcome, sync_order};
use crate::{
    marketplace::guard::Priority,
    queue::{JobContext, RetryPolicy},
    services::Services,
};

/// The job.
pub struct UpdateOrderStatus;

/// The job's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    pub user: UserId,
    pub marketplace: Marketplace,
    pub order_id: String,
    pub status: OrderStatus,
    pub tracking: Option<String>,
}

/// One waiting change per order: the latest wins while one waits.
impl Job for UpdateOrderStatus {
    const KIND: &'static str = kinds::UPDATE_ORDER_STATUS;
    const POLICY: RetryPolicy = RetryPolicy {
        max_attempts: 8,
        timeout: Duration::from_secs(120),
        base: Duration::from_secs(2),
        cap: Duration::from_secs(10 * 60),
    };
    const QUEUE: QueueName = QueueName::Critical;
    type Payload = Input;

    fn owner(input: &Input) -> UserId {
        input.user
    }

    fn key(input: &Input) -> Option<String> {
        Some(format!(
            "status:{}:{}:{}",
            input.user,
            input.marketplace.as_str(),
            input.order_id
        ))
    }

    async fn run(services: Services, ctx: JobContext, input: Input) -> Outcome {
        let account = services.account(input.user, input.marketplace)?;
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
            background: false,
        };
        sync_order::fetch_and_store(&services, &sync, Priority::Interactive).await?;
        Ok(serde_json::json!({"status": input.status}))
    }
}
