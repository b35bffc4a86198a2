//! Messages and feedback through the simulator: a buyer's BrickLink message and feedback
//! arrive by push and are read into the order's conversation (and the dashboard's card); the
//! seller replies to the feedback and leaves feedback on both marketplaces as jobs; what an
//! API does not offer is refused in words.

use app::{
    Conversation, Dashboard, JobState, JobView, Marketplace, OrderRef, Queued, Rating, routes,
};
use reqwest::StatusCode;
use serde_json::json;
use tests::{PASSWORD, TestApp};

async fn wired() -> TestApp {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    app.connect(&app.api, 0, Marketplace::BrickLink).await;
    app.connect(&app.api, 0, Marketplace::BrickOwl).await;
    let bricklink = app.api.connection(Marketplace::BrickLink).await.webhook_url;
    let brickowl = app.api.connection(Marketplace::BrickOwl).await.webhook_url;
    app.sim.sim.set_callbacks(0, bricklink, brickowl);
    app
}

/// An order of `side` brickdesk has.
async fn known_order(app: &TestApp, marketplace: Marketplace) -> i64 {
    let list: app::OrderList = app
        .api
        .list_orders(&format!("marketplace={}&per_page=50", marketplace.as_str()))
        .await
        .json();
    list.orders
        .iter()
        .find(|o| o.status != app::OrderStatus::Archived)
        .expect("an order")
        .order_id
        .parse()
        .unwrap()
}

async fn conversation(app: &TestApp, marketplace: Marketplace, order: i64) -> Conversation {
    let answer = app
        .api
        .get(&routes::order_messages(marketplace, &order.to_string()))
        .await;
    assert_eq!(answer.status(), StatusCode::OK, "{}", answer.text());
    answer.json()
}

async fn job_succeeds(app: &TestApp, answer: tests::Answer) {
    assert_eq!(answer.status(), StatusCode::ACCEPTED, "{}", answer.text());
    let id = answer.json::<Queued>().job_ids[0];
    let job: JobView = app
        .until(20, "the job ends", || async {
            let job: JobView = app.api.get_job(id).await.json();
            job.state.is_terminal().then_some(job)
        })
        .await;
    assert_eq!(job.state, JobState::Succeeded, "{job:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_and_feedback_round_trip_through_the_simulator() {
    let app = wired().await;
    let order = known_order(&app, Marketplace::BrickLink).await;
    let before = conversation(&app, Marketplace::BrickLink, order).await;
    assert!(before.fetched_at.is_none() && before.messages.is_empty());
    assert!(before.can.read_messages && !before.can.send_messages);

    // The buyer writes: the push brings it in.
    assert!(
        app.sim
            .sim
            .buyer_writes(0, order, "Order question", "Is the 2 x 4 brick black?")
    );
    let thread = app
        .until(20, "the message is read", || async {
            let c = conversation(&app, Marketplace::BrickLink, order).await;
            (!c.messages.is_empty()).then_some(c)
        })
        .await;
    assert_eq!(thread.messages[0].body, "Is the 2 x 4 brick black?");
    assert!(!thread.messages[0].from_seller && thread.unanswered());
    let dashboard: Dashboard = app.api.get(routes::DASHBOARD).await.json();
    let this = OrderRef {
        marketplace: Marketplace::BrickLink,
        order_id: order.to_string(),
    };
    assert!(dashboard.conversations.unanswered.contains(&this));

    // The buyer rates the seller; the seller replies once.
    let feedback_id = app
        .sim
        .sim
        .buyer_rates(0, order, 0, "Great seller")
        .unwrap();
    app.until(20, "the feedback is read", || async {
        let c = conversation(&app, Marketplace::BrickLink, order).await;
        c.feedback
            .iter()
            .any(|f| f.id == Some(feedback_id))
            .then_some(())
    })
    .await;
    let reply_path =
        routes::order_feedback_reply(Marketplace::BrickLink, &order.to_string(), feedback_id);
    let empty = app
        .api
        .post_json(&reply_path, &json!({"reply": "  "}))
        .await;
    assert_eq!(empty.status(), StatusCode::BAD_REQUEST);
    assert_eq!(empty.error_code(), "invalid-input");
    job_succeeds(
        &app,
        app.api
            .post_json(&reply_path, &json!({"reply": "Thank you!"}))
            .await,
    )
    .await;
    let on_bricklink = app.sim.sim.feedback_on(0, order);
    assert_eq!(on_bricklink[0].reply.as_deref(), Some("Thank you!"));
    let twice = app
        .api
        .post_json(&reply_path, &json!({"reply": "Again"}))
        .await;
    assert_eq!(twice.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = app
        .api
        .post_json(
            &routes::order_feedback_reply(Marketplace::BrickLink, &order.to_string(), 1),
            &json!({"reply": "Hi"}),
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    // The seller rates the buyer: on BrickLink, then refused a second time.
    let leave = routes::order_feedback(Marketplace::BrickLink, &order.to_string());
    let long = app
        .api
        .post_json(
            &leave,
            &json!({"rating": "praise", "comment": "x".repeat(121)}),
        )
        .await;
    assert_eq!(long.status(), StatusCode::BAD_REQUEST);
    job_succeeds(
        &app,
        app.api
            .post_json(
                &leave,
                &json!({"rating": "praise", "comment": "Fast payment"}),
            )
            .await,
    )
    .await;
    let left = app
        .sim
        .sim
        .feedback_on(0, order)
        .into_iter()
        .find(|f| f.rating_of == "B")
        .expect("left on BrickLink");
    assert_eq!((left.rating, left.comment.as_str()), (0, "Fast payment"));
    let now = conversation(&app, Marketplace::BrickLink, order).await;
    assert!(now.seller_left_feedback());
    assert!(
        now.feedback
            .iter()
            .any(|f| f.from_seller && f.rating == Rating::Praise)
    );
    let again = app
        .api
        .post_json(&leave, &json!({"rating": "neutral", "comment": "Again"}))
        .await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(again.error_code(), "not-allowed");

    // BrickOwl: no messages to read, feedback can be left.
    let owl = known_order(&app, Marketplace::BrickOwl).await;
    let refused = app
        .api
        .post_json(
            &routes::order_messages_fetch(Marketplace::BrickOwl, &owl.to_string()),
            &json!({}),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().contains("no messages"), "{}", refused.text());
    job_succeeds(
        &app,
        app.api
            .post_json(
                &routes::order_feedback(Marketplace::BrickOwl, &owl.to_string()),
                &json!({"rating": "complaint", "comment": "Paid late"}),
            )
            .await,
    )
    .await;
    assert_eq!(
        app.sim.sim.brickowl_feedback(0, owl),
        Some((-1, "Paid late".to_owned()))
    );
    let owl_now = conversation(&app, Marketplace::BrickOwl, owl).await;
    assert_eq!(owl_now.left.map(|f| f.rating), Some(Rating::Complaint));

    // Another seller sees none of it.
    app.create_user("bob", "bob@example.com").await;
    let bob = app.new_client();
    bob.login("bob", PASSWORD).await;
    assert_eq!(
        bob.get(&routes::order_messages(
            Marketplace::BrickLink,
            &order.to_string()
        ))
        .await
        .status(),
        StatusCode::NOT_FOUND
    );
}
