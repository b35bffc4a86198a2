//! `sync_order`: fetches one order with its items, stores it (idempotently) and tells the
//! user's pages. Coalesced per order, so a burst of pushes about one order fetches it once or
//! twice, never fifty times.

use std::time::Duration;

use app::{ActivityEntry, ActivityKind, Marketplace, UserId, events::LiveEvent, jobs::kinds};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{Job, Outcome, prefetch_pictures};
use crate::{
    marketplace::guard::Priority,
    queue::{JobContext, JobError, RetryPolicy},
    services::Services,
    store::Upserted,
};

/// The job.
pub struct SyncOrder;

/// The job's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    pub user: UserId,
    pub marketplace: Marketplace,
    pub order_id: String,
    /// Found by a scheduled poll: nobody waits on it, so it never spends BrickLink's reserve
    /// for work a person waits on. A push about the same order merges in and clears it.
    #[serde(default)]
    pub background: bool,
}

/// Runs on the default queue (polling); pushes move it to `Critical` with
/// `jobs::spec::<SyncOrder>(..)?.queue(QueueName::Critical)`.
impl Job for SyncOrder {
    const KIND: &'static str = kinds::SYNC_ORDER;
    const POLICY: RetryPolicy = RetryPolicy {
        max_attempts: 10,
        timeout: Duration::from_secs(120),
        base: Duration::from_secs(2),
        cap: Duration::from_secs(15 * 60),
    };
    type Payload = Input;

    fn owner(input: &Input) -> UserId {
        input.user
    }

    fn key(input: &Input) -> Option<String> {
        Some(format!(
            "order:{}:{}:{}",
            input.user,
            input.marketplace.as_str(),
            input.order_id
        ))
    }

    async fn run(services: Services, _ctx: JobContext, input: Input) -> Outcome {
        let priority = if input.background {
            Priority::Background
        } else {
            Priority::Interactive
        };
        let (outcome, order) = fetch_and_store(&services, &input, priority).await?;
        // A new order's pictures are wanted soon; warm them in the background.
        if outcome == Upserted::New {
            prefetch_pictures::enqueue_for(&services, input.user, &order).await?;
        }
        Ok(serde_json::json!({"outcome": format!("{outcome:?}").to_lowercase()}))
    }
}

/// Fetches the order, stores it, and announces a change (an activity entry and a live
/// event); hands back what it stored.
pub async fn fetch_and_store(
    services: &Services,
    input: &Input,
    priority: Priority,
) -> Result<(Upserted, app::OrderDetail), JobError> {
    fetch_store_and(services, input, priority, Entry::PerOrder).await
}

/// Whether a changed order gets an activity entry of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    PerOrder,
    /// The caller records one for many (an import's part: a first import of a million orders
    /// would otherwise write a million "new order" entries for orders sold years ago).
    Summarised,
}

/// [`fetch_and_store`], with the activity entry as `entry` says; the live event is always sent.
pub async fn fetch_store_and(
    services: &Services,
    input: &Input,
    priority: Priority,
    entry: Entry,
) -> Result<(Upserted, app::OrderDetail), JobError> {
    let account = services.account(input.user, input.marketplace)?;
    let detail = account.order(&input.order_id, priority).await?;
    let outcome = services.store.orders().upsert(input.user, &detail)?;
    // Every fetch, not only a new order's: one cut off after storing the order and before
    // recording its sales records them when it runs again.
    super::stock_sync::record_order(services, input.user, &detail).await?;
    if let Some(store_id) = &detail.store_id {
        services
            .store
            .connections()
            .set_store_id(input.user, input.marketplace, store_id)?;
    }
    if outcome != Upserted::Unchanged {
        let summary = &detail.summary;
        if entry == Entry::PerOrder {
            let (kind, text) = match outcome {
                Upserted::New => (
                    ActivityKind::OrderNew,
                    format!(
                        "New {} order {} from {}",
                        input.marketplace, summary.order_id, summary.buyer
                    ),
                ),
                _ => (
                    ActivityKind::OrderChanged,
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
                kind,
                order_id: Some(summary.order_id.clone()),
                text,
            };
            services.store.activity().record(input.user, &entry)?;
        }
        services
            .events
            .publish(input.user, LiveEvent::Order(summary.clone()));
    }
    Ok((outcome, detail))
}
