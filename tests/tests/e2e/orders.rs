//! Orders end to end against the simulator: the first import, pushes from both marketplaces,
//! a burst of pushes, a push that never came, status write-back, flaky marketplaces, and one
//! user never seeing another's orders.

use std::collections::BTreeSet;

use app::{Marketplace, OrderDetail, OrderList, OrderStatus, Queued};
use reqwest::StatusCode;
use serde_json::json;
use server::sim::{Faults, Side, SimConfig};
use tests::{ApiClient, TestApp};

async fn order_ids(client: &ApiClient, marketplace: Marketplace) -> BTreeSet<String> {
    let list: OrderList = client
        .list_orders(&format!(
            "marketplace={}&per_page=500",
            marketplace.as_str()
        ))
        .await
        .json();
    list.orders.into_iter().map(|o| o.order_id).collect()
}

fn sim_ids(app: &TestApp, account: usize, side: Side) -> BTreeSet<String> {
    app.sim
        .sim
        .orders(account, side)
        .into_iter()
        .map(|o| o.id.to_string())
        .collect()
}

#[tokio::test]
async fn connecting_imports_every_order_including_filed_ones() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    app.connect(&app.api, 0, Marketplace::BrickLink).await;
    app.connect(&app.api, 0, Marketplace::BrickOwl).await;
    assert_eq!(
        order_ids(&app.api, Marketplace::BrickLink).await,
        sim_ids(&app, 0, Side::BrickLink)
    );
    assert_eq!(
        order_ids(&app.api, Marketplace::BrickOwl).await,
        sim_ids(&app, 0, Side::BrickOwl)
    );
    let filed = app
        .sim
        .sim
        .orders(0, Side::BrickLink)
        .into_iter()
        .find(|o| o.filed)
        .expect("a filed order");
    let detail: OrderDetail = app
        .api
        .get_order(Marketplace::BrickLink, &filed.id.to_string())
        .await
        .json();
    assert!(detail.summary.filed);
    assert_eq!(detail.lines.len(), filed.lines().count());
    assert_eq!(detail.subtotal.0, filed.subtotal());
    assert_ne!(detail.shipment.country.as_deref(), Some("UK"));
    let view = app.api.connection(Marketplace::BrickLink).await;
    assert!(view.last_sync_at.is_some());

    // A second full sync fetches nothing again: nothing changed.
    app.sim.sim.reset_stats();
    let queued: Queued = app.api.sync(&json!({"full": true})).await.json();
    assert_eq!(queued.job_ids.len(), 2);
    app.settle().await;
    let calls = app.sim.sim.stats().bricklink.calls;
    assert_eq!(calls.get("GET /orders/{id}"), None, "{calls:?}");
}

#[tokio::test]
async fn pushes_from_both_marketplaces_bring_new_orders_in() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    app.connect(&app.api, 0, Marketplace::BrickLink).await;
    app.connect(&app.api, 0, Marketplace::BrickOwl).await;
    let bricklink = app.api.connection(Marketplace::BrickLink).await.webhook_url;
    let brickowl = app.api.connection(Marketplace::BrickOwl).await.webhook_url;
    app.sim.sim.set_callbacks(0, bricklink, brickowl);

    let id = app
        .sim
        .sim
        .place_order(0, Side::BrickLink)
        .unwrap()
        .to_string();
    let order = app
        .until(15, "the BrickLink order arrives", || async {
            let answer = app.api.get_order(Marketplace::BrickLink, &id).await;
            (answer.status() == StatusCode::OK).then(|| answer.json::<OrderDetail>())
        })
        .await;
    assert_eq!(order.summary.status, OrderStatus::New);
    let owl = app
        .sim
        .sim
        .place_order(0, Side::BrickOwl)
        .unwrap()
        .to_string();
    app.until(15, "the BrickOwl order arrives", || async {
        (app.api
            .get_order(Marketplace::BrickOwl, &owl)
            .await
            .status()
            == StatusCode::OK)
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_burst_of_500_pushes_is_answered_at_once_and_reads_notifications_at_most_twice() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    app.connect(&app.api, 0, Marketplace::BrickLink).await;
    let url = app
        .api
        .connection(Marketplace::BrickLink)
        .await
        .webhook_url
        .unwrap();
    let id = app
        .sim
        .sim
        .place_order(0, Side::BrickLink)
        .unwrap()
        .to_string();
    app.sim.sim.reset_stats();
    let http = reqwest::Client::new();
    // 32 at a time: one address may hold 64 connections (a marketplace pushes from a few).
    let open = std::sync::Arc::new(tokio::sync::Semaphore::new(32));
    let pushes: Vec<_> = (0..500)
        .map(|_| {
            let (http, url, open) = (http.clone(), url.clone(), open.clone());
            tokio::spawn(async move {
                let _connection = open.acquire_owned().await.unwrap();
                http.post(url).send().await.unwrap().status()
            })
        })
        .collect();
    for push in pushes {
        assert_eq!(push.await.unwrap(), StatusCode::NO_CONTENT);
    }
    app.settle().await;
    let stats = app.sim.sim.stats().bricklink;
    let reads = stats.calls.get("GET /notifications").copied().unwrap_or(0);
    assert!(
        (1..=2).contains(&reads),
        "{reads} notification reads for one burst"
    );
    assert_eq!(
        stats.calls.get("GET /orders/{id}"),
        Some(&1),
        "the order once"
    );
    assert_eq!(
        app.api
            .get_order(Marketplace::BrickLink, &id)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn unknown_tokens_are_not_found_and_big_bodies_are_refused() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    let http = reqwest::Client::new();
    let unknown = http
        .post(format!(
            "{}/hooks/bricklink/0123456789abcdef0123456789abcdef",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let short = http
        .post(format!("{}/hooks/bricklink/nope", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(short.status(), StatusCode::NOT_FOUND);
    app.connect(&app.api, 0, Marketplace::BrickLink).await;
    let url = app
        .api
        .connection(Marketplace::BrickLink)
        .await
        .webhook_url
        .unwrap();
    let big = http
        .post(&url)
        .body(vec![b'x'; 64 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // A BrickLink token is no BrickOwl token.
    let token = url.rsplit('/').next().unwrap();
    let crossed = http
        .get(format!(
            "{}/hooks/brickowl/{token}?order_id=1&store_id=2",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(crossed.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_push_that_never_came_is_caught_by_the_scheduled_poll() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    app.connect(&app.api, 0, Marketplace::BrickLink).await;
    app.connect(&app.api, 0, Marketplace::BrickOwl).await;
    let (bricklink, brickowl) = (
        app.api.connection(Marketplace::BrickLink).await.webhook_url,
        app.api.connection(Marketplace::BrickOwl).await.webhook_url,
    );
    app.sim.sim.set_callbacks(0, bricklink, brickowl);
    let dropping = Faults {
        drop_pushes: 1.0,
        ..Faults::default()
    };
    app.sim.sim.set_faults(Side::BrickLink, dropping.clone());
    app.sim.sim.set_faults(Side::BrickOwl, dropping);
    let lost = app
        .sim
        .sim
        .place_order(0, Side::BrickLink)
        .unwrap()
        .to_string();
    let lost_owl = app
        .sim
        .sim
        .place_order(0, Side::BrickOwl)
        .unwrap()
        .to_string();
    assert_eq!(app.sim.sim.stats().bricklink.pushes, 0);
    let queued = server::scheduler::poll_all(&app.state.services)
        .await
        .unwrap();
    assert_eq!(queued, 2);
    app.settle().await;
    // Nobody waits on what a poll finds: it leaves BrickLink's reserve to work people wait on.
    let syncs: Vec<_> = app
        .state
        .services
        .queue
        .list()
        .unwrap()
        .into_iter()
        // BrickOwl's: BrickLink's lost push also comes back through its notifications.
        .filter(|j| {
            j.kind == app::jobs::kinds::SYNC_ORDER && j.payload["marketplace"] == "brickowl"
        })
        .collect();
    assert!(!syncs.is_empty());
    assert!(
        syncs.iter().all(|j| j.payload["background"] == true),
        "{syncs:?}"
    );
    assert_eq!(
        app.api
            .get_order(Marketplace::BrickLink, &lost)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.api
            .get_order(Marketplace::BrickOwl, &lost_owl)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn status_changes_are_written_back_to_each_marketplace() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    app.connect(&app.api, 0, Marketplace::BrickLink).await;
    app.connect(&app.api, 0, Marketplace::BrickOwl).await;
    let bl = app
        .sim
        .sim
        .orders(0, Side::BrickLink)
        .into_iter()
        .find(|o| o.status == "PAID" && !o.filed)
        .expect("a paid order");
    let answer = app
        .api
        .put_order_status(
            Marketplace::BrickLink,
            &bl.id.to_string(),
            &json!({"status": "shipped", "tracking": "1Z999AA10123456784"}),
        )
        .await;
    assert_eq!(answer.status(), StatusCode::ACCEPTED, "{}", answer.text());
    app.settle().await;
    let now = app
        .sim
        .sim
        .orders(0, Side::BrickLink)
        .into_iter()
        .find(|o| o.id == bl.id)
        .unwrap();
    assert_eq!(
        (now.status.as_str(), now.tracking.as_deref()),
        ("SHIPPED", Some("1Z999AA10123456784"))
    );
    let ours: OrderDetail = app
        .api
        .get_order(Marketplace::BrickLink, &bl.id.to_string())
        .await
        .json();
    assert_eq!(ours.summary.status, OrderStatus::Shipped);
    assert_eq!(
        ours.shipment.tracking.as_deref(),
        Some("1Z999AA10123456784")
    );

    let bo = app.sim.sim.orders(0, Side::BrickOwl)[0].clone();
    app.api
        .put_order_status(
            Marketplace::BrickOwl,
            &bo.id.to_string(),
            &json!({"status": "packed"}),
        )
        .await;
    app.settle().await;
    let now = app
        .sim
        .sim
        .orders(0, Side::BrickOwl)
        .into_iter()
        .find(|o| o.id == bo.id)
        .unwrap();
    assert_eq!(now.status, "4");

    let refused = app
        .api
        .put_order_status(
            Marketplace::BrickOwl,
            &bo.id.to_string(),
            &json!({"status": "cancelled"}),
        )
        .await;
    assert_eq!(
        (refused.status(), refused.error_code().as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "not-allowed")
    );
    let unknown = app
        .api
        .put_order_status(
            Marketplace::BrickOwl,
            "999999999",
            &json!({"status": "packed"}),
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let bad = app
        .api
        .put_order_status(
            Marketplace::BrickOwl,
            &bo.id.to_string(),
            &json!({"status": "teleported"}),
        )
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn one_user_never_sees_another_users_orders() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    app.create_user("bob", "bob@example.com").await;
    let bob = app.new_client();
    bob.login("bob", tests::PASSWORD).await;
    app.connect(&app.api, 0, Marketplace::BrickLink).await;
    app.connect(&bob, 1, Marketplace::BrickLink).await;
    let mine = order_ids(&app.api, Marketplace::BrickLink).await;
    let his = order_ids(&bob, Marketplace::BrickLink).await;
    assert_eq!(mine, sim_ids(&app, 0, Side::BrickLink));
    assert_eq!(his, sim_ids(&app, 1, Side::BrickLink));
    assert!(mine.is_disjoint(&his));
    let one = mine.iter().next().unwrap();
    assert_eq!(
        bob.get_order(Marketplace::BrickLink, one).await.status(),
        StatusCode::NOT_FOUND
    );
    let status = bob
        .put_order_status(Marketplace::BrickLink, one, &json!({"status": "packed"}))
        .await;
    assert_eq!(status.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn syncing_without_a_connection_says_what_to_do() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    let answer = app.api.sync(&json!({})).await;
    assert_eq!(
        (answer.status(), answer.error_code().as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "not-connected")
    );
    assert!(answer.text().contains("Settings"));
}

#[tokio::test]
async fn flaky_marketplaces_still_deliver_every_order() {
    let app = TestApp::spawn_with_sim(&SimConfig {
        bricklink_orders: 80,
        brickowl_orders: 50,
        ..SimConfig::default()
    })
    .await;
    app.setup_admin().await;
    let flaky = Faults {
        unavailable: 0.2,
        timeout: 0.02,
        hang_ms: Some(4_000),
        ..Faults::default()
    };
    app.sim.sim.set_faults(Side::BrickLink, flaky.clone());
    app.sim.sim.set_faults(Side::BrickOwl, flaky);
    for marketplace in Marketplace::ALL {
        app.api
            .put_connection(marketplace, &app.keys_body(0, marketplace))
            .await;
    }
    let expected = (
        sim_ids(&app, 0, Side::BrickLink),
        sim_ids(&app, 0, Side::BrickOwl),
    );
    let opened = std::sync::atomic::AtomicBool::new(false);
    app.until(240, "every order arrives despite the faults", || async {
        // The limits the jobs run under are visible the whole time: a paused marketplace
        // says when it is tried again.
        let limits: app::QueuesView = app.api.get_queues().await.json();
        for m in &limits.marketplaces {
            assert!(m.configured);
            if m.usage.breaker != app::BreakerState::Closed {
                opened.store(true, std::sync::atomic::Ordering::Relaxed);
                assert!(
                    m.usage.breaker == app::BreakerState::HalfOpen || m.usage.retry_at.is_some(),
                    "{m:?}"
                );
            }
        }
        let got = (
            order_ids(&app.api, Marketplace::BrickLink).await,
            order_ids(&app.api, Marketplace::BrickOwl).await,
        );
        (got == expected).then_some(())
    })
    .await;
    let limits: app::QueuesView = app.api.get_queues().await.json();
    assert!(
        limits.marketplaces.iter().all(|m| m.usage.calls_today > 0),
        "every call is counted, failed ones too: {limits:?}"
    );
    println!(
        "a breaker opened during the run: {}",
        opened.load(std::sync::atomic::Ordering::Relaxed)
    );
}

#[tokio::test]
async fn brickowls_fixed_port_notify_finds_the_seller_by_store_id() {
    let app = TestApp::spawn_full(
        tempfile::tempdir().unwrap(),
        &SimConfig::default(),
        |config| {
            config.brickowl_notify_listen = "127.0.0.1:0".into();
        },
    )
    .await;
    app.setup_admin().await;
    app.create_user("bob", "bob@example.com").await;
    let bob = app.new_client();
    bob.login("bob", tests::PASSWORD).await;
    app.connect(&app.api, 0, Marketplace::BrickOwl).await;
    app.connect(&bob, 1, Marketplace::BrickOwl).await;
    let notify = format!("http://{}/brick_owl_order_notify", app.notify.unwrap());
    let store = app.sim.sim.keys(1).unwrap().store_id;
    let id = app
        .sim
        .sim
        .place_order(1, Side::BrickOwl)
        .unwrap()
        .to_string();
    let answer = reqwest::get(format!("{notify}?order_id={id}&store_id={store}"))
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::NO_CONTENT);
    app.settle().await;
    assert_eq!(
        bob.get_order(Marketplace::BrickOwl, &id).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.api.get_order(Marketplace::BrickOwl, &id).await.status(),
        StatusCode::NOT_FOUND
    );
    let unknown = reqwest::get(format!("{notify}?order_id={id}&store_id=1"))
        .await
        .unwrap();
    assert_eq!(
        unknown.status(),
        StatusCode::NOT_FOUND,
        "two sellers: the store id must match"
    );
    let other = reqwest::get(format!("http://{}/api/setup", app.notify.unwrap()))
        .await
        .unwrap();
    assert_eq!(
        other.status(),
        StatusCode::NOT_FOUND,
        "that port serves the notify alone"
    );
}

#[tokio::test]
async fn while_a_marketplace_is_down_orders_are_served_from_the_store_with_its_freshness() {
    let app = TestApp::spawn().await;
    let me = app.setup_admin().await.user.id;
    app.connect(&app.api, 0, Marketplace::BrickLink).await;
    app.sim.sim.set_faults(
        Side::BrickLink,
        Faults {
            unavailable: 1.0,
            ..Faults::default()
        },
    );
    let account = app
        .state
        .services
        .marketplaces
        .guard()
        .account(me, Marketplace::BrickLink);
    for _ in 0..5 {
        if let Ok(permit) = account
            .acquire(server::marketplace::guard::Priority::Background)
            .await
        {
            permit.failed();
        }
    }
    let view = app.api.connection(Marketplace::BrickLink).await;
    assert_eq!(view.usage.breaker, app::BreakerState::Open);
    assert!(view.usage.retry_at.is_some(), "when the next try happens");
    assert!(
        view.last_sync_at.is_some(),
        "how fresh the stored orders are"
    );
    let list: OrderList = app.api.list_orders("per_page=5").await.json();
    assert_eq!(
        list.total,
        app.sim.sim.orders(0, Side::BrickLink).len(),
        "pages keep working"
    );
    // "Sync now" is accepted and waits for the breaker instead of failing.
    app.sim.sim.reset_stats();
    let queued = app.api.sync(&json!({})).await;
    assert_eq!(queued.status(), StatusCode::ACCEPTED);
    let parked = app
        .until(
            10,
            "the poll is parked until the breaker's next try",
            || async {
                app.state
                    .services
                    .queue
                    .list()
                    .unwrap()
                    .into_iter()
                    .find(|j| j.kind == "poll_orders" && j.state == app::JobState::Scheduled)
            },
        )
        .await;
    assert_eq!(parked.attempts, 0, "parking spends no attempt");
    assert_eq!(
        app.sim.sim.stats().bricklink.total,
        0,
        "no call while the breaker is open"
    );
}
