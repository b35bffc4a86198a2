//! Marketplace connections: keys saved at once and checked in the background against the
//! simulator, the verdict live over SSE, bad input refused, secrets never shown or stored in
//! clear, and the guard's limits as the simulator sees them.

use std::time::Duration;

use app::{
    ConnectionStatus, ConnectionView, JobState, Marketplace, events::CONNECTION_UPDATED, routes,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::{
    marketplace::guard::Priority,
    queue::{JobContext, JobError, JobSpec, RetryPolicy},
    sim::{Faults, Side},
};
use tests::TestApp;

fn bricklink_body(app: &TestApp, account: usize) -> Value {
    app.keys_body(account, Marketplace::BrickLink)
}

fn brickowl_body(app: &TestApp, account: usize) -> Value {
    app.keys_body(account, Marketplace::BrickOwl)
}

async fn settled(app: &TestApp, marketplace: Marketplace) -> ConnectionView {
    app.until(15, "the check finishes", || async {
        let view = app.api.connection(marketplace).await;
        (view.status != ConnectionStatus::Pending).then_some(view)
    })
    .await
}

#[tokio::test]
async fn saved_keys_answer_at_once_and_turn_valid_in_the_background() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    let before = app.api.connection(Marketplace::BrickLink).await;
    assert_eq!(
        (before.status, before.configured),
        (ConnectionStatus::Absent, false)
    );

    let saved = app
        .api
        .put_connection(Marketplace::BrickLink, &bricklink_body(&app, 0))
        .await;
    assert_eq!(saved.status(), StatusCode::ACCEPTED, "{}", saved.text());
    let view: ConnectionView = saved.json();
    assert_eq!(
        (view.status, view.configured),
        (ConnectionStatus::Pending, true)
    );
    let url = view.webhook_url.unwrap();
    let token = url
        .strip_prefix(&format!("{}/hooks/bricklink/", app.base))
        .unwrap();
    assert!(
        token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit()),
        "{url}"
    );

    let checked = settled(&app, Marketplace::BrickLink).await;
    assert_eq!(
        checked.status,
        ConnectionStatus::Valid,
        "{:?}",
        checked.message
    );
    assert!(checked.message.unwrap().contains("accepted"));
    assert!(checked.checked_at.is_some());
    assert!(checked.usage.calls_today >= 1);
    assert_eq!(checked.usage.daily_budget, Some(5_000));
    let calls = app.sim.sim.stats().bricklink.calls;
    assert_eq!(
        calls.get("GET /colors/{id}"),
        Some(&1),
        "one cheap call checks the keys"
    );

    let owl = app
        .api
        .put_connection(Marketplace::BrickOwl, &brickowl_body(&app, 0))
        .await;
    assert_eq!(owl.status(), StatusCode::ACCEPTED);
    let checked = settled(&app, Marketplace::BrickOwl).await;
    assert_eq!(
        checked.status,
        ConnectionStatus::Valid,
        "{:?}",
        checked.message
    );
    assert_eq!(checked.usage.per_minute, Some(600));
}

#[tokio::test]
async fn refused_keys_turn_invalid_with_the_marketplaces_reason() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    let mut body = bricklink_body(&app, 0);
    body["token_secret"] = json!("00000000000000000000000000000000");
    app.api.put_connection(Marketplace::BrickLink, &body).await;
    let checked = settled(&app, Marketplace::BrickLink).await;
    assert_eq!(checked.status, ConnectionStatus::Invalid);
    assert!(checked.message.unwrap().contains("SIGNATURE_INVALID"));

    app.api
        .put_connection(Marketplace::BrickOwl, &json!({"api_key": "nosuchkey"}))
        .await;
    let checked = settled(&app, Marketplace::BrickOwl).await;
    assert_eq!(checked.status, ConnectionStatus::Invalid);
    assert!(checked.message.unwrap().contains("Invalid API Key"));

    // Fixing the keys checks again and wins over the old verdict.
    app.api
        .put_connection(Marketplace::BrickLink, &bricklink_body(&app, 0))
        .await;
    assert_eq!(
        settled(&app, Marketplace::BrickLink).await.status,
        ConnectionStatus::Valid
    );
}

#[tokio::test]
async fn an_address_bricklink_does_not_allow_is_explained() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    app.sim.sim.pin_ip(0, Some([192, 0, 2, 7].into()));
    app.api
        .put_connection(Marketplace::BrickLink, &bricklink_body(&app, 0))
        .await;
    let message = settled(&app, Marketplace::BrickLink).await.message.unwrap();
    assert!(
        message.contains("TOKEN_IP_MISMATCHED") && message.contains("0.0.0.0"),
        "{message}"
    );
}

#[tokio::test]
async fn the_verdict_arrives_over_the_event_stream() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    let mut stream = app
        .api
        .http
        .get(app.api.url(routes::EVENTS))
        .send()
        .await
        .unwrap();
    app.api
        .put_connection(Marketplace::BrickOwl, &brickowl_body(&app, 0))
        .await;
    let mut buffer = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let valid = loop {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .expect("an event within 15 s")
            .unwrap()
            .unwrap();
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        let found = buffer
            .split("\n\n")
            .filter(|block| block.contains(&format!("event: {CONNECTION_UPDATED}")))
            .filter_map(|block| block.lines().find_map(|l| l.strip_prefix("data: ")))
            .filter_map(|data| serde_json::from_str::<ConnectionView>(data).ok())
            .find(|view| view.status == ConnectionStatus::Valid);
        if let Some(view) = found {
            break view;
        }
    };
    assert_eq!(valid.marketplace, Marketplace::BrickOwl);
}

#[tokio::test]
async fn bad_input_is_refused_and_nothing_is_saved() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    let missing = app
        .api
        .put_connection(Marketplace::BrickLink, &json!({"consumer_key": "ABC"}))
        .await;
    assert_eq!(
        (missing.status(), missing.error_code().as_str()),
        (StatusCode::BAD_REQUEST, "invalid-json")
    );
    let mut spaced = bricklink_body(&app, 0);
    spaced["consumer_secret"] = json!("ABC DEF");
    let spaced = app
        .api
        .put_connection(Marketplace::BrickLink, &spaced)
        .await;
    assert_eq!(
        (spaced.status(), spaced.error_code().as_str()),
        (StatusCode::BAD_REQUEST, "invalid-input")
    );
    assert!(
        spaced.text().contains("consumer secret"),
        "{}",
        spaced.text()
    );
    let unknown = app
        .api
        .send(
            app.api
                .request(reqwest::Method::PUT, "/api/connections/ebay")
                .json(&json!({})),
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let no_csrf = reqwest::Client::new()
        .put(app.api.url(&routes::connection(Marketplace::BrickOwl)))
        .json(&brickowl_body(&app, 0))
        .send()
        .await
        .unwrap();
    assert_eq!(
        no_csrf.status(),
        StatusCode::UNAUTHORIZED,
        "no session, no save"
    );
    assert_eq!(
        app.api.connection(Marketplace::BrickLink).await.status,
        ConnectionStatus::Absent
    );
    assert_eq!(app.sim.sim.stats().bricklink.total, 0);
}

#[tokio::test]
async fn rotating_the_webhook_changes_its_url_and_disconnecting_forgets_everything() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    assert_eq!(
        app.api.rotate_webhook(Marketplace::BrickOwl).await.status(),
        StatusCode::NOT_FOUND
    );
    let first: ConnectionView = app
        .api
        .put_connection(Marketplace::BrickOwl, &brickowl_body(&app, 0))
        .await
        .json();
    let rotated = app.api.rotate_webhook(Marketplace::BrickOwl).await;
    assert_eq!(rotated.status(), StatusCode::OK);
    let rotated: ConnectionView = rotated.json();
    assert_ne!(rotated.webhook_url, first.webhook_url);
    assert!(rotated.webhook_url.unwrap().contains("/hooks/brickowl/"));

    assert_eq!(
        app.api
            .delete_connection(Marketplace::BrickOwl)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let gone = app.api.connection(Marketplace::BrickOwl).await;
    assert_eq!(
        (gone.status, gone.webhook_url),
        (ConnectionStatus::Absent, None)
    );
    assert_eq!(
        app.api
            .delete_connection(Marketplace::BrickOwl)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn each_user_sees_only_their_own_connections() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    app.api
        .put_connection(Marketplace::BrickLink, &bricklink_body(&app, 0))
        .await;
    app.create_user("bob", "bob@example.com").await;
    let bob = app.new_client();
    assert_eq!(
        bob.login("bob", tests::PASSWORD).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        bob.connection(Marketplace::BrickLink).await.status,
        ConnectionStatus::Absent
    );
    assert_eq!(
        bob.delete_connection(Marketplace::BrickLink).await.status(),
        StatusCode::NOT_FOUND
    );
    assert!(app.api.connection(Marketplace::BrickLink).await.configured);
}

#[tokio::test]
async fn a_marketplace_outage_keeps_the_check_pending_and_it_retries_until_it_works() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    app.sim.sim.set_faults(
        Side::BrickOwl,
        Faults {
            unavailable: 1.0,
            ..Faults::default()
        },
    );
    app.api
        .put_connection(Marketplace::BrickOwl, &brickowl_body(&app, 0))
        .await;
    let waiting = app
        .until(10, "the outage is reported", || async {
            let view = app.api.connection(Marketplace::BrickOwl).await;
            view.message
                .clone()
                .filter(|m| m.contains("did not answer"))
                .map(|_| view)
        })
        .await;
    assert_eq!(waiting.status, ConnectionStatus::Pending);
    app.sim.sim.set_faults(Side::BrickOwl, Faults::default());
    assert_eq!(
        settled(&app, Marketplace::BrickOwl).await.status,
        ConnectionStatus::Valid
    );
}

#[tokio::test]
async fn an_open_breaker_parks_the_check_without_spending_attempts() {
    let app = TestApp::spawn().await;
    let me = app.setup_admin().await.user.id;
    app.sim.sim.set_faults(
        Side::BrickOwl,
        Faults {
            unavailable: 1.0,
            ..Faults::default()
        },
    );
    app.api
        .put_connection(Marketplace::BrickOwl, &brickowl_body(&app, 0))
        .await;
    app.until(10, "the first attempt fails", || async {
        (app.sim.sim.stats().brickowl.total >= 1).then_some(())
    })
    .await;
    // Other work keeps failing too, and the breaker opens.
    let account = app
        .state
        .services
        .marketplaces
        .guard()
        .account(me, Marketplace::BrickOwl);
    for _ in 0..5 {
        if let Ok(permit) = account.acquire(Priority::Background).await {
            permit.failed();
        }
    }
    let view = app
        .until(10, "the check is parked", || async {
            let view = app.api.connection(Marketplace::BrickOwl).await;
            view.message
                .clone()
                .filter(|m| m.starts_with("Waiting"))
                .map(|_| view)
        })
        .await;
    assert_eq!(view.usage.breaker, app::BreakerState::Open);
    let job = app
        .state
        .services
        .queue
        .list()
        .unwrap()
        .into_iter()
        .find(|j| j.kind == "validate_connection")
        .unwrap();
    assert_eq!(job.state, JobState::Scheduled);
    assert_eq!(
        u64::from(job.attempts),
        app.sim.sim.stats().brickowl.total,
        "every spent attempt made a call; the parked one spent none"
    );
    assert!(job.attempts < job.max_attempts);
}

#[tokio::test]
async fn fifty_concurrent_jobs_never_have_more_than_four_bricklink_calls_in_flight() {
    let app = TestApp::spawn().await;
    let me = app.setup_admin().await.user.id;
    app.sim.sim.set_faults(
        Side::BrickLink,
        Faults {
            latency_ms: 30,
            ..Faults::default()
        },
    );
    let markets = app.state.services.marketplaces.clone();
    let keys = app.sim.sim.keys(0).unwrap().bricklink;
    app.state.services.queue.register(
        "test_catalog_call",
        RetryPolicy::default(),
        move |_ctx: JobContext| {
            let client = markets.bricklink(me, keys.clone().into());
            async move {
                client
                    .item("PART", "970c00", Priority::Background)
                    .await
                    .map_err(JobError::from)?;
                Ok(Value::Null)
            }
        },
    );
    for i in 0..50 {
        let queue = [
            app::QueueName::Critical,
            app::QueueName::Default,
            app::QueueName::Bulk,
        ][i % 3];
        app.state
            .services
            .queue
            .enqueue(
                JobSpec::new("test_catalog_call", json!({}))
                    .queue(queue)
                    .owner(me),
            )
            .await
            .unwrap();
    }
    tokio::time::timeout(
        Duration::from_secs(60),
        app.state.services.queue.until_settled(),
    )
    .await
    .unwrap();
    let stats = app.sim.sim.stats().bricklink;
    assert_eq!(stats.total, 50);
    assert_eq!(
        stats.max_in_flight, 4,
        "concurrent, never above BrickLink's limit"
    );
    let usage = app.api.connection(Marketplace::BrickLink).await.usage;
    assert_eq!(usage.calls_today, 50, "counted per account");
    let metrics = app.api.send(app.metrics_request()).await.text();
    assert!(
        metrics.contains(&format!(
            "brickdesk_marketplace_calls_total{{user=\"{me}\",marketplace=\"bricklink\"}} 50"
        )),
        "{metrics}"
    );
    assert!(metrics.trim_end().ends_with("# EOF") && metrics.matches("# EOF").count() == 1);
}

#[tokio::test]
async fn secrets_are_never_returned_nor_stored_in_clear() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    let keys = app.sim.sim.keys(0).unwrap();
    app.api
        .put_connection(Marketplace::BrickLink, &bricklink_body(&app, 0))
        .await;
    app.api
        .put_connection(Marketplace::BrickOwl, &brickowl_body(&app, 0))
        .await;
    settled(&app, Marketplace::BrickLink).await;
    settled(&app, Marketplace::BrickOwl).await;
    let listed = app.api.list_connections().await.text();
    let secrets = [
        keys.bricklink.consumer_secret.as_str(),
        keys.bricklink.token_secret.as_str(),
        keys.brickowl.api_key.as_str(),
    ];
    for secret in secrets {
        assert!(!listed.contains(secret), "{listed}");
    }
    let dir = app.stop().await;
    let mut files = vec![dir.path().to_owned()];
    let mut scanned = 0;
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        scanned += bytes.len();
        for secret in secrets {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret} in clear in {}",
                path.display()
            );
        }
    }
    assert!(scanned > 0);
}
