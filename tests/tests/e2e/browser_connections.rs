//! The Settings page's marketplace cards in headless Chromium against the simulator: keys
//! pasted in turn the status valid (or refused, with the reason) without a page reload.

use tests::{PASSWORD, TestApp, browser::Browser};

#[tokio::test]
async fn entering_the_simulators_keys_turns_the_connection_valid_live() {
    if !tests::browser::ui_available() {
        return;
    }
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let keys = app.sim.sim.keys(0).unwrap();

    browser
        .log_in_at(&format!("{}/settings", app.base), "admin", PASSWORD)
        .await;
    browser
        .wait_for_text("#bricklink-status", "Not connected")
        .await;
    browser
        .wait_for_text("#brickowl-status", "Not connected")
        .await;
    browser.screenshot("settings-connections-empty").await;

    browser
        .fill("#bricklink-consumer-key", &keys.bricklink.consumer_key)
        .await;
    browser
        .fill(
            "#bricklink-consumer-secret",
            &keys.bricklink.consumer_secret,
        )
        .await;
    browser
        .fill("#bricklink-token-value", &keys.bricklink.token_value)
        .await;
    browser
        .fill("#bricklink-token-secret", &keys.bricklink.token_secret)
        .await;
    browser.click("#bricklink-save").await;
    browser
        .wait_for_text("#bricklink-status", "Connected")
        .await;
    browser
        .wait_for_text("#bricklink-message", "accepted the keys")
        .await;
    let webhook = browser
        .find("#bricklink-webhook")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    assert!(
        webhook.starts_with(&format!("{}/hooks/bricklink/", app.base)),
        "{webhook}"
    );
    browser
        .wait_for_text(
            "#connection-bricklink .usage",
            "of 5,000 API calls used today",
        )
        .await;

    browser.fill("#brickowl-api-key", "notthekey").await;
    browser.click("#brickowl-save").await;
    browser
        .wait_for_text("#brickowl-status", "Keys refused")
        .await;
    browser
        .wait_for_text("#brickowl-message", "Invalid API Key")
        .await;
    browser.screenshot("settings-connections").await;

    // Refused keys leave the form open to fix them on the spot.
    browser
        .fill("#brickowl-api-key", &keys.brickowl.api_key)
        .await;
    browser.click("#brickowl-save").await;
    browser.wait_for_text("#brickowl-status", "Connected").await;
    browser
        .wait_for_text("#connection-brickowl .usage", "API calls today")
        .await;
    browser.find("#brickowl-change").await;
    browser.close().await;
}
