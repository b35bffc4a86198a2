//! `sync_colors`: copies BrickLink's colour table (one call) into the store, where part rows
//! find their colour names and swatches. Queued when a BrickLink connection proves valid and
//! weekly by the scheduler (`colors_cron`); one pending sync at a time for everyone, since the
//! table is the same for every account.

use std::time::Duration;

use app::{Color, Marketplace, QueueName, UserId};
use serde::{Deserialize, Serialize};

use super::{Deps, account};
use crate::{
    marketplace::{account::Account, guard::Priority},
    queue::{Enqueued, JobContext, JobError, JobSpec, Queue, QueueError, RetryPolicy},
};

pub const KIND: &str = "sync_colors";

const POLICY: RetryPolicy = RetryPolicy {
    max_attempts: 6,
    timeout: Duration::from_secs(120),
    base: Duration::from_secs(30),
    cap: Duration::from_secs(30 * 60),
};

/// The job's input: whose account asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    pub user: UserId,
}

/// Queues a colour sync through `user`'s BrickLink account.
pub async fn enqueue(queue: &Queue, user: UserId) -> Result<Enqueued, QueueError> {
    queue
        .enqueue(
            JobSpec::new(
                KIND,
                serde_json::to_value(Input { user }).unwrap_or_default(),
            )
            .queue(QueueName::Bulk)
            .owner(user)
            .key("sync_colors"),
        )
        .await
}

pub fn register(queue: &Queue, deps: Deps) {
    queue.register(KIND, POLICY, move |ctx: JobContext| {
        let deps = deps.clone();
        async move {
            let input: Input = ctx.payload()?;
            let Account::BrickLink(client) =
                account::open(&deps, input.user, Marketplace::BrickLink)?
            else {
                return Err(JobError::Permanent("not a BrickLink account".into()));
            };
            let colors: Vec<Color> = client
                .colors(Priority::Background)
                .await?
                .into_iter()
                .map(|c| Color {
                    id: c.color_id,
                    name: c.color_name,
                    code: c
                        .color_code
                        .map(|code| code.trim_start_matches('#').to_ascii_uppercase())
                        .filter(|code| !code.is_empty()),
                })
                .collect();
            deps.store
                .catalog()
                .replace_colors(&colors)
                .map_err(JobError::retryable)?;
            Ok(serde_json::json!({"colors": colors.len()}))
        }
    });
}
