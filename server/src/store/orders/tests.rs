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
            lot: None,
        }],
        synced_at: at,
        store_id: None,
        tax: None,
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

/// Opens a serving store once no handle of this process holds it any more.
fn serving_when_free(dir: &std::path::Path) -> Store {
    crate::store::when_free(|| Store::open_serving(dir))
}

/// A serving store listens before its index is read: reads wait for the index (never an
/// empty list), and a damaged row fails the load, named, and refuses upserts.
#[tokio::test]
async fn a_serving_store_reads_its_index_in_the_background() {
    let dir = tempfile::tempdir().expect("dir");
    {
        let store = Store::open(dir.path()).expect("store");
        for id in 1..=300 {
            let o = order(Marketplace::BrickLink, id, "anna", OrderStatus::Paid, 1);
            store.orders().upsert(ANNA, &o).expect("ok");
        }
        store.flush_blocking().expect("flush");
    }
    {
        let store = serving_when_free(dir.path());
        // Whatever the thread has done by now, a read sees every order.
        assert_eq!(store.orders().list(ANNA, &filter()).total, 300);
        assert_eq!(store.orders().loaded().await, LoadState::Ready);
        assert_eq!(store.orders().load_state(), LoadState::Ready);
        let rows = store.db().open_tree("orders").expect("tree");
        let mut key = rows::ROWS.to_vec();
        key.extend_from_slice(&super::key(ANNA, Marketplace::BrickLink, 7));
        rows.insert(key, &b"not a row"[..]).expect("insert");
        store.flush_blocking().expect("flush");
    }
    let store = serving_when_free(dir.path());
    let LoadState::Failed(reason) = store.orders().loaded().await else {
        panic!("a damaged row fails the load");
    };
    assert!(
        reason.contains("the orders record ff72000000000000000101") && reason.contains("--salvage"),
        "{reason}"
    );
    let another = order(Marketplace::BrickLink, 301, "anna", OrderStatus::Paid, 1);
    assert!(store.orders().upsert(ANNA, &another).is_err());
    assert!(Store::open(dir.path()).is_err(), "a plain open refuses it");
}

#[test]
fn stats_count_sales_per_store_and_window_and_what_waits() {
    let dir = tempfile::tempdir().expect("dir");
    let store = Store::open(dir.path()).expect("store");
    let orders = store.orders();
    let now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000) + Duration::hours(12);
    let put = |user, marketplace, id, status, age, currency: &str| {
        let mut o = order(marketplace, id, "anna", status, age);
        o.summary.currency = currency.into();
        orders.upsert(user, &o).expect("ok");
    };
    // Totals are id × 100 ten-thousandths: order 10 is 0.10.
    put(ANNA, Marketplace::BrickLink, 10, OrderStatus::New, 0, "USD");
    put(
        ANNA,
        Marketplace::BrickLink,
        20,
        OrderStatus::Paid,
        3,
        "USD",
    );
    put(
        ANNA,
        Marketplace::BrickLink,
        30,
        OrderStatus::Packed,
        10,
        "USD",
    );
    put(
        ANNA,
        Marketplace::BrickLink,
        40,
        OrderStatus::Shipped,
        40,
        "USD",
    );
    put(
        ANNA,
        Marketplace::BrickLink,
        50,
        OrderStatus::Cancelled,
        0,
        "USD",
    );
    put(
        ANNA,
        Marketplace::BrickLink,
        60,
        OrderStatus::Picking,
        1,
        "EUR",
    );
    put(
        ANNA,
        Marketplace::BrickOwl,
        70,
        OrderStatus::OnHold,
        29,
        "GBP",
    );
    put(BOB, Marketplace::BrickLink, 80, OrderStatus::New, 0, "USD");

    let stats = orders.stats(ANNA, now, 5);
    let stores: Vec<(Marketplace, &str)> = stats
        .sales
        .iter()
        .map(|s| (s.marketplace, s.currency.as_str()))
        .collect();
    assert_eq!(
        stores,
        [
            (Marketplace::BrickLink, "EUR"),
            (Marketplace::BrickLink, "USD"),
            (Marketplace::BrickOwl, "GBP")
        ]
    );
    let usd = &stats.sales[1];
    assert_eq!((usd.today.orders, usd.today.total), (1, Money(1_000)));
    assert_eq!((usd.week.orders, usd.week.total), (2, Money(3_000)));
    assert_eq!((usd.month.orders, usd.month.total), (3, Money(6_000)));
    assert_eq!(usd.daily.len(), CHART_DAYS);
    assert_eq!(usd.daily[CHART_DAYS - 1].date, now.date().to_string());
    assert_eq!(usd.daily[CHART_DAYS - 4].orders, 1, "three days ago");
    let gbp = &stats.sales[2];
    assert_eq!(
        (gbp.today.orders, gbp.month.orders),
        (0, 1),
        "29 days ago is in"
    );
    assert_eq!(
        stats.needs_action,
        NeedsAction {
            to_invoice: 1,
            to_pack: 2,
            to_ship: 1,
            on_hold: 1
        }
    );
    let top = &stats.top_items[0];
    assert_eq!((top.item_no.as_str(), top.color_id), ("3001", 11));
    assert_eq!(
        (top.quantity, top.orders),
        (15, 5),
        "3 pieces in each of the 5 orders of the last 30 days that were not cancelled"
    );
    assert_eq!(top.image, "/img/PART/3001/11");

    let bob = orders.stats(BOB, now, 5);
    assert_eq!(bob.sales.len(), 1);
    assert_eq!(bob.sales[0].month.orders, 1);
    assert_eq!(bob.needs_action.to_invoice, 1);
}

#[test]
fn an_older_copy_of_an_order_never_replaces_a_newer_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("store");
    let orders = store.orders();
    let older = order(Marketplace::BrickLink, 7, "anna", OrderStatus::Paid, 3);
    let mut newer = older.clone();
    newer.summary.status = OrderStatus::Shipped;
    newer.summary.changed_at += Duration::hours(2);
    assert_eq!(orders.upsert(ANNA, &newer).expect("ok"), Upserted::New);
    assert_eq!(
        orders.upsert(ANNA, &older).expect("ok"),
        Upserted::Unchanged
    );
    let stored = orders
        .get(ANNA, Marketplace::BrickLink, "7")
        .expect("ok")
        .expect("there");
    assert_eq!(stored.summary.status, OrderStatus::Shipped);
    let listed = orders.list(ANNA, &filter());
    assert_eq!(
        listed.orders[0].status,
        OrderStatus::Shipped,
        "the index follows the winner"
    );
}

/// Scores of an order search: an order number, a buyer's name (whole, start, inside), an
/// item's number and name, and words found partly in the buyer and partly in the items; the
/// same after the index is read again from disk.
#[test]
fn search_scores_numbers_buyers_items_and_words_split_between_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let line = |no: &str, name: &str| OrderLine {
        item_no: no.into(),
        name: name.into(),
        ..order(Marketplace::BrickLink, 1, "x", OrderStatus::Paid, 1).lines[0].clone()
    };
    let upsert = |store: &Store, id: u64, buyer: &str, email: &str, lines: Vec<OrderLine>| {
        let mut detail = order(Marketplace::BrickLink, id, buyer, OrderStatus::Paid, 1);
        detail.buyer_email = Some(email.into());
        detail.lines = lines;
        store.orders().upsert(ANNA, &detail).expect("stored");
    };
    {
        let store = Store::open(dir.path()).expect("store");
        upsert(
            &store,
            30017,
            "Hanna",
            "h@example.com",
            vec![line("3022", "Plate 2 x 2")],
        );
        upsert(
            &store,
            5,
            "Wedge Plate Fan",
            "fan@example.com",
            vec![line("43722", "Wedge Plate 3 x 2")],
        );
        upsert(
            &store,
            6,
            "Anna",
            "anna@example.com",
            vec![
                line("3001", "Brick 2 x 4"),
                line("43722", "Wedge Plate 3 x 2"),
            ],
        );
        upsert(
            &store,
            7,
            "Wedgeworth",
            "w@example.com",
            vec![line("3022", "Plate 2 x 2")],
        );
        upsert(
            &store,
            8,
            "Annabel",
            "bel@example.com",
            vec![line("3001", "Brick 2 x 4")],
        );
    }
    for _ in 0..2 {
        let store = Store::open(dir.path()).expect("store");
        let orders = store.orders();
        let scored = |matches: &OrderMatches| -> Vec<(u32, String)> {
            matches
                .orders
                .iter()
                .map(|(score, o)| (*score, o.order_id.clone()))
                .collect()
        };
        let wedge = orders.search(ANNA, "wedge plate", 10);
        let mut found = scored(&wedge);
        found.sort();
        assert_eq!(
            found,
            [(30, "6".into()), (30, "7".into()), (50, "5".into())],
            "5's buyer holds both words; 7's buyer one and its item the other"
        );
        let items: Vec<(u32, &str, u32)> = wedge
            .items
            .iter()
            .map(|i| (i.score, i.item_no.as_str(), i.orders))
            .collect();
        assert_eq!(items, [(35, "43722", 2)]);
        assert_eq!(orders.search(ANNA, "wedge wedge plate", 10).orders.len(), 3);

        let numbers = orders.search(ANNA, "3001", 10);
        assert_eq!(scored(&numbers)[0], (80, "30017".into()));
        let items: Vec<(u32, &str, u32)> = numbers
            .items
            .iter()
            .map(|i| (i.score, i.item_no.as_str(), i.orders))
            .collect();
        assert_eq!(items, [(85, "3001", 2)]);

        let anna = orders.search(ANNA, "anna", 10);
        let buyers: Vec<(u32, &str, u32)> = anna
            .buyers
            .iter()
            .map(|b| (b.score, b.name.as_str(), b.orders))
            .collect();
        assert_eq!(
            buyers,
            [(90, "Anna", 1), (70, "Annabel", 1), (40, "Hanna", 1)]
        );

        let ids = |list: &OrderList| -> Vec<String> {
            list.orders.iter().map(|o| o.order_id.clone()).collect()
        };
        let by_email = orders.list(
            ANNA,
            &OrderFilter {
                query: Some("W@EXAMPLE plate".into()),
                ..filter()
            },
        );
        assert_eq!(ids(&by_email), ["7"]);
        let none = orders.list(
            ANNA,
            &OrderFilter {
                query: Some("wedge nothing".into()),
                ..filter()
            },
        );
        assert_eq!(none.total, 0);
    }
}
