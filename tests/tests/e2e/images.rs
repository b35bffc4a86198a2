//! Catalogue pictures through brickdesk's cache: order lines link to them, the first request
//! fetches the picture from where its address says (asking the catalogue only for the few that
//! are elsewhere), later ones do not, and the browser may revalidate with the ETag.

use app::{Marketplace, OrderDetail};
use reqwest::StatusCode;
use server::sim::Side;
use tests::TestApp;

#[tokio::test]
async fn pictures_come_from_the_marketplace_once_then_from_the_cache() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    app.connect(&app.api, 0, Marketplace::BrickLink).await;
    let first = app.sim.sim.orders(0, Side::BrickLink)[0].id.to_string();
    let order: OrderDetail = app
        .api
        .get_order(Marketplace::BrickLink, &first)
        .await
        .json();
    let path = order.lines[0]
        .image
        .clone()
        .expect("a picture for a BrickLink line");
    app.sim.sim.reset_stats();

    let picture = app.api.get(&path).await;
    assert_eq!(picture.status(), StatusCode::OK, "{}", picture.text());
    assert_eq!(picture.header("content-type"), Some("image/png"));
    assert!(picture.body.starts_with(b"\x89PNG"));
    assert!(picture.header("cache-control").unwrap().contains("max-age"));
    let etag = picture.header("etag").unwrap().to_owned();

    let again = app.api.get(&path).await;
    assert_eq!(again.body, picture.body);
    let revalidated = app
        .api
        .send(
            app.api
                .request(reqwest::Method::GET, &path)
                .header("if-none-match", &etag),
        )
        .await;
    assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);
    let calls = app.sim.sim.stats().bricklink.calls;
    let expected = u64::from(path.contains("/64567/"));
    assert_eq!(
        calls
            .get("GET /items/{kind}/{no}/images/{color}")
            .copied()
            .unwrap_or(0),
        expected,
        "a picture's address is derived, not asked for: {calls:?}"
    );

    // An older JPEG picture is not where a derived address points: the catalogue says where.
    app.sim.sim.reset_stats();
    let jpeg = app.api.get("/img/PART/64567/86").await;
    assert_eq!(jpeg.status(), StatusCode::OK, "{}", jpeg.text());
    assert_eq!(
        app.sim
            .sim
            .stats()
            .bricklink
            .calls
            .get("GET /items/{kind}/{no}/images/{color}"),
        Some(&1)
    );

    assert_eq!(
        app.api.get("/img/PART/nosuchpart/11").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.api.get("/img/PART/..%2Fetc/11").await.status(),
        StatusCode::NOT_FOUND
    );
    let anonymous = reqwest::get(app.api.url(&path)).await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_pushed_order_has_its_pictures_ready_before_anyone_opens_it() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    app.connect(&app.api, 0, Marketplace::BrickLink).await;
    let imported = app.sim.sim.stats().bricklink.calls;
    assert_eq!(
        imported.get("GET /items/{kind}/{no}/images/{color}"),
        None,
        "an import fetches no pictures"
    );
    let url = app.api.connection(Marketplace::BrickLink).await.webhook_url;
    app.sim.sim.set_callbacks(0, url, None);
    let id = app
        .sim
        .sim
        .place_order(0, Side::BrickLink)
        .unwrap()
        .to_string();
    app.until(15, "the pushed order arrives", || async {
        (app.api
            .get_order(Marketplace::BrickLink, &id)
            .await
            .status()
            == StatusCode::OK)
            .then_some(())
    })
    .await;
    app.settle().await;
    let order: OrderDetail = app.api.get_order(Marketplace::BrickLink, &id).await.json();
    let distinct: std::collections::BTreeSet<_> =
        order.lines.iter().filter_map(|l| l.image.clone()).collect();
    let prefetched = app.sim.sim.stats().bricklink.calls;
    assert_eq!(
        prefetched
            .get("GET /items/{kind}/{no}/images/{color}")
            .copied()
            .unwrap_or(0),
        distinct.iter().filter(|p| p.contains("/64567/")).count() as u64,
        "catalogue calls only for pictures not at their derived address"
    );
    app.sim.sim.reset_stats();
    for path in &distinct {
        assert_eq!(app.api.get(path).await.status(), StatusCode::OK);
    }
    assert_eq!(
        app.sim.sim.stats().bricklink.total,
        0,
        "every picture came from the cache"
    );
}
