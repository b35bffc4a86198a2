//! Account management by administrators: add an account, reset its password, disable it (its
//! open sessions end at once and it cannot log in), enable it again; other users may not.

use app::{User, routes};
use reqwest::StatusCode;
use serde_json::json;
use tests::{PASSWORD, TestApp};

#[tokio::test]
async fn admins_add_reset_disable_and_enable_accounts() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    let added = app
        .api
        .post_json(
            routes::USERS,
            &json!({"username": "partner", "email": "partner@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(added.status(), StatusCode::CREATED, "{}", added.text());
    let partner: User = added.json();
    assert!(!partner.is_admin && !partner.disabled);
    let taken = app
        .api
        .post_json(
            routes::USERS,
            &json!({"username": "Partner", "email": "x@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(taken.error_code(), "username-taken");

    let browser = app.new_client();
    assert_eq!(
        browser.login("partner", PASSWORD).await.status(),
        StatusCode::OK
    );
    assert_eq!(browser.get(routes::ME).await.status(), StatusCode::OK);
    // Not an admin: no account management.
    assert_eq!(
        browser.get(routes::USERS).await.status(),
        StatusCode::FORBIDDEN
    );

    // Disabled: the open session ends at once, and logging in says why.
    let disabled = app
        .api
        .put_json(&routes::user(partner.id), &json!({"disabled": true}))
        .await;
    assert_eq!(disabled.status(), StatusCode::OK, "{}", disabled.text());
    assert!(disabled.json::<User>().disabled);
    assert_eq!(
        browser.get(routes::ME).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let refused = browser.login("partner", PASSWORD).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(refused.error_code(), "account-disabled");
    let listed: Vec<User> = app.api.get(routes::USERS).await.json();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().any(|u| u.username == "partner" && u.disabled));

    // An admin cannot lock themselves out.
    let me: app::SessionInfo = app.api.get(routes::ME).await.json();
    let me = me.user;
    let own = app
        .api
        .put_json(&routes::user(me.id), &json!({"disabled": true}))
        .await;
    assert_eq!(own.error_code(), "not-allowed");

    // Enabled with a new password: the old one no longer works.
    app.api
        .put_json(&routes::user(partner.id), &json!({"disabled": false}))
        .await;
    let reset = app
        .api
        .post_json(
            &routes::user_password(partner.id),
            &json!({"password": "a brand new password"}),
        )
        .await;
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        browser.login("partner", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        browser
            .login("partner", "a brand new password")
            .await
            .status(),
        StatusCode::OK
    );
}
