//! The minifig pages in headless Chromium against the simulator: a list is created, a minifig
//! added by its BrickLink ID appears at once and fills in its parts as they load, and a
//! collected part moves the list's totals.

use app::Marketplace;
use server::sim::{Faults, Side};
use tests::{PASSWORD, TestApp, browser::Browser};

#[tokio::test]
async fn a_minifig_added_on_the_page_loads_its_parts_live() {
    if !tests::browser::ui_available() {
        return;
    }
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    app.connect(&app.api, 0, Marketplace::BrickLink).await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    browser
        .log_in_at(&format!("{}/minifigs", app.base), "admin", PASSWORD)
        .await;
    browser.wait_for_text("#no-lists", "No lists yet").await;
    browser.fill("#list-name", "Star Wars to complete").await;
    browser.click("#new-list button[type=submit]").await;
    browser
        .wait_for_text("#list-title", "Star Wars to complete")
        .await;
    browser
        .wait_for_text("#no-minifigs", "No minifigs on this list yet")
        .await;

    // Slow calls, so the page shows the minifig before its parts are all in.
    app.sim.sim.set_faults(
        Side::BrickLink,
        Faults {
            latency_ms: 150,
            ..Faults::default()
        },
    );
    browser.fill("#minifig-no", "sw0001a").await;
    browser.click("#add-minifig button[type=submit]").await;
    let card = "article[data-minifig='sw0001a']";
    browser.find(card).await;
    browser
        .wait_for_text(card, "Luke Skywalker (Tatooine)")
        .await;
    browser.wait_for_text(card, "To complete:").await;
    browser
        .wait_for_text(&format!("{card} tr[data-part='30374']"), "Bar 4L")
        .await;
    browser
        .wait_for_text("#list-totals", "0 of 6 parts collected")
        .await;
    browser.screenshot("minifig-loading").await;
    // Ready: the minifig's own price is the last thing filled in.
    browser.wait_for_text(card, "whole minifig sells for").await;
    browser.screenshot("minifig-list").await;

    browser
        .click(&format!(
            "{card} tr[data-part='3626bpb0001'] [data-stepper='collected'] button:last-child"
        ))
        .await;
    browser
        .wait_for_text("#list-totals", "1 of 6 parts collected")
        .await;
    browser.click(".crumbs a").await;
    browser
        .wait_for_text("#lists", "1 of 6 parts collected")
        .await;
    browser.screenshot("minifig-lists").await;
    browser.close().await;
}
