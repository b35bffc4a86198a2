//! Payments against the simulator: BrickLink announces none, so the poll must notice them.

use app::{Marketplace, OrderDetail, OrderStatus};
use server::sim::Side;
use tests::TestApp;

/// BrickLink neither pushes nor moves the status date when a buyer pays a pending order: the
/// poll reads the payment status too, so the order still turns Paid.
#[tokio::test]
async fn a_payment_that_changes_nothing_else_still_turns_the_order_paid() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    app.connect(&app.api, 0, Marketplace::BrickLink).await;
    let id = app.sim.sim.place_order(0, Side::BrickLink).unwrap();
    server::scheduler::poll_all(&app.state.services)
        .await
        .unwrap();
    app.settle().await;
    let before: OrderDetail = app
        .api
        .get_order(Marketplace::BrickLink, &id.to_string())
        .await
        .json();
    assert_eq!(before.summary.status, OrderStatus::New);

    assert!(app.sim.sim.pay(0, id));
    server::scheduler::poll_all(&app.state.services)
        .await
        .unwrap();
    app.settle().await;
    let after: OrderDetail = app
        .api
        .get_order(Marketplace::BrickLink, &id.to_string())
        .await
        .json();
    assert_eq!(after.summary.status, OrderStatus::Paid);
    assert_eq!(after.summary.changed_at, before.summary.changed_at);
}
