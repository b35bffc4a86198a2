//! `import_orders`: the first import (on connecting, or `POST /api/sync {full: true}`). Lists
//! every order including filed ones, then queues what is missing or changed as a batch of
//! [`SyncOrdersChunk`] jobs on the `bulk` queue: one aggregated progress bar, paced by the
//! guard (background work leaves BrickLink's reserve alone and is parked when the day's
//! budget is spent), and resumable, since every chunk is a durable job.

use std::time::Duration;

use app::{Marketplace, QueueName, UserId, jobs::kinds};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{
    Job, Outcome, poll_orders,
    sync_orders_chunk::{Chunk, SyncOrdersChunk},
};
use crate::{
    marketplace::guard::Priority,
    queue::{JobContext, JobSpec, RetryPolicy},
    services::Services,
};

/// Orders per chunk job, at least.
pub const CHUNK: usize = 25;

/// Chunk jobs per import, at most: a larger import makes its chunks larger instead of more
/// numerous, because a queued job is held in memory until it has run (20,000 chunks of 25
/// for a 500,000-order store took about 180 MB to queue at once).
pub const MAX_PARTS: usize = 1_000;

/// Orders per chunk job for an import of `orders` orders.
pub fn chunk_size(orders: usize) -> usize {
    CHUNK.max(orders.div_ceil(MAX_PARTS))
}

/// The job.
pub struct ImportOrders;

/// The job's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    pub user: UserId,
    pub marketplace: Marketplace,
}

/// One waiting import per connection.
impl Job for ImportOrders {
    const KIND: &'static str = kinds::IMPORT_ORDERS;
    const POLICY: RetryPolicy = RetryPolicy {
        max_attempts: 5,
        timeout: Duration::from_secs(300),
        base: Duration::from_secs(5),
        cap: Duration::from_secs(5 * 60),
    };
    type Payload = Input;

    fn owner(input: &Input) -> UserId {
        input.user
    }

    fn key(input: &Input) -> Option<String> {
        Some(format!(
            "import:{}:{}",
            input.user,
            input.marketplace.as_str()
        ))
    }

    async fn run(services: Services, ctx: JobContext, input: Input) -> Outcome {
        let (user, marketplace) = (input.user, input.marketplace);
        let account = services.account(user, marketplace)?;
        ctx.progress(5, format!("listing every {marketplace} order"));
        let listed = account.list(true, Priority::Background).await?;
        let total = listed.len();
        let todo = poll_orders::changed(&services, user, marketplace, listed);
        if todo.is_empty() {
            poll_orders::finished(&services, user, marketplace, &ctx, 0)?;
            return Ok(serde_json::json!({"listed": total, "to_fetch": 0}));
        }
        let listed_at = OffsetDateTime::now_utc();
        let size = chunk_size(todo.len());
        // A chunk's time allowance grows with it: the policy's is for `CHUNK` orders.
        let per_chunk = SyncOrdersChunk::POLICY
            .timeout
            .saturating_mul(u32::try_from(size.div_ceil(CHUNK)).unwrap_or(u32::MAX));
        let parts = todo
            .chunks(size)
            .map(|ids| {
                super::spec::<SyncOrdersChunk>(&Chunk {
                    user,
                    marketplace,
                    order_ids: ids.to_vec(),
                    listed_at,
                })
                .map(|spec| spec.timeout(per_chunk))
            })
            .collect::<Result<Vec<JobSpec>, _>>()?;
        // The parent runs no handler: it only carries the parts' progress.
        let parent = JobSpec::new(
            kinds::IMPORT_ORDERS_BATCH,
            serde_json::json!({"user": user, "marketplace": marketplace, "orders": todo.len()}),
        )
        .queue(QueueName::Bulk)
        .owner(user);
        let (batch, _) = services.queue.enqueue_batch(parent, parts).await?;
        Ok(serde_json::json!({"listed": total, "to_fetch": todo.len(), "batch": batch}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_import_makes_larger_chunks_not_more() {
        assert_eq!(chunk_size(0), CHUNK);
        assert_eq!(chunk_size(CHUNK * MAX_PARTS), CHUNK);
        assert_eq!(chunk_size(CHUNK * MAX_PARTS + 1), CHUNK + 1);
        for orders in [1, 999, 25_001, 100_000, 500_000, 1_000_000, 3_333_333] {
            let size = chunk_size(orders);
            assert!(size >= CHUNK);
            assert!(orders.div_ceil(size) <= MAX_PARTS, "{orders} orders");
        }
    }
}
