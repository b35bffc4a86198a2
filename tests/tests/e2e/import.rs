//! A big first import: 2,000 orders in chunk jobs on the bulk queue, one progress bar that only
//! ever rises, exactly the simulator's orders at the end, and one activity entry per chunk
//! rather than one per order sold years ago.

use app::{ActivityKind, JobState, Marketplace, OrderList};
use server::sim::{Side, SimConfig};
use tests::TestApp;
use tokio::sync::broadcast::error::RecvError;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2000_order_import_reports_steadily_rising_progress() {
    let app = TestApp::spawn_with_sim(&SimConfig {
        accounts: 1,
        bricklink_orders: 2_000,
        brickowl_orders: 0,
        ..SimConfig::default()
    })
    .await;
    app.setup_admin().await;
    let mut events = app.state.services.queue.subscribe();
    let watcher = tokio::spawn(async move {
        let mut percents = Vec::new();
        loop {
            match events.recv().await {
                Ok(event) if event.kind == "import_orders_batch" => {
                    if let Some(progress) = &event.progress {
                        percents.push(progress.percent);
                    }
                    if event.state.is_terminal() {
                        return (percents, Some((event.id, event.state)));
                    }
                }
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return (percents, None),
            }
        }
    });
    app.connect(&app.api, 0, Marketplace::BrickLink).await;
    let (percents, finished) = tokio::time::timeout(std::time::Duration::from_secs(30), watcher)
        .await
        .expect("the batch finishes")
        .unwrap();
    let (batch, state) = finished.expect("the batch's end was seen");
    assert_eq!(state, JobState::Succeeded);
    let record = app.state.services.queue.get(batch).unwrap().unwrap();
    assert_eq!(
        record.batch.unwrap().succeeded,
        80,
        "2,000 orders in chunks of 25"
    );
    assert!(
        percents.len() >= 10,
        "progress was reported along the way: {percents:?}"
    );
    assert!(
        percents.windows(2).all(|w| w[0] <= w[1]),
        "never goes back: {percents:?}"
    );
    assert_eq!(percents.last(), Some(&100));

    let list: OrderList = app.api.list_orders("per_page=1").await.json();
    assert_eq!(list.total, app.sim.sim.orders(0, Side::BrickLink).len());
    let store = &app.state.services.store;
    let user = store.users().list().unwrap()[0].id;
    let feed = store.activity().recent(user, 1_000).unwrap();
    let parts: Vec<&str> = feed
        .iter()
        .filter(|e| e.kind == ActivityKind::Sync && e.text.starts_with("BrickLink import:"))
        .map(|e| e.text.as_str())
        .collect();
    assert_eq!(parts.len(), 80, "one entry per chunk: {parts:?}");
    assert!(
        parts
            .iter()
            .all(|text| *text == "BrickLink import: 25 new or changed orders stored"),
        "{parts:?}"
    );
    assert!(
        feed.iter().all(|e| e.kind != ActivityKind::OrderNew),
        "no entry per imported order"
    );
    let usage = app.api.connection(Marketplace::BrickLink).await.usage;
    assert!(
        usage.calls_today <= 4_500,
        "within the background share of the budget: {}",
        usage.calls_today
    );
}
