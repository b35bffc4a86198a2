//! `import_inventory`: reads the user's whole BrickLink store (one call: `GET /inventories`,
//! available and stockroom lots), then the BrickOwl store (`inventory/list`, one call), and
//! merges each into brickdesk's lots as a diff (added, changed, removed); BrickOwl lots join
//! the BrickLink lot whose id they carry. One at a time per user. A read that fails merges
//! nothing, so no lot is ever dropped because a read was cut short.

use std::time::Duration;

use app::{
    BrickLinkLot, BrickOwlLot, Condition, ImportDiff, LotItem, Marketplace, QueueName, UserId,
    jobs::kinds,
};
use serde::{Deserialize, Serialize};

use super::{Job, Outcome};
use crate::{
    connections::AccountError,
    marketplace::{
        account::Account, bricklink::wire::InventoryLot, brickowl::wire::InventoryLot as OwlLot,
        guard::Priority,
    },
    queue::{JobContext, JobError, RetryPolicy},
    services::Services,
    store::{OwlReadLot, ReadLot, StoreError},
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
        let user = input.user;
        let bricklink = usable(services.account(user, Marketplace::BrickLink))?;
        let brickowl = usable(services.account(user, Marketplace::BrickOwl))?;
        if bricklink.is_none() && brickowl.is_none() {
            return Err(JobError::Permanent(
                "Connect BrickLink or BrickOwl in Settings: the inventory is read from your \
                 stores there."
                    .into(),
            ));
        }
        let mut outcome = serde_json::Map::new();
        if let Some(Account::BrickLink(client)) = bricklink {
            ctx.progress(5, "reading the BrickLink store");
            let lots = client.inventories(Priority::Background).await?;
            ctx.progress(40, format!("{} BrickLink lots read", lots.len()));
            let read: Vec<ReadLot> = lots.into_iter().map(read_lot).collect();
            let store = services.store.clone();
            let diff = blocking(move || store.inventory().merge_bricklink(user, read)).await?;
            outcome.insert("bricklink".into(), serde_json::json!(diff));
        }
        if let Some(Account::BrickOwl(client)) = brickowl {
            ctx.progress(50, "reading the BrickOwl store");
            let lots = client.inventory(Priority::Background).await?;
            ctx.progress(90, format!("{} BrickOwl lots read", lots.len()));
            let read: Vec<OwlReadLot> = lots.into_iter().map(owl_read_lot).collect();
            let store = services.store.clone();
            let diff = blocking(move || store.inventory().merge_brickowl(user, read)).await?;
            outcome.insert("brickowl".into(), serde_json::json!(diff));
        }
        Ok(serde_json::Value::Object(outcome))
    }
}

/// The account when it can be used; `None` when it is not connected or its keys were refused.
fn usable(account: Result<Account, AccountError>) -> Result<Option<Account>, JobError> {
    match account {
        Ok(account) => Ok(Some(account)),
        Err(
            AccountError::NotConnected(_)
            | AccountError::KeysRefused(_)
            | AccountError::Unreadable(..),
        ) => Ok(None),
        Err(err) => Err(err.into()),
    }
}

async fn blocking(
    merge: impl FnOnce() -> Result<ImportDiff, StoreError> + Send + 'static,
) -> Result<ImportDiff, JobError> {
    tokio::task::spawn_blocking(merge)
        .await
        .map_err(|e| JobError::retryable(anyhow::anyhow!("the merge stopped: {e}")))?
        .map_err(JobError::retryable)
}

fn owl_read_lot(lot: OwlLot) -> OwlReadLot {
    let bricklink_no = lot
        .ids
        .iter()
        .find(|i| i.kind == "bl_item_no")
        .map(|i| i.id.clone());
    OwlReadLot {
        item: LotItem {
            item_type: match lot.kind.as_str() {
                "Minifigure" => "MINIFIG".to_owned(),
                other => other.to_ascii_uppercase(),
            },
            name: lot.name.unwrap_or_default(),
            no: bricklink_no.unwrap_or(lot.boid),
        },
        condition: if lot.con.starts_with("used") {
            Condition::Used
        } else {
            Condition::New
        },
        personal_note: lot.personal_note.unwrap_or_default(),
        bricklink_id: lot
            .external_lot_ids
            .get("other")
            .and_then(|id| id.trim().parse().ok()),
        brickowl: BrickOwlLot {
            lot_id: lot.lot_id,
            quantity: lot.quantity,
            price: lot.price,
        },
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
