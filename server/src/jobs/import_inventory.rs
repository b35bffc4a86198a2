//! `import_inventory`: reads the user's whole BrickLink store (one call: `GET /inventories`,
//! available and stockroom lots) and merges it into brickdesk's lots as a diff (added,
//! changed, removed). One at a time per user. A read that fails merges nothing, so no lot is
//! ever dropped because a read was cut short.

use std::time::Duration;

use app::{BrickLinkLot, Condition, LotItem, Marketplace, QueueName, UserId, jobs::kinds};
use serde::{Deserialize, Serialize};

use super::{Job, Outcome};
use crate::{
    connections::AccountError,
    marketplace::{account::Account, bricklink::wire::InventoryLot, guard::Priority},
    queue::{JobContext, JobError, RetryPolicy},
    services::Services,
    store::ReadLot,
};

/// The job.
pub struct ImportInventory;

/// The job's input: whose store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    pub user: UserId,
}

impl Job for ImportInventory {
    const KIND: &'static str = kinds::IMPORT_INVENTORY;
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
        Some(format!("import_inventory:{}", input.user))
    }

    async fn run(services: Services, ctx: JobContext, input: Input) -> Outcome {
        let client = match services.account(input.user, Marketplace::BrickLink) {
            Ok(Account::BrickLink(client)) => client,
            Ok(Account::BrickOwl(_))
            | Err(
                AccountError::NotConnected(_)
                | AccountError::KeysRefused(_)
                | AccountError::Unreadable(..),
            ) => {
                return Err(JobError::Permanent(
                    "Connect BrickLink in Settings: the inventory is read from your store there."
                        .into(),
                ));
            }
            Err(err) => return Err(err.into()),
        };
        ctx.progress(5, "reading the BrickLink store");
        let lots = client.inventories(Priority::Background).await?;
        ctx.progress(70, format!("{} BrickLink lots read", lots.len()));
        let read: Vec<ReadLot> = lots.into_iter().map(read_lot).collect();
        let (store, user) = (services.store.clone(), input.user);
        let diff =
            tokio::task::spawn_blocking(move || store.inventory().merge_bricklink(user, read))
                .await
                .map_err(|e| JobError::retryable(anyhow::anyhow!("the merge stopped: {e}")))?
                .map_err(JobError::retryable)?;
        Ok(serde_json::json!({"bricklink": diff}))
    }
}

fn read_lot(lot: InventoryLot) -> ReadLot {
    ReadLot {
        item: LotItem {
            item_type: lot.item.kind,
            name: lot.item.name.unwrap_or_else(|| lot.item.no.clone()),
            no: lot.item.no,
        },
        color_id: lot.color_id,
        color_name: lot.color_name,
        condition: if lot.new_or_used.eq_ignore_ascii_case("U") {
            Condition::Used
        } else {
            Condition::New
        },
        completeness: lot.completeness.filter(|c| !c.is_empty()),
        remarks: lot.remarks.unwrap_or_default(),
        description: lot.description.unwrap_or_default(),
        my_cost: lot.my_cost.filter(|c| c.0 > 0),
        bricklink: BrickLinkLot {
            inventory_id: lot.inventory_id,
            quantity: lot.quantity,
            unit_price: lot.unit_price,
            stockroom: lot.is_stock_room,
        },
    }
}
