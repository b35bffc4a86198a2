//! The marketplace clients against the built-in simulator over loopback: every endpoint, the
//! simulator's own OAuth check, fault classification, and the guard's limits as the simulator
//! sees them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{net::SocketAddr, time::Duration};

use app::{Marketplace, UserId};
use server::{
    marketplace::{
        Endpoints, MarketplaceError, Marketplaces,
        bricklink::{BrickLink, Direction, GuideType, InventoryChange, OrderFilter},
        brickowl::{BrickOwl, LotChange, OrderQuery},
        guard::{Guard, Limits, Priority},
    },
    sim::{Faults, Side, Sim, SimConfig, SimServer},
};

struct World {
    server: SimServer,
    markets: Marketplaces,
}

async fn world() -> World {
    let sim = Sim::new(&SimConfig::default());
    let server = SimServer::start(sim, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("simulator");
    let endpoints = Endpoints {
        bricklink: server.bricklink_url().parse().unwrap(),
        brickowl: server.brickowl_url().parse().unwrap(),
        timeout: Duration::from_secs(2),
    };
    let markets = Marketplaces::new(endpoints, Guard::new(Limits::default(), None)).unwrap();
    World { server, markets }
}

impl World {
    fn bricklink(&self, account: usize) -> BrickLink {
        let keys = self.server.sim.keys(account).unwrap();
        self.markets
            .bricklink(UserId(account as u64 + 1), keys.bricklink.into())
    }

    fn brickowl(&self, account: usize) -> BrickOwl {
        let keys = self.server.sim.keys(account).unwrap();
        self.markets
            .brickowl(UserId(account as u64 + 1), keys.brickowl.api_key)
    }
}

#[tokio::test]
async fn bricklink_orders_items_and_status_updates_round_trip() {
    let world = world().await;
    let client = world.bricklink(0);
    client
        .check(Priority::Interactive)
        .await
        .expect("keys accepted");

    let unfiled = client
        .orders(&OrderFilter::default(), Priority::Background)
        .await
        .unwrap();
    let filed = client
        .orders(
            &OrderFilter {
                filed: Some(true),
                ..OrderFilter::default()
            },
            Priority::Background,
        )
        .await
        .unwrap();
    let expected = world.server.sim.orders(0, Side::BrickLink);
    assert_eq!(unfiled.len() + filed.len(), expected.len());
    let filed_in_sim = |id: i64| expected.iter().any(|o| o.filed && o.id == id);
    assert!(
        filed.iter().all(|o| filed_in_sim(o.order_id))
            && unfiled.iter().all(|o| !filed_in_sim(o.order_id))
    );
    let out = client
        .orders(
            &OrderFilter {
                direction: Direction::Out,
                ..OrderFilter::default()
            },
            Priority::Background,
        )
        .await
        .unwrap();
    assert!(out.is_empty());
    let pending = client
        .orders(
            &OrderFilter {
                include: vec!["PENDING".into()],
                ..OrderFilter::default()
            },
            Priority::Background,
        )
        .await
        .unwrap();
    assert!(pending.iter().all(|o| o.status == "PENDING"));

    let first = &unfiled[0];
    let order = client
        .order(first.order_id, Priority::Background)
        .await
        .unwrap();
    let batches = client
        .order_items(first.order_id, Priority::Background)
        .await
        .unwrap();
    let subtotal: i64 = batches
        .iter()
        .flatten()
        .map(|i| i.unit_price_final.0 * i.quantity)
        .sum();
    assert_eq!(
        order.cost.subtotal.0, subtotal,
        "subtotal is the sum of the items"
    );
    let country = order
        .shipping
        .unwrap()
        .address
        .unwrap()
        .country_code
        .unwrap();
    assert_ne!(country, "UK", "the client says GB");

    client
        .update_status(first.order_id, "PACKED", Priority::Interactive)
        .await
        .unwrap();
    client
        .update_tracking(first.order_id, "TRACK123", Priority::Interactive)
        .await
        .unwrap();
    let sim_order = world
        .server
        .sim
        .orders(0, Side::BrickLink)
        .into_iter()
        .find(|o| o.id == first.order_id)
        .unwrap();
    assert_eq!(sim_order.status, "PACKED");
    assert_eq!(sim_order.tracking.as_deref(), Some("TRACK123"));
    let refused = client
        .update_status(first.order_id, "PURGED", Priority::Interactive)
        .await;
    assert!(
        matches!(refused, Err(MarketplaceError::Refused(ref m)) if m.contains("422")),
        "{refused:?}"
    );
    let missing = client.order(1, Priority::Background).await;
    assert!(
        matches!(missing, Err(MarketplaceError::NotFound(_))),
        "{missing:?}"
    );
}

/// The store's lots in one call; a quantity change is relative, other fields absolute; 0
/// outside a stockroom is refused with BrickLink's words and changes nothing; a lot in the
/// stockroom may be 0; a deleted lot is gone.
#[tokio::test]
async fn bricklink_inventory_reads_changes_and_deletes_lots() {
    let world = world().await;
    let client = world.bricklink(0);
    let lots = client.inventories(Priority::Background).await.unwrap();
    assert_eq!(lots.len(), SimConfig::default().lots);
    let other = world
        .bricklink(1)
        .inventories(Priority::Background)
        .await
        .unwrap();
    assert!(
        lots.iter()
            .all(|l| other.iter().all(|o| o.inventory_id != l.inventory_id)),
        "each store has its own lots"
    );
    let lot = lots
        .iter()
        .find(|l| !l.is_stock_room && l.quantity > 1)
        .expect("an available lot")
        .clone();
    assert!(lot.unit_price.0 > 0 && lot.remarks.as_deref().is_some_and(|r| !r.is_empty()));
    assert!(matches!(lot.new_or_used.as_str(), "N" | "U"));

    let change = InventoryChange {
        quantity: Some(3),
        unit_price: Some(app::Money(1_2500)),
        remarks: Some("Z-99-1".into()),
        ..InventoryChange::default()
    };
    client
        .update_inventory(lot.inventory_id, &change, Priority::Interactive)
        .await
        .unwrap();
    let read = |lots: Vec<server::marketplace::bricklink::wire::InventoryLot>, id| {
        lots.into_iter().find(|l| l.inventory_id == id).unwrap()
    };
    let after = read(
        client.inventories(Priority::Background).await.unwrap(),
        lot.inventory_id,
    );
    assert_eq!(after.quantity, lot.quantity + 3);
    assert_eq!(after.unit_price, app::Money(1_2500));
    assert_eq!(after.remarks.as_deref(), Some("Z-99-1"));

    let to_zero = InventoryChange {
        quantity: Some(-after.quantity),
        ..InventoryChange::default()
    };
    let refused = client
        .update_inventory(lot.inventory_id, &to_zero, Priority::Interactive)
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, MarketplaceError::Refused(why) if why.contains("without being in stockroom")),
        "{refused:?}"
    );
    let unchanged = read(
        client.inventories(Priority::Background).await.unwrap(),
        lot.inventory_id,
    );
    assert_eq!(unchanged.quantity, after.quantity);

    let to_stockroom = InventoryChange {
        stockroom: Some(true),
        ..to_zero
    };
    client
        .update_inventory(lot.inventory_id, &to_stockroom, Priority::Interactive)
        .await
        .unwrap();
    let stocked = read(
        client.inventories(Priority::Background).await.unwrap(),
        lot.inventory_id,
    );
    assert_eq!((stocked.quantity, stocked.is_stock_room), (0, true));

    client
        .delete_inventory(lot.inventory_id, Priority::Interactive)
        .await
        .unwrap();
    let left = client.inventories(Priority::Background).await.unwrap();
    assert!(left.iter().all(|l| l.inventory_id != lot.inventory_id));
    assert!(matches!(
        client
            .delete_inventory(lot.inventory_id, Priority::Interactive)
            .await,
        Err(MarketplaceError::NotFound(_))
    ));
}

/// BrickOwl's lots: most linked to BrickLink lots by `external_lot_ids`; an update is relative
/// or absolute and never below 0; a batch answers each change in order.
#[tokio::test]
async fn brickowl_inventory_lists_updates_and_batches_lots() {
    let world = world().await;
    let client = world.brickowl(0);
    let lots = client.inventory(Priority::Background).await.unwrap();
    let bricklink = world
        .bricklink(0)
        .inventories(Priority::Background)
        .await
        .unwrap();
    assert!(!lots.is_empty());
    let linked: Vec<_> = lots
        .iter()
        .filter_map(|l| l.external_lot_ids.get("other"))
        .collect();
    assert!(!linked.is_empty() && linked.len() < lots.len());
    for id in &linked {
        assert!(
            bricklink.iter().any(|b| &&b.inventory_id.to_string() == id),
            "{id} is a BrickLink lot of the same seller"
        );
    }
    let lot = lots.iter().find(|l| l.quantity > 2).unwrap().clone();
    let read = |lots: Vec<server::marketplace::brickowl::wire::InventoryLot>| {
        lots.into_iter().find(|l| l.lot_id == lot.lot_id).unwrap()
    };
    client
        .update_inventory(
            &LotChange {
                lot_id: lot.lot_id,
                relative_quantity: Some(-2),
                price: Some(app::Money(3_4560)),
                personal_note: Some("Q-1".into()),
                ..LotChange::default()
            },
            Priority::Interactive,
        )
        .await
        .unwrap();
    let after = read(client.inventory(Priority::Background).await.unwrap());
    assert_eq!(after.quantity, lot.quantity - 2);
    assert_eq!(after.price, app::Money(3_4560));
    assert_eq!(after.personal_note.as_deref(), Some("Q-1"));
    let below = client
        .update_inventory(
            &LotChange {
                lot_id: lot.lot_id,
                relative_quantity: Some(-after.quantity - 1),
                ..LotChange::default()
            },
            Priority::Interactive,
        )
        .await;
    assert!(
        matches!(below, Err(MarketplaceError::Refused(_))),
        "{below:?}"
    );

    let results = client
        .update_inventory_batch(
            &[
                LotChange {
                    lot_id: lot.lot_id,
                    absolute_quantity: Some(9),
                    ..LotChange::default()
                },
                LotChange {
                    lot_id: 1,
                    absolute_quantity: Some(1),
                    ..LotChange::default()
                },
            ],
            Priority::Background,
        )
        .await
        .unwrap();
    assert_eq!(results[0], Ok(()));
    assert!(results[1].is_err(), "no such lot");
    assert_eq!(
        read(client.inventory(Priority::Background).await.unwrap()).quantity,
        9
    );
    let too_many = vec![LotChange::default(); 51];
    assert!(
        client
            .update_inventory_batch(&too_many, Priority::Background)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn bricklink_notifications_drain_once() {
    let world = world().await;
    let client = world.bricklink(0);
    let id = world.server.sim.place_order(0, Side::BrickLink).unwrap();
    let unread = client.notifications(Priority::Interactive).await.unwrap();
    assert_eq!(unread.len(), 1);
    assert_eq!(
        (unread[0].event_type.as_str(), unread[0].resource_id),
        ("Order", id)
    );
    assert!(
        client
            .notifications(Priority::Interactive)
            .await
            .unwrap()
            .is_empty()
    );
    let order = client.order(id, Priority::Interactive).await.unwrap();
    assert_eq!(order.status, "PENDING");
}

#[tokio::test]
async fn bricklink_catalog_subsets_prices_images_and_colors() {
    let world = world().await;
    let client = world.bricklink(0);
    let item = client
        .item("MINIFIG", "sw0001a", Priority::Background)
        .await
        .unwrap();
    assert_eq!(item.name, "Luke Skywalker (Tatooine)");
    let image_url = item.image_url.unwrap();
    assert!(image_url.starts_with("http://127.0.0.1:"), "{image_url}");
    let png = reqwest::get(&image_url)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG picture");

    let groups = client
        .subsets("MINIFIG", "sw0001a", Priority::Background)
        .await
        .unwrap();
    assert_eq!(groups.len(), 6);
    let head = &groups[0].entries[0];
    let image = client
        .image("PART", &head.item.no, head.color_id, Priority::Background)
        .await
        .unwrap();
    assert!(
        image
            .thumbnail_url
            .ends_with(&format!("/{}/{}.png", head.color_id, head.item.no))
    );
    let new = client
        .price_guide(
            "PART",
            &head.item.no,
            head.color_id,
            GuideType::Sold,
            "N",
            Priority::Background,
        )
        .await
        .unwrap();
    let used = client
        .price_guide(
            "PART",
            &head.item.no,
            head.color_id,
            GuideType::Sold,
            "U",
            Priority::Background,
        )
        .await
        .unwrap();
    assert!(new.avg_price > used.avg_price && used.avg_price.0 > 0);
    let colors = client.colors(Priority::Background).await.unwrap();
    assert!(
        colors
            .iter()
            .any(|c| c.color_id == 11 && c.color_name == "Black")
    );
    let unknown = client
        .item("MINIFIG", "nope999", Priority::Background)
        .await;
    assert!(matches!(unknown, Err(MarketplaceError::NotFound(_))));
}

#[tokio::test]
async fn wrong_keys_and_foreign_addresses_are_refused_with_bricklinks_words() {
    let world = world().await;
    let mut keys = world.server.sim.keys(0).unwrap().bricklink;
    keys.token_secret = "0000".into();
    let client = world.markets.bricklink(UserId(9), keys.into());
    let err = client.check(Priority::Interactive).await.unwrap_err();
    assert_eq!(
        err,
        MarketplaceError::BadCredentials("SIGNATURE_INVALID: Invalid Signature".into())
    );

    world.server.sim.pin_ip(1, Some([10, 1, 2, 3].into()));
    let err = world
        .bricklink(1)
        .check(Priority::Interactive)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, MarketplaceError::BadCredentials(m) if m.starts_with("TOKEN_IP_MISMATCHED") && m.contains("127.0.0.1")),
        "{err:?}"
    );
    let owl = world.markets.brickowl(UserId(9), "notakey".into());
    let err = owl.check(Priority::Interactive).await.unwrap_err();
    assert_eq!(
        err,
        MarketplaceError::BadCredentials("Invalid API Key".into())
    );
}

#[tokio::test]
async fn brickowl_orders_items_status_tracking_and_catalog() {
    let world = world().await;
    let client = world.brickowl(0);
    client.check(Priority::Interactive).await.unwrap();
    let all = client
        .orders(&OrderQuery::default(), Priority::Background)
        .await
        .unwrap();
    assert_eq!(all.len(), world.server.sim.orders(0, Side::BrickOwl).len());
    let newest = all.iter().map(|o| o.order_date).max().unwrap();
    let recent = client
        .orders(
            &OrderQuery {
                order_time: Some(newest),
                ..OrderQuery::default()
            },
            Priority::Background,
        )
        .await
        .unwrap();
    assert_eq!(recent.len(), 1);

    let id = &all[0].order_id;
    let order = client.order(id, Priority::Background).await.unwrap();
    assert_eq!(&order.order_id, id);
    assert!(order.store_id.is_some() && order.base_order_total.is_some());
    let items = client.order_items(id, Priority::Background).await.unwrap();
    assert!(!items.is_empty());
    assert!(items.iter().all(|i| {
        i.image_small
            .as_deref()
            .is_some_and(|u| u.starts_with("http://"))
    }));

    client
        .set_status(id, 5, Priority::Interactive)
        .await
        .unwrap();
    client
        .set_tracking(id, "LX123456789DE", Priority::Interactive)
        .await
        .unwrap();
    let viewed = client.order(id, Priority::Background).await.unwrap();
    assert_eq!(
        (viewed.status_id, viewed.tracking_number.as_deref()),
        (5, Some("LX123456789DE"))
    );
    let refused = client.set_status(id, 8, Priority::Interactive).await;
    assert!(
        matches!(refused, Err(MarketplaceError::Refused(_))),
        "{refused:?}"
    );

    let boids = client
        .id_lookup("970c00", "Part", Some("bl_item_no"), Priority::Background)
        .await
        .unwrap();
    let item = client
        .catalog_lookup(boids.boids.last().unwrap(), Priority::Background)
        .await
        .unwrap();
    assert!(item.name.contains("970c00"), "{}", item.name);
}

#[tokio::test]
async fn brickowl_empty_lists_stand_in_for_empty_objects() {
    let world = world().await;
    let client = world.brickowl(0);
    let mut with_ids = 0;
    let mut without = 0;
    for order in client
        .orders(&OrderQuery::default(), Priority::Background)
        .await
        .unwrap()
    {
        for item in client
            .order_items(&order.order_id, Priority::Background)
            .await
            .unwrap()
        {
            if item.external_lot_ids.is_empty() {
                without += 1;
            } else {
                with_ids += 1;
            }
        }
    }
    assert!(
        with_ids > 0 && without > 0,
        "{with_ids} with, {without} without"
    );
}

#[tokio::test]
async fn faults_are_classified_and_counted() {
    let world = world().await;
    let client = world.bricklink(0);
    type Expect = fn(&MarketplaceError) -> bool;
    let cases: [(Faults, Expect); 4] = [
        (
            Faults {
                unavailable: 1.0,
                ..Faults::default()
            },
            |e| matches!(e, MarketplaceError::Unavailable(m) if m.contains("HTML")),
        ),
        (
            Faults {
                rate_limited: 1.0,
                ..Faults::default()
            },
            |e| {
                matches!(
                    e,
                    MarketplaceError::RateLimited {
                        retry_after: Some(_)
                    }
                )
            },
        ),
        (
            Faults {
                malformed: 1.0,
                ..Faults::default()
            },
            |e| matches!(e, MarketplaceError::Undecodable(_)),
        ),
        (
            Faults {
                timeout: 1.0,
                hang_ms: Some(5_000),
                ..Faults::default()
            },
            |e| matches!(e, MarketplaceError::Unavailable(_)),
        ),
    ];
    for (faults, expected) in cases {
        world.server.sim.set_faults(Side::BrickLink, faults.clone());
        let err = client.check(Priority::Interactive).await.unwrap_err();
        assert!(expected(&err), "{faults:?}: {err:?}");
        world
            .markets
            .guard()
            .reset_breaker(UserId(1), Marketplace::BrickLink);
    }
    world.server.sim.set_faults(
        Side::BrickLink,
        Faults {
            reject_auth: true,
            ..Faults::default()
        },
    );
    assert!(matches!(
        client.check(Priority::Interactive).await,
        Err(MarketplaceError::BadCredentials(_))
    ));
    world
        .server
        .sim
        .set_faults(Side::BrickLink, Faults::default());
    client.check(Priority::Interactive).await.unwrap();
    assert_eq!(
        world
            .server
            .sim
            .stats()
            .bricklink
            .calls
            .get("GET /colors/{id}"),
        Some(&6)
    );
}

#[tokio::test]
async fn fifty_concurrent_calls_reach_bricklink_at_most_four_at_a_time() {
    let world = world().await;
    world.server.sim.set_faults(
        Side::BrickLink,
        Faults {
            latency_ms: 20,
            ..Faults::default()
        },
    );
    let client = world.bricklink(0);
    let calls: Vec<_> = (0..50)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.item("PART", "3001old", Priority::Background).await })
        })
        .collect();
    for call in calls {
        let _ = call.await.unwrap();
    }
    let stats = world.server.sim.stats().bricklink;
    assert_eq!(stats.total, 50);
    assert_eq!(
        stats.max_in_flight, 4,
        "concurrent, and never above the limit"
    );
}

#[tokio::test]
async fn a_refused_timestamp_blames_the_clock_and_is_worth_another_try() {
    let world = world().await;
    let skewed = Faults {
        clock_skew_s: 900,
        ..Faults::default()
    };
    world.server.sim.set_faults(Side::BrickLink, skewed);
    let err = world
        .bricklink(0)
        .check(Priority::Interactive)
        .await
        .expect_err("refused");
    assert!(
        matches!(&err, MarketplaceError::Unavailable(m) if m.contains("clock")),
        "{err:?}"
    );
    world
        .server
        .sim
        .set_faults(Side::BrickLink, Faults::default());
    world
        .bricklink(0)
        .check(Priority::Interactive)
        .await
        .expect("accepted once the clocks agree");
}
