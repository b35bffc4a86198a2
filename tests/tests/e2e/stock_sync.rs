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

/// An order on `side` selling 2 of a linked lot, taken off the other side; the lot's ids on
/// both marketplaces and their quantities after the sale.
async fn sold_two(app: &TestApp, side: Side) -> (i64, (i64, i64), (i64, i64)) {
    let lot = linked_lot(app, 4, 2).await;
    let bl = lot.bricklink.as_ref().unwrap().inventory_id;
    let owl = lot.brickowl.as_ref().unwrap().lot_id;
    let (bl_before, owl_before) = (
        bricklink_quantity(app, bl).unwrap(),
        brickowl_quantity(app, owl).unwrap(),
    );
    let sold = if side == Side::BrickLink { bl } else { owl };
    let order = app.sim.sim.sell(0, side, &[(sold, 2)]).unwrap();
    app.until(20, "the sale reaches the other side", || async {
        (bricklink_quantity(app, bl) == Some(bl_before - 2)
            && brickowl_quantity(app, owl) == Some(owl_before - 2))
        .then_some(())
    })
    .await;
    app.settle().await;
    (order, (bl, owl), (bl_before - 2, owl_before - 2))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_order_is_put_back_once_after_one_click() {
    let app = syncing().await;
    let (order, (bl, owl), (bl_now, owl_now)) = sold_two(&app, Side::BrickLink).await;

    assert!(app.sim.sim.cancel(0, Side::BrickLink, order));
    let shown = app
        .until(20, "the cancellation is shown", || async {
            let now = state(&app).await;
            (!now.cancelled.is_empty()).then_some(now)
        })
        .await;
    assert_eq!(shown.cancelled.len(), 1);
    assert_eq!(
        (
            shown.cancelled[0].order_id.clone(),
            shown.cancelled[0].pieces
        ),
        (order.to_string(), 2)
    );
    // Nothing moves until the seller says so.
    app.settle().await;
    assert_eq!(bricklink_quantity(&app, bl), Some(bl_now));
    assert_eq!(brickowl_quantity(&app, owl), Some(owl_now));

    let body = json!({"marketplace": "bricklink", "order_id": order.to_string()});
    let answer = app.api.post_json(routes::STOCK_SYNC_RESTOCK, &body).await;
    assert_eq!(answer.status(), StatusCode::ACCEPTED, "{}", answer.text());
    let again = app.api.post_json(routes::STOCK_SYNC_RESTOCK, &body).await;
    assert_eq!(again.error_code(), "not-allowed", "{}", again.text());
    app.until(20, "the pieces are back on both", || async {
        (bricklink_quantity(&app, bl) == Some(bl_now + 2)
            && brickowl_quantity(&app, owl) == Some(owl_now + 2))
        .then_some(())
    })
    .await;
    // The cancelled order read again (a full import) puts nothing back twice.
    let full = app.api.sync(&json!({"full": true})).await;
    assert_eq!(full.status(), StatusCode::ACCEPTED, "{}", full.text());
    app.settle().await;
    settled(&app).await;
    assert_eq!(bricklink_quantity(&app, bl), Some(bl_now + 2));
    assert_eq!(brickowl_quantity(&app, owl), Some(owl_now + 2));
    let state = state(&app).await;
    assert!(state.cancelled.is_empty(), "{state:?}");
    let log = settled(&app).await;
    assert!(
        log.changes
            .iter()
            .any(|c| c.cause.as_ref().map(ChangeCause::describe)
                == Some(format!("BrickLink order {order} cancelled: 2 put back")))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_order_is_put_back_by_itself_when_the_seller_chose_so() {
    let app = syncing().await;
    let answer = app
        .api
        .put_json(
            routes::STOCK_SYNC,
            &json!({"enabled": true, "bricklink_at_zero": "delete", "restock_cancelled": true}),
        )
        .await;
    assert_eq!(answer.status(), StatusCode::OK, "{}", answer.text());
    let (order, (bl, owl), (bl_now, owl_now)) = sold_two(&app, Side::BrickOwl).await;

    assert!(app.sim.sim.cancel(0, Side::BrickOwl, order));
    push_brickowl_again(&app, order).await;
    app.until(20, "the pieces are back on both", || async {
        (bricklink_quantity(&app, bl) == Some(bl_now + 2)
            && brickowl_quantity(&app, owl) == Some(owl_now + 2))
        .then_some(())
    })
    .await;
    push_brickowl_again(&app, order).await;
    app.settle().await;
    settled(&app).await;
    assert_eq!(bricklink_quantity(&app, bl), Some(bl_now + 2));
    assert_eq!(brickowl_quantity(&app, owl), Some(owl_now + 2));
    assert!(state(&app).await.cancelled.is_empty());
}

/// Runs a reconcile (`confirm` past the guard rails) and waits for its job; the job.
async fn reconcile(app: &TestApp, confirm: bool) -> app::JobView {
    let answer = app
        .api
        .post_json(routes::STOCK_SYNC_RECONCILE, &json!({"confirm": confirm}))
        .await;
    assert_eq!(answer.status(), StatusCode::ACCEPTED, "{}", answer.text());
    let id = answer.json::<app::Queued>().job_ids[0];
    let job = app
        .until(60, "the reconcile ends", || async {
            let job: app::JobView = app.api.get_job(id).await.json();
            job.state.is_terminal().then_some(job)
        })
        .await;
    app.settle().await;
    job
}

fn set_bricklink(app: &TestApp, id: i64, quantity: i64) {
    app.sim
        .sim
        .edit_bricklink_lots(0, |lots| lots.get_mut(&id).unwrap().quantity = quantity);
}

fn set_brickowl(app: &TestApp, id: i64, quantity: i64) {
    app.sim
        .sim
        .edit_brickowl_lots(0, |lots| lots.get_mut(&id).unwrap().quantity = quantity);
}

fn ids(lot: &Lot) -> (i64, i64) {
    (
        lot.bricklink.as_ref().unwrap().inventory_id,
        lot.brickowl.as_ref().unwrap().lot_id,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_made_on_either_marketplace_survive_a_reconcile_and_a_conflict_is_settled() {
    let app = syncing().await;
    let (a, b, c) = (
        linked_lot(&app, 4, 0).await,
        linked_lot(&app, 4, 1).await,
        linked_lot(&app, 4, 2).await,
    );
    let ((a_bl, a_owl), (b_bl, b_owl), (c_bl, c_owl)) = (ids(&a), ids(&b), ids(&c));
    let q = |app: &TestApp, bl, owl| {
        (
            bricklink_quantity(app, bl).unwrap(),
            brickowl_quantity(app, owl).unwrap(),
        )
    };
    let (a0, b0, c0) = (
        q(&app, a_bl, a_owl),
        q(&app, b_bl, b_owl),
        q(&app, c_bl, c_owl),
    );
    // The seller counts again on BrickLink's site (a), on BrickOwl's (b), and on both (c).
    set_bricklink(&app, a_bl, a0.0 + 5);
    set_brickowl(&app, b_owl, b0.1 - 2);
    set_bricklink(&app, c_bl, c0.0 + 3);
    set_brickowl(&app, c_owl, c0.1 - 1);
    let before = app.sim.sim.inventory_writes(0).len();

    let job = reconcile(&app, false).await;
    assert_eq!(job.state, app::JobState::Succeeded, "{job:?}");
    let summary = &job.result.as_ref().unwrap()["reconcile"];
    assert_eq!(summary["propagated"], 2, "{summary}");
    assert_eq!(summary["conflicts"], 1, "{summary}");
    settled(&app).await;
    assert_eq!(
        q(&app, a_bl, a_owl),
        (a0.0 + 5, a0.1 + 5),
        "BrickLink's edit kept and taken across"
    );
    assert_eq!(
        q(&app, b_bl, b_owl),
        (b0.0 - 2, b0.1 - 2),
        "BrickOwl's edit kept and taken across"
    );
    assert_eq!(
        q(&app, c_bl, c_owl),
        (c0.0 + 3, c0.1 - 1),
        "a conflict waits"
    );
    assert_eq!(app.sim.sim.inventory_writes(0).len(), before + 2);

    // A second reconcile finds everything in step but the conflict.
    let again = reconcile(&app, false).await;
    let summary = &again.result.as_ref().unwrap()["reconcile"];
    assert_eq!(
        (
            summary["propagated"].as_u64(),
            summary["conflicts"].as_u64()
        ),
        (Some(0), Some(1))
    );
    assert_eq!(app.sim.sim.inventory_writes(0).len(), before + 2);

    let conflicts: Vec<app::Conflict> = app.api.get(routes::STOCK_SYNC_CONFLICTS).await.json();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].lot, c.id);
    assert_eq!(conflicts[0].now, [c0.0 + 3, c0.1 - 1]);
    assert_eq!(state(&app).await.conflicts, 1);
    let answer = app
        .api
        .post_json(
            &routes::stock_sync_resolve(c.id),
            &json!({"keep": "bricklink"}),
        )
        .await;
    assert_eq!(answer.status(), StatusCode::ACCEPTED, "{}", answer.text());
    let twice = app
        .api
        .post_json(
            &routes::stock_sync_resolve(c.id),
            &json!({"keep": "bricklink"}),
        )
        .await;
    assert_eq!(twice.error_code(), "not-allowed");
    settled(&app).await;
    assert_eq!(q(&app, c_bl, c_owl), (c0.0 + 3, c0.0 + 3));
    let conflicts: Vec<app::Conflict> = app.api.get(routes::STOCK_SYNC_CONFLICTS).await.json();
    assert!(conflicts.is_empty());
    let last = reconcile(&app, false).await;
    let summary = &last.result.as_ref().unwrap()["reconcile"];
    assert_eq!(
        (
            summary["propagated"].as_u64(),
            summary["conflicts"].as_u64()
        ),
        (Some(0), Some(0))
    );
    assert!(state(&app).await.last_reconcile.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_or_partial_read_deletes_nothing_and_a_mass_removal_waits() {
    let app = syncing().await;
    let guarded = json!({
        "enabled": true, "bricklink_at_zero": "delete",
        "max_removed_lots": 20, "max_removed_percent": 1
    });
    let answer = app.api.put_json(routes::STOCK_SYNC, &guarded).await;
    assert_eq!(answer.status(), StatusCode::OK, "{}", answer.text());
    let before = app.sim.sim.inventory_writes(0).len();
    // BrickOwl down: the reconcile fails and nothing is sent.
    app.sim.sim.set_faults(
        Side::BrickOwl,
        Faults {
            unavailable: 1.0,
            ..Faults::default()
        },
    );
    let answer = app
        .api
        .post_json(routes::STOCK_SYNC_RECONCILE, &json!({}))
        .await;
    let id = answer.json::<app::Queued>().job_ids[0];
    app.until(30, "the reconcile's read fails", || async {
        let job: app::JobView = app.api.get_job(id).await.json();
        (job.attempts >= 1 && job.last_error.is_some()).then_some(())
    })
    .await;
    assert_eq!(app.sim.sim.inventory_writes(0).len(), before);
    app.sim.sim.set_faults(Side::BrickOwl, Faults::default());
    app.api.cancel_job(id).await;
    app.settle().await;

    // A lot gone from BrickOwl's store is not deleted on BrickLink.
    let gone = linked_lot(&app, 1, 0).await;
    let (gone_bl, gone_owl) = ids(&gone);
    app.sim
        .sim
        .edit_brickowl_lots(0, |lots| lots.remove(&gone_owl));
    // BrickLink's counts of ten lots fall to 1: taking that across is held.
    let mut lowered = Vec::new();
    for n in 1..=10 {
        let lot = linked_lot(&app, 20, n).await;
        let (bl, owl) = ids(&lot);
        set_bricklink(&app, bl, 1);
        lowered.push((bl, owl, brickowl_quantity(&app, owl).unwrap()));
    }
    let held = reconcile(&app, false).await;
    assert_eq!(held.state, app::JobState::Succeeded, "{held:?}");
    let summary: app::ReconcileSummary =
        serde_json::from_value(held.result.as_ref().unwrap()["reconcile"].clone()).unwrap();
    let waiting = summary.held.expect("held by the guard rail");
    assert!(!waiting.reasons.is_empty());
    assert_eq!(waiting.lines.len(), 10);
    assert_eq!(
        app.sim.sim.inventory_writes(0).len(),
        before,
        "nothing sent"
    );
    assert_eq!(
        bricklink_quantity(&app, gone_bl),
        Some(gone.bricklink.as_ref().unwrap().quantity)
    );
    assert!(
        state(&app)
            .await
            .last_reconcile
            .is_some_and(|r| r.held.is_some())
    );

    // Confirmed, it is taken across; the lot gone from BrickOwl still stays on BrickLink.
    let confirmed = reconcile(&app, true).await;
    assert_eq!(confirmed.state, app::JobState::Succeeded, "{confirmed:?}");
    settled(&app).await;
    for (bl, owl, was) in lowered {
        assert_eq!(bricklink_quantity(&app, bl), Some(1));
        let base = was;
        assert!(
            brickowl_quantity(&app, owl).unwrap() < base,
            "BrickOwl {owl} lowered"
        );
    }
    assert_eq!(
        bricklink_quantity(&app, gone_bl),
        Some(gone.bricklink.as_ref().unwrap().quantity)
    );
    assert!(
        !app.sim
            .sim
            .inventory_writes(0)
            .iter()
            .any(|w| w.contains("DELETE")),
        "nothing deleted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_conflict_is_settled_by_one_rule() {
    let app = syncing().await;
    let mut lots = Vec::new();
    for n in 0..3 {
        let lot = linked_lot(&app, 4, n).await;
        let (bl, owl) = ids(&lot);
        let (q_bl, q_owl) = (
            bricklink_quantity(&app, bl).unwrap(),
            brickowl_quantity(&app, owl).unwrap(),
        );
        set_bricklink(&app, bl, q_bl + 2);
        set_brickowl(&app, owl, q_owl - 1);
        lots.push((bl, owl, q_owl - 1));
    }
    reconcile(&app, false).await;
    assert_eq!(state(&app).await.conflicts, 3);
    let by_quantity = app
        .api
        .post_json(
            routes::STOCK_SYNC_RESOLVE_ALL,
            &json!({"keep": "quantity", "quantity": 3}),
        )
        .await;
    assert_eq!(by_quantity.error_code(), "invalid-input");
    let answer = app
        .api
        .post_json(routes::STOCK_SYNC_RESOLVE_ALL, &json!({"keep": "brickowl"}))
        .await;
    assert_eq!(answer.status(), StatusCode::ACCEPTED, "{}", answer.text());
    assert_eq!(answer.json::<app::EditQueued>().changes, 3);
    settled(&app).await;
    for (bl, owl, counted) in lots {
        assert_eq!(bricklink_quantity(&app, bl), Some(counted));
        assert_eq!(brickowl_quantity(&app, owl), Some(counted));
    }
    assert_eq!(state(&app).await.conflicts, 0);
    let none = app
        .api
        .post_json(routes::STOCK_SYNC_RESOLVE_ALL, &json!({"keep": "brickowl"}))
        .await;
    assert_eq!(none.error_code(), "not-allowed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sale_that_would_empty_more_lots_than_allowed_waits_for_the_seller() {
    let app = syncing().await;
    let strict = json!({"enabled": true, "bricklink_at_zero": "delete", "max_removed_lots": 0});
    let answer = app.api.put_json(routes::STOCK_SYNC, &strict).await;
    assert_eq!(answer.status(), StatusCode::OK, "{}", answer.text());
    let lot = linked_lot(&app, 2, 0).await;
    let (bl, owl) = ids(&lot);
    set_bricklink(&app, bl, 5);
    set_brickowl(&app, owl, 2);
    read_stores(&app).await;

    let order = app.sim.sim.sell(0, Side::BrickLink, &[(bl, 2)]).unwrap();
    let held = app
        .until(20, "the sale is held", || async {
            let now = state(&app).await;
            (!now.held_sales.is_empty()).then_some(now.held_sales)
        })
        .await;
    assert_eq!(held[0].order_id, order.to_string());
    assert_eq!((held[0].lots_to_zero, held[0].pieces), (1, 2));
    app.settle().await;
    assert_eq!(
        brickowl_quantity(&app, owl),
        Some(2),
        "nothing sent while held"
    );
    let dashboard = app.api.get(routes::DASHBOARD).await.text();
    assert!(dashboard.contains("Stock sync holds"), "{dashboard}");

    let body = json!({"marketplace": "bricklink", "order_id": order.to_string()});
    let answer = app.api.post_json(routes::STOCK_SYNC_HELD, &body).await;
    assert_eq!(answer.status(), StatusCode::ACCEPTED, "{}", answer.text());
    let again = app.api.post_json(routes::STOCK_SYNC_HELD, &body).await;
    assert_eq!(again.error_code(), "not-allowed");
    app.until(20, "BrickOwl loses the pieces", || async {
        (brickowl_quantity(&app, owl) == Some(0)).then_some(())
    })
    .await;
    assert!(state(&app).await.held_sales.is_empty());
}
