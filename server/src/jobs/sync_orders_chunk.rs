//! `sync_orders_chunk`: one part of an import's batch: fetches and stores its orders
//! ([`super::import_orders::chunk_size`] of them), skipping those stored since the import
//! listed them, so a chunk that runs again after a crash resumes instead of fetching
//! everything again.

use std::time::Duration;

use app::{ActivityEntry, ActivityKind, Marketplace, QueueName, UserId, jobs::kinds};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{
    Job, Outcome,
    sync_order::{self, Entry},
};
use crate::{
    marketplace::guard::Priority,
    queue::{JobContext, JobError, RetryPolicy},
    services::Services,
    store::Upserted,
};

/// The job.
pub struct SyncOrdersChunk;

/// One chunk's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    pub user: UserId,
    pub marketplace: Marketplace,
    #[serde(with = "compact_ids")]
    pub order_ids: Vec<String>,
    /// When the import listed them: an order stored after this is done (a re-run of the
    /// chunk resumes instead of fetching it again).
    #[serde(with = "time::serde::rfc3339")]
    pub listed_at: OffsetDateTime,
}

/// A chunk's order numbers in its payload: one comma-separated string, because a queued job's
/// payload is held in memory until it has run, and a 500,000-order import queues all of its
/// order numbers at once (as a JSON list, about 60 bytes a number in memory; as one string,
/// about 10). A list, as chunks were queued before, reads too; numbers that hold a comma are
/// written as a list.
mod compact_ids {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(ids: &[String], serializer: S) -> Result<S::Ok, S::Error> {
        if ids.iter().any(|id| id.is_empty() || id.contains(',')) {
            ids.serialize(serializer)
        } else {
            ids.join(",").serialize(serializer)
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Ids {
        Joined(String),
        List(Vec<String>),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<String>, D::Error> {
        Ok(match Ids::deserialize(deserializer)? {
            Ids::Joined(joined) if joined.is_empty() => Vec::new(),
            Ids::Joined(joined) => joined.split(',').map(str::to_owned).collect(),
            Ids::List(ids) => ids,
        })
    }
}

/// Tries for one order inside a chunk before the chunk itself fails and backs off.
const ORDER_TRIES: u32 = 5;

impl Job for SyncOrdersChunk {
    const KIND: &'static str = kinds::SYNC_ORDERS_CHUNK;
    const POLICY: RetryPolicy = RetryPolicy {
        max_attempts: 12,
        timeout: Duration::from_secs(600),
        base: Duration::from_secs(2),
        cap: Duration::from_secs(15 * 60),
    };
    const QUEUE: QueueName = QueueName::Bulk;
    type Payload = Chunk;

    fn owner(chunk: &Chunk) -> UserId {
        chunk.user
    }

    async fn run(services: Services, ctx: JobContext, chunk: Chunk) -> Outcome {
        run_chunk(&services, &ctx, chunk).await
    }
}

async fn run_chunk(services: &Services, ctx: &JobContext, chunk: Chunk) -> Outcome {
    let count = chunk.order_ids.len();
    let (mut changed, mut skipped) = (0, 0);
    for (done, order_id) in chunk.order_ids.iter().enumerate() {
        if ctx.cancel.is_cancelled() {
            return Err(JobError::retryable("cancelled"));
        }
        let stored = services
            .store
            .orders()
            .get(chunk.user, chunk.marketplace, order_id)?;
        if stored.is_some_and(|o| o.synced_at >= chunk.listed_at) {
            skipped += 1;
        } else {
            let input = sync_order::Input {
                user: chunk.user,
                marketplace: chunk.marketplace,
                order_id: order_id.clone(),
                background: true,
            };
            let outcome = fetch_with_retries(services, &input).await?;
            changed += usize::from(outcome != Upserted::Unchanged);
        }
        let percent = u8::try_from((done + 1) * 100 / count.max(1)).unwrap_or(100);
        ctx.progress(percent, format!("{} of {count} orders", done + 1));
    }
    services.store.connections().set_last_sync(
        chunk.user,
        chunk.marketplace,
        OffsetDateTime::now_utc(),
    )?;
    // One entry for the part, not one per order (`Entry::Summarised`). Orders stored since
    // the import listed them are counted apart: a part that runs again after a crash finds
    // those its first run stored (and never reported) there.
    if changed > 0 || skipped > 0 {
        let mut text = format!(
            "{} import: {changed} new or changed {} stored",
            chunk.marketplace,
            if changed == 1 { "order" } else { "orders" },
        );
        if skipped > 0 {
            text.push_str(&format!(", {skipped} already up to date"));
        }
        let entry = ActivityEntry {
            at: OffsetDateTime::now_utc(),
            marketplace: chunk.marketplace,
            kind: ActivityKind::Sync,
            order_id: None,
            text,
        };
        services.store.activity().record(chunk.user, &entry)?;
    }
    Ok(serde_json::json!({"orders": count, "changed": changed, "already_done": skipped}))
}

/// One order, tried a few times on a flaky marketplace before the chunk gives up (a chunk
/// that started over on every hiccup would never finish at a 20 % failure rate). A parked
/// or permanent error ends the chunk at once.
async fn fetch_with_retries(
    services: &Services,
    input: &sync_order::Input,
) -> Result<Upserted, JobError> {
    let mut tries = 0;
    loop {
        tries += 1;
        match sync_order::fetch_store_and(services, input, Priority::Background, Entry::Summarised)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(ids: &[&str]) -> Chunk {
        Chunk {
            user: UserId(1),
            marketplace: Marketplace::BrickLink,
            order_ids: ids.iter().map(|id| (*id).to_owned()).collect(),
            listed_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn order_numbers_are_queued_as_one_string_and_read_back() {
        let value = serde_json::to_value(chunk(&["7", "8", "1234567"])).unwrap();
        assert_eq!(value["order_ids"], "7,8,1234567");
        let back: Chunk = serde_json::from_value(value).unwrap();
        assert_eq!(back, chunk(&["7", "8", "1234567"]));
    }

    #[test]
    fn a_list_queued_before_reads_and_odd_numbers_stay_a_list() {
        let old = serde_json::json!({"user": 1, "marketplace": "bricklink",
            "order_ids": ["7", "8"], "listed_at": "1970-01-01T00:00:00Z"});
        assert_eq!(
            serde_json::from_value::<Chunk>(old).unwrap(),
            chunk(&["7", "8"])
        );
        for odd in [chunk(&["7,8", "9"]), chunk(&["", "9"]), chunk(&[])] {
            let back: Chunk = serde_json::from_value(serde_json::to_value(&odd).unwrap()).unwrap();
            assert_eq!(back, odd);
        }
    }
}
