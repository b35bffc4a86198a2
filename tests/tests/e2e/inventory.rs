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

/// Both stores: BrickOwl lots that carry a BrickLink lot id join that lot, the others wait as
/// lots of their own (BrickOwl only), and the filters tell them apart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brickowl_lots_join_the_bricklink_lots_they_name() {
    let app = TestApp::spawn_with_sim(&world()).await;
    app.setup_admin().await;
    app.connect(&app.api, 0, Marketplace::BrickLink).await;
    app.connect(&app.api, 0, Marketplace::BrickOwl).await;
    let job = import(&app, &app.api).await;
    assert_eq!(job.state, JobState::Succeeded, "{job:?}");
    let owl = app
        .sim
        .sim
        .edit_brickowl_lots(0, |lots| lots.clone())
        .unwrap();
    let result = job.result.unwrap();
    assert_eq!(result["bricklink"]["added"], 120);
    assert_eq!(result["brickowl"]["added"], owl.len());

    let carried = owl.values().filter(|l| l.external_id.is_some()).count();
    let linked = lots(&app.api, "linked=true&per_page=500").await;
    assert_eq!(linked.total, carried);
    for lot in &linked.lots {
        let theirs = &owl[&lot.brickowl.as_ref().unwrap().lot_id];
        assert_eq!(
            theirs.external_id,
            Some(lot.bricklink.as_ref().unwrap().inventory_id)
        );
        assert_eq!(lot.brickowl.as_ref().unwrap().quantity, theirs.quantity);
    }
    let on_owl = lots(&app.api, "marketplace=brickowl&per_page=500").await;
    assert_eq!(on_owl.total, owl.len());
    let owl_only = on_owl.lots.iter().filter(|l| l.bricklink.is_none()).count();
    assert_eq!(owl_only, owl.len() - carried);
    let all = lots(&app.api, "per_page=500").await;
    assert_eq!(all.total, 120 + owl_only);

    // Read again: nothing moved.
    let again = import(&app, &app.api).await.result.unwrap();
    assert_eq!(again["brickowl"]["unchanged"], owl.len());
    assert_eq!(again["brickowl"]["added"], 0);
}
