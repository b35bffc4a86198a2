//! The inventory: the BrickLink store read in the background and kept as lots, listed with
//! filters, sorts and pages; a second read merges only what changed; lots are the owner's alone.

use app::{JobState, JobView, LotList, Marketplace, Queued, routes};
use reqwest::StatusCode;
use serde_json::json;
use server::sim::SimConfig;
use tests::{ApiClient, TestApp};

fn world() -> SimConfig {
    SimConfig {
        accounts: 2,
        lots: 120,
        ..SimConfig::default()
    }
}

/// Starts an import and waits for its job to end; its result.
async fn import(app: &TestApp, api: &ApiClient) -> JobView {
    let answer = api.post_json(routes::INVENTORY_IMPORT, &json!({})).await;
    assert_eq!(answer.status(), StatusCode::ACCEPTED, "{}", answer.text());
    let queued: Queued = answer.json();
    let id = queued.job_ids[0];
    app.until(30, "the import ends", || async {
        let job: JobView = api.get_job(id).await.json();
        job.state.is_terminal().then_some(job)
    })
    .await
}

async fn lots(api: &ApiClient, query: &str) -> LotList {
    let answer = api.get(&format!("{}?{query}", routes::INVENTORY)).await;
    assert_eq!(answer.status(), StatusCode::OK, "{}", answer.text());
    answer.json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bricklink_store_is_imported_listed_and_merged_again_as_a_diff() {
    let app = TestApp::spawn_with_sim(&world()).await;
    app.setup_admin().await;
    let refused = app
        .api
        .post_json(routes::INVENTORY_IMPORT, &json!({}))
        .await;
    assert_eq!(refused.error_code(), "not-connected");
    app.connect(&app.api, 0, Marketplace::BrickLink).await;

    let job = import(&app, &app.api).await;
    assert_eq!(job.state, JobState::Succeeded, "{job:?}");
    assert_eq!(job.result.as_ref().unwrap()["bricklink"]["added"], 120);
    let all = lots(&app.api, "per_page=500").await;
    assert_eq!(all.total, 120);
    assert!(
        all.lots.iter().any(|l| l.tier_prices.len() == 3),
        "some lots have tiers"
    );
    let sim_lots = app
        .sim
        .sim
        .edit_bricklink_lots(0, |lots| lots.clone())
        .unwrap();
    for lot in &all.lots {
        let bl = lot.bricklink.as_ref().expect("read from BrickLink");
        let theirs = &sim_lots[&bl.inventory_id];
        assert_eq!(
            (
                lot.quantity,
                lot.unit_price.0,
                lot.item.no.as_str(),
                &lot.remarks
            ),
            (
                theirs.quantity,
                theirs.unit_price,
                theirs.no,
                &theirs.remarks
            )
        );
        assert_eq!(lot.condition == app::Condition::New, theirs.new);
        assert!(lot.brickowl.is_none());
        let tiers: Vec<(i64, i64)> = lot
            .tier_prices
            .iter()
            .map(|t| (t.quantity, t.price.0))
            .collect();
        assert_eq!(tiers, theirs.tiers, "tier prices");
    }
    // Locations in a person's order, pages that add up.
    let by_place = lots(&app.api, "sort=location&per_page=40&page=2").await;
    assert_eq!(
        (by_place.lots.len(), by_place.total, by_place.page),
        (40, 120, 2)
    );
    let places: Vec<&str> = all.lots.iter().map(|l| l.remarks.as_str()).collect();
    assert!(
        places
            .windows(2)
            .all(|w| server::store::natural(w[0], w[1]).is_le()),
        "{places:?}"
    );
    // Filters.
    let minifigs = lots(&app.api, "type=MINIFIG&per_page=500").await;
    assert!(minifigs.lots.iter().all(|l| l.item.item_type == "MINIFIG"));
    let used = lots(&app.api, "condition=used&per_page=500").await;
    assert!(
        used.total > 0
            && used
                .lots
                .iter()
                .all(|l| l.condition == app::Condition::Used)
    );
    assert_eq!(
        used.total + lots(&app.api, "condition=new").await.total,
        120
    );
    let first = &all.lots[0];
    let found = lots(&app.api, &format!("q={}", first.remarks)).await;
    assert!(found.lots.iter().any(|l| l.id == first.id));
    let shelf = &first.remarks[..1];
    let on_shelf = lots(&app.api, &format!("location={shelf}&per_page=500")).await;
    assert!(on_shelf.total > 0 && on_shelf.lots.iter().all(|l| l.remarks.starts_with(shelf)));
    let bad = app
        .api
        .get(&format!("{}?order=up", routes::INVENTORY))
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    // The seller sells some on BrickLink and removes a lot there: the next read merges that.
    let (sold, gone) = app
        .sim
        .sim
        .edit_bricklink_lots(0, |lots| {
            let mut ids = lots.keys().copied();
            let (sold, gone) = (ids.next().unwrap(), ids.next().unwrap());
            lots.get_mut(&sold).unwrap().quantity += 7;
            lots.remove(&gone);
            (sold, gone)
        })
        .unwrap();
    let again = import(&app, &app.api).await;
    let diff = &again.result.as_ref().unwrap()["bricklink"];
    assert_eq!(
        (
            &diff["added"],
            &diff["changed"],
            &diff["removed"],
            &diff["unchanged"]
        ),
        (&json!(0), &json!(1), &json!(1), &json!(118))
    );
    let after = lots(&app.api, "per_page=500").await;
    assert_eq!(after.total, 119);
    let kept = after
        .lots
        .iter()
        .find(|l| l.bricklink.as_ref().unwrap().inventory_id == sold)
        .unwrap();
    let before = all
        .lots
        .iter()
        .find(|l| l.bricklink.as_ref().unwrap().inventory_id == sold)
        .unwrap();
    assert_eq!((kept.id, kept.quantity), (before.id, before.quantity + 7));
    assert!(
        after
            .lots
            .iter()
            .all(|l| l.bricklink.as_ref().unwrap().inventory_id != gone)
    );

    // Another seller sees none of it.
    app.create_user("bob", "bob@example.com").await;
    let bob = app.new_client();
    bob.login("bob", tests::PASSWORD).await;
    assert_eq!(lots(&bob, "").await.total, 0);
    let refused = bob.post_json(routes::INVENTORY_IMPORT, &json!({})).await;
    assert_eq!(refused.error_code(), "not-connected");
}

/// Both stores: BrickOwl lots that carry a BrickLink lot id join that lot; the others are
/// linked by item, colour (BrickOwl's own colour ids, mapped through its colour list) and
/// condition when they match one for one; the rest wait as lots of their own. A second read
/// asks BrickOwl nothing about items again. The seller can unlink a lot (and it stays apart
/// through the next read) and link two lots by hand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brickowl_lots_are_linked_by_id_by_item_and_colour_and_by_hand() {
    let app = TestApp::spawn_with_sim(&world()).await;
    app.setup_admin().await;
    app.connect(&app.api, 0, Marketplace::BrickLink).await;
    app.connect(&app.api, 0, Marketplace::BrickOwl).await;
    app.sim.sim.reset_stats();
    let job = import(&app, &app.api).await;
    assert_eq!(job.state, JobState::Succeeded, "{job:?}");
    let owl = app
        .sim
        .sim
        .edit_brickowl_lots(0, |lots| lots.clone())
        .unwrap();
    let bricklink = app
        .sim
        .sim
        .edit_bricklink_lots(0, |lots| lots.clone())
        .unwrap();
    let result = job.result.unwrap();
    assert_eq!(result["bricklink"]["added"], 120);
    assert_eq!(result["brickowl"]["added"], owl.len());

    let carried = owl.values().filter(|l| l.external_id.is_some()).count();
    let by_lookup = result["linked"].as_u64().unwrap() as usize;
    assert!(by_lookup > 0, "{result}");
    let linked = lots(&app.api, "linked=true&per_page=500").await;
    assert_eq!(linked.total, carried + by_lookup);
    for lot in &linked.lots {
        let side = lot.brickowl.as_ref().unwrap();
        let theirs = &owl[&side.lot_id];
        let mine = &bricklink[&lot.bricklink.as_ref().unwrap().inventory_id];
        match theirs.external_id {
            Some(id) => assert_eq!(id, mine.id),
            None => assert_eq!(
                (theirs.no, theirs.color_id, theirs.condition == "new"),
                (mine.no, mine.color_id, mine.new),
                "linked by item, colour and condition"
            ),
        }
        assert_eq!(side.quantity, theirs.quantity);
        if mine.color_id != 0 {
            assert_ne!(side.color_id, mine.color_id, "BrickOwl's own colour id");
        }
    }
    let on_owl = lots(&app.api, "marketplace=brickowl&per_page=500").await;
    assert_eq!(on_owl.total, owl.len());
    let owl_only: Vec<&app::Lot> = on_owl
        .lots
        .iter()
        .filter(|l| l.bricklink.is_none())
        .collect();
    assert_eq!(owl_only.len(), owl.len() - carried - by_lookup);
    assert_eq!(result["needs_linking"], owl_only.len());
    for lot in &owl_only {
        let theirs = &owl[&lot.brickowl.as_ref().unwrap().lot_id];
        assert_eq!(lot.color_id, theirs.color_id, "shown in BrickLink's colour");
    }
    let all = lots(&app.api, "per_page=500").await;
    assert_eq!(all.total, 120 + owl_only.len());
    // The calls: the two stores, the colour list, one id look-up per item left unlinked.
    let calls = app.sim.sim.stats().brickowl.calls;
    assert_eq!(calls.get("GET /inventory/list"), Some(&1));
    assert_eq!(calls.get("GET /catalog/color_list"), Some(&1));
    let lookups = calls.get("GET /catalog/id_lookup").copied().unwrap_or(0);
    assert!(lookups > 0, "{calls:?}");

    // Read again: nothing moved, and the item ids are known.
    app.sim.sim.reset_stats();
    let again = import(&app, &app.api).await.result.unwrap();
    assert_eq!(again["brickowl"]["unchanged"], owl.len());
    assert_eq!(again["brickowl"]["added"], 0);
    assert_eq!(again["linked"], 0);
    let calls = app.sim.sim.stats().brickowl.calls;
    assert_eq!(calls.get("GET /catalog/id_lookup"), None, "{calls:?}");

    // Unlink one: two lots, kept apart through the next read; then linked back by hand.
    let joined = linked
        .lots
        .iter()
        .find(|l| {
            owl[&l.brickowl.as_ref().unwrap().lot_id]
                .external_id
                .is_none()
        })
        .unwrap();
    let answer = app
        .api
        .post_json(&routes::inventory_unlink(joined.id), &json!({}))
        .await;
    assert_eq!(answer.status(), StatusCode::OK, "{}", answer.text());
    let split: Vec<app::Lot> = answer.json();
    assert!(split[0].brickowl.is_none() && split[1].bricklink.is_none());
    assert!(split[1].kept_apart);
    import(&app, &app.api).await;
    assert_eq!(
        lots(&app.api, "linked=true&per_page=500").await.total,
        carried + by_lookup - 1
    );
    let answer = app
        .api
        .post_json(
            &routes::inventory_link(joined.id),
            &json!({"brickowl": split[1].id}),
        )
        .await;
    assert_eq!(answer.status(), StatusCode::OK, "{}", answer.text());
    let back: app::Lot = answer.json();
    assert_eq!(
        back.brickowl.as_ref().unwrap().lot_id,
        joined.brickowl.as_ref().unwrap().lot_id
    );
    assert_eq!(
        lots(&app.api, "linked=true&per_page=500").await.total,
        carried + by_lookup
    );
    // What cannot be linked says why.
    let twice = app
        .api
        .post_json(
            &routes::inventory_link(joined.id),
            &json!({"brickowl": owl_only[0].id}),
        )
        .await;
    assert_eq!(twice.error_code(), "not-allowed");
    let nothing = app
        .api
        .post_json(&routes::inventory_unlink(owl_only[0].id), &json!({}))
        .await;
    assert_eq!(nothing.error_code(), "not-allowed");
    let missing = app
        .api
        .post_json(
            &routes::inventory_link(joined.id),
            &json!({"brickowl": 999_999}),
        )
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}
