//! The domain work the queue runs: one file per job kind, each a [`Job`]. A kind names its
//! queue, retry policy, payload type, owner and coalescing key once; [`register`] hands its
//! `run` to the queue and [`enqueue`] / [`spec`] build its records, so no call site builds a
//! payload by hand. Errors of the layers below become [`JobError`]s here.

pub mod apply_lot_changes;
pub mod bricklink_notifications;
pub mod fetch_messages;
pub mod fetch_minifig;
pub mod fetch_price_guides;
pub mod import_inventory;
pub mod import_orders;
pub mod poll_orders;
pub mod prefetch_pictures;
pub mod reconcile_stock;
pub mod send_feedback;
pub mod stock_sync;
pub mod sync_colors;
pub mod sync_order;
pub mod sync_orders_chunk;
pub mod update_order_status;
pub mod validate_connection;

#[cfg(test)]
mod golden;

use std::future::Future;

use app::{QueueName, UserId};
use serde::{Serialize, de::DeserializeOwned};
use time::OffsetDateTime;

use crate::{
    connections::AccountError,
    marketplace::MarketplaceError,
    queue::{Enqueued, JobContext, JobError, JobSpec, Queue, QueueError, RetryPolicy},
    services::Services,
    store::StoreError,
};

/// What a job's `run` returns: the result shown on the Jobs page, or why it failed.
pub type Outcome = Result<serde_json::Value, JobError>;

/// One kind of background work.
pub trait Job: 'static {
    /// The kind stored on each record (never rename one: queued records carry it).
    const KIND: &'static str;
    /// Attempts, time limit and backoff.
    const POLICY: RetryPolicy;
    /// The queue it runs on unless the caller's spec says otherwise.
    const QUEUE: QueueName = QueueName::Default;
    /// Higher runs first within its queue.
    const PRIORITY: i16 = 0;
    /// The input, stored as JSON on the record.
    type Payload: Serialize + DeserializeOwned + Send + 'static;

    /// The user the job works for.
    fn owner(payload: &Self::Payload) -> UserId;

    /// The coalescing key: at most one waiting and one running job per key.
    fn key(_payload: &Self::Payload) -> Option<String> {
        None
    }

    /// Runs one attempt. Must be safe to repeat: delivery is at least once.
    fn run(
        services: Services,
        ctx: JobContext,
        payload: Self::Payload,
    ) -> impl Future<Output = Outcome> + Send;
}

/// Registers `J`'s handler and policy on `queue`.
pub fn register<J: Job>(queue: &Queue, services: &Services) {
    let services = services.clone();
    queue.register(J::KIND, J::POLICY, move |ctx: JobContext| {
        let services = services.clone();
        async move {
            let payload: J::Payload = ctx.payload()?;
            J::run(services, ctx, payload).await
        }
    });
}

/// The record to enqueue for `payload`, for batches, extra writes or a changed queue.
pub fn spec<J: Job>(payload: &J::Payload) -> Result<JobSpec, QueueError> {
    let value = serde_json::to_value(payload)
        .map_err(|err| QueueError::Payload(format!("{}: {err}", J::KIND)))?;
    let spec = JobSpec::new(J::KIND, value)
        .queue(J::QUEUE)
        .priority(J::PRIORITY)
        .owner(J::owner(payload));
    Ok(match J::key(payload) {
        Some(key) => spec.key(key),
        None => spec,
    })
}

/// Commits `user`'s recorded lot changes (an edit, an order's sales, a reconcile) in one
/// durable commit with the `apply_lot_changes` jobs taking them to each marketplace, then
/// hands the lots to the list's index; the jobs. Call while holding the inventory's
/// `writing` lock from the reading of the lots.
pub async fn commit_lot_changes(
    services: &Services,
    user: UserId,
    edit: crate::store::RecordedEdit,
) -> Result<Vec<Enqueued>, QueueError> {
    let specs = edit
        .marketplaces
        .iter()
        .map(|&marketplace| {
            spec::<apply_lot_changes::ApplyLotChanges>(&apply_lot_changes::Input {
                user,
                marketplace,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let queued = services.queue.enqueue_all(specs, edit.writes).await?;
    services.store.inventory().written(user, edit.lots);
    Ok(queued)
}

/// Enqueues `J` with `payload`, durably.
pub async fn enqueue<J: Job>(queue: &Queue, payload: &J::Payload) -> Result<Enqueued, QueueError> {
    queue.enqueue(spec::<J>(payload)?).await
}

/// Registers every job kind on `queue`.
pub fn register_all(queue: &Queue, services: &Services) {
    register::<validate_connection::ValidateConnection>(queue, services);
    register::<bricklink_notifications::BrickLinkNotifications>(queue, services);
    register::<sync_order::SyncOrder>(queue, services);
    register::<reconcile_stock::ReconcileStock>(queue, services);
    register::<poll_orders::PollOrders>(queue, services);
    register::<import_orders::ImportOrders>(queue, services);
    register::<sync_orders_chunk::SyncOrdersChunk>(queue, services);
    register::<update_order_status::UpdateOrderStatus>(queue, services);
    register::<prefetch_pictures::PrefetchPictures>(queue, services);
    register::<fetch_minifig::FetchMinifig>(queue, services);
    register::<fetch_messages::FetchMessages>(queue, services);
    register::<send_feedback::SendFeedback>(queue, services);
    register::<sync_colors::SyncColors>(queue, services);
    register::<import_inventory::ImportInventory>(queue, services);
    register::<apply_lot_changes::ApplyLotChanges>(queue, services);
    register::<fetch_price_guides::FetchPriceGuides>(queue, services);
}

impl From<MarketplaceError> for JobError {
    fn from(err: MarketplaceError) -> Self {
        match err {
            MarketplaceError::BadCredentials(_)
            | MarketplaceError::NotFound(_)
            | MarketplaceError::Refused(_) => JobError::permanent(err),
            MarketplaceError::Gated { until, reason } => JobError::Park { until, reason },
            MarketplaceError::RateLimited {
                retry_after: Some(wait),
            } => JobError::Park {
                until: OffsetDateTime::now_utc() + wait,
                reason: err.to_string(),
            },
            MarketplaceError::RateLimited { retry_after: None }
            | MarketplaceError::Unavailable(_)
            | MarketplaceError::Undecodable(_) => JobError::retryable(err),
        }
    }
}

impl From<AccountError> for JobError {
    fn from(err: AccountError) -> Self {
        match err {
            AccountError::Store(_) => JobError::retryable(err),
            AccountError::NotConnected(_)
            | AccountError::KeysRefused(_)
            | AccountError::Unreadable(..) => JobError::permanent(err),
        }
    }
}

impl From<StoreError> for JobError {
    fn from(err: StoreError) -> Self {
        JobError::retryable(err)
    }
}

impl From<QueueError> for JobError {
    fn from(err: QueueError) -> Self {
        JobError::retryable(err)
    }
}
