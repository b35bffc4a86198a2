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

use app::{ChangeCause, ChangeId, Lot, LotChange, Marketplace, SaleRef, UserId, jobs::kinds};
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
        Finished::BrickLink(_) | Finished::BrickOwl { .. } | Finished::Moved { .. } => Some(true),
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
    let (delta, short) = clamped(&change, from);
    let deletes = from + delta == 0 && !change.after.stockroom;
    let to_stockroom = deletes && change.at_zero == Some(app::AtZero::Stockroom);
    if check {
        // What brickdesk knows BrickLink holds now: the quantity from before, less the sales
        // there recorded since (for a sale's change, every order BrickLink has is heard of
        // first, and again after the read: see `catch_up`).
        let is_sale = sale(&change).is_some();
        let known = if is_sale {
            catch_up(services, user, market).await?;
            known_now(services, user, &lot, market)?
        } else {
            side.quantity
        };
        let read = client
            .inventory(side.inventory_id, Priority::Background)
            .await;
        if is_sale && catch_up(services, user, market).await? > 0 {
            return Err(moved_under_sale(market));
        }
        match read {
            Err(MarketplaceError::NotFound(_)) if deletes => {
                let ended = finish(services, user, market, id, Finished::BrickLink(None)).await;
                return sold_out(services, user, &change, &lot, 0, ended).await;
            }
            Err(MarketplaceError::NotFound(_)) if sale(&change).is_some() => {
                let ended = finish(services, user, market, id, sold_out_there(&side)).await;
                return sold_out(services, user, &change, &lot, -delta, ended).await;
            }
            Err(MarketplaceError::NotFound(_)) => {
                let gone = "BrickLink no longer has this lot; read the store again.".to_owned();
                return finish(services, user, market, id, Finished::Failed(gone)).await;
            }
            Err(err) => return Err(err.into()),
            Ok(remote) if delta != 0 && remote.quantity == known + delta => {
                let applied = Finished::BrickLink(Some(bricklink_side(&remote)));
                return finish(services, user, market, id, applied).await;
            }
            Ok(remote) if delta != 0 && remote.quantity != known => {
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
    if delta == 0 && sale(&change).is_some() {
        // A sale of pieces BrickLink had sold already: nothing to take.
        let ended = finish(services, user, market, id, Finished::BrickLink(Some(side))).await;
        return sold_out(services, user, &change, &lot, short, ended).await;
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
    } else if deletes && !to_stockroom {
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
            stockroom: if to_stockroom {
                Some(true)
            } else {
                (after.stockroom != side.stockroom).then_some(after.stockroom)
            },
        };
        client
            .update_inventory(side.inventory_id, &body, Priority::Background)
            .await
            .map(|lot| Some(bricklink_side(&lot)))
    };
    let outcome = outcome.map(|answer| match answer {
        Some(lot) => Finished::Moved {
            delta,
            bricklink: Some(lot),
        },
        None => Finished::BrickLink(None),
    });
    match outcome {
        Ok(finished) => {
            let ended = finish(services, user, market, id, finished).await;
            sold_out(services, user, &change, &lot, short, ended).await
        }
        Err(MarketplaceError::NotFound(_)) if sale(&change).is_some() => {
            let ended = finish(services, user, market, id, sold_out_there(&side)).await;
            sold_out(services, user, &change, &lot, -delta, ended).await
        }
        Err(err) if unsent(&err) => {
            finish(services, user, market, id, Finished::Unsent).await?;
            Err(err.into())
        }
        Err(err) => match refusal(&err) {
            Some(reason) if sale(&change).is_some() => {
                bricklink_refused_sale(services, client, user, &change, &lot, -delta, reason).await
            }
            Some(reason) => {
                let refused = format!("BrickLink refused the change: {reason}");
                let ended = finish(services, user, market, id, Finished::Failed(refused)).await;
                sold_out(services, user, &change, &lot, 0, ended).await
            }
            // Maybe applied, maybe not: the change stays sending and the next try checks.
            None => Err(err.into()),
        },
    }
}

/// A change on its way to a BrickOwl lot.
struct OwlChange {
    change: LotChange,
    lot: Lot,
    lot_id: i64,
    /// What brickdesk knows BrickOwl holds now (the quantity it was sent from, less the sales
    /// there recorded since).
    known: i64,
    /// The pieces it adds (see [`clamped`]), and those a sale could not take.
    delta: i64,
    short: i64,
}

/// Applies a batch of changes on BrickOwl (distinct lots); how each ended.
async fn brickowl(
    services: &Services,
    client: &BrickOwl,
    user: UserId,
    ids: &[ChangeId],
) -> Result<Vec<bool>, JobError> {
    let market = Marketplace::BrickOwl;
    let mut send: Vec<OwlChange> = Vec::new();
    let mut check: Vec<OwlChange> = Vec::new();
    let mut ended = Vec::new();
    for id in ids {
        let (change, lot, checking) = match start(services, user, market, *id).await? {
            None => continue,
            Some(Started::Send(change, lot)) => (change, lot, false),
            Some(Started::Check(change, lot)) => (change, lot, true),
        };
        let Some(lot_id) = lot.brickowl.as_ref().map(|o| o.lot_id) else {
            continue;
        };
        let from = change
            .sent_from(market)
            .unwrap_or_else(|| side_quantity(&lot, market));
        let (delta, short) = clamped(&change, from);
        let entry = OwlChange {
            known: side_quantity(&lot, market),
            change,
            lot,
            lot_id,
            delta,
            short,
        };
        if delta == 0 && sale(&entry.change).is_some() {
            // A sale of pieces BrickOwl had sold already: nothing to take.
            let done = Finished::BrickOwl { quantity: from };
            let result = finish(services, user, market, *id, done).await;
            let result = sold_out(services, user, &entry.change, &entry.lot, short, result).await;
            ended.extend(result?);
        } else if checking {
            check.push(entry);
        } else {
            send.push(entry);
        }
    }
    if !check.is_empty() {
        // As for BrickLink: for sales' changes, every order BrickOwl has is heard of before
        // the read and again after it.
        let sales = check.iter().any(|e| sale(&e.change).is_some());
        if sales {
            catch_up(services, user, market).await?;
            for entry in &mut check {
                entry.known = known_now(services, user, &entry.lot, market)?;
            }
        }
        let remote = client.inventory(Priority::Background).await?;
        if sales && catch_up(services, user, market).await? > 0 {
            return Err(moved_under_sale(market));
        }
        for entry in check {
            let (from, known, delta) = (entry.known, entry.known, entry.delta);
            let now = remote
                .iter()
                .find(|l| l.lot_id == entry.lot_id)
                .map(|l| l.quantity);
            let finished = match now {
                None => Finished::Failed(
                    "BrickOwl no longer has this lot; read the store again.".to_owned(),
                ),
                Some(q) if delta != 0 && q == known + delta => Finished::BrickOwl { quantity: q },
                Some(q) if delta != 0 && q != known => Finished::Failed(format!(
                    "BrickOwl's lot changed while this change was on its way (it held {from}, \
                     now {q}): check the lot and edit it again. Nothing was sent twice."
                )),
                Some(_) => {
                    send.push(entry);
                    continue;
                }
            };
            ended.extend(owl_finish(services, user, &entry, finished).await?);
        }
    }
    if send.is_empty() {
        return Ok(ended);
    }
    let requests: Vec<brickowl::LotChange> = send
        .iter()
        .map(|entry| {
            let (before, after) = (&entry.change.before, &entry.change.after);
            brickowl::LotChange {
                lot_id: entry.lot_id,
                relative_quantity: (entry.delta != 0).then_some(entry.delta),
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
            let mut refused_sales = Vec::new();
            for (entry, answer) in send.iter().zip(answers) {
                let finished = match answer {
                    Ok(()) => Finished::Moved {
                        delta: entry.delta,
                        bricklink: None,
                    },
                    Err(reason) if sale(&entry.change).is_some() => {
                        refused_sales.push((entry, reason));
                        continue;
                    }
                    Err(reason) => {
                        Finished::Failed(format!("BrickOwl refused the change: {reason}"))
                    }
                };
                ended.extend(owl_finish(services, user, entry, finished).await?);
            }
            if !refused_sales.is_empty() {
                ended.extend(brickowl_refused_sales(services, client, user, refused_sales).await?);
            }
            Ok(ended)
        }
        Err(err) if unsent(&err) => {
            for entry in &send {
                finish(services, user, market, entry.change.id, Finished::Unsent).await?;
            }
            Err(err.into())
        }
        Err(err) => match refusal(&err) {
            Some(reason) => {
                let (sales, others): (Vec<&OwlChange>, Vec<&OwlChange>) =
                    send.iter().partition(|e| sale(&e.change).is_some());
                let sales = sales.into_iter().map(|e| (e, reason.clone())).collect();
                ended.extend(brickowl_refused_sales(services, client, user, sales).await?);
                for entry in others {
                    let refused =
                        Finished::Failed(format!("BrickOwl refused the change: {reason}"));
                    let result = finish(services, user, market, entry.change.id, refused).await;
                    let result = sold_out(services, user, &entry.change, &entry.lot, 0, result);
                    ended.extend(result.await?);
                }
                Ok(ended)
            }
            None => Err(err.into()),
        },
    }
}

/// A sale's change BrickLink refused: the lot may hold fewer pieces than the sale takes
/// (they sold on BrickLink too since brickdesk last heard). The lot is read: what it holds is
/// taken (the lot deleted, or moved to the stockroom at 0, as the settings say) and the rest
/// is an oversold sale; a lot holding enough leaves the refusal standing.
async fn bricklink_refused_sale(
    services: &Services,
    client: &BrickLink,
    user: UserId,
    change: &LotChange,
    lot: &Lot,
    wanted: i64,
    reason: String,
) -> Result<Option<bool>, JobError> {
    let market = Marketplace::BrickLink;
    let Some(inventory_id) = lot.bricklink.as_ref().map(|b| b.inventory_id) else {
        return Ok(None);
    };
    let remote = match client.inventory(inventory_id, Priority::Background).await {
        Err(MarketplaceError::NotFound(_)) => {
            let side = lot.bricklink.clone().unwrap_or(app::BrickLinkLot {
                inventory_id,
                quantity: 0,
                unit_price: lot.unit_price,
                stockroom: false,
            });
            let ended = finish(services, user, market, change.id, sold_out_there(&side)).await;
            return sold_out(services, user, change, lot, wanted, ended).await;
        }
        Err(err) => return Err(err.into()),
        Ok(remote) => remote,
    };
    if remote.quantity >= wanted {
        let refused = Finished::Failed(format!("BrickLink refused the change: {reason}"));
        let ended = finish(services, user, market, change.id, refused).await;
        return sold_out(services, user, change, lot, 0, ended).await;
    }
    let held = remote.quantity;
    let answer = if held == 0 {
        Ok(Some(bricklink_side(&remote)))
    } else if remote.is_stock_room || change.at_zero == Some(app::AtZero::Stockroom) {
        let body = InventoryChange {
            quantity: Some(-held),
            unit_price: None,
            remarks: None,
            description: None,
            stockroom: (!remote.is_stock_room).then_some(true),
        };
        client
            .update_inventory(inventory_id, &body, Priority::Background)
            .await
            .map(|lot| Some(bricklink_side(&lot)))
    } else {
        client
            .delete_inventory(inventory_id, Priority::Background)
            .await
            .map(|()| None)
    };
    let finished = match answer {
        Ok(answer) => Finished::BrickLink(answer),
        Err(err) => Finished::Failed(format!("BrickLink refused the change: {err}")),
    };
    let ended = finish(services, user, market, change.id, finished).await;
    sold_out(services, user, change, lot, wanted - held, ended).await
}

/// Records how a BrickOwl change ended (see [`finish`] and [`sold_out`]).
async fn owl_finish(
    services: &Services,
    user: UserId,
    entry: &OwlChange,
    finished: Finished,
) -> Result<Option<bool>, JobError> {
    let market = Marketplace::BrickOwl;
    let ended = finish(services, user, market, entry.change.id, finished).await;
    sold_out(
        services,
        user,
        &entry.change,
        &entry.lot,
        entry.short,
        ended,
    )
    .await
}

/// Sales' changes BrickOwl refused (see [`bricklink_refused_sale`]): the store is read once;
/// a lot holding fewer pieces than its sale takes gives what it holds and the rest is an
/// oversold sale.
async fn brickowl_refused_sales(
    services: &Services,
    client: &BrickOwl,
    user: UserId,
    refused: Vec<(&OwlChange, String)>,
) -> Result<Vec<bool>, JobError> {
    let market = Marketplace::BrickOwl;
    let remote = client.inventory(Priority::Background).await?;
    let mut ended = Vec::new();
    for (entry, reason) in refused {
        let wanted = -entry.delta;
        let held = remote
            .iter()
            .find(|l| l.lot_id == entry.lot_id)
            .map_or(0, |l| l.quantity);
        let (finished, short) = if held >= wanted {
            let refused = format!("BrickOwl refused the change: {reason}");
            (Finished::Failed(refused), 0)
        } else {
            let taken = if held > 0 {
                let request = brickowl::LotChange {
                    lot_id: entry.lot_id,
                    relative_quantity: Some(-held),
                    absolute_quantity: None,
                    price: None,
                    personal_note: None,
                    public_note: None,
                    for_sale: None,
                };
                client
                    .update_inventory(&request, Priority::Background)
                    .await
            } else {
                Ok(())
            };
            match taken {
                Ok(()) => (Finished::BrickOwl { quantity: 0 }, wanted - held),
                Err(err) => (
                    Finished::Failed(format!("BrickOwl refused the change: {err}")),
                    0,
                ),
            }
        };
        let result = finish(services, user, market, entry.change.id, finished).await;
        ended.extend(sold_out(services, user, &entry.change, &entry.lot, short, result).await?);
    }
    Ok(ended)
}

/// A sale's change found the BrickLink lot gone: BrickLink removed it as it sold out there.
/// The lot keeps its BrickLink side at 0, so the sale that took the last pieces, when it
/// arrives, still finds its lot (the next read of the store drops the side).
fn sold_out_there(side: &app::BrickLinkLot) -> Finished {
    Finished::BrickLink(Some(app::BrickLinkLot {
        quantity: 0,
        ..side.clone()
    }))
}

/// Brings in the orders `market` has that brickdesk has not stored (or that changed since),
/// and records the sales of stored ones whose fetch was cut off before it recorded them; how
/// many orders that was. A sale's change cut off while sending is checked against the
/// marketplace's lot only when every sale there is known: the lot must then hold what
/// brickdesk knows (not taken yet) or that less the change (taken). Sales brickdesk has not
/// heard of would make the two look alike, so the orders are read before the lot and again
/// after it: when the second read finds more, the check waits for a retry.
pub async fn catch_up(
    services: &Services,
    user: UserId,
    market: Marketplace,
) -> Result<usize, JobError> {
    let since = services.store.inventory().stock_sync_since(user)?;
    let account = services.account(user, market)?;
    let listed = account.list(false, Priority::Background).await?;
    let recent: Vec<String> = listed
        .iter()
        .filter(|l| since.is_some_and(|since| l.changed_at >= since))
        .map(|l| l.order_id.clone())
        .collect();
    let todo = super::poll_orders::changed(services, user, market, listed);
    for order_id in &todo {
        let input = super::sync_order::Input {
            user,
            marketplace: market,
            order_id: order_id.clone(),
            background: true,
        };
        super::sync_order::fetch_and_store(services, &input, Priority::Background).await?;
    }
    let mut caught = todo.len();
    for order_id in recent.iter().filter(|id| !todo.contains(id)) {
        let stored = services.store.orders().get(user, market, order_id)?;
        if let Some(order) = stored
            && super::stock_sync::record_order(services, user, &order).await?
        {
            caught += 1;
        }
    }
    Ok(caught)
}

/// What brickdesk knows `market` holds of `lot` now.
fn known_now(
    services: &Services,
    user: UserId,
    lot: &Lot,
    market: Marketplace,
) -> Result<i64, JobError> {
    let now = services.store.inventory().get(user, lot.id)?;
    Ok(side_quantity(now.as_ref().unwrap_or(lot), market))
}

/// Orders came in while a sale's change was being checked (see [`catch_up`]).
fn moved_under_sale(market: Marketplace) -> JobError {
    JobError::retryable(format!(
        "{} sold more while brickdesk checked whether a sale's change was taken there: \
         checking again",
        market.label()
    ))
}

/// The sale a change takes off this marketplace, if it is one.
fn sale(change: &LotChange) -> Option<&SaleRef> {
    match &change.cause {
        Some(ChangeCause::Sale(sale)) => Some(sale),
        Some(
            ChangeCause::Cancellation(_) | ChangeCause::Reconcile { .. } | ChangeCause::Settled,
        )
        | None => None,
    }
}

/// The pieces a change adds to a lot holding `from`, and how many a sale could not take: a
/// sale never takes more than the lot holds (the rest were sold on this marketplace too).
fn clamped(change: &LotChange, from: i64) -> (i64, i64) {
    let wanted = change.quantity_change();
    if sale(change).is_some() && from + wanted < 0 {
        (-from.max(0), -(from.max(0) + wanted))
    } else {
        (wanted, 0)
    }
}

/// After a change ended (`ended`, as [`finish`] gives it): for a sale, counts it and records
/// an oversold sale when `short` pieces could not be taken.
async fn sold_out(
    services: &Services,
    user: UserId,
    change: &LotChange,
    lot: &Lot,
    short: i64,
    ended: Result<Option<bool>, JobError>,
) -> Result<Option<bool>, JobError> {
    let ended = ended?;
    let Some(sale) = sale(change) else {
        return Ok(ended);
    };
    if let Some(applied) = ended {
        services
            .stock_sync
            .propagated(user, sale.marketplace, applied);
    }
    if short > 0 && ended == Some(true) {
        super::stock_sync::oversold(services, user, lot, sale, short).await?;
    }
    Ok(ended)
}
