//! Attacks on a brickdesk reachable from the internet, by someone who read the code; each test
//! is one attack, run against the real server over HTTP, and what stops it.

use app::{Marketplace, routes};
use reqwest::{Method, StatusCode};
use serde_json::json;
use server::sim::{Faults, Side};
use tests::{PASSWORD, TestApp};

/// Attack: make a BrickOwl call fail after connecting, so that reqwest's error text, which
/// carries the request URL and with it BrickOwl's key, lands in the connection's message, the
/// job's errors and every backup.
#[tokio::test]
async fn a_dropped_answer_never_puts_the_brickowl_key_in_messages_jobs_or_backups() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    let cut = Faults {
        cut_off: 1.0,
        ..Faults::default()
    };
    app.sim.sim.set_faults(Side::BrickOwl, cut);
    let body = app.keys_body(0, Marketplace::BrickOwl);
    let key = body["api_key"].as_str().unwrap().to_owned();
    let saved = app.api.put_connection(Marketplace::BrickOwl, &body).await;
    assert_eq!(saved.status(), StatusCode::ACCEPTED);
    let message = app
        .until(20, "the failed check is reported", || async {
            let view = app.api.connection(Marketplace::BrickOwl).await;
            view.message.filter(|m| m.contains("did not answer"))
        })
        .await;
    assert!(!message.contains(&key), "{message}");
    let jobs = app.api.list_jobs("").await.text();
    assert!(jobs.contains("validate_connection"), "{jobs}");
    assert!(!jobs.contains(&key), "job list: {jobs}");
    let list: app::JobList = app.api.list_jobs("").await.json();
    for job in list.jobs {
        let detail = app.api.get_job(job.id).await.text();
        assert!(!detail.contains(&key), "job {}: {detail}", job.id);
    }
    let control = server::control::read(app.data_dir.path()).unwrap();
    let backup = reqwest::Client::new()
        .post(format!("{}{}", control.url, routes::ADMIN_BACKUP))
        .header(server::control::HEADER, &control.token)
        .json(&json!({"with_secret_key": false}))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let needle = key.as_bytes();
    assert!(
        !backup.windows(needle.len()).any(|w| w == needle),
        "the backup holds the key in clear"
    );
}

/// Attack: behind a proxy, write your own `X-Forwarded-For` so that every guess seems to come
/// from another address. brickdesk reads the entry the proxy appended (the last one).
#[tokio::test]
async fn a_forged_forwarded_for_does_not_escape_login_throttling() {
    let app = TestApp::spawn_with(|c| c.trust_proxy_headers = true).await;
    app.setup_admin().await;
    let attacker = app.new_client();
    let mut throttled = false;
    for n in 0..40 {
        let request = attacker
            .request(Method::POST, routes::SESSION)
            .header("x-forwarded-for", format!("198.51.100.{n}, 203.0.113.7"))
            .json(&json!({"login": format!("guess{n}"), "password": "wrong password"}));
        if attacker.send(request).await.status() == StatusCode::TOO_MANY_REQUESTS {
            throttled = true;
            break;
        }
    }
    assert!(throttled, "the address the proxy saw is throttled");
}

/// Attack: ask for page 2^64 − 1 of the orders or the jobs, hoping for an overflow.
#[tokio::test]
async fn huge_page_numbers_answer_an_empty_page() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    for path in [
        "/api/orders?page=18446744073709551615&per_page=500",
        "/api/jobs?page=18446744073709551615&per_page=200",
    ] {
        let answer = app.api.get(path).await;
        assert_eq!(answer.status(), StatusCode::OK, "{path}: {}", answer.text());
    }
    let too_big = app.api.get("/api/orders?page=18446744073709551616").await;
    assert_eq!(too_big.status(), StatusCode::BAD_REQUEST);
}

/// Attack: name a list with a right-to-left override or hidden control characters so that it
/// reads differently from what it is, in the UI and in exports.
#[tokio::test]
async fn text_with_direction_overrides_or_control_characters_is_refused() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    for name in [
        "invoice\u{202E}fdp.exe",
        "a\u{2066}b",
        "bell\u{7}",
        "carriage\rreturn",
    ] {
        let answer = app
            .api
            .post_json(routes::MINIFIG_LISTS, &json!({ "name": name }))
            .await;
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST, "{name:?}");
        assert_eq!(answer.error_code(), "invalid-input");
    }
    let profile = app
        .api
        .put_me(&json!({"display_name": "Anna\u{202E}nimda"}))
        .await;
    assert_eq!(profile.status(), StatusCode::BAD_REQUEST);
}

/// Attack: scrape `/metrics` for the shop's activity without being asked to.
#[tokio::test]
async fn metrics_want_the_configured_token_and_are_off_without_one() {
    let off = TestApp::spawn_with(|c| c.metrics_token = None).await;
    assert_eq!(
        off.api.get(routes::METRICS).await.status(),
        StatusCode::NOT_FOUND
    );
    let app = TestApp::spawn().await;
    assert_eq!(
        app.api.get(routes::METRICS).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let wrong = app
        .api
        .request(Method::GET, routes::METRICS)
        .bearer_auth("guess");
    assert_eq!(app.api.send(wrong).await.status(), StatusCode::UNAUTHORIZED);
    let scrape = app.api.send(app.metrics_request()).await;
    assert_eq!(scrape.status(), StatusCode::OK);
    assert!(scrape.text().contains("brickdesk_jobs"));
}

/// Attack: over https, plant a session cookie from a sibling subdomain, or have the site
/// downgraded to http; open the UI in a window that keeps a handle on it.
#[tokio::test]
async fn https_deployments_pin_https_and_the_cookie_to_the_host() {
    let app = TestApp::spawn_with(|c| c.public_url = Some("https://shop.example.com".into())).await;
    let answer = app
        .api
        .post_setup(
            &json!({"username": "admin", "email": "admin@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(answer.status(), StatusCode::OK);
    let cookie = answer.header("set-cookie").unwrap_or_default().to_owned();
    assert!(cookie.starts_with("__Host-"), "{cookie}");
    assert!(
        cookie.contains("Secure") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("Domain"), "{cookie}");
    let page = app.api.get("/").await;
    let hsts = page.header("strict-transport-security").unwrap_or_default();
    assert!(hsts.contains("max-age="), "{hsts}");
    assert_eq!(
        page.header("cross-origin-opener-policy"),
        Some("same-origin")
    );

    let plain = TestApp::spawn().await;
    let page = plain.api.get("/").await;
    assert_eq!(
        page.header("strict-transport-security"),
        None,
        "not over plain http"
    );
    assert_eq!(
        page.header("cross-origin-opener-policy"),
        Some("same-origin")
    );
}

/// Attack: once an account is disabled, keep using its leaked webhook URL to make brickdesk
/// spend the marketplace allowance, or rely on the schedule polling for it.
#[tokio::test]
async fn a_disabled_accounts_connections_rest() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    let user = app.create_user("bea", "bea@example.com").await;
    let bea = app.new_client();
    bea.login("bea", PASSWORD).await;
    app.connect(&bea, 0, Marketplace::BrickLink).await;
    let hook = bea
        .connection(Marketplace::BrickLink)
        .await
        .webhook_url
        .unwrap();
    app.state
        .services
        .store
        .users()
        .set_disabled(user.id, true)
        .unwrap();
    let queued = server::scheduler::poll_all(&app.state.services)
        .await
        .unwrap();
    assert_eq!(queued, 0, "no poll for a disabled account");
    let pushed = reqwest::Client::new().post(&hook).send().await.unwrap();
    assert_eq!(pushed.status(), StatusCode::NOT_FOUND);
}

/// Attack: read the data directory or a backup's temporary file as another local user, or
/// plant a link where brickdesk writes one.
#[cfg(unix)]
#[tokio::test]
async fn the_data_directory_and_backup_files_are_the_owners_alone() {
    use std::os::unix::fs::PermissionsExt as _;

    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("data");
    let store = server::store::Store::open(&dir).unwrap();
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700, "the data directory");

    let out = parent.path().join("shop.backup");
    let elsewhere = parent.path().join("victim.txt");
    std::fs::write(&elsewhere, "keep me").unwrap();
    // A link planted where the backup writes its temporary body.
    std::os::unix::fs::symlink(&elsewhere, out.with_extension("body.partial")).unwrap();
    server::backup::write(&store, &dir, &out, false).unwrap();
    assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "keep me");
    let mode = std::fs::metadata(&out).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the backup");
}

/// Attack: after someone tried the demo on the server, log in as `demo`/`demo` (a password
/// everyone knows) on the real shop that later started on the same data directory.
#[tokio::test]
async fn the_demos_public_account_never_meets_a_real_shop() {
    let demo = tempfile::tempdir().unwrap();
    let config = |dir: &std::path::Path, demo: bool| server::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.to_owned(),
        demo,
        ..server::Config::default()
    };
    // Built and stopped at once, as a demo that ran and ended.
    server::Application::build(config(demo.path(), true))
        .await
        .unwrap()
        .run_until_stopped(std::future::ready(()))
        .await
        .unwrap();
    let refused = server::Application::build(config(demo.path(), false))
        .await
        .err()
        .unwrap();
    assert!(
        refused.to_string().contains("made by `serve --demo`"),
        "{refused}"
    );

    // A demo from before stores were marked left demo/demo in what became a real shop.
    let old_demo = TestApp::spawn().await;
    old_demo.setup_admin().await;
    old_demo
        .state
        .services
        .store
        .users()
        .create(
            server::store::NewUser {
                username: app::validate::Username::parse("demo").unwrap(),
                email: app::validate::Email::parse("demo@example.com").unwrap(),
                is_admin: false,
                password_hash: server::auth::password::hash("demo".into()).await.unwrap(),
            },
            server::store::users::Creation::Any,
        )
        .unwrap();
    let dir = old_demo.stop().await;
    let refused = server::Application::build(config(dir.path(), false))
        .await
        .err()
        .unwrap();
    assert!(
        refused.to_string().contains("public password demo"),
        "{refused}"
    );

    let shop = TestApp::spawn().await;
    shop.setup_admin().await;
    let dir = shop.stop().await;
    let refused = server::Application::build(config(dir.path(), true))
        .await
        .err()
        .unwrap();
    assert!(
        refused.to_string().contains("holds a real shop"),
        "{refused}"
    );
}

/// Attack: find a freshly started server before its owner does and make yourself its
/// administrator.
#[tokio::test]
async fn a_fresh_server_wants_its_setup_code_from_anywhere_but_itself() {
    let app = TestApp::spawn_with(|c| c.trust_proxy_headers = true).await;
    let stranger = app.new_client();
    let from_afar = |body: serde_json::Value| {
        stranger
            .request(Method::POST, routes::SETUP)
            .header("x-forwarded-for", "203.0.113.50")
            .json(&body)
    };
    let status: app::SetupStatus = stranger
        .send(
            stranger
                .request(Method::GET, routes::SETUP)
                .header("x-forwarded-for", "203.0.113.50"),
        )
        .await
        .json();
    assert!(status.needed && status.code_needed);
    let account = json!({"username": "mallory", "email": "m@example.com", "password": PASSWORD});
    let refused = stranger.send(from_afar(account.clone())).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let mut guessed = account.clone();
    guessed["setup_code"] = json!("AAAA-AAAA");
    assert_eq!(
        stranger.send(from_afar(guessed)).await.status(),
        StatusCode::FORBIDDEN
    );
    assert!(
        app.api.get_setup().await.json::<app::SetupStatus>().needed,
        "still not set up"
    );

    let code = server::setup_code::read(app.data_dir.path()).expect("the code is kept");
    let mut owner = account;
    owner["username"] = json!("owner");
    owner["setup_code"] = json!(code.to_lowercase());
    assert_eq!(
        stranger.send(from_afar(owner)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        server::setup_code::read(app.data_dir.path()),
        None,
        "used up"
    );
}

/// Attack: keep the owner out by sending wrong passwords for their login from many addresses
/// (a botnet, or forged `X-Forwarded-For` entries behind a proxy).
#[tokio::test]
async fn wrong_passwords_from_anywhere_never_keep_the_owner_out() {
    let app = TestApp::spawn_with(|c| c.trust_proxy_headers = true).await;
    app.setup_admin().await;
    let attacker = app.new_client();
    for n in 0..30 {
        let request = attacker
            .request(Method::POST, routes::SESSION)
            .header("x-forwarded-for", format!("198.51.100.{n}"))
            .json(&json!({"login": "admin", "password": "wrong password"}));
        let status = attacker.send(request).await.status();
        assert!(
            status == StatusCode::UNAUTHORIZED || status == StatusCode::TOO_MANY_REQUESTS,
            "{status}"
        );
    }
    let owner = app.new_client();
    let request = owner
        .request(Method::POST, routes::SESSION)
        .header("x-forwarded-for", "192.0.2.10")
        .json(&json!({"login": "admin", "password": PASSWORD}));
    assert_eq!(owner.send(request).await.status(), StatusCode::OK);
}
