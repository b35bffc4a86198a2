//! The dashboard and the header search in headless Chromium against an imported simulated
//! shop: cards, sales with their charts and best sellers show; `/` focuses the search box, a
//! buyer is found as you type and opens their orders; a backup older than two days is said.

use app::{Marketplace, OrderList};
use serde_json::json;
use tests::{PASSWORD, TestApp, browser::Browser};

#[tokio::test]
async fn the_dashboard_shows_the_shop_and_the_search_finds_a_buyer() {
    if !tests::browser::ui_available() {
        return;
    }
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    app.connect(&app.api, 0, Marketplace::BrickLink).await;
    app.connect(&app.api, 0, Marketplace::BrickOwl).await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    browser.log_in_at(&app.base, "admin", PASSWORD).await;
    browser.wait_for_text("#needs-action", "To invoice").await;
    browser.wait_for_text("#sales", "BrickLink").await;
    browser.find("#sales svg.chart rect.bar").await;
    browser.wait_for_text("#top-items", "pcs").await;
    browser.wait_for_text("#connection-stats", "synced").await;
    browser.screenshot("dashboard").await;

    // `/` from anywhere outside a field focuses the search box.
    browser
        .client
        .execute(
            "document.dispatchEvent(new KeyboardEvent('keydown', {key: '/', bubbles: true}))",
            vec![],
        )
        .await
        .unwrap();
    let focused = browser
        .client
        .execute(
            "return document.activeElement && document.activeElement.id",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(focused, json!("global-search"));

    let orders: OrderList = app.api.get("/api/orders?per_page=1").await.json();
    let buyer = orders.orders[0].buyer.clone();
    browser.fill("#global-search", &buyer).await;
    browser.wait_for_text("#search-results", &buyer).await;
    browser.screenshot("search").await;
    browser
        .click("#search-results .search-hit:first-child")
        .await;
    browser.wait_for_text("#orders-table", &buyer).await;
    browser.close().await;
}

#[tokio::test]
async fn a_backup_older_than_two_days_is_said_on_the_dashboard() {
    if !tests::browser::ui_available() {
        return;
    }
    let folder = tempfile::tempdir().unwrap();
    let old = folder.path().join("brickdesk-20261120-033000.backup");
    std::fs::write(&old, "a backup").unwrap();
    let nine_days_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(9 * 86_400);
    std::fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(nine_days_ago)
        .unwrap();
    let dir = folder.path().display().to_string();
    let app = TestApp::spawn_with(|c| {
        c.backup_cron = "30 3 * * *".into();
        c.backup_dir = dir;
    })
    .await;
    app.setup_admin().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    browser.log_in_at(&app.base, "admin", PASSWORD).await;
    browser
        .wait_for_text("#backup-stale", "The newest backup was written 9 days ago")
        .await;
    browser.screenshot("dashboard-backup-stale").await;
    browser.close().await;
}
