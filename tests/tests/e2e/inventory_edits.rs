//! Editing lots: a change is saved at once and applied to every marketplace holding the lot
//! with the exact calls the marketplaces take (a signed relative quantity on BrickLink, BrickOwl
//! updates batched); a lot reaching 0 is deleted or moved to the stockroom as the seller
//! chose; bulk edits preview, wait at the guard rails, and batch within limits; every change is
//! in the audit log and can be undone; another seller's lots and changes are out of reach.

use app::{
    BulkPreview, ChangeList, EditQueued, JobState, JobView, Lot, LotList, Marketplace, SideState,
    routes,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::sim::SimConfig;
use tests::{ApiClient, TestApp};

fn world() -> SimConfig {
    SimConfig {
        accounts: 2,
        lots: 120,
        ..SimConfig::default()
    }
}

/// A store with both marketplaces connected and read.
pub(crate) async fn both_stores() -> TestApp {
    let app = TestApp::spawn_with_sim(&world()).await;
    app.setup_admin().await;
    app.connect(&app.api, 0, Marketplace::BrickLink).await;
    app.connect(&app.api, 0, Marketplace::BrickOwl).await;
    let answer = app
        .api
        .post_json(routes::INVENTORY_IMPORT, &json!({}))
        .await;
    assert_eq!(answer.status(), StatusCode::ACCEPTED, "{}", answer.text());
    let id = answer.json::<app::Queued>().job_ids[0];
    let job: JobView = app
        .until(30, "the import ends", || async {
            let job: JobView = app.api.get_job(id).await.json();
            job.state.is_terminal().then_some(job)
        })
        .await;
    assert_eq!(job.state, JobState::Succeeded, "{job:?}");
    app
}

pub(crate) async fn all_lots(api: &ApiClient, query: &str) -> Vec<Lot> {
    let answer = api
        .get(&format!("{}?per_page=500&{query}", routes::INVENTORY))
        .await;
    assert_eq!(answer.status(), StatusCode::OK, "{}", answer.text());
    answer.json::<LotList>().lots
}

async fn lot(api: &ApiClient, id: app::LotId) -> Lot {
    all_lots(api, "")
        .await
        .into_iter()
        .find(|l| l.id == id)
        .expect("the lot")
}

/// Waits until no change is waiting or on its way; the audit log then.
pub(crate) async fn settled(app: &TestApp) -> ChangeList {
    app.until(60, "every change is applied or failed", || async {
        let log: ChangeList = app
            .api
            .get(&format!("{}?per_page=500", routes::INVENTORY_CHANGES))
            .await
            .json();
        (!log.changes.iter().any(app::LotChange::is_open)).then_some(log)
    })
    .await
}

async fn edit(api: &ApiClient, id: app::LotId, body: Value) -> EditQueued {
    let answer = api.put_json(&routes::inventory_lot(id), &body).await;
    assert_eq!(answer.status(), StatusCode::ACCEPTED, "{}", answer.text());
    answer.json()
}

fn writes(app: &TestApp) -> Vec<String> {
    app.sim.sim.inventory_writes(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_is_saved_at_once_and_applied_to_both_marketplaces_exactly() {
    let app = both_stores().await;
    let lots = all_lots(&app.api, "linked=true").await;
    let target = lots
        .iter()
        .find(|l| l.quantity >= 5 && !l.stockroom)
        .expect("a linked lot")
        .clone();
    let (bl, owl) = (
        target.bricklink.clone().unwrap(),
        target.brickowl.clone().unwrap(),
    );

    // +3, a new price and a new place: saved at once, applied by jobs.
    let price = app::Money(target.unit_price.0 + 1_000);
    let queued = edit(
        &app.api,
        target.id,
        json!({"quantity_change": 3, "unit_price": price, "remarks": "Z-09-1"}),
    )
    .await;
    assert_eq!((queued.changes, queued.job_ids.len()), (1, 2));
    let now = lot(&app.api, target.id).await;
    assert_eq!(
        (now.quantity, now.unit_price, now.remarks.as_str()),
        (target.quantity + 3, price, "Z-09-1")
    );
    let log = settled(&app).await;
    let change = &log.changes[0];
    assert!(change.is_applied(), "{change:?}");
    assert_eq!((change.by.as_str(), change.quantity_change()), ("admin", 3));
    assert_eq!(change.before.remarks, target.remarks);
    // The two marketplaces' jobs run side by side: either may write first.
    let mut both = writes(&app);
    both.sort();
    assert_eq!(
        both,
        [
            format!(
                "BL PUT {} {{\"quantity\":\"+3\",\"remarks\":\"Z-09-1\",\"unit_price\":\"{}\"}}",
                bl.inventory_id,
                price.to_wire()
            ),
            format!(
                "BO {} personal_note=Z-09-1 price={} relative_quantity=3",
                owl.lot_id,
                price.to_wire()
            ),
        ]
    );
    let sim_bl = app
        .sim
        .sim
        .edit_bricklink_lots(0, |l| l[&bl.inventory_id].clone())
        .unwrap();
    let sim_owl = app
        .sim
        .sim
        .edit_brickowl_lots(0, |l| l[&owl.lot_id].clone())
        .unwrap();
    assert_eq!(sim_bl.quantity, bl.quantity + 3);
    assert_eq!(sim_owl.quantity, owl.quantity + 3, "relative on each side");
    let now = lot(&app.api, target.id).await;
    assert!(now.pending.is_empty(), "{:?}", now.pending);
    assert_eq!(now.brickowl.as_ref().unwrap().quantity, owl.quantity + 3);

    // Undo: the opposite relative change, the old price and place back.
    let undo = app
        .api
        .post_json(&routes::inventory_change_undo(change.id), &json!({}))
        .await;
    assert_eq!(undo.status(), StatusCode::ACCEPTED, "{}", undo.text());
    settled(&app).await;
    let undone = format!(
        "BL PUT {} {{\"quantity\":\"-3\",\"remarks\":\"{}\",\"unit_price\":\"{}\"}}",
        bl.inventory_id,
        target.remarks,
        target.unit_price.to_wire()
    );
    let after_undo = writes(&app);
    assert!(after_undo[2..].contains(&undone), "{after_undo:?}");
    let back = lot(&app.api, target.id).await;
    assert_eq!(
        (back.quantity, back.unit_price, &back.remarks),
        (target.quantity, target.unit_price, &target.remarks)
    );
    let again = app
        .api
        .post_json(&routes::inventory_change_undo(change.id), &json!({}))
        .await;
    assert_eq!(again.error_code(), "not-allowed");

    // Bad inputs: a clear refusal each, nothing saved or sent.
    let calls = writes(&app).len();
    for (body, field) in [
        (json!({"quantity": -1}), "quantity"),
        (json!({"quantity": 1, "quantity_change": 1}), "quantity"),
        (json!({"quantity_change": -100_000}), "quantity_change"),
        (json!({"unit_price": -5}), "unit_price"),
        (json!({"remarks": "x".repeat(300)}), "remarks"),
        (json!({"quantity": 0}), "at_zero"),
    ] {
        let refused = app
            .api
            .put_json(&routes::inventory_lot(target.id), &body)
            .await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{body}");
        let error: app::ErrorBody = refused.json();
        assert_eq!(error.error.code, "invalid-input");
        assert!(error.error.message.len() > 20, "{}", error.error.message);
        let _ = field;
    }
    let jump = app
        .api
        .put_json(
            &routes::inventory_lot(target.id),
            &json!({"unit_price": target.unit_price.0 * 10}),
        )
        .await;
    assert_eq!(jump.status(), StatusCode::CONFLICT);
    assert_eq!(jump.error_code(), "needs-confirmation");
    assert_eq!(writes(&app).len(), calls);
    let missing = app
        .api
        .put_json(
            &routes::inventory_lot(app::LotId(999_999)),
            &json!({"quantity": 1}),
        )
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    // Reaching 0: moved to the stockroom on BrickLink, or deleted there, as chosen.
    let others: Vec<&Lot> = lots
        .iter()
        .filter(|l| l.id != target.id && !l.stockroom && l.quantity > 0)
        .take(2)
        .collect();
    let (kept, deleted) = (others[0], others[1]);
    edit(
        &app.api,
        kept.id,
        json!({"quantity": 0, "at_zero": "stockroom"}),
    )
    .await;
    edit(
        &app.api,
        deleted.id,
        json!({"quantity": 0, "at_zero": "delete"}),
    )
    .await;
    settled(&app).await;
    let journal = writes(&app);
    let kept_bl = kept.bricklink.as_ref().unwrap().inventory_id;
    let deleted_bl = deleted.bricklink.as_ref().unwrap().inventory_id;
    assert!(journal.contains(&format!(
        "BL PUT {kept_bl} {{\"is_stock_room\":true,\"quantity\":\"-{}\",\"stock_room_id\":\"A\"}}",
        kept.quantity
    )));
    assert!(
        journal.contains(&format!("BL DELETE {deleted_bl}")),
        "{journal:?}"
    );
    assert!(journal.contains(&format!(
        "BO {} relative_quantity=-{}",
        deleted.brickowl.as_ref().unwrap().lot_id,
        deleted.quantity
    )));
    let in_stockroom = lot(&app.api, kept.id).await;
    assert!(in_stockroom.stockroom && in_stockroom.quantity == 0);
    let gone = lot(&app.api, deleted.id).await;
    assert!(gone.bricklink.is_none(), "BrickLink's side is gone");
    assert_eq!(gone.brickowl.as_ref().unwrap().quantity, 0);
    let undo_delete = app
        .api
        .get(&format!(
            "{}?lot={}",
            routes::INVENTORY_CHANGES,
            deleted.id.0
        ))
        .await
        .json::<ChangeList>();
    let refused = app
        .api
        .post_json(
            &routes::inventory_change_undo(undo_delete.changes[0].id),
            &json!({}),
        )
        .await;
    assert_eq!(refused.error_code(), "not-allowed");

    // Another seller: neither the lots nor the changes.
    app.create_user("bob", "bob@example.com").await;
    let bob = app.new_client();
    bob.login("bob", tests::PASSWORD).await;
    let theirs = bob
        .put_json(&routes::inventory_lot(target.id), &json!({"quantity": 1}))
        .await;
    assert_eq!(theirs.status(), StatusCode::NOT_FOUND);
    let theirs = bob
        .post_json(&routes::inventory_change_undo(change.id), &json!({}))
        .await;
    assert_eq!(theirs.status(), StatusCode::NOT_FOUND);
    let log: ChangeList = bob.get(routes::INVENTORY_CHANGES).await.json();
    assert_eq!(log.total, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_edit_previews_waits_for_confirmation_batches_and_undoes_as_one() {
    let app = both_stores().await;
    let owl_lots = all_lots(&app.api, "marketplace=brickowl").await;
    let on_bricklink = owl_lots.iter().filter(|l| l.bricklink.is_some()).count();
    assert!(owl_lots.len() > 60, "more than one BrickOwl batch");
    let request = json!({
        "filter": {"marketplace": "brickowl"},
        "operation": {"kind": "percent_price", "value": 10},
    });

    // A preview changes nothing; the share of the store trips the guard rail.
    let mut preview_only = request.clone();
    preview_only["preview"] = json!(true);
    let answer = app
        .api
        .post_json(routes::INVENTORY_BULK, &preview_only)
        .await;
    assert_eq!(answer.status(), StatusCode::OK, "{}", answer.text());
    let preview: BulkPreview = answer.json();
    assert_eq!(preview.lots, owl_lots.len());
    assert_eq!(preview.confirm_reasons.len(), 1, "{preview:?}");
    let line = &preview.lines[0];
    let before = line.before.unit_price.0;
    assert_eq!(line.after.unit_price.0, (before * 110 + 50) / 100);
    let answer = app.api.post_json(routes::INVENTORY_BULK, &request).await;
    assert_eq!(answer.status(), StatusCode::OK, "waits for a confirmation");
    assert!(writes(&app).is_empty());

    // Confirmed: BrickLink one call per lot, BrickOwl batches of at most 50.
    app.sim.sim.reset_stats();
    let mut confirmed = request.clone();
    confirmed["confirm"] = json!(true);
    let answer = app.api.post_json(routes::INVENTORY_BULK, &confirmed).await;
    assert_eq!(answer.status(), StatusCode::ACCEPTED, "{}", answer.text());
    let queued: EditQueued = answer.json();
    assert_eq!(queued.changes, owl_lots.len());
    let log = settled(&app).await;
    assert!(log.changes.iter().all(app::LotChange::is_applied));
    let stats = app.sim.sim.stats();
    assert_eq!(
        stats.brickowl.calls.get("POST /bulk/batch").copied(),
        Some(owl_lots.len().div_ceil(50) as u64),
        "{:?}",
        stats.brickowl.calls
    );
    assert_eq!(
        stats
            .bricklink
            .calls
            .get("PUT /inventories/{id}")
            .copied()
            .unwrap_or(0),
        on_bricklink as u64
    );
    let owl_sim = app
        .sim
        .sim
        .edit_brickowl_lots(0, |lots| lots.clone())
        .unwrap();
    for lot in &owl_lots {
        let mine = lot.brickowl.as_ref().unwrap();
        let theirs = &owl_sim[&mine.lot_id];
        assert_eq!(theirs.price, (lot.unit_price.0 * 110 + 50) / 100, "{lot:?}");
    }

    // Undo the whole edit: every price back, in as few calls.
    let undo = app
        .api
        .post_json(
            &routes::inventory_change_undo(log.changes[0].id),
            &json!({"whole_edit": true}),
        )
        .await;
    assert_eq!(undo.status(), StatusCode::ACCEPTED, "{}", undo.text());
    assert_eq!(undo.json::<EditQueued>().changes, owl_lots.len());
    settled(&app).await;
    let back = all_lots(&app.api, "marketplace=brickowl").await;
    for (now, was) in back.iter().zip(&owl_lots) {
        assert_eq!((now.id, now.unit_price), (was.id, was.unit_price));
    }
    let owl_sim = app
        .sim
        .sim
        .edit_brickowl_lots(0, |lots| lots.clone())
        .unwrap();
    for lot in &owl_lots {
        let mine = lot.brickowl.as_ref().unwrap();
        assert_eq!(owl_sim[&mine.lot_id].price, lot.unit_price.0);
    }

    // A selection by id, and the bad ones.
    let few: Vec<app::LotId> = owl_lots.iter().take(3).map(|l| l.id).collect();
    let answer = app
        .api
        .post_json(
            routes::INVENTORY_BULK,
            &json!({"ids": few, "operation": {"kind": "add_quantity", "value": 2}}),
        )
        .await;
    assert_eq!(answer.status(), StatusCode::ACCEPTED, "{}", answer.text());
    settled(&app).await;
    for (body, code) in [
        (
            json!({"operation": {"kind": "add_quantity", "value": 1}}),
            "invalid-input",
        ),
        (
            json!({"ids": [999_999], "operation": {"kind": "add_quantity", "value": 1}}),
            "invalid-input",
        ),
        (
            json!({"ids": few, "operation": {"kind": "percent_price", "value": -100}}),
            "invalid-input",
        ),
        (
            json!({"ids": few, "operation": {"kind": "set_quantity", "value": 0}}),
            "invalid-input",
        ),
    ] {
        let refused = app.api.post_json(routes::INVENTORY_BULK, &body).await;
        assert_eq!(refused.error_code(), code, "{body}");
    }
    let log: ChangeList = app
        .api
        .get(&format!("{}?per_page=1", routes::INVENTORY_CHANGES))
        .await
        .json();
    assert_eq!(log.total, owl_lots.len() * 2 + 3);
    assert!(
        log.changes[0]
            .sides
            .iter()
            .all(|s| s.state == SideState::Applied)
    );
}

/// The nightly read: it queues a read only for sellers whose inventory was read before, and
/// the read keeps an edit still waiting to be applied (the marketplace is down) rather than
/// the stale value it reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduled_read_keeps_edits_on_their_way() {
    let app = both_stores().await;
    let services = app.state.services.clone();
    let queued = app
        .state
        .scheduler
        .run_now(&services, server::scheduler::Task::Inventory)
        .await
        .unwrap();
    assert_eq!(queued, 1, "the one seller with an inventory");
    app.settle().await;

    let target = all_lots(&app.api, "linked=false&marketplace=bricklink")
        .await
        .into_iter()
        .find(|l| l.quantity > 2)
        .unwrap();
    // BrickLink refuses every call for now: the edit waits.
    app.sim.sim.set_faults(
        server::sim::Side::BrickLink,
        server::sim::Faults {
            unavailable: 1.0,
            ..server::sim::Faults::default()
        },
    );
    edit(&app.api, target.id, json!({"quantity_change": -2})).await;
    let waiting = lot(&app.api, target.id).await;
    assert_eq!(waiting.quantity, target.quantity - 2);
    assert!(!waiting.pending.is_empty());
    app.sim
        .sim
        .set_faults(server::sim::Side::BrickLink, server::sim::Faults::default());
    // A read now (BrickLink answers reads again) sees the old quantity; the lot keeps the edit.
    app.state
        .scheduler
        .run_now(&services, server::scheduler::Task::Inventory)
        .await
        .unwrap();
    let log = settled(&app).await;
    assert!(log.changes[0].is_applied(), "{:?}", log.changes[0]);
    let now = lot(&app.api, target.id).await;
    assert_eq!(now.quantity, target.quantity - 2);
    assert_eq!(
        now.bricklink.as_ref().unwrap().quantity,
        target.quantity - 2
    );
}

/// "Price to the guide": the first preview has brickdesk read the missing sold price guides in
/// the background (nothing changes yet); the next shows each lot's new price with the guide's
/// type, condition, average and date; applying sends those prices.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prices_go_to_the_sold_price_guide_once_it_is_read() {
    let app = both_stores().await;
    let few: Vec<Lot> = all_lots(&app.api, "marketplace=bricklink&linked=false&type=PART")
        .await
        .into_iter()
        .take(3)
        .collect();
    // The seller priced them at double what they sell for.
    let guide: Vec<i64> = app
        .sim
        .sim
        .edit_bricklink_lots(0, |lots| {
            few.iter()
                .map(|l| {
                    let lot = lots
                        .get_mut(&l.bricklink.as_ref().unwrap().inventory_id)
                        .unwrap();
                    let sold = lot.unit_price;
                    lot.unit_price = sold * 2;
                    sold
                })
                .collect()
        })
        .unwrap();
    let read = app
        .api
        .post_json(routes::INVENTORY_IMPORT, &json!({}))
        .await;
    assert_eq!(read.status(), StatusCode::ACCEPTED);
    app.settle().await;
    let ids: Vec<app::LotId> = few.iter().map(|l| l.id).collect();
    let asked = json!({"ids": ids, "operation": {"kind": "guide_price"}, "preview": true});

    let answer = app.api.post_json(routes::INVENTORY_BULK, &asked).await;
    assert_eq!(answer.status(), StatusCode::OK, "{}", answer.text());
    let first: BulkPreview = answer.json();
    assert_eq!((first.lots, first.guides_missing), (0, 3), "{first:?}");
    assert!(!first.job_ids.is_empty());
    for id in &first.job_ids {
        let job: JobView = app
            .until(30, "the guides are read", || async {
                let job: JobView = app.api.get_job(*id).await.json();
                job.state.is_terminal().then_some(job)
            })
            .await;
        assert_eq!(job.state, JobState::Succeeded, "{job:?}");
    }

    let second: BulkPreview = app
        .api
        .post_json(routes::INVENTORY_BULK, &asked)
        .await
        .json();
    assert_eq!((second.lots, second.guides_missing), (3, 0), "{second:?}");
    for (lot, sold) in few.iter().zip(&guide) {
        let line = second.lines.iter().find(|l| l.lot == lot.id).unwrap();
        assert_eq!(line.after.unit_price.0, *sold);
        let note = line.note.as_deref().unwrap();
        assert!(
            note.contains("sold price guide") && note.contains(&app::Money(*sold).to_wire()),
            "{note}"
        );
    }
    let mut apply = asked.clone();
    apply["preview"] = json!(false);
    apply["confirm"] = json!(true);
    let answer = app.api.post_json(routes::INVENTORY_BULK, &apply).await;
    assert_eq!(answer.status(), StatusCode::ACCEPTED, "{}", answer.text());
    settled(&app).await;
    let theirs: Vec<i64> = app
        .sim
        .sim
        .edit_bricklink_lots(0, |lots| {
            few.iter()
                .map(|l| lots[&l.bricklink.as_ref().unwrap().inventory_id].unit_price)
                .collect()
        })
        .unwrap();
    assert_eq!(theirs, guide);
}
