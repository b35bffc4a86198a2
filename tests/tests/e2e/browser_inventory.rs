//! The Inventory page in headless Chromium against the simulator: empty until the store is
//! read, "Read my store" fills it with its outcome shown, search as you type narrows it.

use app::Marketplace;
use tests::{PASSWORD, TestApp, browser::Browser};

#[tokio::test]
async fn reading_the_store_fills_the_inventory_page_and_search_narrows_it() {
    if !tests::browser::ui_available() {
        return;
    }
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    browser
        .log_in_at(&format!("{}/inventory", app.base), "admin", PASSWORD)
        .await;
    browser
        .wait_for_text("#inventory-empty", "No lots yet")
        .await;
    app.connect(&app.api, 0, Marketplace::BrickLink).await;

    browser.click("#inventory-read").await;
    let lots = server::sim::SimConfig::default().lots;
    browser
        .wait_for_text("#inventory-notice", &format!("{lots} new"))
        .await;
    browser
        .wait_for_text("#inventory-count", &format!("of {lots}"))
        .await;
    browser.screenshot("inventory").await;

    // On a phone the table fits the screen: nothing scrolls sideways.
    browser.client.set_window_size(390, 844).await.unwrap();
    let overflow = browser
        .client
        .execute(
            "return document.querySelector('#inventory-table').getBoundingClientRect().right \
             - document.documentElement.clientWidth",
            vec![],
        )
        .await
        .unwrap();
    browser.screenshot("inventory-phone").await;
    assert!(
        overflow.as_f64().is_some_and(|px| px <= 1.0),
        "the table runs {overflow} px past a 390 px screen"
    );
    browser.client.set_window_size(1280, 900).await.unwrap();

    let location = app
        .sim
        .sim
        .edit_bricklink_lots(0, |l| l.values().next().map(|l| l.remarks.clone()))
        .flatten()
        .unwrap();
    browser.fill("#inventory-search", &location).await;
    browser
        .wait_for_text("#inventory-table tbody", &location)
        .await;
    browser.close().await;
}
