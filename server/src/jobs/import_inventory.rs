//! `import_inventory`: reads the user's whole BrickLink store (one call: `GET /inventories`,
//! available and stockroom lots), then the BrickOwl store (`inventory/list`, one call, and its
//! colour list, `catalog/color_list`, for BrickLink's colour of each lot), and merges each into
//! brickdesk's lots as a diff (added, changed, removed); BrickOwl lots join the BrickLink lot
//! whose id they carry. Then lots still on one marketplace only are linked by item, colour and
//! condition, one for one: BrickOwl's ids for each BrickLink item number come from
//! `catalog/id_lookup` (asked once per item and kept in the catalogue for 30 days). One at a
//! time per user. A read that fails merges nothing, so no lot is ever dropped because a read
//! was cut short.

use std::{collections::HashMap, time::Duration};

use app::{
    BrickLinkLot, BrickOwlLot, Condition, ImportDiff, LotItem, Marketplace, QueueName, UserId,
    jobs::kinds,
};
use serde::{Deserialize, Serialize};

use super::{Job, Outcome};
use crate::{
    connections::AccountError,
    marketplace::{
        account::Account, bricklink::wire::InventoryLot, brickowl::BrickOwl,
        brickowl::wire::InventoryLot as OwlLot, guard::Priority,
    },
    queue::{JobContext, JobError, RetryPolicy},
    services::Services,
    store::{Boids, OwlReadLot, ReadLot, StoreError},
};

/// How long BrickOwl's ids for a BrickLink item number are kept before they are asked again.
const BOIDS_KEPT: time::Duration = time::Duration::days(30);

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
        read_stores(&services, &ctx, input.user).await
    }
}

/// Reads both connected stores and merges them (see the module); what each read found.
pub async fn read_stores(services: &Services, ctx: &JobContext, user: UserId) -> Outcome {
    {
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
            ctx.progress(70, format!("{} BrickOwl lots read", lots.len()));
            let colors = colour_map(&client).await?;
            let catalog = services.store.catalog().clone();
            let read: Vec<OwlReadLot> = lots
                .into_iter()
                .map(|lot| owl_read_lot(lot, &colors, &catalog))
                .collect();
            let store = services.store.clone();
            let diff = blocking(move || store.inventory().merge_brickowl(user, read)).await?;
            outcome.insert("brickowl".into(), serde_json::json!(diff));
            ctx.progress(80, "linking lots by item and colour");
            let (linked, waiting) = link(services, &client, user, &colors).await?;
            outcome.insert("linked".into(), linked.into());
            outcome.insert("needs_linking".into(), waiting.into());
        }
        Ok(serde_json::Value::Object(outcome))
    }
}

/// BrickOwl colour id to BrickLink's, from BrickOwl's colour list (one call).
async fn colour_map(client: &BrickOwl) -> Result<HashMap<i64, i64>, JobError> {
    let mut map = HashMap::new();
    for color in client.color_list(Priority::Background).await? {
        if let Some(bricklink) = color.bricklink_ids().first() {
            map.insert(color.id, *bricklink);
        }
    }
    Ok(map)
}

/// Links the lots each marketplace holds alone, one for one by item, colour and condition;
/// how many were linked, and how many BrickOwl lots still wait for the seller.
async fn link(
    services: &Services,
    client: &BrickOwl,
    user: UserId,
    colors: &HashMap<i64, i64>,
) -> Result<(usize, usize), JobError> {
    let inventory = services.store.inventory();
    let (bricklink, brickowl) = inventory.unlinked(user)?;
    if bricklink.is_empty() || brickowl.is_empty() {
        return Ok((0, brickowl.len()));
    }
    let mut items: Vec<(String, String)> = bricklink
        .iter()
        .map(|l| (l.item.item_type.clone(), l.item.no.clone()))
        .collect();
    items.sort();
    items.dedup();
    let catalog = services.store.catalog();
    let now = time::OffsetDateTime::now_utc();
    let mut boids: Boids = HashMap::new();
    for (kind, no) in items {
        let Some(owl_kind) = owl_type(&kind) else {
            continue;
        };
        let cache = format!("brickowl/boids/{kind}/{no}");
        let known = catalog
            .get::<Vec<String>>(&cache)?
            .filter(|(_, at)| now - *at < BOIDS_KEPT);
        let ids = match known {
            Some((ids, _)) => ids,
            None => {
                let found = client
                    .id_lookup(&no, owl_kind, Some("bl_item_no"), Priority::Background)
                    .await?;
                catalog.put(&cache, &found.boids)?;
                found.boids
            }
        };
        boids.insert((kind, no), ids);
    }
    let store = services.store.clone();
    let colors = colors.clone();
    let linked =
        tokio::task::spawn_blocking(move || store.inventory().link_matching(user, &boids, &colors))
            .await
            .map_err(|e| JobError::retryable(anyhow::anyhow!("linking stopped: {e}")))?
            .map_err(JobError::retryable)?;
    Ok((linked, brickowl.len() - linked))
}

/// BrickOwl's name for a BrickLink item type, for `catalog/id_lookup`.
fn owl_type(bricklink: &str) -> Option<&'static str> {
    Some(match bricklink {
        "PART" => "Part",
        "MINIFIG" => "Minifigure",
        "SET" => "Set",
        "GEAR" => "Gear",
        "INSTRUCTION" => "Instructions",
        "ORIGINAL_BOX" => "Packaging",
        _ => return None,
    })
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

fn owl_read_lot(
    lot: OwlLot,
    colors: &HashMap<i64, i64>,
    catalog: &crate::store::Catalog,
) -> OwlReadLot {
    let owl_color = lot.color_id.unwrap_or(0);
    let bricklink_color = colors.get(&owl_color).copied();
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
            no: bricklink_no.unwrap_or_else(|| lot.boid.clone()),
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
        bricklink_color,
        color_name: bricklink_color
            .and_then(|c| catalog.color(c))
            .map(|c| c.name),
        brickowl: BrickOwlLot {
            lot_id: lot.lot_id,
            quantity: lot.quantity,
            price: lot.price,
            boid: lot.boid,
            color_id: owl_color,
        },
    }
}

fn read_lot(lot: InventoryLot) -> ReadLot {
    let tier_prices = lot.tiers();
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
        tier_prices,
        bricklink: BrickLinkLot {
            inventory_id: lot.inventory_id,
            quantity: lot.quantity,
            unit_price: lot.unit_price,
            stockroom: lot.is_stock_room,
        },
    }
}
