//! Stock sync's step in every order fetch (push, poll, import, status write-back): the sales
//! of an order not recorded before are recorded, with the changes taking them off the other
//! marketplace, in one durable commit with the `apply_lot_changes` jobs that send them
//! (`Inventory::record_sales`). A fetch that crashes before the commit runs again and records
//! them then; one after it finds them recorded. Oversold sales go to the activity feed.

use app::{ActivityEntry, ActivityKind, Lot, OrderDetail, Oversold, SaleRef, UserId};
use time::OffsetDateTime;

use crate::{queue::JobError, services::Services};

/// Records `order`'s new sales of `user` and queues their changes; whether there were any.
pub async fn record_order(
    services: &Services,
    user: UserId,
    order: &OrderDetail,
) -> Result<bool, JobError> {
    let inventory = services.store.inventory();
    let writing = inventory.writing().await;
    let Some(recorded) = inventory.record_sales(user, order)? else {
        return Ok(false);
    };
    super::commit_lot_changes(services, user, recorded.edit).await?;
    drop(writing);
    let marketplace = order.summary.marketplace;
    services.stock_sync.sold(user, marketplace, recorded.lines);
    services
        .stock_sync
        .oversold(user, marketplace, recorded.oversold.len());
    for oversold in &recorded.oversold {
        tell(services, user, oversold)?;
    }
    if recorded.held {
        let entry = ActivityEntry {
            at: OffsetDateTime::now_utc(),
            marketplace,
            kind: ActivityKind::StockHeld,
            order_id: Some(order.summary.order_id.clone()),
            text: format!(
                "Stock sync holds {marketplace} order {}: taking it off {} would empty more \
                 lots or take more pieces than your guard rails allow. Check it and apply it \
                 on the Inventory page.",
                order.summary.order_id,
                marketplace.other()
            ),
        };
        services.store.activity().record(user, &entry)?;
    }
    Ok(true)
}

/// Records that the change taking `sale` off the other marketplace found `short` of its
/// pieces gone there (the last piece sold on both at once), and tells the seller.
pub async fn oversold(
    services: &Services,
    user: UserId,
    lot: &Lot,
    sale: &SaleRef,
    short: i64,
) -> Result<(), JobError> {
    let inventory = services.store.inventory();
    let recorded = {
        let _writing = inventory.writing().await;
        inventory.record_oversold(user, lot, sale, short)?
    };
    if let Some(oversold) = recorded {
        services.stock_sync.oversold(user, sale.marketplace, 1);
        tell(services, user, &oversold)?;
    }
    Ok(())
}

/// An oversold sale in the activity feed.
fn tell(services: &Services, user: UserId, oversold: &Oversold) -> Result<(), JobError> {
    let entry = ActivityEntry {
        at: OffsetDateTime::now_utc(),
        marketplace: oversold.sale.marketplace,
        kind: ActivityKind::Oversold,
        order_id: Some(oversold.sale.order_id.clone()),
        text: oversold.describe(),
    };
    services.store.activity().record(user, &entry)?;
    Ok(())
}
