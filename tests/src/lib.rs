//! Test harness: `TestApp` starts the real server on port 0 with a temporary data directory
//! and talks to it like a browser would (cookies kept, CSRF token echoed), one method per
//! endpoint. `browser` drives the release binary in headless Chromium.

#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

pub mod browser;

use std::sync::{Arc, Mutex};

use app::{ErrorBody, SessionInfo, routes};
use reqwest::{Method, RequestBuilder, Response, StatusCode, header::HeaderMap};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use server::{
    Application, Config,
    auth::password,
    sim::{Sim, SimConfig, SimServer},
    store::{NewUser, UserRecord, users::Creation},
};
use tempfile::TempDir;
use tokio::{sync::oneshot, task::JoinHandle};

/// The password every helper-made account uses.
pub const PASSWORD: &str = "correct horse battery";
/// The bearer token test servers want on `/metrics`.
pub const METRICS_TOKEN: &str = "test-metrics-token";

/// A running server plus a default API client.
pub struct TestApp {
    pub base: String,
    pub data_dir: TempDir,
    pub state: server::state::AppState,
    /// The first "browser".
    pub api: ApiClient,
    /// The marketplace simulator the server talks to.
    pub sim: SimServer,
    /// BrickOwl's fixed-port notify listener, when the config asked for one.
    pub notify: Option<std::net::SocketAddr>,
    /// Dropping it (with the `TestApp`) stops the server.
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    /// Starts a server with default settings.
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Starts a server after `adjust` has changed the config.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> Self {
        Self::spawn_in(tempfile::tempdir().unwrap(), adjust).await
    }

    /// Starts a server on an existing data directory (a restart).
    pub async fn spawn_in(data_dir: TempDir, adjust: impl FnOnce(&mut Config)) -> Self {
        Self::spawn_full(data_dir, &SimConfig::default(), adjust).await
    }

    /// Starts a server whose simulator has the world `sim`.
    pub async fn spawn_with_sim(sim: &SimConfig) -> Self {
        Self::spawn_full(tempfile::tempdir().unwrap(), sim, |_| {}).await
    }

    /// Starts a server on `data_dir` with the simulated world `sim`, after `adjust`.
    pub async fn spawn_full(
        data_dir: TempDir,
        sim: &SimConfig,
        adjust: impl FnOnce(&mut Config),
    ) -> Self {
        let sim = SimServer::start(Sim::new(sim), "127.0.0.1:0".parse().unwrap())
            .await
            .expect("simulator starts");
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: data_dir.path().to_owned(),
            log: "warn".into(),
            bricklink_base_url: sim.bricklink_url(),
            brickowl_base_url: sim.brickowl_url(),
            marketplace_timeout_seconds: 3,
            // Tests poll when they mean to.
            poll_cron: String::new(),
            colors_cron: String::new(),
            inventory_cron: String::new(),
            search_refresh_cron: String::new(),
            prune_cron: String::new(),
            backup_cron: String::new(),
            metrics_token: Some(METRICS_TOKEN.into()),
            ..Config::default()
        };
        adjust(&mut config);
        server::telemetry::init(
            &std::env::var("BRICKDESK_TEST_LOG").unwrap_or_else(|_| "error".into()),
            config.log_format,
        );
        let app = Application::build(config).await.expect("server builds");
        let addr = app.local_addr().unwrap();
        let notify = app.notify_addr();
        let state = app.state().clone();
        // The orders index is read in the background; a test starts from a ready server.
        state.services.store.orders().loaded().await;
        let (tx, rx) = oneshot::channel();
        let handle = tokio::spawn(app.run_until_stopped(async move {
            let _ = rx.await;
        }));
        let base = format!("http://{addr}");
        Self {
            api: ApiClient::new(&base),
            base,
            data_dir,
            state,
            sim,
            notify,
            shutdown: Some(tx),
            handle: Some(handle),
        }
    }

    /// `GET /metrics` with the scraper's token.
    pub fn metrics_request(&self) -> RequestBuilder {
        self.api
            .request(Method::GET, routes::METRICS)
            .bearer_auth(METRICS_TOKEN)
    }

    /// Another browser: its own cookies and CSRF token.
    pub fn new_client(&self) -> ApiClient {
        ApiClient::new(&self.base)
    }

    /// Stops the server gracefully (as SIGTERM would) and hands back the data directory.
    pub async fn stop(mut self) -> TempDir {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle.await.unwrap().expect("server stops cleanly");
        }
        // Dropping the state's sled handle releases the directory lock for a restart.
        let Self {
            data_dir, state, ..
        } = self;
        drop(state);
        data_dir
    }

    /// Completes first-run setup as `admin` and keeps the session in `self.api`.
    pub async fn setup_admin(&self) -> SessionInfo {
        let response = self
            .api
            .post_setup(&json!({
                "username": "admin", "email": "admin@example.com", "password": PASSWORD
            }))
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{}", response.text());
        response.json()
    }

    /// Polls `check` every 20 ms until it returns `Some`, for at most `seconds`.
    pub async fn until<T, F, Fut>(&self, seconds: u64, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(seconds);
        loop {
            if let Some(value) = check().await {
                return value;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{what}: not within {seconds} s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Creates a non-admin account directly in the store.
    pub async fn create_user(&self, username: &str, email: &str) -> UserRecord {
        let password_hash = password::hash(PASSWORD.into()).await.unwrap();
        self.state
            .services
            .store
            .users()
            .create(
                NewUser {
                    username: app::validate::Username::parse(username).unwrap(),
                    email: app::validate::Email::parse(email).unwrap(),
                    is_admin: false,
                    password_hash,
                },
                Creation::Any,
            )
            .unwrap()
    }
}

/// One browser's view of the API.
#[derive(Clone)]
pub struct ApiClient {
    pub base: String,
    pub http: reqwest::Client,
    csrf: Arc<Mutex<Option<String>>>,
}

impl ApiClient {
    fn new(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            http: reqwest::Client::builder()
                .cookie_store(true)
                .build()
                .unwrap(),
            csrf: Arc::default(),
        }
    }

    /// `base + path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request carrying the CSRF token, as the UI sends it.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let builder = self.http.request(method, self.url(path));
        match self.csrf.lock().unwrap().clone() {
            Some(token) => builder.header(routes::CSRF_HEADER, token),
            None => builder,
        }
    }

    /// The CSRF token this client holds.
    pub fn csrf_token(&self) -> Option<String> {
        self.csrf.lock().unwrap().clone()
    }

    /// Sends a request and keeps the CSRF token of a session answer, as the UI does.
    pub async fn send(&self, request: RequestBuilder) -> Answer {
        let answer = Answer::read(request.send().await.unwrap()).await;
        if answer.status == StatusCode::OK
            && let Ok(info) = serde_json::from_slice::<SessionInfo>(&answer.body)
        {
            *self.csrf.lock().unwrap() = Some(info.csrf_token);
        }
        answer
    }

    /// `GET path`
    pub async fn get(&self, path: &str) -> Answer {
        self.send(self.request(Method::GET, path)).await
    }

    /// `GET /api/setup`
    pub async fn get_setup(&self) -> Answer {
        self.get(routes::SETUP).await
    }

    /// `POST /api/setup`
    pub async fn post_setup(&self, body: &Value) -> Answer {
        self.send(self.request(Method::POST, routes::SETUP).json(body))
            .await
    }

    /// `POST /api/session`
    pub async fn login(&self, login: &str, password: &str) -> Answer {
        let body = json!({ "login": login, "password": password });
        self.send(self.request(Method::POST, routes::SESSION).json(&body))
            .await
    }

    /// `DELETE /api/session`
    pub async fn logout(&self) -> Answer {
        self.send(self.request(Method::DELETE, routes::SESSION))
            .await
    }

    /// `GET /api/me`
    pub async fn get_me(&self) -> Answer {
        self.get(routes::ME).await
    }

    /// `PUT /api/me`
    pub async fn put_me(&self, body: &Value) -> Answer {
        self.send(self.request(Method::PUT, routes::ME).json(body))
            .await
    }

    /// `POST /api/me/password`
    pub async fn change_password(&self, current: &str, new: &str) -> Answer {
        let body = json!({ "current_password": current, "new_password": new });
        self.send(self.request(Method::POST, routes::ME_PASSWORD).json(&body))
            .await
    }
}

impl ApiClient {
    /// `GET /api/jobs?{query}`
    pub async fn list_jobs(&self, query: &str) -> Answer {
        self.get(&format!("{}?{query}", routes::JOBS)).await
    }

    /// `GET /api/jobs/{id}`
    pub async fn get_job(&self, id: app::JobId) -> Answer {
        self.get(&job_path(routes::JOB, id)).await
    }

    /// `POST /api/jobs/{id}/retry`
    pub async fn retry_job(&self, id: app::JobId) -> Answer {
        self.send(self.request(Method::POST, &job_path(routes::JOB_RETRY, id)))
            .await
    }

    /// `POST /api/jobs/{id}/cancel`
    pub async fn cancel_job(&self, id: app::JobId) -> Answer {
        self.send(self.request(Method::POST, &job_path(routes::JOB_CANCEL, id)))
            .await
    }

    /// `DELETE /api/jobs/{id}`
    pub async fn delete_job(&self, id: app::JobId) -> Answer {
        self.send(self.request(Method::DELETE, &job_path(routes::JOB, id)))
            .await
    }

    /// `GET /api/queues`
    pub async fn get_queues(&self) -> Answer {
        self.get(routes::QUEUES).await
    }
}

impl ApiClient {
    /// `GET /api/connections`
    pub async fn list_connections(&self) -> Answer {
        self.get(routes::CONNECTIONS).await
    }

    /// `GET /api/connections`, the one for `marketplace`.
    pub async fn connection(&self, marketplace: app::Marketplace) -> app::ConnectionView {
        let answer = self.list_connections().await;
        assert_eq!(answer.status(), StatusCode::OK, "{}", answer.text());
        answer
            .json::<Vec<app::ConnectionView>>()
            .into_iter()
            .find(|c| c.marketplace == marketplace)
            .unwrap()
    }

    /// `PUT /api/connections/{marketplace}`
    pub async fn put_connection(&self, marketplace: app::Marketplace, body: &Value) -> Answer {
        self.send(
            self.request(Method::PUT, &routes::connection(marketplace))
                .json(body),
        )
        .await
    }

    /// `DELETE /api/connections/{marketplace}`
    pub async fn delete_connection(&self, marketplace: app::Marketplace) -> Answer {
        self.send(self.request(Method::DELETE, &routes::connection(marketplace)))
            .await
    }

    /// `POST /api/connections/{marketplace}/rotate-webhook`
    pub async fn rotate_webhook(&self, marketplace: app::Marketplace) -> Answer {
        self.send(self.request(
            Method::POST,
            &routes::connection_rotate_webhook(marketplace),
        ))
        .await
    }
}

impl ApiClient {
    /// `GET /api/orders?{query}`
    pub async fn list_orders(&self, query: &str) -> Answer {
        self.get(&format!("{}?{query}", routes::ORDERS)).await
    }

    /// `GET /api/orders/{marketplace}/{order_id}`
    pub async fn get_order(&self, marketplace: app::Marketplace, order_id: &str) -> Answer {
        self.get(&routes::order(marketplace, order_id)).await
    }

    /// `PUT /api/orders/{marketplace}/{order_id}/status`
    pub async fn put_order_status(
        &self,
        marketplace: app::Marketplace,
        order_id: &str,
        body: &Value,
    ) -> Answer {
        self.send(
            self.request(Method::PUT, &routes::order_status(marketplace, order_id))
                .json(body),
        )
        .await
    }

    /// `POST /api/sync`
    pub async fn sync(&self, body: &Value) -> Answer {
        self.send(self.request(Method::POST, routes::SYNC).json(body))
            .await
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&self, path: &str, body: &Value) -> Answer {
        self.send(self.request(Method::POST, path).json(body)).await
    }

    /// `PUT path` with a JSON body.
    pub async fn put_json(&self, path: &str, body: &Value) -> Answer {
        self.send(self.request(Method::PUT, path).json(body)).await
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> Answer {
        self.send(self.request(Method::DELETE, path)).await
    }

    /// Creates a minifig list.
    pub async fn create_list(&self, name: &str) -> app::ListSummary {
        let created = self
            .post_json(routes::MINIFIG_LISTS, &serde_json::json!({"name": name}))
            .await;
        assert_eq!(created.status(), StatusCode::CREATED, "{}", created.text());
        created.json()
    }

    /// Adds a minifig to a list (202).
    pub async fn add_minifig(&self, list: app::ListId, no: &str) -> app::MinifigQueued {
        let added = self
            .post_json(
                &routes::list_minifigs(list),
                &serde_json::json!({"bricklink_id": no}),
            )
            .await;
        assert_eq!(added.status(), StatusCode::ACCEPTED, "{}", added.text());
        added.json()
    }

    /// One minifig.
    pub async fn minifig(&self, list: app::ListId, id: app::MinifigId) -> app::PartialMinifig {
        let answer = self.get(&routes::list_minifig(list, id)).await;
        assert_eq!(answer.status(), StatusCode::OK, "{}", answer.text());
        answer.json()
    }
}

impl TestApp {
    /// The simulator's keys of `account` for `marketplace`, as a seller pastes them.
    pub fn keys_body(&self, account: usize, marketplace: app::Marketplace) -> Value {
        let keys = self.sim.sim.keys(account).unwrap();
        match marketplace {
            app::Marketplace::BrickLink => serde_json::to_value(keys.bricklink).unwrap(),
            app::Marketplace::BrickOwl => serde_json::to_value(keys.brickowl).unwrap(),
        }
    }

    /// Saves the simulator's keys of `account` for `marketplace` and waits until they are
    /// valid and the first import has finished.
    pub async fn connect(&self, client: &ApiClient, account: usize, marketplace: app::Marketplace) {
        let saved = client
            .put_connection(marketplace, &self.keys_body(account, marketplace))
            .await;
        assert_eq!(saved.status(), StatusCode::ACCEPTED, "{}", saved.text());
        self.until(20, "the keys are valid", || async {
            let view = client.connection(marketplace).await;
            (view.status == app::ConnectionStatus::Valid).then_some(())
        })
        .await;
        self.settle().await;
    }

    /// Waits (at most 60 s) until no job is waiting or running.
    pub async fn settle(&self) {
        tokio::time::timeout(
            std::time::Duration::from_secs(60),
            self.state.services.queue.until_settled(),
        )
        .await
        .expect("the queue settles within 60 s");
    }
}

fn job_path(template: &str, id: app::JobId) -> String {
    template.replace("{id}", &id.to_string())
}

/// A whole HTTP answer, read.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    async fn read(response: Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.unwrap().to_vec();
        Self {
            status,
            headers,
            body,
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The body as `T`; panics with the body text when it is not.
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The error code of a typed error body; checks the body's shape on the way.
    pub fn error_code(&self) -> String {
        let body: ErrorBody = self.json();
        assert!(!body.error.message.is_empty(), "an error needs a sentence");
        body.error.code
    }
}
