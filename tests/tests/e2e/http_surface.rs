//! The HTTP surface around the API: probes, unknown paths, security headers, request ids, and
//! the embedded UI as the release binary serves it.

use reqwest::StatusCode;
use tests::{TestApp, browser::ReleaseServer};

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = TestApp::spawn().await;
    let live = app.api.get("/healthz").await;
    assert_eq!(live.status(), StatusCode::OK);
    assert_eq!(live.json::<serde_json::Value>()["status"], "ok");
    let ready = app.api.get("/readyz").await;
    assert_eq!(ready.status(), StatusCode::OK);
    let ready: serde_json::Value = ready.json();
    assert_eq!(
        (
            ready["status"].as_str(),
            ready["orders"].as_str(),
            ready["workers"].as_str()
        ),
        (Some("ready"), Some("ready"), Some("running"))
    );
}

#[tokio::test]
async fn unknown_api_paths_are_json_404s_not_the_web_page() {
    let app = TestApp::spawn().await;
    for path in ["/api/nope", "/api", "/api/orders/x/y/z"] {
        let answer = app.api.get(path).await;
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(answer.error_code(), "not-found");
        assert_eq!(answer.header("cache-control"), Some("no-store"));
    }
}

#[tokio::test]
async fn every_answer_carries_security_headers_and_a_request_id() {
    let app = TestApp::spawn().await;
    for path in ["/", "/api/setup", "/settings"] {
        let answer = app.api.get(path).await;
        let csp = answer.header("content-security-policy").expect("CSP");
        assert!(csp.contains("'wasm-unsafe-eval'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(csp.contains("object-src 'none'"), "{csp}");
        assert_eq!(answer.header("x-frame-options"), Some("DENY"));
        assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(answer.header("referrer-policy"), Some("same-origin"));
        let id = answer.header("x-request-id").expect("request id");
        assert_eq!(id.len(), 36, "a UUID: {id}");
    }
    let traced = app
        .api
        .send(
            app.api
                .http
                .get(app.api.url("/healthz"))
                .header("x-request-id", "abc-123"),
        )
        .await;
    assert_eq!(
        traced.header("x-request-id"),
        Some("abc-123"),
        "a proxy's id is kept"
    );
}

#[tokio::test]
async fn client_side_routes_get_the_web_page() {
    let app = TestApp::spawn().await;
    for path in ["/", "/settings", "/orders/bricklink/123"] {
        let answer = app.api.get(path).await;
        assert_eq!(answer.status(), StatusCode::OK, "{path}");
        assert!(
            answer
                .header("content-type")
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        assert!(answer.text().contains("brickdesk"), "{path}");
    }
}

/// Against the release binary, whose UI is embedded: compression, caching, content types.
#[tokio::test]
async fn the_release_binary_serves_its_embedded_ui_compressed_and_cached() {
    let Some(server) = ReleaseServer::start().await else {
        return;
    };
    let http = reqwest::Client::new();

    let index = http
        .get(&server.base)
        .header("accept-encoding", "br")
        .send()
        .await
        .unwrap();
    assert_eq!(index.status(), StatusCode::OK);
    assert_eq!(index.headers()["content-encoding"], "br");
    assert!(
        index.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(
        index.headers()["cache-control"],
        "no-cache",
        "a new release shows at once"
    );
    let csp = index.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("'sha256-"),
        "the inline wasm loader is allowed by hash: {csp}"
    );

    let html = http
        .get(&server.base)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("_bg.wasm"),
        "the page loads the wasm UI:\n{html}"
    );
    let wasm_path = html
        .split(['"', '\''])
        .find(|part| part.ends_with("_bg.wasm"))
        .expect("a wasm path")
        .to_owned();
    let wasm_url = format!("{}{}", server.base, wasm_path);

    let wasm = http
        .get(&wasm_url)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(wasm.status(), StatusCode::OK);
    assert_eq!(wasm.headers()["content-type"], "application/wasm");
    assert_eq!(wasm.headers()["content-encoding"], "gzip");
    let cache = wasm.headers()["cache-control"].to_str().unwrap();
    assert!(
        cache.contains("immutable") && cache.contains("max-age=31536000"),
        "{cache}"
    );
    let etag = wasm.headers()["etag"].to_str().unwrap().to_owned();
    let revalidated = http
        .get(&wasm_url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);

    // The pages other than the dashboard are parts of their own, fetched when first opened.
    let folder = wasm_path.rsplit_once('/').expect("a folder").0.to_owned();
    let splitter = http
        .get(format!("{}{folder}/__wasm_split.js", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(splitter.status(), StatusCode::OK);
    let splitter = splitter.text().await.unwrap();
    let part = splitter
        .split('"')
        .find(|name| name.starts_with("./") && name.ends_with(".wasm"))
        .expect("the loader names its parts");
    let part = http
        .get(format!("{}{folder}/{}", server.base, &part[2..]))
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), StatusCode::OK);
    assert_eq!(part.headers()["content-type"], "application/wasm");
    // A page left open across an upgrade asks for its build's parts: a 404, not the page.
    let gone = http
        .get(format!("{}/pkg-0000000000000000/chunk_1.wasm", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);

    let deep = http
        .get(format!("{}/settings", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(deep.status(), StatusCode::OK);
    assert_eq!(
        deep.text().await.unwrap(),
        html,
        "client-side routes reload to the app"
    );

    let status = server.stop().await;
    assert!(
        status.success(),
        "SIGTERM stops the server cleanly: {status:?}"
    );
}
