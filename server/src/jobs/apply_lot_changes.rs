//! `apply_lot_changes`: takes the lot changes waiting in one marketplace's outbox of a user to
//! that marketplace, oldest first, under the rate guard. BrickLink gets one
//! `PUT /inventories/{id}` per change with a relative quantity (`DELETE` when the seller chose
//! to delete a lot reaching 0); BrickOwl gets them in `bulk/batch`es of up to 50 (one
//! `inventory/update` when alone). One job per user and marketplace at a time, so a lot's
//! changes reach a marketplace in the order they were made.
//!
//! Exactly once: a change is recorded as sending (with the marketplace's quantity then) and
//! flushed before it is sent. A change found sending when the job runs again was cut off
//! before its answer was recorded: the lot is read back first, and the change counts as
//! applied when the lot shows it, is sent when the lot shows the quantity from before, and
//! fails with a note to check the lot otherwise. Nothing is sent twice.

use std::{collections::HashSet, time::Duration};

use app::{ChangeId, LotChange, Marketplace, UserId, jobs::kinds};
use serde::{Deserialize, Serialize};

use super::{Job, Outcome};
use crate::{
    marketplace::{
        MarketplaceError,
        account::Account,
        bricklink::{BrickLink, InventoryChange, wire::InventoryLot},
        brickowl::{self, BrickOwl},
        guard::Priority,
    },
    queue::{JobContext, JobError, RetryPolicy},
    services::Services,
    store::{Finished, Started, side_quantity},
};

/// The job.
pub struct ApplyLotChanges;

/// The job's input: whose outbox on which marketplace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    pub user: UserId,
    pub marketplace: Marketplace,
}

/// Changes one run takes; more wait for the next run, queued at the end of this one.
const PER_RUN: usize = 100;

/// BrickOwl's largest `bulk/batch`.
const OWL_BATCH: usize = brickowl::BATCH_LIMIT;

impl Job for ApplyLotChanges {
    const KIND: &'static str = kinds::APPLY_LOT_CHANGES;
    const POLICY: RetryPolicy = RetryPolicy {
        max_attempts: 12,
        timeout: Duration::from_secs(15 * 60),
        base: Duration::from_secs(5),
        cap: Duration::from_secs(30 * 60),
    };
    type Payload = Input;

    fn owner(input: &Input) -> UserId {
        input.user
    }

    fn key(input: &Input) -> Option<String> {
        Some(format!(
            "lot_changes:{}:{}",
            input.user,
            input.marketplace.as_str()
        ))
    }

    async fn run(services: Services, ctx: JobContext, input: Input) -> Outcome {
        let Input { user, marketplace } = input;
        let outbox = services
            .store
            .inventory()
            .outbox(user, marketplace, PER_RUN)?;
        if outbox.changes.is_empty() {
            return Ok(serde_json::json!({"applied": 0, "failed": 0, "left": 0}));
        }
        let account = services.account(user, marketplace)?;
        let mut tally = Tally::default();
        let total = outbox.changes.len();
        match account {
            Account::BrickLink(client) => {
                for (n, change) in outbox.changes.iter().enumerate() {
                    ctx.progress(
                        percent(n, total),
                        format!("BrickLink: change {} of {total}", n + 1),
                    );
                    let ended = bricklink(&services, &client, user, change.id).await?;
                    tally.count(ended);
                }
            }
            Account::BrickOwl(client) => {
                let mut done = 0;
                for batch in owl_batches(&outbox.changes) {
                    ctx.progress(
                        percent(done, total),
                        format!(
                            "BrickOwl: changes {} to {} of {total}",
                            done + 1,
                            done + batch.len()
                        ),
                    );
                    done += batch.len();
                    for ended in brickowl(&services, &client, user, &batch).await? {
                        tally.count(Some(ended));
                    }
                }
            }
        }
        let left = outbox.open.saturating_sub(total);
        if left > 0 {
            super::enqueue::<Self>(&services.queue, &Input { user, marketplace }).await?;
        }
        Ok(serde_json::json!({"applied": tally.applied, "failed": tally.failed, "left": left}))
    }
}

#[derive(Default)]
struct Tally {
    applied: usize,
    failed: usize,
}

impl Tally {
    fn count(&mut self, ended: Option<bool>) {
        match ended {
            Some(true) => self.applied += 1,
            Some(false) => self.failed += 1,
            None => {}
        }
    }
}

fn percent(done: usize, total: usize) -> u8 {
    u8::try_from(done * 100 / total.max(1)).unwrap_or(100)
}

/// Batches for BrickOwl: in order, at most [`OWL_BATCH`] each, one change per lot per batch
/// (a lot's second change waits for the next batch, so the two land in order).
fn owl_batches(changes: &[LotChange]) -> Vec<Vec<ChangeId>> {
    let mut batches: Vec<Vec<ChangeId>> = Vec::new();
    let mut lots = HashSet::new();
    let mut current = Vec::new();
    for change in changes {
        if current.len() == OWL_BATCH || lots.contains(&change.lot) {
            batches.push(std::mem::take(&mut current));
            lots.clear();
        }
        lots.insert(change.lot);
        current.push(change.id);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

/// Marks a change as being sent, durably; `None` when it is not open any more.
async fn start(
    services: &Services,
    user: UserId,
    marketplace: Marketplace,
    id: ChangeId,
) -> Result<Option<Started>, JobError> {
    let inventory = services.store.inventory();
    let started = {
        let _writing = inventory.writing().await;
        inventory.start(user, marketplace, id)?
    };
    services.store.flush().await?;
    Ok(started)
}

/// Records how a change ended; `Some(true)` applied, `Some(false)` failed, `None` waits again.
async fn finish(
    services: &Services,
    user: UserId,
    marketplace: Marketplace,
    id: ChangeId,
    finished: Finished,
) -> Result<Option<bool>, JobError> {
    let ended = match &finished {
        Finished::Failed(_) => Some(false),
        Finished::Unsent => None,
        Finished::BrickLink(_) | Finished::BrickOwl { .. } => Some(true),
    };
    let inventory = services.store.inventory();
    let _writing = inventory.writing().await;
    inventory.finish(user, marketplace, id, finished)?;
    Ok(ended)
}

/// Whether an error came before anything reached the marketplace (the rate guard held the
/// call, or the marketplace turned it away unread), so the change can simply wait again.
fn unsent(err: &MarketplaceError) -> bool {
    matches!(
        err,
        MarketplaceError::Gated { .. }
            | MarketplaceError::RateLimited { .. }
            | MarketplaceError::BadCredentials(_)
    )
}

/// A refusal the marketplace gave for this change (it was not applied and will not be).
fn refusal(err: &MarketplaceError) -> Option<String> {
    match err {
        MarketplaceError::Refused(reason) | MarketplaceError::NotFound(reason) => {
            Some(reason.clone())
        }
        _ => None,
    }
}

fn bricklink_side(lot: &InventoryLot) -> app::BrickLinkLot {
    app::BrickLinkLot {
        inventory_id: lot.inventory_id,
        quantity: lot.quantity,
        unit_price: lot.unit_price,
        stockroom: lot.is_stock_room,
    }
}

/// Applies one change on BrickLink.
async fn bricklink(
    services: &Services,
    client: &BrickLink,
    user: UserId,
    id: ChangeId,
) -> Result<Option<bool>, JobError> {
    let market = Marketplace::BrickLink;
    let (change, lot, check) = match start(services, user, market, id).await? {
        None => return Ok(None),
        Some(Started::Send(change, lot)) => (change, lot, false),
        Some(Started::Check(change, lot)) => (change, lot, true),
    };
    let Some(side) = lot.bricklink.clone() else {
        return Ok(None);
    };
    let from = change.sent_from(market).unwrap_or(side.quantity);
    let delta = change.quantity_change();
    let deletes = from + delta == 0 && !change.after.stockroom;
    if check {
        match client
            .inventory(side.inventory_id, Priority::Background)
            .await
        {
            Err(MarketplaceError::NotFound(_)) if deletes => {
                return finish(services, user, market, id, Finished::BrickLink(None)).await;
            }
            Err(MarketplaceError::NotFound(_)) => {
                let gone = "BrickLink no longer has this lot; read the store again.".to_owned();
                return finish(services, user, market, id, Finished::Failed(gone)).await;
            }
            Err(err) => return Err(err.into()),
            Ok(remote) if delta != 0 && remote.quantity == from + delta => {
                let applied = Finished::BrickLink(Some(bricklink_side(&remote)));
                return finish(services, user, market, id, applied).await;
            }
            Ok(remote) if delta != 0 && remote.quantity != from => {
                let moved = format!(
                    "BrickLink's lot changed while this change was on its way (it held {from}, \
                     now {}): check the lot and edit it again. Nothing was sent twice.",
                    remote.quantity
                );
                return finish(services, user, market, id, Finished::Failed(moved)).await;
            }
            // Not applied (or nothing relative in it): send it.
            Ok(_) => {}
        }
    }
    if from + delta < 0 {
        let short = format!(
            "BrickLink holds {from} of this lot: it cannot lose {}.",
            delta.unsigned_abs()
        );
        return finish(services, user, market, id, Finished::Failed(short)).await;
    }
    let outcome = if deletes && change.at_zero == Some(app::AtZero::Delete) {
        client
            .delete_inventory(side.inventory_id, Priority::Background)
            .await
            .map(|()| None)
    } else if deletes {
        let choose = "This lot would reach 0 on BrickLink outside the stockroom: edit it again \
                      and choose to delete it or move it to the stockroom."
            .to_owned();
        return finish(services, user, market, id, Finished::Failed(choose)).await;
    } else {
        let before = &change.before;
        let after = &change.after;
        let body = InventoryChange {
            quantity: (delta != 0).then_some(delta),
            unit_price: (after.unit_price != before.unit_price).then_some(after.unit_price),
            remarks: (after.remarks != before.remarks).then(|| after.remarks.clone()),
            description: (after.description != before.description)
                .then(|| after.description.clone()),
            stockroom: (after.stockroom != side.stockroom).then_some(after.stockroom),
        };
        client
            .update_inventory(side.inventory_id, &body, Priority::Background)
            .await
            .map(|lot| Some(bricklink_side(&lot)))
    };
    match outcome {
        Ok(answer) => finish(services, user, market, id, Finished::BrickLink(answer)).await,
        Err(err) if unsent(&err) => {
            finish(services, user, market, id, Finished::Unsent).await?;
            Err(err.into())
        }
        Err(err) => match refusal(&err) {
            Some(reason) => {
                let refused = format!("BrickLink refused the change: {reason}");
                finish(services, user, market, id, Finished::Failed(refused)).await
            }
            // Maybe applied, maybe not: the change stays sending and the next try checks.
            None => Err(err.into()),
        },
    }
}

/// Applies a batch of changes on BrickOwl (distinct lots); how each ended.
async fn brickowl(
    services: &Services,
    client: &BrickOwl,
    user: UserId,
    ids: &[ChangeId],
) -> Result<Vec<bool>, JobError> {
    let market = Marketplace::BrickOwl;
    let mut send: Vec<(LotChange, i64, i64)> = Vec::new();
    let mut check: Vec<(LotChange, i64, i64)> = Vec::new();
    for id in ids {
        let (change, lot, checking) = match start(services, user, market, *id).await? {
            None => continue,
            Some(Started::Send(change, lot)) => (change, lot, false),
            Some(Started::Check(change, lot)) => (change, lot, true),
        };
        let Some(owl) = &lot.brickowl else {
            continue;
        };
        let from = change
            .sent_from(market)
            .unwrap_or_else(|| side_quantity(&lot, market));
        let entry = (change, owl.lot_id, from);
        if checking {
            check.push(entry);
        } else {
            send.push(entry);
        }
    }
    let mut ended = Vec::new();
    if !check.is_empty() {
        let remote = client.inventory(Priority::Background).await?;
        for (change, lot_id, from) in check {
            let delta = change.quantity_change();
            let now = remote
                .iter()
                .find(|l| l.lot_id == lot_id)
                .map(|l| l.quantity);
            let finished = match now {
                None => Finished::Failed(
                    "BrickOwl no longer has this lot; read the store again.".to_owned(),
                ),
                Some(q) if delta != 0 && q == from + delta => Finished::BrickOwl { quantity: q },
                Some(q) if delta != 0 && q != from => Finished::Failed(format!(
                    "BrickOwl's lot changed while this change was on its way (it held {from}, \
                     now {q}): check the lot and edit it again. Nothing was sent twice."
                )),
                Some(_) => {
                    send.push((change, lot_id, from));
                    continue;
                }
            };
            if let Some(e) = finish(services, user, market, change.id, finished).await? {
                ended.push(e);
            }
        }
    }
    if send.is_empty() {
        return Ok(ended);
    }
    let requests: Vec<brickowl::LotChange> = send
        .iter()
        .map(|(change, lot_id, _)| {
            let (before, after) = (&change.before, &change.after);
            let delta = change.quantity_change();
            brickowl::LotChange {
                lot_id: *lot_id,
                relative_quantity: (delta != 0).then_some(delta),
                absolute_quantity: None,
                price: (after.unit_price != before.unit_price).then_some(after.unit_price),
                personal_note: (after.remarks != before.remarks).then(|| after.remarks.clone()),
                public_note: None,
                for_sale: (after.stockroom != before.stockroom).then_some(!after.stockroom),
            }
        })
        .collect();
    let answers = if let [one] = requests.as_slice() {
        client
            .update_inventory(one, Priority::Background)
            .await
            .map(|()| vec![Ok(())])
    } else {
        client
            .update_inventory_batch(&requests, Priority::Background)
            .await
    };
    match answers {
        Ok(answers) => {
            for ((change, _, from), answer) in send.iter().zip(answers) {
                let finished = match answer {
                    Ok(()) => Finished::BrickOwl {
                        quantity: (from + change.quantity_change()).max(0),
                    },
                    Err(reason) => {
                        Finished::Failed(format!("BrickOwl refused the change: {reason}"))
                    }
                };
                if let Some(e) = finish(services, user, market, change.id, finished).await? {
                    ended.push(e);
                }
            }
            Ok(ended)
        }
        Err(err) if unsent(&err) => {
            for (change, _, _) in &send {
                finish(services, user, market, change.id, Finished::Unsent).await?;
            }
            Err(err.into())
        }
        Err(err) => match refusal(&err) {
            Some(reason) => {
                for (change, _, _) in &send {
                    let refused =
                        Finished::Failed(format!("BrickOwl refused the change: {reason}"));
                    if let Some(e) = finish(services, user, market, change.id, refused).await? {
                        ended.push(e);
                    }
                }
                Ok(ended)
            }
            None => Err(err.into()),
        },
    }
}
