//! `import_orders`: the first import (on connecting, or `POST /api/sync {full: true}`). Lists
//! every order including filed ones, then queues what is missing or changed as a batch of
//! `sync_orders_chunk` jobs on the `bulk` queue: one aggregated progress bar, paced by the
//! guard (background work leaves BrickLink's reserve alone and is parked when the day's
//! budget is spent), and resumable, since every chunk is a durable job.

use std::time::Duration;

use app::{Marketplace, QueueName, UserId};
use serde::{Deserialize, Serialize};

use time::OffsetDateTime;

use super::{Deps, account, poll_orders, sync_order};
use crate::{
    marketplace::guard::Priority,
    queue::{Enqueued, JobContext, JobError, JobSpec, Queue, QueueError, RetryPolicy},
    store::Upserted,
};

pub const KIND: &str = "import_orders";
/// The batch parent: its progress is the import's.
pub const BATCH_KIND: &str = "import_orders_batch";
pub const CHUNK_KIND: &str = "sync_orders_chunk";
/// Orders per chunk job.
pub const CHUNK: usize = 25;

const POLICY: RetryPolicy = RetryPolicy {
    max_attempts: 5,
    timeout: Duration::from_secs(300),
    base: Duration::from_secs(5),
    cap: Duration::from_secs(5 * 60),
};

const CHUNK_POLICY: RetryPolicy = RetryPolicy {
    max_attempts: 12,
    timeout: Duration::from_secs(600),
    base: Duration::from_secs(2),
    cap: Duration::from_secs(15 * 60),
};

/// The job's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    pub user: UserId,
    pub marketplace: Marketplace,
}

/// One chunk's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    pub user: UserId,
    pub marketplace: Marketplace,
    pub order_ids: Vec<String>,
    /// When the import listed them: an order stored after this is done (a re-run of the
    /// chunk resumes instead of fetching it again).
    #[serde(with = "time::serde::rfc3339")]
    pub listed_at: OffsetDateTime,
}

/// Tries for one order inside a chunk before the chunk itself fails and backs off.
const ORDER_TRIES: u32 = 5;

/// Queues an import (one waiting per connection).
pub async fn enqueue(queue: &Queue, input: &Input) -> Result<Enqueued, QueueError> {
    queue
        .enqueue(
            JobSpec::new(KIND, serde_json::to_value(input).unwrap_or_default())
                .queue(QueueName::Default)
                .owner(input.user)
                .key(format!(
                    "import:{}:{}",
                    input.user,
                    input.marketplace.as_str()
                )),
        )
        .await
}

pub fn register(queue: &Queue, deps: &Deps) {
    let (on, lister) = (queue.clone(), deps.clone());
    queue.register(KIND, POLICY, move |ctx: JobContext| {
        let (deps, queue) = (lister.clone(), on.clone());
        async move { run(&deps, &queue, &ctx).await }
    });
    let chunker = deps.clone();
    queue.register(CHUNK_KIND, CHUNK_POLICY, move |ctx: JobContext| {
        let deps = chunker.clone();
        async move { chunk(&deps, &ctx).await }
    });
}

async fn run(deps: &Deps, queue: &Queue, ctx: &JobContext) -> Result<serde_json::Value, JobError> {
    let input: Input = ctx.payload()?;
    let (user, marketplace) = (input.user, input.marketplace);
    let account = account::open(deps, user, marketplace)?;
    ctx.progress(5, format!("listing every {marketplace} order"));
    let listed = account.list(true, Priority::Background).await?;
    let total = listed.len();
    let todo = poll_orders::changed(deps, user, marketplace, listed);
    if todo.is_empty() {
        poll_orders::finished(deps, user, marketplace, ctx, 0)?;
        return Ok(serde_json::json!({"listed": total, "to_fetch": 0}));
    }
    let listed_at = OffsetDateTime::now_utc();
    let parts: Vec<JobSpec> = todo
        .chunks(CHUNK)
        .map(|ids| {
            let chunk = Chunk {
                user,
                marketplace,
                order_ids: ids.to_vec(),
                listed_at,
            };
            JobSpec::new(CHUNK_KIND, serde_json::to_value(&chunk).unwrap_or_default())
                .queue(QueueName::Bulk)
                .owner(user)
        })
        .collect();
    let parent = JobSpec::new(
        BATCH_KIND,
        serde_json::json!({"user": user, "marketplace": marketplace, "orders": todo.len()}),
    )
    .queue(QueueName::Bulk)
    .owner(user);
    let (batch, _) = queue
        .enqueue_batch(parent, parts)
        .await
        .map_err(JobError::retryable)?;
    Ok(serde_json::json!({"listed": total, "to_fetch": todo.len(), "batch": batch}))
}

async fn chunk(deps: &Deps, ctx: &JobContext) -> Result<serde_json::Value, JobError> {
    let chunk: Chunk = ctx.payload()?;
    let count = chunk.order_ids.len();
    let (mut changed, mut skipped) = (0, 0);
    for (done, order_id) in chunk.order_ids.iter().enumerate() {
        if ctx.cancel.is_cancelled() {
            return Err(JobError::retryable("cancelled"));
        }
        let stored = deps
            .store
            .orders()
            .get(chunk.user, chunk.marketplace, order_id)
            .map_err(JobError::retryable)?;
        if stored.is_some_and(|o| o.synced_at >= chunk.listed_at) {
            skipped += 1;
        } else {
            let input = sync_order::Input {
                user: chunk.user,
                marketplace: chunk.marketplace,
                order_id: order_id.clone(),
            };
            let outcome = fetch_with_retries(deps, &input).await?;
            changed += usize::from(outcome != Upserted::Unchanged);
        }
        let percent = u8::try_from((done + 1) * 100 / count.max(1)).unwrap_or(100);
        ctx.progress(percent, format!("{} of {count} orders", done + 1));
    }
    deps.store
        .connections()
        .set_last_sync(chunk.user, chunk.marketplace, OffsetDateTime::now_utc())
        .map_err(JobError::retryable)?;
    Ok(serde_json::json!({"orders": count, "changed": changed, "already_done": skipped}))
}

/// One order, tried a few times on a flaky marketplace before the chunk gives up (a chunk
/// that started over on every hiccup would never finish at a 20 % failure rate). A parked
/// or permanent error ends the chunk at once.
async fn fetch_with_retries(deps: &Deps, input: &sync_order::Input) -> Result<Upserted, JobError> {
    let mut tries = 0;
    loop {
        tries += 1;
        match sync_order::fetch_and_store(deps, input, Priority::Background)
            .await
            .map(|(outcome, _)| outcome)
        {
            Err(JobError::Retryable(reason)) if tries < ORDER_TRIES => {
                tracing::debug!(%reason, tries, "order fetch failed; trying again");
                tokio::time::sleep(Duration::from_millis(100 << tries)).await;
            }
            outcome => return outcome,
        }
    }
}
