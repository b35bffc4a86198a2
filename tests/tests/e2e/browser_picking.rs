//! Picking on a phone in headless Chromium: at 390 px the navigation is a menu and the orders
//! list fits the screen; a pick list across both marketplaces is ticked with a thumb, a tick
//! from a second picker appears live, a short pick is entered, and the closed list offers to
//! ship its orders; an order's page shows a buyer's message as it arrives.

use app::{Marketplace, OrderList, OrderSummary, PickList, routes};
use reqwest::StatusCode;
use serde_json::json;
use tests::{PASSWORD, TestApp, browser::Browser};

/// How far the page runs past the window's right edge, in px.
async fn overflow(browser: &Browser) -> f64 {
    browser
        .client
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
            vec![],
        )
        .await
        .unwrap()
        .as_f64()
        .unwrap_or(f64::MAX)
}

#[tokio::test]
async fn a_pick_list_is_picked_on_a_phone() {
    if !tests::browser::ui_available() {
        return;
    }
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    app.connect(&app.api, 0, Marketplace::BrickLink).await;
    app.connect(&app.api, 0, Marketplace::BrickOwl).await;
    let orders: OrderList = app
        .api
        .list_orders("per_page=200&sort=date&order=desc")
        .await
        .json();
    let first = |m: Marketplace| -> OrderSummary {
        orders
            .orders
            .iter()
            .find(|o| o.marketplace == m && o.lots >= 2)
            .cloned()
            .expect("an order of two lines or more")
    };
    let (bricklink, brickowl) = (first(Marketplace::BrickLink), first(Marketplace::BrickOwl));
    let answer = app
        .api
        .post_json(
            routes::PICK_LISTS,
            &json!({"orders": [
                {"marketplace": "bricklink", "order_id": bricklink.order_id},
                {"marketplace": "brickowl", "order_id": brickowl.order_id},
            ]}),
        )
        .await;
    assert_eq!(answer.status(), StatusCode::CREATED, "{}", answer.text());
    let list: PickList = answer.json();
    let lines = list.lines.len();
    assert!(lines >= 3, "{lines} lines");

    let Some(browser) = Browser::start().await else {
        return;
    };
    browser.client.set_window_size(390, 844).await.unwrap();
    browser
        .log_in_at(&format!("{}/orders", app.base), "admin", PASSWORD)
        .await;
    browser
        .wait_for_text("#orders-table", &bricklink.buyer)
        .await;
    browser.screenshot("orders-phone").await;
    let past = overflow(&browser).await;
    assert!(past <= 1.0, "the orders page runs {past} px past 390 px");

    // The menu leads to Picking.
    browser.click("#nav-toggle").await;
    browser.screenshot("menu-phone").await;
    browser.click("#main-nav a[href='/picking']").await;
    browser
        .wait_for_text("#pick-lists", &format!("Pick list {}", list.id.0))
        .await;
    browser
        .click(&format!("#pick-lists a[href='/picking/{}']", list.id.0))
        .await;
    browser
        .wait_for_text("#pick-progress", &format!("0 of {lines} lines ticked"))
        .await;
    let past = overflow(&browser).await;
    assert!(past <= 1.0, "the pick list runs {past} px past 390 px");

    // Found all of line 1 with a thumb.
    browser
        .click("#pick-lines li[data-line='1'] .pick-found")
        .await;
    browser
        .wait_for_text("#pick-progress", &format!("1 of {lines} lines ticked"))
        .await;
    browser
        .wait_for_text("#pick-lines li[data-line='1']", "Found all · admin")
        .await;

    // A second picker ticks line 2 from another phone: it shows here by itself.
    let other = app.new_client();
    assert_eq!(
        other.login("admin", PASSWORD).await.status(),
        StatusCode::OK
    );
    let needed = list.lines[1].quantity;
    let ticked = other
        .put_json(&routes::pick_line(list.id, 2), &json!({"found": needed}))
        .await;
    assert_eq!(ticked.status(), StatusCode::OK, "{}", ticked.text());
    browser
        .wait_for_text("#pick-progress", &format!("2 of {lines} lines ticked"))
        .await;

    // Line 3 is short: none found.
    browser
        .click("#pick-lines li[data-line='3'] .pick-short")
        .await;
    browser
        .fill("#pick-lines li[data-line='3'] input[name=found]", "0")
        .await;
    browser
        .click("#pick-lines li[data-line='3'] .pick-short-form button")
        .await;
    browser.wait_for_text("#pick-progress", "1 short").await;
    browser
        .wait_for_text("#pick-lines li[data-line='3']", "Found 0 of")
        .await;
    browser.screenshot("pick-list-phone").await;

    browser.click("#close-pick-list").await;
    browser
        .wait_for_text("#ship-form", "Ship these orders")
        .await;
    browser
        .wait_for_text("#ship-form", &brickowl.order_id)
        .await;
    browser.screenshot("pick-list-closed-phone").await;

    // The BrickLink order's page: its buyer writes, the message shows by itself; the
    // documents are a tap away.
    let bricklink_hook = app.api.connection(Marketplace::BrickLink).await.webhook_url;
    app.sim.sim.set_callbacks(0, bricklink_hook, None);
    browser
        .client
        .goto(&format!(
            "{}/orders/bricklink/{}",
            app.base, bricklink.order_id
        ))
        .await
        .unwrap();
    browser.find("#order-messages").await;
    let id: i64 = bricklink.order_id.parse().unwrap();
    assert!(
        app.sim
            .sim
            .buyer_writes(0, id, "Shipping", "Can you send it on Monday?")
    );
    browser
        .wait_for_text("#message-thread", "Can you send it on Monday?")
        .await;
    browser.find("#packing-slip-link").await;
    browser.find("#leave-feedback").await;
    let past = overflow(&browser).await;
    assert!(past <= 1.0, "the order page runs {past} px past 390 px");
    browser.screenshot("order-phone").await;
    browser
        .client
        .execute(
            "document.querySelector('#order-messages').scrollIntoView();",
            vec![],
        )
        .await
        .unwrap();
    browser.screenshot("order-messages-phone").await;
    browser.close().await;
}
