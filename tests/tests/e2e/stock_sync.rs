//! Stock sync: a sale on one marketplace takes the pieces off the lot on the other, exactly
//! once however often the order is pushed, polled or imported again; a sale of pieces the
//! other marketplace had sold already ends with both at 0 and the seller told, naming both
//! orders; orders from before sync was turned on and lots on one marketplace only are left
//! alone.

use app::{ChangeCause, Lot, Marketplace, StockSyncState, routes};
use reqwest::StatusCode;
use serde_json::json;
use server::sim::{Faults, Side};
use tests::TestApp;

use super::inventory_edits::{all_lots, both_stores, settled};

/// Both stores read, pushes wired, stock sync on.
async fn syncing() -> TestApp {
    let app = both_stores().await;
    let bricklink = app.api.connection(Marketplace::BrickLink).await.webhook_url;
    let brickowl = app.api.connection(Marketplace::BrickOwl).await.webhook_url;
    app.sim.sim.set_callbacks(0, bricklink, brickowl);
    let answer = app
        .api
        .put_json(
            routes::STOCK_SYNC,
            &json!({"enabled": true, "bricklink_at_zero": "delete"}),
        )
        .await;
    assert_eq!(answer.status(), StatusCode::OK, "{}", answer.text());
    let state: StockSyncState = answer.json();
    assert!(state.settings.enabled && state.since.is_some());
    app
}

/// A lot on both marketplaces holding at least `pieces` on each, for sale.
async fn linked_lot(app: &TestApp, pieces: i64, skip: usize) -> Lot {
    all_lots(&app.api, "linked=true")
        .await
        .into_iter()
        .filter(|l| {
            !l.stockroom
                && l.bricklink.as_ref().is_some_and(|b| b.quantity >= pieces)
                && l.brickowl.as_ref().is_some_and(|o| o.quantity >= pieces)
        })
        .nth(skip)
        .expect("a linked lot")
}

fn bricklink_quantity(app: &TestApp, id: i64) -> Option<i64> {
    app.sim
        .sim
        .edit_bricklink_lots(0, |lots| lots.get(&id).map(|l| l.quantity))
        .flatten()
}

fn brickowl_quantity(app: &TestApp, id: i64) -> Option<i64> {
    app.sim
        .sim
        .edit_brickowl_lots(0, |lots| lots.get(&id).map(|l| l.quantity))
        .flatten()
}

/// The simulators' journal entries naming `id`.
fn writes_of(app: &TestApp, id: i64) -> Vec<String> {
    app.sim
        .sim
        .inventory_writes(0)
        .into_iter()
        .filter(|w| {
            let at = if w.starts_with("BL") || w.contains("SOLD") {
                2
            } else {
                1
            };
            w.split(' ').nth(at) == Some(id.to_string().as_str())
        })
        .collect()
}

async fn state(app: &TestApp) -> StockSyncState {
    let answer = app.api.get(routes::STOCK_SYNC).await;
    assert_eq!(answer.status(), StatusCode::OK, "{}", answer.text());
    answer.json()
}

/// BrickOwl's push about `order`, sent again as BrickOwl would on a retry.
async fn push_brickowl_again(app: &TestApp, order: i64) {
    let url = app
        .api
        .connection(Marketplace::BrickOwl)
        .await
        .webhook_url
        .unwrap();
    let store_id = app.sim.sim.keys(0).unwrap().store_id;
    let answer = reqwest::get(format!("{url}?order_id={order}&store_id={store_id}"))
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sale_on_each_marketplace_reaches_the_other_exactly_once() {
    let app = syncing().await;
    let lot = linked_lot(&app, 4, 0).await;
    let bl = lot.bricklink.as_ref().unwrap().inventory_id;
    let owl = lot.brickowl.as_ref().unwrap().lot_id;
    let (bl_before, owl_before) = (
        bricklink_quantity(&app, bl).unwrap(),
        brickowl_quantity(&app, owl).unwrap(),
    );

    // A BrickLink buyer takes 2: BrickOwl loses 2.
    let order = app.sim.sim.sell(0, Side::BrickLink, &[(bl, 2)]).unwrap();
    app.until(20, "BrickOwl loses the 2 pieces", || async {
        (brickowl_quantity(&app, owl) == Some(owl_before - 2)).then_some(())
    })
    .await;
    // The same order again: a full import, a poll and the push.
    let full = app.api.sync(&json!({"full": true})).await;
    assert_eq!(full.status(), StatusCode::ACCEPTED, "{}", full.text());
    let poll = app.api.sync(&json!({})).await;
    assert_eq!(poll.status(), StatusCode::ACCEPTED, "{}", poll.text());
    app.settle().await;

    // A BrickOwl buyer takes 1, and BrickOwl pushes it three times.
    let owl_order = app.sim.sim.sell(0, Side::BrickOwl, &[(owl, 1)]).unwrap();
    for _ in 0..3 {
        push_brickowl_again(&app, owl_order).await;
    }
    app.until(20, "BrickLink loses the piece", || async {
        (bricklink_quantity(&app, bl) == Some(bl_before - 3)).then_some(())
    })
    .await;
    app.settle().await;
    settled(&app).await;

    assert_eq!(brickowl_quantity(&app, owl), Some(owl_before - 3));
    assert_eq!(bricklink_quantity(&app, bl), Some(bl_before - 3));
    assert_eq!(
        writes_of(&app, bl),
        [
            format!("BL SOLD {bl} -2 order {order}"),
            format!("BL PUT {bl} {{\"quantity\":\"-1\"}}"),
        ]
    );
    assert_eq!(
        writes_of(&app, owl),
        [
            format!("BO {owl} relative_quantity=-2"),
            format!("BO SOLD {owl} -1 order {owl_order}"),
        ]
    );
    // The audit log names the orders; the lot shows what both marketplaces now hold.
    let log = settled(&app).await;
    let causes: Vec<String> = log
        .changes
        .iter()
        .filter(|c| c.lot == lot.id)
        .filter_map(|c| c.cause.as_ref().map(ChangeCause::describe))
        .collect();
    assert_eq!(
        causes,
        [
            format!("BrickOwl order {owl_order} sold 1"),
            format!("BrickLink order {order} sold 2"),
        ]
    );
    let now = all_lots(&app.api, "linked=true")
        .await
        .into_iter()
        .find(|l| l.id == lot.id)
        .unwrap();
    assert_eq!(now.bricklink.as_ref().unwrap().quantity, bl_before - 3);
    assert_eq!(now.brickowl.as_ref().unwrap().quantity, owl_before - 3);
    assert_eq!(now.quantity, bl_before - 3);
    let state = state(&app).await;
    assert_eq!(
        (state.propagated_today, state.waiting, state.failed),
        (2, 0, 0)
    );
    assert!(state.oversold.is_empty());
    // A sale's change is not undone: the pieces are sold.
    let sale_change = log.changes.iter().find(|c| c.lot == lot.id).unwrap();
    let undo = app
        .api
        .post_json(&routes::inventory_change_undo(sale_change.id), &json!({}))
        .await;
    assert_eq!(undo.error_code(), "not-allowed", "{}", undo.text());
    // The counters a scraper reads.
    let metrics = app
        .metrics_request()
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for series in [
        "brickdesk_stock_sync_sales_total{user=\"1\",marketplace=\"bricklink\"} 1",
        "brickdesk_stock_sync_sales_total{user=\"1\",marketplace=\"brickowl\"} 1",
        "brickdesk_stock_sync_propagated_total{user=\"1\",marketplace=\"bricklink\"} 1",
        "brickdesk_stock_sync_propagated_total{user=\"1\",marketplace=\"brickowl\"} 1",
    ] {
        assert!(metrics.contains(series), "{series} in {metrics}");
    }
}

/// Reads both stores again and waits for the read to end.
async fn read_stores(app: &TestApp) {
    let answer = app
        .api
        .post_json(routes::INVENTORY_IMPORT, &json!({}))
        .await;
    assert_eq!(answer.status(), StatusCode::ACCEPTED, "{}", answer.text());
    let id = answer.json::<app::Queued>().job_ids[0];
    app.until(30, "the read ends", || async {
        let job: app::JobView = app.api.get_job(id).await.json();
        (job.state == app::JobState::Succeeded).then_some(())
    })
    .await;
}

/// The last piece of a lot sold on both marketplaces at once; the push of `late`'s sale is
/// lost and a poll brings the order in after the other's sale was handled.
async fn last_piece_sold_on_both(late: Side) {
    let app = syncing().await;
    let lot = linked_lot(&app, 1, 0).await;
    let bl = lot.bricklink.as_ref().unwrap().inventory_id;
    let owl = lot.brickowl.as_ref().unwrap().lot_id;
    app.sim
        .sim
        .edit_bricklink_lots(0, |lots| lots.get_mut(&bl).unwrap().quantity = 1);
    app.sim
        .sim
        .edit_brickowl_lots(0, |lots| lots.get_mut(&owl).unwrap().quantity = 1);
    read_stores(&app).await;

    app.sim.sim.set_faults(
        late,
        Faults {
            drop_pushes: 1.0,
            ..Faults::default()
        },
    );
    let on_bricklink = app.sim.sim.sell(0, Side::BrickLink, &[(bl, 1)]).unwrap();
    let on_brickowl = app.sim.sim.sell(0, Side::BrickOwl, &[(owl, 1)]).unwrap();
    app.until(30, "the first sale is handled", || async {
        let state = state(&app).await;
        (state.waiting == 0 && state.propagated_today == 1).then_some(())
    })
    .await;
    app.sim.sim.set_faults(late, Faults::default());
    let poll = app.api.sync(&json!({})).await;
    assert_eq!(poll.status(), StatusCode::ACCEPTED, "{}", poll.text());
    app.until(
        30,
        "the oversold sale is shown with both orders",
        || async {
            let state = state(&app).await;
            (state.waiting == 0 && state.oversold.iter().any(|o| o.other.is_some())).then_some(())
        },
    )
    .await;
    app.settle().await;
    let state = state(&app).await;
    assert_eq!(bricklink_quantity(&app, bl), None, "sold out on BrickLink");
    assert_eq!(brickowl_quantity(&app, owl), Some(0));
    assert_eq!(state.oversold.len(), 1, "{:?}", state.oversold);
    let oversold = &state.oversold[0];
    let mut orders = vec![
        oversold.sale.order_id.clone(),
        oversold
            .other
            .as_ref()
            .expect("the other order")
            .order_id
            .clone(),
    ];
    orders.sort();
    assert_eq!(orders, [on_bricklink.to_string(), on_brickowl.to_string()]);
    assert_eq!(oversold.short, 1);
    assert_eq!(state.failed, 0, "{state:?}");
    // Nothing was sent that would take a marketplace below 0, and the seller is told.
    for write in app.sim.sim.inventory_writes(0) {
        assert!(!write.contains(&format!("{bl} {{\"quantity\"")), "{write}");
        assert!(!write.contains(&format!("BO {owl} relative")), "{write}");
    }
    let dashboard = app.api.get(routes::DASHBOARD).await.text();
    assert!(dashboard.contains("took them first"), "{dashboard}");
    let now = all_lots(&app.api, "")
        .await
        .into_iter()
        .find(|l| l.id == lot.id);
    assert!(
        now.as_ref().is_none_or(|l| l.quantity == 0),
        "no piece comes back: {now:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_piece_sold_on_both_ends_at_zero_when_brickowl_hears_last() {
    last_piece_sold_on_both(Side::BrickOwl).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_piece_sold_on_both_ends_at_zero_when_bricklink_hears_last() {
    last_piece_sold_on_both(Side::BrickLink).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sales_before_sync_was_on_and_of_lots_on_one_marketplace_stay_there() {
    let app = both_stores().await;
    let bricklink = app.api.connection(Marketplace::BrickLink).await.webhook_url;
    let brickowl = app.api.connection(Marketplace::BrickOwl).await.webhook_url;
    app.sim.sim.set_callbacks(0, bricklink, brickowl);
    let lot = linked_lot(&app, 2, 1).await;
    let bl = lot.bricklink.as_ref().unwrap().inventory_id;
    let owl = lot.brickowl.as_ref().unwrap().lot_id;
    let owl_before = brickowl_quantity(&app, owl).unwrap();

    // Sync is off: the sale stays on BrickLink.
    let early = app.sim.sim.sell(0, Side::BrickLink, &[(bl, 1)]).unwrap();
    app.until(20, "the order arrives", || async {
        (app.api
            .get_order(Marketplace::BrickLink, &early.to_string())
            .await
            .status()
            == StatusCode::OK)
            .then_some(())
    })
    .await;
    app.settle().await;
    let answer = app
        .api
        .put_json(
            routes::STOCK_SYNC,
            &json!({"enabled": true, "bricklink_at_zero": "stockroom"}),
        )
        .await;
    assert_eq!(answer.status(), StatusCode::OK, "{}", answer.text());
    // Turned on, a full import of every order takes none of the earlier sales off.
    let full = app.api.sync(&json!({"full": true})).await;
    assert_eq!(full.status(), StatusCode::ACCEPTED, "{}", full.text());
    app.settle().await;
    assert_eq!(brickowl_quantity(&app, owl), Some(owl_before));

    // A lot only BrickLink has: its sale is recorded and stays there.
    let alone = all_lots(&app.api, "linked=false&marketplace=bricklink")
        .await
        .into_iter()
        .find(|l| l.bricklink.as_ref().is_some_and(|b| b.quantity >= 2) && !l.stockroom)
        .expect("a BrickLink-only lot");
    let alone_bl = alone.bricklink.as_ref().unwrap().inventory_id;
    let before = app.sim.sim.inventory_writes(0).len();
    app.sim
        .sim
        .sell(0, Side::BrickLink, &[(alone_bl, 1)])
        .unwrap();
    let now = app
        .until(20, "brickdesk knows the piece sold", || async {
            all_lots(&app.api, "marketplace=bricklink")
                .await
                .into_iter()
                .find(|l| l.id == alone.id && l.quantity == alone.quantity - 1)
        })
        .await;
    app.settle().await;
    assert_eq!(now.bricklink.as_ref().unwrap().quantity, alone.quantity - 1);
    assert_eq!(
        app.sim.sim.inventory_writes(0).len(),
        before + 1,
        "only the sale itself"
    );
    let state = state(&app).await;
    assert_eq!((state.propagated_today, state.waiting), (0, 0));
    assert!(state.needs_linking > 0);
}
