//! The real UI in headless Chromium, from the release binary: first-run setup, logout, login,
//! a wrong password, a reload on a client-side route, and a page whose part cannot be fetched.

use tests::{
    PASSWORD,
    browser::{Browser, ReleaseServer},
};

#[tokio::test]
async fn a_new_seller_sets_up_logs_out_and_logs_back_in() {
    let Some(server) = ReleaseServer::start().await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };

    browser.client.goto(&server.base).await.unwrap();
    browser.wait_for_text("h1", "Welcome to brickdesk").await;
    browser.screenshot("setup").await;

    // A mismatch is caught in the page, before anything is sent.
    browser.fill("#setup-username", "anna").await;
    browser.fill("#setup-email", "anna@example.com").await;
    browser.fill("#setup-password", PASSWORD).await;
    browser.fill("#setup-confirm", "something else").await;
    browser.click("#setup-submit").await;
    browser.wait_for_text("[role=alert]", "not the same").await;

    browser.fill("#setup-confirm", PASSWORD).await;
    browser.click("#setup-submit").await;
    browser.wait_for_text("#current-user", "anna").await;
    // A new seller lands on the dashboard, which leads to Settings to connect a store.
    browser.wait_for_text("h1", "Dashboard").await;
    browser
        .wait_for_text("#dashboard-connect", "Connect BrickLink or BrickOwl")
        .await;
    browser.click("#dashboard-connect a").await;
    browser.wait_for_text("h1", "Settings").await;
    assert!(
        browser
            .client
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/settings")
    );
    // The first account is an administrator: the Users section lists it.
    browser.wait_for_text("#users", "anna").await;
    browser.wait_for_text("#users", "Administrator").await;
    browser.screenshot("settings").await;

    browser.click("#user-menu-button").await;
    browser.click("#logout-button").await;
    browser
        .wait_for_text("#login-form", "You have logged out.")
        .await;

    browser.fill("#login-login", "ANNA@example.com").await;
    browser.fill("#login-password", "wrong password").await;
    browser.click("#login-submit").await;
    browser.wait_for_text("[role=alert]", "do not match").await;
    browser.screenshot("login-error").await;

    browser.fill("#login-password", PASSWORD).await;
    browser.click("#login-submit").await;
    browser.wait_for_text("#current-user", "anna").await;

    // A reload on a client-side route keeps the session and the page.
    browser
        .client
        .goto(&format!("{}/settings", server.base))
        .await
        .unwrap();
    browser.wait_for_text("#profile-form", "Profile").await;
    let username = browser.find("#profile-username").await;
    assert_eq!(
        username.prop("value").await.unwrap().as_deref(),
        Some("anna")
    );

    browser.close().await;
    assert!(server.stop().await.success());
}

/// Every page but the dashboard is a part of the UI fetched when first opened. When that fetch
/// fails (the tab was loaded before an upgrade, or the connection dropped), the page says the
/// app stopped and offers a reload, after which the page opens.
#[tokio::test]
async fn a_page_whose_part_cannot_be_fetched_offers_a_reload() {
    if !tests::browser::ui_available() {
        return;
    }
    let app = tests::TestApp::spawn().await;
    app.setup_admin().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    browser.log_in_at(&app.base, "admin", PASSWORD).await;
    browser.wait_for_text("h1", "Dashboard").await;

    // The network refuses the parts from now on (the first part is already running).
    browser
        .client
        .execute(
            "const fetchFirst = window.fetch;
             window.fetch = (url, options) => /\\/pkg-[^/]+\\/.+\\.wasm/.test(String(url))
                 ? Promise.reject(new TypeError('Failed to fetch'))
                 : fetchFirst(url, options);",
            vec![],
        )
        .await
        .unwrap();
    browser.click("#main-nav a[href='/jobs']").await;
    browser
        .wait_for_text("#app-stopped", "brickdesk stopped working in this tab")
        .await;
    browser.screenshot("app-stopped").await;

    // The reload comes back where the seller was (the failed page never opened), and runs.
    browser.click("#app-stopped a").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while browser
        .client
        .find(fantoccini::Locator::Css("#app-stopped"))
        .await
        .is_ok()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the page was never reloaded"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    browser.wait_for_text("h1", "Dashboard").await;
    browser.click("#main-nav a[href='/jobs']").await;
    browser.wait_for_text("h1", "Jobs").await;
    browser
        .wait_for_text(".empty", "No background jobs yet")
        .await;
    browser.close().await;
}
