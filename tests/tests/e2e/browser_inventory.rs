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

/// A seller edits a lot's quantity and price in its row: the page says it is saved, the row
/// shows the new values, the Changes tab shows the change applied, and BrickLink has them.
#[tokio::test]
async fn editing_a_lot_in_its_row_applies_it_on_bricklink() {
    if !tests::browser::ui_available() {
        return;
    }
    let app = stores_read(&[Marketplace::BrickLink]).await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    browser
        .log_in_at(&format!("{}/inventory", app.base), "admin", PASSWORD)
        .await;
    let first = "#inventory-table tbody tr[data-lot]:first-child";
    let lot_id: u64 = browser
        .find(first)
        .await
        .attr("data-lot")
        .await
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    let lots: app::LotList = app
        .api
        .get(&format!("{}?per_page=500", app::routes::INVENTORY))
        .await
        .json();
    let lot = lots.lots.iter().find(|l| l.id.0 == lot_id).unwrap().clone();
    let wanted = lot.quantity + 5;

    browser.click(&format!("{first} button[name=edit]")).await;
    browser
        .fill(".lot-editor input[name=quantity]", &wanted.to_string())
        .await;
    browser.fill(".lot-editor input[name=price]", "1.23").await;
    browser.screenshot("inventory-edit").await;
    browser.click(".lot-editor button[name=save]").await;
    browser.wait_for_text("#inventory-notice", "Saved").await;
    browser
        .wait_for_text(&format!("{first} .lot-quantity"), &wanted.to_string())
        .await;
    browser
        .wait_for_text(&format!("{first} .lot-price"), "1.23")
        .await;

    browser.click("#inventory-tab-changes").await;
    browser
        .wait_for_text("#inventory-changes", "BrickLink applied")
        .await;
    browser.screenshot("inventory-changes").await;
    let inventory_id = lot.bricklink.unwrap().inventory_id;
    let theirs = app
        .sim
        .sim
        .edit_bricklink_lots(0, |l| l[&inventory_id].clone())
        .unwrap();
    assert_eq!((theirs.quantity, theirs.unit_price), (wanted, 1_2300));
    browser.close().await;
}

/// The needs-linking list: a BrickOwl lot the seller unlinked shows there, its Link panel
/// offers the BrickLink lot of the same item, and one click makes them one lot again.
#[tokio::test]
async fn a_brickowl_lot_is_linked_by_hand_from_the_needs_linking_list() {
    if !tests::browser::ui_available() {
        return;
    }
    let app = stores_read(&Marketplace::ALL).await;
    let linked: app::LotList = app
        .api
        .get(&format!(
            "{}?linked=true&per_page=1",
            app::routes::INVENTORY
        ))
        .await
        .json();
    let lot = &linked.lots[0];
    let split: Vec<app::Lot> = app
        .api
        .post_json(
            &app::routes::inventory_unlink(lot.id),
            &serde_json::json!({}),
        )
        .await
        .json();
    let apart = split[1].id.0;

    let Some(browser) = Browser::start().await else {
        return;
    };
    browser
        .log_in_at(&format!("{}/inventory", app.base), "admin", PASSWORD)
        .await;
    browser.find("#inventory-table").await;
    browser
        .client
        .execute(
            "const s = document.querySelector('#inventory-linked'); s.value = 'false'; \
             s.dispatchEvent(new Event('change'));",
            vec![],
        )
        .await
        .unwrap();
    let row = format!("#inventory-table tr[data-lot='{apart}']");
    browser.click(&format!("{row} button[name=link]")).await;
    browser.wait_for_text(".link-panel", &lot.item.no).await;
    browser.screenshot("inventory-link").await;
    browser.click(".link-panel button[name=link-to]").await;
    browser.wait_for_text("#inventory-notice", "Linked").await;
    let now: app::LotList = app
        .api
        .get(&format!(
            "{}?linked=true&per_page=500",
            app::routes::INVENTORY
        ))
        .await
        .json();
    assert!(now.lots.iter().any(|l| l.id == lot.id
        && l.brickowl.as_ref().map(|o| o.lot_id) == lot.brickowl.as_ref().map(|o| o.lot_id)));
    browser.close().await;
}

/// A seller turns stock sync on from the Inventory page; a BrickLink sale then shows on the
/// panel and on the dashboard live, and BrickOwl has lost the pieces.
#[tokio::test]
async fn stock_sync_is_turned_on_and_a_sale_shows_live() {
    if !tests::browser::ui_available() {
        return;
    }
    let app = stores_read(&Marketplace::ALL).await;
    let bricklink = app.api.connection(Marketplace::BrickLink).await.webhook_url;
    let brickowl = app.api.connection(Marketplace::BrickOwl).await.webhook_url;
    app.sim.sim.set_callbacks(0, bricklink, brickowl);
    let linked: app::LotList = app
        .api
        .get(&format!(
            "{}?linked=true&per_page=500",
            app::routes::INVENTORY
        ))
        .await
        .json();
    let lot = linked
        .lots
        .iter()
        .find(|l| !l.stockroom && l.brickowl.as_ref().is_some_and(|o| o.quantity >= 2))
        .unwrap();
    let (bl, owl) = (
        lot.bricklink.as_ref().unwrap().inventory_id,
        lot.brickowl.as_ref().unwrap().lot_id,
    );
    let owl_before = lot.brickowl.as_ref().unwrap().quantity;

    let Some(browser) = Browser::start().await else {
        return;
    };
    browser
        .log_in_at(&format!("{}/inventory", app.base), "admin", PASSWORD)
        .await;
    browser.wait_for_text("#stock-sync-summary", "Off:").await;
    browser.click("#stock-sync-toggle").await;
    browser
        .wait_for_text("#stock-sync-summary", "On since")
        .await;
    app.sim
        .sim
        .sell(0, server::sim::Side::BrickLink, &[(bl, 1)])
        .unwrap();
    browser.wait_for_text("#stock-sync-today", "1").await;
    browser.wait_for_text("#stock-sync-waiting", "0").await;
    browser.screenshot("stock-sync").await;
    let theirs = app
        .sim
        .sim
        .edit_brickowl_lots(0, |l| l[&owl].quantity)
        .unwrap();
    assert_eq!(theirs, owl_before - 1);
    browser.client.set_window_size(390, 844).await.unwrap();
    browser.screenshot("stock-sync-phone").await;
    browser.client.set_window_size(1280, 900).await.unwrap();

    // Counted again on both marketplaces' sites, differently: a reconcile shows the conflict
    // and one click settles it.
    let other = linked
        .lots
        .iter()
        .find(|l| {
            l.id != lot.id && !l.stockroom && l.brickowl.as_ref().is_some_and(|o| o.quantity >= 2)
        })
        .unwrap();
    let (other_bl, other_owl) = (
        other.bricklink.as_ref().unwrap().inventory_id,
        other.brickowl.as_ref().unwrap().lot_id,
    );
    let counted = app
        .sim
        .sim
        .edit_bricklink_lots(0, |l| {
            let lot = l.get_mut(&other_bl).unwrap();
            lot.quantity += 4;
            lot.quantity
        })
        .unwrap();
    app.sim
        .sim
        .edit_brickowl_lots(0, |l| l.get_mut(&other_owl).unwrap().quantity -= 1);
    browser.click("#stock-sync-reconcile").await;
    browser
        .wait_for_text("#stock-sync-conflicts", &format!("BrickLink's {counted}"))
        .await;
    browser
        .wait_for_text("#stock-sync-last", "1 conflict")
        .await;
    browser.screenshot("stock-sync-conflict").await;
    browser
        .click(&format!(
            "#stock-sync-conflicts li[data-lot='{}'] button[name=keep-bricklink]",
            other.id.0
        ))
        .await;
    app.until(20, "BrickOwl takes BrickLink's count", || async {
        let now = app
            .sim
            .sim
            .edit_brickowl_lots(0, |l| l[&other_owl].quantity)
            .unwrap();
        (now == counted).then_some(())
    })
    .await;

    browser.click("#inventory-tab-changes").await;
    browser
        .wait_for_text("#inventory-changes", "BrickLink order")
        .await;
    browser.screenshot("stock-sync-changes").await;
    browser
        .client
        .goto(&format!("{}/", app.base))
        .await
        .unwrap();
    browser
        .wait_for_text("#stock-sync-card", "1 sale today")
        .await;
    browser.screenshot("stock-sync-dashboard").await;
    browser.close().await;
}

/// A seller with `marketplaces` connected and their stores read.
async fn stores_read(marketplaces: &[Marketplace]) -> TestApp {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    for marketplace in marketplaces {
        app.connect(&app.api, 0, *marketplace).await;
    }
    let read = app
        .api
        .post_json(app::routes::INVENTORY_IMPORT, &serde_json::json!({}))
        .await;
    assert_eq!(read.status(), reqwest::StatusCode::ACCEPTED);
    app.settle().await;
    app
}
