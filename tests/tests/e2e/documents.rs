//! Packing slips and invoices: invoice numbers unique and gap-free however many requests
//! arrive at once, a PDF that opens with the order's lines, VAT and totals, a batch as one
//! document, the template's choices, and bad requests refused with nothing numbered.

use app::{DocumentKind, Marketplace, OrderDetail, OrderRef, routes};
use reqwest::StatusCode;
use serde_json::json;
use server::sim::Side;
use tests::{ApiClient, PASSWORD, TestApp};

/// Both marketplaces connected and their orders imported; a BrickLink order with items
/// carries 21 % VAT (its id is returned).
async fn shop() -> (TestApp, i64) {
    let app = TestApp::spawn().await;
    let id = bricklink_order(&app);
    assert!(app.sim.sim.set_vat(0, Side::BrickLink, id, 2100));
    app.setup_admin().await;
    app.connect(&app.api, 0, Marketplace::BrickLink).await;
    app.connect(&app.api, 0, Marketplace::BrickOwl).await;
    (app, id)
}

/// A BrickLink order in the simulated store with items.
fn bricklink_order(app: &TestApp) -> i64 {
    app.sim
        .sim
        .orders(0, Side::BrickLink)
        .into_iter()
        .filter(|o| o.lines().count() >= 2 && o.status != "PURGED")
        .map(|o| o.id)
        .min()
        .expect("an order with items")
}

async fn orders(api: &ApiClient, n: usize) -> Vec<OrderRef> {
    let list: app::OrderList = api.list_orders("per_page=100").await.json();
    let found: Vec<OrderRef> = list
        .orders
        .into_iter()
        .filter(|o| o.lots > 0)
        .take(n)
        .map(|o| OrderRef {
            marketplace: o.marketplace,
            order_id: o.order_id,
        })
        .collect();
    assert_eq!(found.len(), n);
    found
}

fn invoice_number(html: &str) -> String {
    let start = html.find("<title>Invoice ").expect("an invoice title") + "<title>Invoice ".len();
    let end = html[start..].find('<').expect("the title ends") + start;
    html[start..end].to_owned()
}

async fn get_bytes(api: &ApiClient, path: &str) -> (StatusCode, Option<String>, Vec<u8>) {
    let answer = api.get(path).await;
    let kind = answer.header("content-type").map(str::to_owned);
    (answer.status(), kind, answer.body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoice_numbers_are_unique_and_gap_free_under_concurrent_requests() {
    let (app, _) = shop().await;
    let saved = app
        .api
        .put_json(
            routes::DOCUMENT_TEMPLATE,
            &json!({"shop_name": "Anna's Bricks", "invoice_prefix": "BD-", "invoice_first": 1000, "invoice_digits": 6}),
        )
        .await;
    assert_eq!(saved.status(), StatusCode::OK, "{}", saved.text());
    let chosen = orders(&app.api, 12).await;
    let mut requests = Vec::new();
    for round in 0..3 {
        for (n, order) in chosen.iter().enumerate() {
            // Each round asks in another order.
            let order = if round == 1 {
                chosen[chosen.len() - 1 - n].clone()
            } else {
                order.clone()
            };
            let api = app.api.clone();
            requests.push(tokio::spawn(async move {
                let path =
                    routes::documents(DocumentKind::Invoice, std::slice::from_ref(&order), false);
                let answer = api.get(&path).await;
                assert_eq!(answer.status(), StatusCode::OK, "{}", answer.text());
                (order, invoice_number(&answer.text()))
            }));
        }
    }
    let mut given: std::collections::BTreeMap<OrderRef, Vec<String>> = Default::default();
    for request in requests {
        let (order, number) = request.await.unwrap();
        given.entry(order).or_default().push(number);
    }
    assert_eq!(given.len(), 12);
    let mut numbers: Vec<String> = given
        .values()
        .map(|all| {
            assert!(
                all.iter().all(|n| *n == all[0]),
                "one number per order: {all:?}"
            );
            all[0].clone()
        })
        .collect();
    numbers.sort();
    let expected: Vec<String> = (1000..1012).map(|n| format!("BD-{n:06}")).collect();
    assert_eq!(numbers, expected, "unique and without a gap");

    // Another seller cannot print these orders, and numbers nothing trying.
    app.create_user("bob", "bob@example.com").await;
    let bob = app.new_client();
    bob.login("bob", PASSWORD).await;
    let theirs = bob
        .get(&routes::documents(
            DocumentKind::Invoice,
            &chosen[..1],
            false,
        ))
        .await;
    assert_eq!(theirs.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let next = orders(&app.api, 13).await.pop().unwrap();
    let answer = app
        .api
        .get(&routes::documents(DocumentKind::Invoice, &[next], false))
        .await;
    assert_eq!(invoice_number(&answer.text()), "BD-001012");
}

fn pdf_text(bytes: &[u8]) -> (usize, String) {
    let document = lopdf::Document::load_mem(bytes).expect("the PDF opens");
    let pages: Vec<u32> = document.get_pages().keys().copied().collect();
    let text = document.extract_text(&pages).expect("its text reads");
    (pages.len(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pdf_invoice_opens_with_the_orders_lines_vat_and_totals() {
    let (app, id) = shop().await;
    let order: OrderDetail = app
        .api
        .get_order(Marketplace::BrickLink, &id.to_string())
        .await
        .json();
    let tax = order.tax.expect("the order carries VAT");
    assert_eq!(tax.rate, app::Money(21_0000));
    let one = [OrderRef {
        marketplace: Marketplace::BrickLink,
        order_id: id.to_string(),
    }];
    let (status, kind, bytes) = get_bytes(
        &app.api,
        &routes::documents(DocumentKind::Invoice, &one, true),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kind.as_deref(), Some("application/pdf"));
    let (pages, text) = pdf_text(&bytes);
    assert_eq!(pages, 1);
    let currency = &order.summary.currency;
    for expected in [
        "Invoice INV-00001".to_owned(),
        format!("BrickLink order {id}"),
        order.lines[0].item_no.clone(),
        order.lines[1].item_no.clone(),
        "VAT 21%".to_owned(),
        tax.amount.with_currency(currency),
        order.subtotal.with_currency(currency),
        order.summary.total.with_currency(currency),
    ] {
        assert!(text.contains(&expected), "{expected:?} is not in:\n{text}");
    }

    // A batch of packing slips: one document, each order on its own page, no prices.
    let three = orders(&app.api, 3).await;
    let (status, _, bytes) = get_bytes(
        &app.api,
        &routes::documents(DocumentKind::PackingSlip, &three, true),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (pages, text) = pdf_text(&bytes);
    assert!(pages >= 3, "{pages} pages");
    assert!(!text.contains("Total"), "a packing slip shows no prices");
    for order in &three {
        assert!(
            text.contains(&format!("order {}", order.order_id)),
            "{text}"
        );
    }
    let html = app
        .api
        .get(&routes::documents(DocumentKind::PackingSlip, &three, false))
        .await;
    assert_eq!(html.status(), StatusCode::OK);
    assert!(
        html.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        html.header("content-security-policy")
            .unwrap()
            .contains("default-src 'none'")
    );
    let page = html.text();
    assert_eq!(page.matches("class=\"sheet\"").count(), 3);
    assert!(page.contains("size: A4"));
    assert!(page.contains("Location"));

    // The template's choices: Letter paper, no location column, a footer; escaped text.
    let saved = app
        .api
        .put_json(
            routes::DOCUMENT_TEMPLATE,
            &json!({"shop_name": "<b>Bricks</b>", "paper": "letter", "show_location": false, "footer": "Returns within 14 days"}),
        )
        .await;
    assert_eq!(saved.status(), StatusCode::OK, "{}", saved.text());
    let page = app
        .api
        .get(&routes::documents(
            DocumentKind::PackingSlip,
            &three[..1],
            false,
        ))
        .await
        .text();
    assert!(page.contains("size: letter") && !page.contains(">Location<"));
    assert!(page.contains("&lt;b&gt;Bricks&lt;/b&gt;") && page.contains("Returns within 14 days"));
    let (_, _, bytes) = get_bytes(
        &app.api,
        &routes::documents(DocumentKind::PackingSlip, &three[..1], true),
    )
    .await;
    let document = lopdf::Document::load_mem(&bytes).unwrap();
    let media = format!(
        "{:?}",
        document
            .get_object(*document.get_pages().values().next().unwrap())
            .unwrap()
    );
    assert!(media.contains("612"), "Letter is 612 points wide: {media}");

    // A logo: on the page, and in the PDF as a picture.
    const DOT: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
    let saved = app
        .api
        .put_json(
            routes::DOCUMENT_TEMPLATE,
            &json!({"shop_name": "Bricks", "logo": DOT}),
        )
        .await;
    assert_eq!(saved.status(), StatusCode::OK, "{}", saved.text());
    let page = app
        .api
        .get(&routes::documents(DocumentKind::Invoice, &one, false))
        .await
        .text();
    assert!(
        page.contains("class=\"logo\" src=\"data:image/png;base64,"),
        "{page}"
    );
    let (_, _, bytes) = get_bytes(
        &app.api,
        &routes::documents(DocumentKind::Invoice, &one, true),
    )
    .await;
    let document = lopdf::Document::load_mem(&bytes).unwrap();
    let pictures = document
        .objects
        .values()
        .filter(|o| {
            o.as_stream()
                .ok()
                .and_then(|s| s.dict.get(b"Subtype").ok())
                .and_then(|t| t.as_name().ok())
                == Some(&b"Image"[..])
        })
        .count();
    assert!(pictures >= 1, "the logo is in the PDF");
    let broken = app
        .api
        .put_json(
            routes::DOCUMENT_TEMPLATE,
            &json!({"logo": "data:image/png;base64,AAAA"}),
        )
        .await;
    assert_eq!(broken.status(), StatusCode::BAD_REQUEST);
    assert!(broken.text().contains("logo"), "{}", broken.text());

    // Bad requests say what is wrong.
    for (path, status, code) in [
        (
            "/api/documents/receipt?orders=bricklink:1".to_owned(),
            StatusCode::NOT_FOUND,
            "not-found",
        ),
        (
            format!("/api/documents/invoice?orders=bricklink:{id}&format=doc"),
            StatusCode::BAD_REQUEST,
            "invalid-input",
        ),
        (
            "/api/documents/invoice?orders=ebay:1".to_owned(),
            StatusCode::BAD_REQUEST,
            "invalid-input",
        ),
        (
            "/api/documents/invoice?orders=".to_owned(),
            StatusCode::BAD_REQUEST,
            "invalid-input",
        ),
        (
            "/api/documents/invoice?orders=bricklink:424242".to_owned(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "not-allowed",
        ),
    ] {
        let answer = app.api.get(&path).await;
        assert_eq!(answer.status(), status, "{path}: {}", answer.text());
        assert_eq!(answer.error_code(), code, "{path}");
    }
    let bad = app
        .api
        .put_json(routes::DOCUMENT_TEMPLATE, &json!({"invoice_digits": 0}))
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(bad.error_code(), "invalid-input");
}
