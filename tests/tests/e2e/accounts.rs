//! Accounts: first-run setup, login and logout, sessions, CSRF, throttling, profile and
//! password — every rule, including the bad inputs.

use app::{SessionInfo, SetupStatus, User};
use reqwest::{Method, StatusCode};
use serde_json::json;
use tests::{PASSWORD, TestApp};

#[tokio::test]
async fn setup_is_needed_until_the_first_admin_exists_and_then_refused() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.api.get_setup().await.json::<SetupStatus>(),
        SetupStatus {
            needed: true,
            demo: false,
            code_needed: false,
            version: server::version::info(),
        },
        "no setup code from the server itself"
    );

    let info = app.setup_admin().await;
    assert!(info.user.is_admin);
    assert_eq!(info.user.username, "admin");
    assert!(!info.csrf_token.is_empty());
    assert_eq!(
        app.api.get_setup().await.json::<SetupStatus>(),
        SetupStatus {
            needed: false,
            demo: false,
            code_needed: false,
            version: server::version::info(),
        }
    );

    // Setup logged us in.
    let me = app.api.get_me().await;
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(me.json::<SessionInfo>().user.id, info.user.id);

    let again = app
        .new_client()
        .post_setup(&json!({"username": "mallory", "email": "m@example.com", "password": PASSWORD}))
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert_eq!(again.error_code(), "setup-done");
}

#[tokio::test]
async fn racing_setups_create_exactly_one_admin() {
    let app = TestApp::spawn().await;
    let mut attempts = tokio::task::JoinSet::new();
    for i in 0..4 {
        let client = app.new_client();
        attempts.spawn(async move {
            client
                .post_setup(&json!({
                    "username": format!("admin{i}"),
                    "email": format!("admin{i}@example.com"),
                    "password": PASSWORD,
                }))
                .await
                .status()
        });
    }
    let statuses = attempts.join_all().await;
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::CONFLICT)
    );
    assert_eq!(app.state.services.store.users().list().unwrap().len(), 1);
}

#[tokio::test]
async fn setup_refuses_bad_input_with_a_sentence_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let cases = [
        json!({"username": "a", "email": "a@example.com", "password": PASSWORD}),
        json!({"username": "has space", "email": "a@example.com", "password": PASSWORD}),
        json!({"username": "alice", "email": "not-an-email", "password": PASSWORD}),
        json!({"username": "alice", "email": "a@example.com", "password": "short"}),
    ];
    for body in cases {
        let answer = app.api.post_setup(&body).await;
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(answer.error_code(), "invalid-input");
    }
    assert!(
        app.api.get_setup().await.json::<SetupStatus>().needed,
        "nothing was created"
    );
}

#[tokio::test]
async fn malformed_requests_get_typed_errors() {
    let app = TestApp::spawn().await;
    let url = app.api.url(app::routes::SETUP);

    let syntax = app
        .api
        .http
        .post(&url)
        .header("content-type", "application/json")
        .body("{");
    let answer = app.api.send(syntax).await;
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    assert_eq!(answer.error_code(), "invalid-json");

    let missing = app.api.http.post(&url).json(&json!({"username": "x"}));
    let answer = app.api.send(missing).await;
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    assert_eq!(answer.error_code(), "invalid-json");

    let not_json = app.api.http.post(&url).body("username=x");
    let answer = app.api.send(not_json).await;
    assert_eq!(answer.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(answer.error_code(), "unsupported-media-type");

    let huge = json!({"username": "x".repeat(100_000), "email": "a@b.co", "password": PASSWORD});
    let answer = app.api.send(app.api.http.post(&url).json(&huge)).await;
    assert_eq!(answer.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer.error_code(), "body-too-large");

    assert!(app.api.get_setup().await.json::<SetupStatus>().needed);
}

#[tokio::test]
async fn login_works_by_username_or_email_in_any_case() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    for login in [
        "admin",
        "ADMIN",
        "admin@example.com",
        "Admin@Example.COM",
        "  admin  ",
    ] {
        let client = app.new_client();
        let answer = client.login(login, PASSWORD).await;
        assert_eq!(
            answer.status(),
            StatusCode::OK,
            "login {login:?}: {}",
            answer.text()
        );
        assert_eq!(answer.json::<SessionInfo>().user.username, "admin");
        assert_eq!(client.get_me().await.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn wrong_passwords_and_unknown_logins_look_the_same() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    let wrong = app.new_client().login("admin", "not the password").await;
    let unknown = app.new_client().login("nobody", PASSWORD).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.text(), unknown.text());
    assert_eq!(wrong.error_code(), "bad-credentials");

    let empty = app.new_client().login("", "").await;
    assert_eq!(empty.status(), StatusCode::BAD_REQUEST);
    assert_eq!(empty.error_code(), "invalid-input");
}

#[tokio::test]
async fn repeated_failed_logins_are_throttled_per_login() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    let client = app.new_client();
    for _ in 0..5 {
        assert_eq!(
            client.login("admin", "guess").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let throttled = client.login("Admin", PASSWORD).await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = throttled
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=12).contains(&retry), "{retry}");
    assert_eq!(throttled.error_code(), "too-many-attempts");
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_same_site_strict() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    let answer = app.new_client().login("admin", PASSWORD).await;
    let cookie = answer.header("set-cookie").expect("a session cookie");
    assert!(cookie.starts_with("brickdesk_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain http by default: {cookie}"
    );
    let token = cookie
        .trim_start_matches("brickdesk_session=")
        .split(';')
        .next()
        .unwrap();
    assert!(token.len() >= 43, "256 random bits: {token}");

    let secure = TestApp::spawn_with(|c| c.public_url = Some("https://shop.example".into())).await;
    secure.setup_admin().await;
    let answer = secure.new_client().login("admin", PASSWORD).await;
    assert!(answer.header("set-cookie").unwrap().contains("Secure"));
}

#[tokio::test]
async fn the_profile_needs_a_login() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    let stranger = app.new_client();
    let answer = stranger.get_me().await;
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(answer.error_code(), "not-logged-in");

    let forged = app
        .api
        .http
        .get(app.api.url(app::routes::ME))
        .header("cookie", "brickdesk_session=forged-token");
    assert_eq!(
        app.new_client().send(forged).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn mutating_requests_without_the_csrf_token_are_forbidden() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    let body = json!({"username": "admin2", "email": "admin@example.com"});

    let without = app.api.http.put(app.api.url(app::routes::ME)).json(&body);
    let answer = app.api.send(without).await;
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    assert_eq!(answer.error_code(), "csrf-missing");

    let wrong = app
        .api
        .http
        .put(app.api.url(app::routes::ME))
        .header(app::routes::CSRF_HEADER, "wrong")
        .json(&body);
    assert_eq!(app.api.send(wrong).await.status(), StatusCode::FORBIDDEN);

    let logout = app.api.http.delete(app.api.url(app::routes::SESSION));
    assert_eq!(app.api.send(logout).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.api.get_me().await.status(),
        StatusCode::OK,
        "still logged in"
    );
    assert_eq!(
        app.api.get_me().await.json::<SessionInfo>().user.username,
        "admin"
    );

    // Another session's token does not work either.
    let other = app.new_client();
    other.login("admin", PASSWORD).await;
    let crossed = app
        .api
        .http
        .put(app.api.url(app::routes::ME))
        .header(app::routes::CSRF_HEADER, other.csrf_token().unwrap())
        .json(&body);
    assert_eq!(app.api.send(crossed).await.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn logout_ends_the_session_for_good() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    let cookie = app.new_client();
    let answer = cookie.login("admin", PASSWORD).await;
    let raw = answer
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();

    let logout = cookie.logout().await;
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    assert!(
        logout
            .header("set-cookie")
            .unwrap()
            .contains("brickdesk_session=;")
    );
    assert_eq!(cookie.get_me().await.status(), StatusCode::UNAUTHORIZED);

    // Replaying the old cookie gets nothing.
    let replay = app
        .api
        .http
        .get(app.api.url(app::routes::ME))
        .header("cookie", raw);
    assert_eq!(
        app.new_client().send(replay).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.api.get_me().await.status(),
        StatusCode::OK,
        "other sessions live on"
    );
}

#[tokio::test]
async fn the_profile_can_be_changed_and_names_stay_unique() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    app.create_user("bob", "bob@example.com").await;

    let taken = app
        .api
        .put_me(&json!({"username": "BOB", "email": "admin@example.com"}))
        .await;
    assert_eq!(taken.status(), StatusCode::CONFLICT);
    assert_eq!(taken.error_code(), "username-taken");
    let taken = app
        .api
        .put_me(&json!({"username": "admin", "email": "Bob@example.com"}))
        .await;
    assert_eq!(taken.error_code(), "email-taken");
    let invalid = app
        .api
        .put_me(&json!({"username": "admin", "email": "nope"}))
        .await;
    assert_eq!(invalid.status(), StatusCode::BAD_REQUEST);

    let updated = app
        .api
        .put_me(
            &json!({"username": "Boss", "email": "boss@example.com", "display_name": " The Boss "}),
        )
        .await;
    assert_eq!(updated.status(), StatusCode::OK, "{}", updated.text());
    let user: User = updated.json();
    assert_eq!(
        (user.username.as_str(), user.email.as_str()),
        ("Boss", "boss@example.com")
    );
    assert_eq!(user.display_name.as_deref(), Some("The Boss"));

    assert_eq!(
        app.new_client().login("boss", PASSWORD).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.new_client().login("admin", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.new_client()
            .login("boss@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_other_sessions() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    let other = app.new_client();
    other.login("admin", PASSWORD).await;

    let wrong = app
        .api
        .change_password("not it", "a brand new password")
        .await;
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    assert_eq!(wrong.error_code(), "wrong-password");
    let short = app.api.change_password(PASSWORD, "short").await;
    assert_eq!(short.status(), StatusCode::BAD_REQUEST);
    assert_eq!(short.error_code(), "invalid-input");
    assert_eq!(
        other.get_me().await.status(),
        StatusCode::OK,
        "failed changes end nothing"
    );

    let changed = app
        .api
        .change_password(PASSWORD, "a brand new password")
        .await;
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.api.get_me().await.status(),
        StatusCode::OK,
        "this session lives on"
    );
    assert_eq!(
        other.get_me().await.status(),
        StatusCode::UNAUTHORIZED,
        "others end"
    );
    assert_eq!(
        app.new_client().login("admin", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let fresh = app
        .new_client()
        .login("admin", "a brand new password")
        .await;
    assert_eq!(fresh.status(), StatusCode::OK);
}

#[tokio::test]
async fn accounts_and_sessions_survive_a_restart_and_secrets_never_reach_the_disk() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    let client = app.new_client();
    let answer = client.login("admin", PASSWORD).await;
    let token = answer
        .header("set-cookie")
        .unwrap()
        .trim_start_matches("brickdesk_session=")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let data_dir = app.stop().await;

    let mut on_disk = Vec::new();
    for entry in walk(data_dir.path()) {
        on_disk.extend(std::fs::read(entry).unwrap());
    }
    let contains = |needle: &[u8]| on_disk.windows(needle.len()).any(|w| w == needle);
    assert!(contains(b"admin@example.com"), "the account is stored");
    assert!(
        !contains(token.as_bytes()),
        "session tokens are stored only as hashes"
    );
    assert!(
        !contains(PASSWORD.as_bytes()),
        "passwords are stored only as hashes"
    );

    let app = TestApp::spawn_in(data_dir, |_| {}).await;
    assert!(!app.api.get_setup().await.json::<SetupStatus>().needed);
    let replay = app
        .api
        .http
        .get(app.api.url(app::routes::ME))
        .header("cookie", format!("brickdesk_session={token}"));
    assert_eq!(
        app.api.send(replay).await.status(),
        StatusCode::OK,
        "the session survived"
    );
    assert_eq!(
        app.new_client().login("admin", PASSWORD).await.status(),
        StatusCode::OK
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[tokio::test]
async fn api_methods_that_do_not_exist_say_so_in_json() {
    let app = TestApp::spawn().await;
    let answer = app
        .api
        .send(app.api.request(Method::PATCH, app::routes::SETUP))
        .await;
    assert_eq!(answer.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.error_code(), "method-not-allowed");
}
