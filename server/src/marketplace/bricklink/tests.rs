//! Request-exact tests against wiremock: what the client sends, and how it reads each kind of
//! answer BrickLink gives.

use std::time::Duration;

use app::{Marketplace, Money, UserId};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{body_json, header_regex, method, path, query_param},
};

use super::*;
use crate::marketplace::guard::{Guard, Limits};

fn creds() -> Credentials {
    Credentials {
        consumer_key: "CK00".into(),
        consumer_secret: "CS00".into(),
        token: "TK00".into(),
        token_secret: "TS00".into(),
    }
}

fn client(server: &MockServer) -> (BrickLink, Guard) {
    let guard = Guard::new(Limits::default(), None);
    let base = Url::parse(&format!("{}/api/store/v1", server.uri())).expect("url");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let client = BrickLink::new(
        http,
        base,
        creds(),
        guard.account(UserId(1), Marketplace::BrickLink),
    );
    (client, guard)
}

/// A client of a server that gives `response` to every GET.
async fn answering(response: ResponseTemplate) -> (MockServer, BrickLink) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(response)
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    (server, client)
}

#[allow(clippy::needless_pass_by_value)]
fn ok(data: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "meta": {"description": "OK", "message": "OK", "code": 200},
        "data": data,
    }))
}

const SIGNED: &str = r#"^OAuth realm="", oauth_consumer_key="CK00", oauth_nonce="[a-z0-9]{16}", oauth_signature_method="HMAC-SHA1", oauth_timestamp="\d+", oauth_token="TK00", oauth_version="1.0", oauth_signature="[A-Za-z0-9%]+"$"#;

#[tokio::test]
async fn order_list_sends_direction_statuses_and_filed_with_a_signed_header() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/store/v1/orders"))
        .and(query_param("direction", "in"))
        .and(query_param("status", "PENDING,PAID,-PURGED"))
        .and(query_param("filed", "true"))
        .and(header_regex("authorization", SIGNED))
        .respond_with(ok(serde_json::json!([{
            "order_id": 4329553, "date_ordered": "2014-04-16T17:55:49.960Z",
            "date_status_changed": "2014-04-29T13:02:11.000Z", "seller_name": "Stragus",
            "store_name": "Angry Bricks", "buyer_name": "AmandaEdgeworth", "status": "COMPLETED",
            "total_count": 22, "unique_count": 1, "is_filed": false,
            "payment": {"method": "PayPal.com", "currency_code": "CAD",
                        "date_paid": "2014-04-18T14:45:10.000Z", "status": "Sent"},
            "cost": {"currency_code": "USD", "subtotal": "11.5940", "grand_total": "13.7240"},
            "disp_cost": {"currency_code": "CAD", "subtotal": "12.7874", "grand_total": "15.1367"}
        }])))
        .expect(1)
        .mount(&server)
        .await;
    let (client, guard) = client(&server);
    let filter = OrderFilter {
        direction: Direction::In,
        include: vec!["PENDING".into(), "PAID".into()],
        exclude: vec!["PURGED".into()],
        filed: Some(true),
    };
    let orders = client
        .orders(&filter, Priority::Background)
        .await
        .expect("orders");
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].order_id, 4_329_553);
    assert_eq!(orders[0].status, "COMPLETED");
    assert_eq!(
        orders[0].date_status_changed.map(|d| d.month()),
        Some(time::Month::April)
    );
    assert_eq!(
        orders[0].payment.as_ref().and_then(|p| p.status.as_deref()),
        Some("Sent")
    );
    assert_eq!(
        guard.usage(UserId(1), Marketplace::BrickLink).calls_today,
        1
    );
}

#[tokio::test]
async fn status_update_puts_the_patch_object() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/api/store/v1/orders/3986441/status"))
        .and(body_json(
            serde_json::json!({"field": "status", "value": "SHIPPED"}),
        ))
        .and(header_regex("authorization", SIGNED))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "meta": {"description": "OK_NO_CONTENT", "message": "OK_NO_CONTENT", "code": 204},
            "data": {}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    client
        .update_status(3_986_441, "SHIPPED", Priority::Interactive)
        .await
        .expect("updated");
}

#[tokio::test]
async fn an_http_200_with_meta_401_is_bad_credentials_with_the_reason() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "meta": {"description": "TOKEN_IP_MISMATCHED: consumer: CK00 IP: 10.0.0.1",
                     "message": "BAD_OAUTH_REQUEST", "code": 401}
        })))
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    let err = client
        .check(Priority::Interactive)
        .await
        .expect_err("refused");
    assert_eq!(
        err,
        MarketplaceError::BadCredentials("TOKEN_IP_MISMATCHED: consumer: CK00 IP: 10.0.0.1".into())
    );
}

#[tokio::test]
async fn gateway_failures_and_bad_bodies_are_classified() {
    type Expect = fn(&MarketplaceError) -> bool;
    let cases: Vec<(ResponseTemplate, Expect)> = vec![
        (
            ResponseTemplate::new(503).set_body_raw(
                "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>",
                "text/html",
            ),
            |e| matches!(e, MarketplaceError::Unavailable(m) if m.contains("HTML")),
        ),
        (
            ResponseTemplate::new(429).insert_header("retry-after", "7"),
            |e| {
                *e == MarketplaceError::RateLimited {
                    retry_after: Some(Duration::from_secs(7)),
                }
            },
        ),
        (
            ResponseTemplate::new(200).set_body_raw(
                "{\"meta\": {\"code\": 200}, \"data\": [",
                "application/json",
            ),
            |e| matches!(e, MarketplaceError::Undecodable(_)),
        ),
        (ok(serde_json::json!({"color_id": "not a number"})), |e| {
            matches!(e, MarketplaceError::Undecodable(_))
        }),
        (
            ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "meta": {"description": "The resource you requested does not exist.",
                         "message": "RESOURCE_NOT_FOUND", "code": 404}})),
            |e| matches!(e, MarketplaceError::NotFound(_)),
        ),
        (
            ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "meta": {"description": "attempt to update an order status to unavailable value",
                         "message": "RESOURCE_UPDATE_NOT_ALLOWED", "code": 422}})),
            |e| matches!(e, MarketplaceError::Refused(m) if m.contains("RESOURCE_UPDATE_NOT_ALLOWED")),
        ),
        (
            ResponseTemplate::new(200).set_delay(Duration::from_secs(30)),
            |e| matches!(e, MarketplaceError::Unavailable(m) if m.contains("in time")),
        ),
    ];
    for (i, (response, expected)) in cases.into_iter().enumerate() {
        let (_server, client) = answering(response).await;
        let err = client.check(Priority::Background).await.expect_err("fails");
        assert!(expected(&err), "case {i}: {err:?}");
    }
}

#[tokio::test]
async fn orders_read_omitted_fields_uk_addresses_and_item_batches() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/store/v1/orders/3905404"))
        .respond_with(ok(serde_json::json!({
            "order_id": 3905404, "date_ordered": "2013-10-29T17:59:06.373Z",
            "seller_name": "covariance", "store_name": "skbrickshop", "buyer_name": "sklee",
            "status": "PENDING", "total_count": 1, "unique_count": 1,
            "payment": {"method": "PayPal.com", "currency_code": "EUR", "status": "None"},
            "shipping": {"method_id": "17862", "method": "PostBox",
                         "address": {"name": {"full": "Seulki Lee"}, "full": "fake address", "country_code": "UK"}},
            "cost": {"currency_code": "EUR", "subtotal": "10.1210", "grand_total": "13.1210", "shipping": "3.0000"}
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/store/v1/orders/3905404/items"))
        .respond_with(ok(serde_json::json!([
            [{"inventory_id": 50133258, "item": {"no": "7644-1", "name": "MX-81", "type": "SET", "category_id": 34},
              "color_id": 0, "quantity": 1, "new_or_used": "N", "completeness": "S",
              "unit_price": "139.9900", "unit_price_final": "139.9900", "currency_code": "USD"}],
            [{"inventory_id": 211345777, "item": {"no": "sw0001a", "type": "MINIFIG"},
              "quantity": 1, "new_or_used": "U", "unit_price": "4.5000", "unit_price_final": "4.5000"}]
        ])))
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    let order = client
        .order(3_905_404, Priority::Background)
        .await
        .expect("order");
    assert_eq!(order.date_status_changed, None);
    assert_eq!(order.payment.as_ref().and_then(|p| p.date_paid), None);
    let shipping = order.shipping.expect("shipping");
    assert_eq!(shipping.method_id, Some(17_862));
    assert_eq!(
        shipping.address.and_then(|a| a.country_code).as_deref(),
        Some("GB")
    );
    assert_eq!(order.cost.shipping, Some(Money(3_0000)));
    let batches = client
        .order_items(3_905_404, Priority::Background)
        .await
        .expect("items");
    assert_eq!(batches.len(), 2);
    assert_eq!(batches[1][0].item.no, "sw0001a");
    assert_eq!(batches[0][0].unit_price_final, Money(139_9900));
}

#[tokio::test]
async fn protocol_relative_image_urls_take_the_api_scheme() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/store/v1/items/part/3001/images/11"))
        .respond_with(ok(serde_json::json!({
            "no": "3001", "type": "PART", "thumbnail_url": "//img.bricklink.com/ItemImage/PN/11/3001.png"
        })))
        .mount(&server)
        .await;
    let (client, _) = client(&server);
    let image = client
        .image("PART", "3001", 11, Priority::Background)
        .await
        .expect("image");
    assert_eq!(
        image.thumbnail_url,
        "http://img.bricklink.com/ItemImage/PN/11/3001.png"
    );
}

#[tokio::test]
async fn repeated_outages_open_the_breaker_and_later_calls_are_gated_without_a_request() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).set_body_raw("<html>busy</html>", "text/html"))
        .expect(5)
        .mount(&server)
        .await;
    let (client, guard) = client(&server);
    for _ in 0..5 {
        let err = client.check(Priority::Background).await.expect_err("down");
        assert!(matches!(err, MarketplaceError::Unavailable(_)), "{err:?}");
    }
    let err = client.check(Priority::Background).await.expect_err("gated");
    assert!(matches!(err, MarketplaceError::Gated { .. }), "{err:?}");
    assert_eq!(
        guard.usage(UserId(1), Marketplace::BrickLink).calls_today,
        5
    );
}

#[tokio::test]
async fn one_unreadable_order_in_a_list_is_skipped_not_an_outage() {
    let server = MockServer::start().await;
    let good = serde_json::json!({
        "order_id": 1, "date_ordered": "2014-04-16T17:55:49.960Z", "status": "PAID",
        "buyer_name": "Anna", "total_count": 1, "unique_count": 1, "is_filed": false,
        "cost": {"currency_code": "USD", "subtotal": "1.00", "grand_total": "2.00"}
    });
    let mut broken = good.clone();
    broken["order_id"] = serde_json::json!("not a number");
    broken["date_ordered"] = serde_json::json!(42);
    Mock::given(method("GET"))
        .and(path("/api/store/v1/orders"))
        .respond_with(ok(serde_json::json!([good, broken])))
        .mount(&server)
        .await;
    let (client, _guard) = client(&server);
    let orders = client
        .orders(&OrderFilter::default(), Priority::Background)
        .await
        .expect("the readable ones");
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].order_id, 1);
}

/// The order list is decoded as it arrives: each kind of failure is still told apart, an
/// answer without `data` is never an empty store, and a transfer cut part-way is an outage
/// worth another try, not an unreadable answer.
#[tokio::test]
async fn a_streamed_order_list_tells_failures_apart() {
    type Expect = fn(&MarketplaceError) -> bool;
    let cases: Vec<(ResponseTemplate, Expect)> = vec![
        (
            ResponseTemplate::new(503).set_body_raw("<html>503</html>", "text/html"),
            |e| matches!(e, MarketplaceError::Unavailable(m) if m.contains("HTML")),
        ),
        (
            ResponseTemplate::new(200).set_body_raw(
                "{\"meta\": {\"code\": 200}, \"data\": [{\"order_id\": 1",
                "application/json",
            ),
            |e| matches!(e, MarketplaceError::Undecodable(_)),
        ),
        (
            ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "meta": {"description": "OK", "message": "OK", "code": 200}})),
            |e| matches!(e, MarketplaceError::Undecodable(m) if m.contains("no data")),
        ),
        (
            ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "meta": {"description": "TOKEN_VALUE_MISMATCHED", "message": "BAD_OAUTH_REQUEST",
                         "code": 401}})),
            |e| matches!(e, MarketplaceError::BadCredentials(m) if m == "TOKEN_VALUE_MISMATCHED"),
        ),
        (ok(serde_json::json!({"not": "a list"})), |e| {
            matches!(e, MarketplaceError::Undecodable(_))
        }),
        (
            ResponseTemplate::new(200).set_delay(Duration::from_secs(30)),
            |e| matches!(e, MarketplaceError::Unavailable(m) if m.contains("in time")),
        ),
    ];
    for (i, (response, expected)) in cases.into_iter().enumerate() {
        let (_server, client) = answering(response).await;
        let err = client
            .orders(&OrderFilter::default(), Priority::Background)
            .await
            .expect_err("fails");
        assert!(expected(&err), "case {i}: {err:?}");
    }

    // A server that promises more than it sends, then hangs up.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let (mut socket, _) = listener.accept().await.expect("accept");
        let mut request = vec![0_u8; 4096];
        let _ = socket.read(&mut request).await;
        let order = r#"{"order_id": 1, "date_ordered": "2014-04-16T17:55:49.960Z", "status": "PAID", "cost": {"currency_code": "USD", "subtotal": "1.00", "grand_total": "2.00"}},"#;
        let body = format!(
            "{{\"meta\": {{\"code\": 200}}, \"data\": [{}",
            order.repeat(200)
        );
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len() * 2
        );
        socket.write_all(head.as_bytes()).await.expect("head");
        socket.write_all(body.as_bytes()).await.expect("body");
        socket.shutdown().await.expect("hang up");
    });
    let guard = Guard::new(Limits::default(), None);
    let base = Url::parse(&format!("http://{address}/api/store/v1")).expect("url");
    let client = BrickLink::new(
        reqwest::Client::new(),
        base,
        creds(),
        guard.account(UserId(1), Marketplace::BrickLink),
    );
    let err = client
        .orders(&OrderFilter::default(), Priority::Background)
        .await
        .expect_err("cut off");
    assert_eq!(
        err,
        MarketplaceError::Unavailable("the answer was cut off part-way".into())
    );
}
