//! `reconcile_stock`: the three-way reconcile of a seller's two stores (see the store's
//! `inventory/reconcile.rs`). Every order each marketplace lists is heard of first (so a sale
//! is never mistaken for an edit made on the marketplace), both stores are read (one call
//! each) and merged, the orders are listed again (when more came in, the reconcile runs again
//! later: the reads might count sales brickdesk has not recorded), and then each lot's changes
//! since it was last in step are worked out and taken across in the commit that queues the
//! `apply_lot_changes` jobs. Nightly (`inventory_cron`) while stock sync is on, and on demand.
//! A failed read changes nothing; nothing is deleted because a read missed it.

use std::time::Duration;

use app::{Marketplace, QueueName, UserId, jobs::kinds};
use serde::{Deserialize, Serialize};

use super::{Job, Outcome, apply_lot_changes::catch_up, import_inventory::read_stores};
use crate::{
    queue::{JobContext, JobError, RetryPolicy},
    services::Services,
};

/// The job.
pub struct ReconcileStock;

/// The job's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    pub user: UserId,
    /// Past the guard rails: the seller saw what was held and confirmed it.
    #[serde(default)]
    pub confirm: bool,
}

impl Job for ReconcileStock {
    const KIND: &'static str = kinds::RECONCILE_STOCK;
    const POLICY: RetryPolicy = RetryPolicy {
        max_attempts: 6,
        timeout: Duration::from_secs(600),
        base: Duration::from_secs(30),
        cap: Duration::from_secs(30 * 60),
    };
    const QUEUE: QueueName = QueueName::Bulk;
    type Payload = Input;

    fn owner(input: &Input) -> UserId {
        input.user
    }

    fn key(input: &Input) -> Option<String> {
        Some(format!("reconcile_stock:{}", input.user))
    }

    async fn run(services: Services, ctx: JobContext, input: Input) -> Outcome {
        let user = input.user;
        let inventory = services.store.inventory();
        if inventory.stock_sync_since(user)?.is_none() {
            return Err(JobError::Permanent(
                "Stock sync is off: turn it on in Inventory to reconcile your stores.".into(),
            ));
        }
        for marketplace in Marketplace::ALL {
            if services.account(user, marketplace).is_err() {
                return Err(JobError::Permanent(format!(
                    "Stock sync needs both stores: connect {} in Settings.",
                    marketplace.label()
                )));
            }
        }
        ctx.progress(5, "hearing of every order first");
        for marketplace in Marketplace::ALL {
            catch_up(&services, user, marketplace).await?;
        }
        ctx.progress(15, "reading both stores");
        let read = read_stores(&services, &ctx, user).await?;
        ctx.progress(85, "looking for orders that came in meanwhile");
        for marketplace in Marketplace::ALL {
            if catch_up(&services, user, marketplace).await? > 0 {
                return Err(JobError::retryable(format!(
                    "{} sold more while the stores were read: reconciling again shortly",
                    marketplace.label()
                )));
            }
        }
        ctx.progress(90, "comparing with the last state in step");
        let writing = inventory.writing().await;
        let reconciled = inventory.reconcile(user, input.confirm)?;
        super::commit_lot_changes(&services, user, reconciled.edit).await?;
        drop(writing);
        Ok(serde_json::json!({"read": read, "reconcile": reconciled.summary}))
    }
}
