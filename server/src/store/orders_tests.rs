use app::{Money, OrderLine, Shipment};
use time::Duration;

use super::*;
use crate::store::Store;

const ANNA: UserId = UserId(1);
const BOB: UserId = UserId(2);

pub fn order(
    marketplace: Marketplace,
    id: u64,
    buyer: &str,
    status: OrderStatus,
    age_days: i64,
) -> OrderDetail {
    let at = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000 - age_days);
    OrderDetail {
        summary: OrderSummary {
            marketplace,
            order_id: id.to_string(),
            ordered_at: at,
            changed_at: at,
            status,
            marketplace_status: "X".into(),
            buyer: buyer.into(),
            total: Money(i64::try_from(id).unwrap_or(0) * 100),
            currency: "USD".into(),
            items: 3,
            lots: 1,
            filed: false,
        },
        buyer_email: None,
        shipment: Shipment::default(),
        subtotal: Money(0),
        shipping_cost: Money(0),
        remarks: None,
        lines: vec![OrderLine {
            item_type: "PART".into(),
            item_no: "3001".into(),
            name: "Brick 2 x 4".into(),
            color_id: 11,
            color_name: Some("Black".into()),
            quantity: 3,
            new: true,
            unit_price: Money(500),
            remarks: None,
            batch: 1,
            image: None,
        }],
        synced_at: at,
        store_id: None,
    }
}

fn filter() -> OrderFilter {
    OrderFilter {
        per_page: 50,
        page: 1,
        ..OrderFilter::default()
    }
}

#[test]
fn upserts_are_idempotent_and_report_what_changed() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path()).expect("store");
    let mut first = order(Marketplace::BrickLink, 10, "anna", OrderStatus::New, 1);
    assert_eq!(
        store.orders().upsert(ANNA, &first).expect("ok"),
        Upserted::New
    );
    first.synced_at += Duration::hours(1);
    assert_eq!(
        store.orders().upsert(ANNA, &first).expect("ok"),
        Upserted::Unchanged
    );
    first.summary.status = OrderStatus::Paid;
    assert_eq!(
        store.orders().upsert(ANNA, &first).expect("ok"),
        Upserted::Changed
    );
    assert_eq!(store.orders().count(ANNA), 1);
}

#[test]
fn lists_filter_search_sort_and_page_one_users_orders() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path()).expect("store");
    let orders = store.orders();
    for (id, buyer, status, age) in [
        (1, "alice", OrderStatus::New, 5),
        (2, "bricky bob", OrderStatus::Paid, 4),
        (3, "carol", OrderStatus::Shipped, 3),
        (4, "dave", OrderStatus::Paid, 2),
    ] {
        orders
            .upsert(ANNA, &order(Marketplace::BrickLink, id, buyer, status, age))
            .expect("ok");
    }
    orders
        .upsert(
            ANNA,
            &order(Marketplace::BrickOwl, 9, "erin", OrderStatus::Paid, 1),
        )
        .expect("ok");
    orders
        .upsert(
            BOB,
            &order(Marketplace::BrickLink, 77, "frank", OrderStatus::Paid, 1),
        )
        .expect("ok");

    let all = orders.list(ANNA, &filter());
    assert_eq!(all.total, 5, "only Anna's");
    let ids = |list: &OrderList| {
        list.orders
            .iter()
            .map(|o| o.order_id.clone())
            .collect::<Vec<_>>()
    };
    let newest_first = orders.list(
        ANNA,
        &OrderFilter {
            descending: true,
            ..filter()
        },
    );
    assert_eq!(ids(&newest_first), ["9", "4", "3", "2", "1"]);
    let paid = orders.list(
        ANNA,
        &OrderFilter {
            statuses: vec![OrderStatus::Paid],
            ..filter()
        },
    );
    assert_eq!(ids(&paid), ["2", "4", "9"]);
    let owl = orders.list(
        ANNA,
        &OrderFilter {
            marketplace: Some(Marketplace::BrickOwl),
            ..filter()
        },
    );
    assert_eq!(ids(&owl), ["9"]);
    let search = orders.list(
        ANNA,
        &OrderFilter {
            query: Some("BOB".into()),
            ..filter()
        },
    );
    assert_eq!(ids(&search), ["2"]);
    let by_item = orders.list(
        ANNA,
        &OrderFilter {
            query: Some("brick 2 x".into()),
            ..filter()
        },
    );
    assert_eq!(by_item.total, 5);
    let by_total = orders.list(
        ANNA,
        &OrderFilter {
            sort: OrderSort::Total,
            descending: true,
            ..filter()
        },
    );
    assert_eq!(ids(&by_total)[0], "9");
    let page_two = orders.list(
        ANNA,
        &OrderFilter {
            per_page: 2,
            page: 2,
            ..filter()
        },
    );
    assert_eq!(
        (ids(&page_two), page_two.total),
        (vec!["3".to_owned(), "4".to_owned()], 5)
    );
    let window = orders.list(
        ANNA,
        &OrderFilter {
            from: Some(OffsetDateTime::UNIX_EPOCH + Duration::days(20_000 - 4)),
            to: Some(OffsetDateTime::UNIX_EPOCH + Duration::days(20_000 - 2)),
            ..filter()
        },
    );
    assert_eq!(ids(&window), ["2", "3"]);
    assert!(
        orders
            .get(BOB, Marketplace::BrickLink, "1")
            .expect("ok")
            .is_none()
    );
}

#[test]
fn the_index_is_rebuilt_when_the_store_opens_again() {
    let dir = tempfile::tempdir().expect("dir");
    {
        let store = Store::open(dir.path()).expect("store");
        store
            .orders()
            .upsert(
                ANNA,
                &order(Marketplace::BrickOwl, 5, "anna", OrderStatus::New, 1),
            )
            .expect("ok");
        store.flush_blocking().expect("flush");
    }
    let store = Store::open(dir.path()).expect("store");
    assert_eq!(store.orders().list(ANNA, &filter()).total, 1);
    assert_eq!(store.orders().known(ANNA, Marketplace::BrickOwl).len(), 1);
    assert!(
        store
            .orders()
            .known(ANNA, Marketplace::BrickLink)
            .is_empty()
    );
}
