//! Fulfilment: a pick list over orders from both marketplaces (lines merged by lot, in the
//! seller's location order, the seller's alone), ticks from two pickers seen live by each
//! other, a short pick kept with its order, and many orders shipped at once with their
//! tracking numbers reaching the marketplaces.

use std::time::Duration;

use app::{
    JobState, JobView, Lot, Marketplace, OrderDetail, OrderFlow, OrderStatus, PickList,
    PickListState, PickListSummary, PickTicked, Queued, routes,
};
use reqwest::StatusCode;
use serde_json::json;
use server::sim::Side;
use tests::{ApiClient, PASSWORD, TestApp};

use super::inventory_edits::{all_lots, both_stores, settled};

/// Both stores read and their pushes wired (stock sync stays off).
async fn wired() -> TestApp {
    let app = both_stores().await;
    let bricklink = app.api.connection(Marketplace::BrickLink).await.webhook_url;
    let brickowl = app.api.connection(Marketplace::BrickOwl).await.webhook_url;
    app.sim.sim.set_callbacks(0, bricklink, brickowl);
    app
}

/// `n` lots on both marketplaces, each with at least `pieces` on each side.
async fn linked_lots(app: &TestApp, pieces: i64, n: usize) -> Vec<Lot> {
    let lots: Vec<Lot> = all_lots(&app.api, "linked=true")
        .await
        .into_iter()
        .filter(|l| {
            !l.stockroom
                && l.bricklink.as_ref().is_some_and(|b| b.quantity >= pieces)
                && l.brickowl.as_ref().is_some_and(|o| o.quantity >= pieces)
        })
        .take(n)
        .collect();
    assert_eq!(lots.len(), n, "enough linked lots");
    lots
}

async fn set_remarks(app: &TestApp, lot: &Lot, remarks: &str) {
    let answer = app
        .api
        .put_json(&routes::inventory_lot(lot.id), &json!({"remarks": remarks}))
        .await;
    assert_eq!(answer.status(), StatusCode::ACCEPTED, "{}", answer.text());
}

/// Waits until brickdesk has `order` from `marketplace`.
async fn order_arrives(app: &TestApp, marketplace: Marketplace, order: i64) -> OrderDetail {
    app.until(20, "the order arrives", || async {
        let answer = app.api.get_order(marketplace, &order.to_string()).await;
        (answer.status() == StatusCode::OK).then(|| answer.json::<OrderDetail>())
    })
    .await
}

async fn new_list(api: &ApiClient, body: serde_json::Value) -> PickList {
    let answer = api.post_json(routes::PICK_LISTS, &body).await;
    assert_eq!(answer.status(), StatusCode::CREATED, "{}", answer.text());
    answer.json()
}

fn orders_body(orders: &[(Marketplace, i64)]) -> serde_json::Value {
    json!({"orders": orders.iter().map(|(m, id)| json!({"marketplace": m, "order_id": id.to_string()})).collect::<Vec<_>>()})
}

/// A BrickLink order of two lots and a BrickOwl order of two lots, one lot in both orders;
/// the lots' locations `A-10-1` (the shared one), `A-2-1`, and none.
async fn two_orders(app: &TestApp) -> (Vec<Lot>, i64, i64) {
    let lots = linked_lots(app, 4, 3).await;
    set_remarks(app, &lots[0], "A-10-1").await;
    set_remarks(app, &lots[1], "A-2-1").await;
    set_remarks(app, &lots[2], "").await;
    settled(app).await;
    let bl = |l: &Lot| l.bricklink.as_ref().unwrap().inventory_id;
    let owl = |l: &Lot| l.brickowl.as_ref().unwrap().lot_id;
    let first = app
        .sim
        .sim
        .sell(0, Side::BrickLink, &[(bl(&lots[0]), 2), (bl(&lots[1]), 1)])
        .unwrap();
    let second = app
        .sim
        .sim
        .sell(0, Side::BrickOwl, &[(owl(&lots[0]), 3), (owl(&lots[2]), 1)])
        .unwrap();
    order_arrives(app, Marketplace::BrickLink, first).await;
    order_arrives(app, Marketplace::BrickOwl, second).await;
    (lots, first, second)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pick_list_merges_both_marketplaces_in_location_order_and_is_the_sellers_alone() {
    let app = wired().await;
    let (lots, first, second) = two_orders(&app).await;
    let body = orders_body(&[
        (Marketplace::BrickLink, first),
        (Marketplace::BrickOwl, second),
        (Marketplace::BrickLink, first),
    ]);
    let list = new_list(&app.api, body.clone()).await;
    assert_eq!(list.state, PickListState::Open);
    assert_eq!(list.orders.len(), 2, "the repeated order counts once");
    let seen: Vec<(Option<app::LotId>, &str, i64, usize)> = list
        .lines
        .iter()
        .map(|l| (l.lot, l.location.as_str(), l.quantity, l.orders.len()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (Some(lots[1].id), "A-2-1", 1, 1),
            (Some(lots[0].id), "A-10-1", 5, 2),
            (Some(lots[2].id), "", 1, 1),
        ],
        "A-2 before A-10, the unlocated last; the shared lot merged"
    );
    let shared = &list.lines[1];
    assert_eq!(shared.line, 2);
    assert_eq!(shared.orders[0].marketplace, Marketplace::BrickLink);
    assert_eq!(shared.orders[0].quantity, 2);
    assert_eq!(shared.orders[1].marketplace, Marketplace::BrickOwl);
    assert_eq!(shared.orders[1].quantity, 3);
    assert!(shared.image.is_some() && !shared.name.is_empty());
    let again: PickList = app.api.get(&routes::pick_list(list.id)).await.json();
    assert_eq!(again, list);
    let all: Vec<PickListSummary> = app.api.get(routes::PICK_LISTS).await.json();
    assert_eq!(all.len(), 1);
    assert_eq!((all[0].orders, all[0].lines, all[0].pieces), (2, 3, 7));

    // The location pattern picks the bin number out of the remarks.
    let bad = app
        .api
        .put_json(
            routes::FULFILMENT_SETTINGS,
            &json!({"location_pattern": "("}),
        )
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(bad.error_code(), "invalid-input");
    let saved = app
        .api
        .put_json(
            routes::FULFILMENT_SETTINGS,
            &json!({"location_pattern": r"^[A-Z]-(\d+)"}),
        )
        .await;
    assert_eq!(saved.status(), StatusCode::OK, "{}", saved.text());
    let by_bin = new_list(&app.api, body).await;
    let bins: Vec<&str> = by_bin.lines.iter().map(|l| l.location.as_str()).collect();
    assert_eq!(bins, ["2", "10", ""]);

    // Bad requests say what is wrong and make nothing.
    let empty = app.api.post_json(routes::PICK_LISTS, &json!({})).await;
    assert_eq!(empty.status(), StatusCode::BAD_REQUEST);
    assert_eq!(empty.error_code(), "invalid-input");
    let unknown = app
        .api
        .post_json(
            routes::PICK_LISTS,
            &orders_body(&[(Marketplace::BrickLink, 999_999_999)]),
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.text().contains("999999999"), "{}", unknown.text());
    let over = app
        .api
        .put_json(&routes::pick_line(list.id, 2), &json!({"found": 6}))
        .await;
    assert_eq!(over.status(), StatusCode::BAD_REQUEST);
    assert_eq!(over.error_code(), "invalid-input");
    let no_line = app
        .api
        .put_json(&routes::pick_line(list.id, 9), &json!({"found": 1}))
        .await;
    assert_eq!(no_line.status(), StatusCode::NOT_FOUND);
    let all: Vec<PickListSummary> = app.api.get(routes::PICK_LISTS).await.json();
    assert_eq!(all.len(), 2);

    // Another seller sees none of it and cannot pick from it.
    app.create_user("bob", "bob@example.com").await;
    let bob = app.new_client();
    bob.login("bob", PASSWORD).await;
    assert_eq!(
        bob.get(&routes::pick_list(list.id)).await.status(),
        StatusCode::NOT_FOUND
    );
    let bobs: Vec<PickListSummary> = bob.get(routes::PICK_LISTS).await.json();
    assert!(bobs.is_empty());
    assert_eq!(
        bob.put_json(&routes::pick_line(list.id, 1), &json!({"found": 1}))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        bob.post_json(&routes::pick_list_close(list.id), &json!({}))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let theirs = bob
        .post_json(
            routes::PICK_LISTS,
            &orders_body(&[(Marketplace::BrickLink, first)]),
        )
        .await;
    assert_eq!(theirs.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let mine: PickList = app.api.get(&routes::pick_list(list.id)).await.json();
    assert!(mine.lines.iter().all(|l| l.tick.is_none()));
}

/// Reads `pick.ticked` events from an open stream until `count` arrived (10 s at most).
async fn ticks_seen(stream: &mut reqwest::Response, count: usize) -> Vec<PickTicked> {
    let mut buffer = String::new();
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while seen.len() < count {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .expect("ticks within 10 s")
            .expect("stream readable")
            .expect("stream open");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            if block.contains("event: pick.ticked") {
                let data = block
                    .lines()
                    .find_map(|l| l.strip_prefix("data: "))
                    .expect("data");
                seen.push(serde_json::from_str(data).expect("a PickTicked"));
            }
        }
    }
    seen
}

async fn stream(client: &ApiClient) -> reqwest::Response {
    let answer = client
        .http
        .get(client.url(routes::EVENTS))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pickers_see_each_others_ticks_live_and_a_short_pick_stays_with_its_order() {
    let app = wired().await;
    let (_, first, second) = two_orders(&app).await;
    let list = new_list(
        &app.api,
        orders_body(&[
            (Marketplace::BrickLink, first),
            (Marketplace::BrickOwl, second),
        ]),
    )
    .await;
    // The same seller on a second phone.
    let other = app.new_client();
    assert_eq!(
        other.login("admin", PASSWORD).await.status(),
        StatusCode::OK
    );
    let mut mine = stream(&app.api).await;
    let mut theirs = stream(&other).await;

    let answer = app
        .api
        .put_json(&routes::pick_line(list.id, 1), &json!({"found": 1}))
        .await;
    assert_eq!(answer.status(), StatusCode::OK, "{}", answer.text());
    let seen = ticks_seen(&mut theirs, 1).await;
    assert_eq!((seen[0].list, seen[0].line), (list.id, 1));
    assert_eq!(seen[0].tick.as_ref().map(|t| t.found), Some(1));

    // The other picker finds only 2 of the shared lot's 5 and ticks the last line.
    for (line, found) in [(2, 2), (3, 1)] {
        let answer = other
            .put_json(&routes::pick_line(list.id, line), &json!({"found": found}))
            .await;
        assert_eq!(answer.status(), StatusCode::OK, "{}", answer.text());
    }
    let seen = ticks_seen(&mut mine, 3).await;
    let lines: Vec<u32> = seen.iter().map(|t| t.line).collect();
    assert_eq!(lines, [1, 2, 3]);
    let now: PickList = app.api.get(&routes::pick_list(list.id)).await.json();
    assert!(now.lines[1].is_short() && !now.lines[0].is_short());
    assert_eq!(now.summary().ticked, 3);
    assert_eq!(now.summary().short, 1);

    // Closing: the BrickLink order (served first on the shared line) got its 2; the BrickOwl
    // order is short 3 of that lot, and says so.
    let closed = app
        .api
        .post_json(&routes::pick_list_close(list.id), &json!({}))
        .await;
    assert_eq!(closed.status(), StatusCode::OK, "{}", closed.text());
    assert_eq!(closed.json::<PickList>().state, PickListState::Closed);
    let flow: OrderFlow = app
        .api
        .get(&routes::order_flow(
            Marketplace::BrickLink,
            &first.to_string(),
        ))
        .await
        .json();
    assert_eq!(flow.picked_on, Some(list.id));
    assert!(flow.short.is_empty());
    let flow: OrderFlow = app
        .api
        .get(&routes::order_flow(
            Marketplace::BrickOwl,
            &second.to_string(),
        ))
        .await
        .json();
    assert_eq!(flow.picked_on, None);
    assert_eq!(flow.short.len(), 1);
    assert_eq!((flow.short[0].ordered, flow.short[0].found), (3, 0));

    let late = other
        .put_json(&routes::pick_line(list.id, 1), &json!({"found": null}))
        .await;
    assert_eq!(late.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(late.error_code(), "not-allowed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_orders_are_shipped_at_once_with_their_tracking_numbers() {
    let app = wired().await;
    let first = app.sim.sim.place_order(0, Side::BrickLink).unwrap();
    let second = app.sim.sim.place_order(0, Side::BrickOwl).unwrap();
    order_arrives(&app, Marketplace::BrickLink, first).await;
    order_arrives(&app, Marketplace::BrickOwl, second).await;
    let jobs_before: app::JobList = app.api.list_jobs("per_page=200").await.json();

    // One bad order in the batch: nothing is queued.
    let refused = app
        .api
        .post_json(
            routes::ORDERS_SHIP,
            &json!({"orders": [
                {"marketplace": "bricklink", "order_id": first.to_string(), "tracking": "1Z-A"},
                {"marketplace": "brickowl", "order_id": "424242"},
            ]}),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.text().contains("nothing was shipped"),
        "{}",
        refused.text()
    );
    let bad_tracking = app
        .api
        .post_json(
            routes::ORDERS_SHIP,
            &json!({"orders": [{"marketplace": "bricklink", "order_id": first.to_string(), "tracking": "1Z\nA"}]}),
        )
        .await;
    assert_eq!(bad_tracking.status(), StatusCode::BAD_REQUEST);
    assert_eq!(bad_tracking.error_code(), "invalid-input");
    let jobs_after: app::JobList = app.api.list_jobs("per_page=200").await.json();
    assert_eq!(jobs_after.total, jobs_before.total, "nothing queued");

    let answer = app
        .api
        .post_json(
            routes::ORDERS_SHIP,
            &json!({"orders": [
                {"marketplace": "bricklink", "order_id": first.to_string(), "tracking": " 1Z-A "},
                {"marketplace": "brickowl", "order_id": second.to_string(), "tracking": "TRK-B"},
            ]}),
        )
        .await;
    assert_eq!(answer.status(), StatusCode::ACCEPTED, "{}", answer.text());
    let queued: Queued = answer.json();
    assert_eq!(queued.job_ids.len(), 2);
    for id in queued.job_ids {
        let job: JobView = app
            .until(30, "the status job ends", || async {
                let job: JobView = app.api.get_job(id).await.json();
                job.state.is_terminal().then_some(job)
            })
            .await;
        assert_eq!(job.state, JobState::Succeeded, "{job:?}");
    }
    let on_bricklink = app
        .sim
        .sim
        .orders(0, Side::BrickLink)
        .into_iter()
        .find(|o| o.id == first)
        .unwrap();
    assert_eq!(
        (
            on_bricklink.status.as_str(),
            on_bricklink.tracking.as_deref()
        ),
        ("SHIPPED", Some("1Z-A"))
    );
    let on_brickowl = app
        .sim
        .sim
        .orders(0, Side::BrickOwl)
        .into_iter()
        .find(|o| o.id == second)
        .unwrap();
    assert_eq!(
        (on_brickowl.status.as_str(), on_brickowl.tracking.as_deref()),
        ("5", Some("TRK-B"))
    );
    let ours: OrderDetail = app
        .api
        .get_order(Marketplace::BrickOwl, &second.to_string())
        .await
        .json();
    assert_eq!(ours.summary.status, OrderStatus::Shipped);
    assert_eq!(ours.shipment.tracking.as_deref(), Some("TRK-B"));
}
