//! The Orders pages in headless Chromium against the simulator: the import fills the table, a
//! new simulated order appears on the open page without a reload, and a status change on the
//! order page reaches the marketplace and shows its outcome live.

use app::Marketplace;
use server::sim::Side;
use tests::{PASSWORD, TestApp, browser::Browser};

#[tokio::test]
async fn a_new_order_appears_on_the_open_orders_page_and_its_status_can_be_changed() {
    if !tests::browser::ui_available() {
        return;
    }
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    browser
        .log_in_at(&format!("{}/orders", app.base), "admin", PASSWORD)
        .await;
    browser
        .wait_for_text("#orders-empty", "Connect a marketplace")
        .await;
    browser.screenshot("orders-empty").await;

    app.connect(&app.api, 0, Marketplace::BrickLink).await;
    app.connect(&app.api, 0, Marketplace::BrickOwl).await;
    let total =
        app.sim.sim.orders(0, Side::BrickLink).len() + app.sim.sim.orders(0, Side::BrickOwl).len();
    browser
        .wait_for_text("#orders-count", &format!("of {total}"))
        .await;

    let url = app.api.connection(Marketplace::BrickLink).await.webhook_url;
    app.sim.sim.set_callbacks(0, url, None);
    let id = app
        .sim
        .sim
        .place_order(0, Side::BrickLink)
        .unwrap()
        .to_string();
    browser
        .wait_for_text("#orders-table tbody tr:first-child", &format!("#{id}"))
        .await;
    browser
        .wait_for_text("#orders-count", &format!("of {}", total + 1))
        .await;
    browser.screenshot("orders").await;

    browser.fill("#orders-search", &id).await;
    browser.wait_for_text("#orders-count", "1–1 of 1").await;
    browser
        .click(&format!("#orders-table tr[data-order='{id}']"))
        .await;
    browser
        .wait_for_text("#order-title", &format!("BrickLink order #{id}"))
        .await;
    browser.wait_for_text("#order-status", "New").await;
    browser.find("#order-lines").await;

    // New → packed on BrickLink, from the page.
    let select = browser.find("#status-select").await;
    select.select_by_value("packed").await.unwrap();
    browser.click("#status-submit").await;
    browser
        .wait_for_text("#status-outcome", "BrickLink has the new status")
        .await;
    browser.wait_for_text("#order-status", "Packed").await;
    browser.screenshot("order").await;
    let sim_order = app
        .sim
        .sim
        .orders(0, Side::BrickLink)
        .into_iter()
        .find(|o| o.id.to_string() == id)
        .unwrap();
    assert_eq!(sim_order.status, "PACKED");
    browser.close().await;
}
