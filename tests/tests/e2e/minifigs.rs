//! Partial minifigs against the simulator: adding one fetches its parts, pictures and prices
//! concurrently within BrickLink's limits, cache-first (again, and after a restart), shows a
//! clear error for IDs BrickLink does not know, tracks what was collected with totals, and
//! keeps every list to its owner.

use app::{
    FetchState, ListId, Marketplace, MinifigId, MinifigList, PartialMinifig, Queued, routes,
};
use reqwest::StatusCode;
use serde_json::json;
use server::sim::{Faults, Side, SimConfig};
use tests::{ApiClient, TestApp};

/// A small world: the import at connect time is quick.
fn world() -> SimConfig {
    SimConfig {
        bricklink_orders: 3,
        brickowl_orders: 0,
        ..SimConfig::default()
    }
}

async fn ready(app: &TestApp, api: &ApiClient, list: ListId, id: MinifigId) -> PartialMinifig {
    app.until(30, "the minifig's parts are fetched", || async {
        let minifig = api.minifig(list, id).await;
        match &minifig.fetch {
            FetchState::Ready => Some(minifig),
            FetchState::Failed { message } => panic!("the fetch failed: {message}"),
            FetchState::Loading { .. } => None,
        }
    })
    .await
}

/// Calls to BrickLink's catalogue (items, parts, pictures' addresses, prices).
fn catalog_calls(app: &TestApp) -> u64 {
    app.sim
        .sim
        .stats()
        .bricklink
        .calls
        .iter()
        .filter(|(path, _)| path.starts_with("GET /items"))
        .map(|(_, n)| n)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adding_a_minifig_fetches_its_parts_concurrently_within_the_limit() {
    let app = TestApp::spawn_with_sim(&world()).await;
    app.setup_admin().await;
    app.connect(&app.api, 0, Marketplace::BrickLink).await;
    app.sim.sim.set_faults(
        Side::BrickLink,
        Faults {
            latency_ms: 40,
            ..Faults::default()
        },
    );
    app.sim.sim.reset_stats();
    let list = app.api.create_list("Star Wars parts").await;
    let queued = app.api.add_minifig(list.id, "SW0001a").await;
    assert_eq!(queued.minifig.bricklink_id, "sw0001a");
    assert_eq!(queued.minifig.job, Some(queued.job_id));

    let minifig = ready(&app, &app.api, list.id, queued.minifig.id).await;
    assert_eq!(minifig.name.as_deref(), Some("Luke Skywalker (Tatooine)"));
    assert_eq!(minifig.parts.len(), 6);
    assert!(minifig.prices.as_ref().and_then(|p| p.new).is_some());
    for part in &minifig.parts {
        let prices = part.prices.as_ref().expect("every part is priced");
        // Only the guide shown is asked for: the parts are wanted new.
        assert!(prices.new.is_some() && !prices.used_asked, "{part:?}");
        assert_eq!(prices.currency.as_deref(), Some("USD"));
        assert_eq!(part.quantity_needed, part.quantity);
        assert!(part.color_name.is_some(), "colours were synced at connect");
        assert!(part.image.starts_with("/img/PART/"));
    }
    assert!(minifig.totals.cost_to_complete.0 > 0);
    assert_eq!(minifig.totals.parts_needed, 6);
    assert_eq!(minifig.totals.unpriced, 0);

    let stats = app.sim.sim.stats().bricklink;
    assert!(
        stats.max_in_flight > 1,
        "parts are fetched concurrently: {stats:?}"
    );
    assert!(
        stats.max_in_flight <= 4,
        "never above BrickLink's limit: {stats:?}"
    );
    // Item, parts, and per item and colour the new guide (the used one is not shown); the
    // picture address only for the one picture (64567, an older JPEG) that is not where its
    // derived address points.
    assert_eq!(catalog_calls(&app), 2 + 7 + 1, "{:?}", stats.calls);

    let picture = app.api.get(&minifig.parts[0].image).await;
    assert_eq!(picture.status(), StatusCode::OK);
    assert_eq!(
        catalog_calls(&app),
        2 + 7 + 1,
        "the picture was fetched with the part"
    );

    // A part wanted used needs the used guide: one call, in the background, and the part is
    // unpriced until it is there (never the new price shown as used).
    let part = &minifig.parts[0];
    let changed: PartialMinifig = app
        .api
        .put_json(
            &routes::minifig_part(list.id, minifig.id, part.id),
            &json!({"condition": "used"}),
        )
        .await
        .json();
    let row = changed.parts.iter().find(|p| p.id == part.id).unwrap();
    assert!(row.cost_per_piece().is_none() || row.prices.as_ref().unwrap().used_asked);
    let minifig = ready(&app, &app.api, list.id, minifig.id).await;
    let row = minifig.parts.iter().find(|p| p.id == part.id).unwrap();
    let prices = row.prices.as_ref().unwrap();
    assert!(prices.used_asked && prices.new_asked, "{prices:?}");
    assert_eq!(row.cost_per_piece(), prices.used.or(prices.new));
    assert_eq!(catalog_calls(&app), 2 + 7 + 1 + 1);
    // Back to new: known already, nothing asked.
    app.api
        .put_json(
            &routes::minifig_part(list.id, minifig.id, part.id),
            &json!({"condition": "new"}),
        )
        .await;
    // The minifig itself wanted used: its own used guide.
    let whole: PartialMinifig = app
        .api
        .put_json(
            &routes::list_minifig(list.id, minifig.id),
            &json!({"condition": "used"}),
        )
        .await
        .json();
    assert!(matches!(whole.fetch, FetchState::Loading { .. }));
    let minifig = ready(&app, &app.api, list.id, minifig.id).await;
    assert!(minifig.prices.as_ref().unwrap().used_asked);
    assert_eq!(catalog_calls(&app), 2 + 7 + 1 + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_minifig_makes_no_catalogue_calls_again_even_after_a_restart() {
    let app = TestApp::spawn_with_sim(&world()).await;
    app.setup_admin().await;
    app.connect(&app.api, 0, Marketplace::BrickLink).await;
    let list = app.api.create_list("Jedi").await;

    // A look-up before anything is cached is a job; once it is done the answer is at hand.
    let lookup = app.api.get(&routes::catalog_minifig("sw0002")).await;
    assert_eq!(lookup.status(), StatusCode::ACCEPTED, "{}", lookup.text());
    let _: Queued = lookup.json();
    app.settle().await;
    let found = app.api.get(&routes::catalog_minifig("sw0002")).await;
    assert_eq!(found.status(), StatusCode::OK, "{}", found.text());
    let found: app::CatalogMinifig = found.json();
    assert_eq!(found.name, "Obi-Wan Kenobi");
    assert_eq!(found.parts.len(), 5);

    app.sim.sim.reset_stats();
    let first = app.api.add_minifig(list.id, "sw0002").await;
    ready(&app, &app.api, list.id, first.minifig.id).await;
    let second = app.api.add_minifig(list.id, "sw0002").await;
    ready(&app, &app.api, list.id, second.minifig.id).await;
    assert_eq!(catalog_calls(&app), 0, "everything came from the cache");

    let data_dir = app.stop().await;
    let app = TestApp::spawn_full(data_dir, &world(), |_| {}).await;
    app.api.login("admin", tests::PASSWORD).await;
    let again = app.api.add_minifig(list.id, "sw0002").await;
    let minifig = ready(&app, &app.api, list.id, again.minifig.id).await;
    assert!(minifig.parts.iter().all(|p| p.prices.is_some()));
    assert_eq!(
        catalog_calls(&app),
        0,
        "the restart kept the catalogue cache: {:?}",
        app.sim.sim.stats().bricklink.calls
    );
    assert_eq!(
        app.api
            .get(&routes::catalog_minifig("sw0002"))
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn ids_bricklink_does_not_know_end_with_a_clear_error() {
    let app = TestApp::spawn_with_sim(&world()).await;
    app.setup_admin().await;
    let list = app.api.create_list("Mixed").await;
    let before = app
        .api
        .post_json(
            &routes::list_minifigs(list.id),
            &json!({"bricklink_id": "sw0001a"}),
        )
        .await;
    assert_eq!(
        before.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        before.text()
    );
    assert_eq!(before.error_code(), "not-connected");

    app.connect(&app.api, 0, Marketplace::BrickLink).await;
    for bad in ["", "sw 0001", "../etc", "sw0001/parts"] {
        let refused = app
            .api
            .post_json(
                &routes::list_minifigs(list.id),
                &json!({"bricklink_id": bad}),
            )
            .await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{bad:?}");
        assert_eq!(refused.error_code(), "invalid-input");
        assert!(
            refused.text().contains("not a BrickLink minifigure ID"),
            "{}",
            refused.text()
        );
    }
    let unknown = app.api.add_minifig(list.id, "sw9999").await;
    let failed = app
        .until(20, "the unknown minifig fails", || async {
            let minifig = app.api.minifig(list.id, unknown.minifig.id).await;
            match minifig.fetch {
                FetchState::Failed { message } => Some(message),
                _ => None,
            }
        })
        .await;
    assert!(
        failed.contains("BrickLink has no minifigure with the ID sw9999"),
        "{failed}"
    );
    let job: app::JobView = app.api.get_job(unknown.job_id).await.json();
    assert_eq!(
        job.state,
        app::JobState::Dead,
        "no retries for an unknown ID"
    );
}

#[tokio::test]
async fn collected_parts_update_the_minifig_and_list_totals() {
    let app = TestApp::spawn_with_sim(&world()).await;
    app.setup_admin().await;
    app.connect(&app.api, 0, Marketplace::BrickLink).await;
    let list = app.api.create_list("City").await;
    let queued = app.api.add_minifig(list.id, "sp0001").await;
    let minifig = ready(&app, &app.api, list.id, queued.minifig.id).await;
    let tanks = minifig
        .parts
        .iter()
        .find(|p| p.item_no == "3838")
        .expect("airtanks");
    assert_eq!(tanks.quantity_needed, 2);
    let full_cost = minifig.totals.cost_to_complete;

    // One of two airtanks collected: a piece less to buy.
    let part_path = routes::minifig_part(list.id, minifig.id, tanks.id);
    let one: PartialMinifig = app
        .api
        .put_json(&part_path, &json!({"quantity_collected": 1}))
        .await
        .json();
    let price = tanks.cost_per_piece().expect("priced");
    assert_eq!(one.totals.cost_to_complete.0, full_cost.0 - price.0);
    assert_eq!(one.totals.parts_collected, 1);
    // More than needed is capped at needed; the part is then complete.
    let both: PartialMinifig = app
        .api
        .put_json(&part_path, &json!({"quantity_collected": 9}))
        .await
        .json();
    let row = both.parts.iter().find(|p| p.id == tanks.id).unwrap();
    assert_eq!(row.quantity_collected, 2);
    assert!(row.complete());

    // The seller has every other part already: the minifig is complete.
    for part in both.parts.iter().filter(|p| p.id != tanks.id) {
        let answer = app
            .api
            .put_json(
                &routes::minifig_part(list.id, minifig.id, part.id),
                &json!({"quantity_needed": 0}),
            )
            .await;
        assert_eq!(answer.status(), StatusCode::OK, "{}", answer.text());
    }
    let done: MinifigList = app.api.get(&routes::minifig_list(list.id)).await.json();
    assert_eq!(done.summary.totals.complete, 1);
    assert_eq!(done.summary.totals.cost_to_complete.0, 0);
    assert_eq!(done.summary.totals.percent_collected(), 100);

    // Notes and condition; a new colour fetches that colour's prices in the background.
    let edited: PartialMinifig = app
        .api
        .put_json(
            &routes::list_minifig(list.id, minifig.id),
            &json!({"reference_id": "box 12", "condition": "used", "notes": "torso scratched"}),
        )
        .await
        .json();
    assert_eq!(edited.reference_id.as_deref(), Some("box 12"));
    assert_eq!(edited.condition, app::Condition::Used);
    let head = &edited.parts[0];
    let recolored: PartialMinifig = app
        .api
        .put_json(
            &routes::minifig_part(list.id, minifig.id, head.id),
            &json!({"color_id": 11, "quantity_needed": 1}),
        )
        .await
        .json();
    assert!(recolored.parts[0].prices.is_none());
    let refetched = ready(&app, &app.api, list.id, minifig.id).await;
    assert_eq!(refetched.parts[0].color_id, 11);
    assert!(refetched.parts[0].prices.is_some());
    assert_eq!(refetched.parts[0].image, "/img/PART/3626bpb0001/11");

    let renamed = app
        .api
        .put_json(
            &routes::minifig_list(list.id),
            &json!({"name": "Space", "description": "Classic"}),
        )
        .await;
    assert_eq!(renamed.status(), StatusCode::OK);
    assert_eq!(
        app.api
            .delete(&routes::list_minifig(list.id, minifig.id))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let lists: Vec<app::ListSummary> = app.api.get(routes::MINIFIG_LISTS).await.json();
    assert_eq!(lists[0].name, "Space");
    assert_eq!(lists[0].totals.minifigs, 0);
    assert_eq!(
        app.api
            .delete(&routes::minifig_list(list.id))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.api.get(&routes::minifig_list(list.id)).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn another_user_gets_not_found_for_every_list_path() {
    let app = TestApp::spawn_with_sim(&world()).await;
    app.setup_admin().await;
    app.connect(&app.api, 0, Marketplace::BrickLink).await;
    let list = app.api.create_list("Mine").await;
    let queued = app.api.add_minifig(list.id, "cty0001").await;
    ready(&app, &app.api, list.id, queued.minifig.id).await;

    app.create_user("bob", "bob@example.com").await;
    let bob = app.new_client();
    bob.login("bob", tests::PASSWORD).await;
    let lists: Vec<app::ListSummary> = bob.get(routes::MINIFIG_LISTS).await.json();
    assert!(lists.is_empty());
    let id = queued.minifig.id;
    let part = routes::minifig_part(list.id, id, 0);
    for answer in [
        bob.get(&routes::minifig_list(list.id)).await,
        bob.put_json(&routes::minifig_list(list.id), &json!({"name": "x"}))
            .await,
        bob.post_json(
            &routes::list_minifigs(list.id),
            &json!({"bricklink_id": "sw0002"}),
        )
        .await,
        bob.get(&routes::list_minifig(list.id, id)).await,
        bob.put_json(&part, &json!({"quantity_collected": 1})).await,
        bob.delete(&routes::list_minifig(list.id, id)).await,
        bob.delete(&routes::minifig_list(list.id)).await,
    ] {
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{}", answer.text());
    }
    let still: MinifigList = app.api.get(&routes::minifig_list(list.id)).await.json();
    assert_eq!(still.minifigs.len(), 1);
    assert_eq!(still.minifigs[0].parts[0].quantity_collected, 0);
}
