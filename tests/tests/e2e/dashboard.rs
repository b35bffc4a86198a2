//! The dashboard, search and schedules over HTTP against an imported simulated shop.

use app::{Dashboard, Marketplace, OrderList, OrderStatus, Schedule, SearchResults, routes};
use reqwest::StatusCode;
use server::sim::SimConfig;
use tests::TestApp;
use time::{Duration, OffsetDateTime};

#[tokio::test]
async fn the_dashboard_adds_up_the_imported_orders_for_their_owner_only() {
    let app = TestApp::spawn_full(tempfile::tempdir().unwrap(), &SimConfig::default(), |c| {
        c.poll_cron = "*/10 * * * *".into();
    })
    .await;
    app.setup_admin().await;
    app.connect(&app.api, 0, Marketplace::BrickLink).await;
    app.connect(&app.api, 0, Marketplace::BrickOwl).await;
    app.api.create_list("Rebuilds").await;

    let answer = app.api.get(routes::DASHBOARD).await;
    assert_eq!(answer.status(), StatusCode::OK, "{}", answer.text());
    let dashboard: Dashboard = answer.json();
    let all: OrderList = app.api.get("/api/orders?per_page=500").await.json();
    let since = (OffsetDateTime::now_utc() - Duration::days(29)).date();
    let in_window = all
        .orders
        .iter()
        .filter(|o| o.status != OrderStatus::Cancelled && o.ordered_at.date() >= since)
        .count();
    let counted: u32 = dashboard.sales.iter().map(|s| s.month.orders).sum();
    assert_eq!(counted as usize, in_window);
    assert!(dashboard.sales.iter().all(|s| s.daily.len() == 30));
    let new = all
        .orders
        .iter()
        .filter(|o| o.status == OrderStatus::New)
        .count();
    assert_eq!(dashboard.needs_action.to_invoice as usize, new);
    assert_eq!(dashboard.connections.len(), 2);
    assert!(
        dashboard
            .connections
            .iter()
            .all(|c| c.last_sync_at.is_some())
    );
    assert_eq!(dashboard.minifigs.lists, 1);
    assert!(!dashboard.activity.is_empty());
    assert_eq!(dashboard.jobs.dead, 0);

    app.create_user("bob", "bob@example.com").await;
    let bob = app.new_client();
    bob.login("bob", tests::PASSWORD).await;
    let theirs: Dashboard = bob.get(routes::DASHBOARD).await.json();
    assert!(theirs.sales.is_empty() && theirs.top_items.is_empty());
    assert_eq!(theirs.minifigs.lists, 0);
    assert!(theirs.activity.is_empty());
    assert!(
        theirs
            .connections
            .iter()
            .all(|c| c.status == app::ConnectionStatus::Absent)
    );

    // Search: the first order's buyer, then the same again from the cache; never for Bob.
    let buyer = all.orders[0].buyer.clone();
    let path = format!("{}?q={}", routes::SEARCH, buyer);
    let first: SearchResults = app.api.get(&path).await.json();
    assert!(!first.cached);
    assert!(first.hits.iter().any(|h| h.title == buyer), "{first:?}");
    let again: SearchResults = app.api.get(&path).await.json();
    assert!(again.cached);
    let none: SearchResults = bob.get(&path).await.json();
    assert!(none.hits.is_empty());
    let long = format!("{}?q={}", routes::SEARCH, "x".repeat(101));
    assert_eq!(app.api.get(&long).await.status(), StatusCode::BAD_REQUEST);

    let schedules: Vec<Schedule> = app.api.get(routes::SCHEDULES).await.json();
    let poll = schedules.iter().find(|s| s.name == "poll_cron").unwrap();
    assert!(poll.enabled && poll.next_run.is_some() && poll.last_run.is_none());
    let colors = schedules.iter().find(|s| s.name == "colors_cron").unwrap();
    assert!(!colors.enabled, "tests turn it off");
}
