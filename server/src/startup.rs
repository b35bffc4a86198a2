//! Building and running the server: `Application::build` opens the store and binds (port 0
//! picks a free port, reported by `local_addr`); `run_until_stopped` serves until the shutdown
//! future resolves, then flushes the store.

use std::{future::Future, net::SocketAddr, sync::Arc};

use anyhow::Context as _;
use time::OffsetDateTime;
use tokio::net::TcpListener;

use crate::{
    auth::throttle::LoginThrottle,
    config::Config,
    http, jobs,
    marketplace::{
        Endpoints, Marketplaces,
        guard::{Guard, Limits},
    },
    queue::{Queue, QueueConfig},
    scheduler,
    services::Services,
    state::AppState,
    store::{LoadState, Store},
};

/// How long running jobs get to finish at shutdown before they are put back.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// A bound, not yet serving, brickdesk.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    /// BrickOwl's fixed-port notify, when configured.
    notify_listener: Option<TcpListener>,
}

impl Application {
    /// Opens the store in the data directory and binds the listen address.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let scheduler = scheduler::Scheduler::from_config(&config)?;
        let data_dir = config.data_dir.clone();
        let folder = config.backup_folder();
        tokio::task::spawn_blocking(move || back_up_before_migrating(&data_dir, &folder)).await??;
        let data_dir = config.data_dir.clone();
        let store = tokio::task::spawn_blocking(move || Store::open_serving(&data_dir)).await??;
        demo_apart(&store, &config).await?;
        let pruned = store.sessions().prune_expired(OffsetDateTime::now_utc())?;
        let queue = Queue::open(&store, QueueConfig::default()).await?;
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let bound = listener.local_addr()?;
        let notify_listener = match config.brickowl_notify_listen.trim() {
            "" => None,
            addr => Some(
                TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen for BrickOwl's notify on {addr}"))?,
            ),
        };
        let public_base: Arc<str> = config
            .public_url
            .clone()
            .map_or_else(
                || format!("http://{bound}"),
                |u| u.trim_end_matches('/').to_owned(),
            )
            .into();
        let endpoints = Endpoints {
            bricklink: url::Url::parse(&config.bricklink_base_url)
                .context("bricklink_base_url is not a URL")?,
            brickowl: url::Url::parse(&config.brickowl_base_url)
                .context("brickowl_base_url is not a URL")?,
            timeout: std::time::Duration::from_secs(config.marketplace_timeout_seconds.max(1)),
        };
        let marketplaces = Marketplaces::new(
            endpoints,
            Guard::open(
                store.db(),
                Limits {
                    bricklink_daily: config.bricklink_daily_calls.max(1),
                    bricklink_reserve: config.bricklink_daily_calls / 10,
                    brickowl_per_minute: config.brickowl_per_minute.max(1),
                    ..Limits::default()
                },
            )?,
        )?;
        tracing::info!(
            data_dir = %config.data_dir.display(),
            expired_sessions_removed = pruned,
            ui_embedded = http::assets::ui_built(),
            "store open"
        );
        let control_token = crate::control::new_token()?;
        let local = if bound.ip().is_unspecified() {
            SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), bound.port())
        } else {
            bound
        };
        crate::control::publish(&config.data_dir, &format!("http://{local}"), &control_token)
            .context("cannot write control.json into the data directory")?;
        // The demo makes its own account at once; a real first run waits for its owner.
        let setup_code = if config.demo || store.users().setup_done()? {
            crate::setup_code::remove(&config.data_dir);
            None
        } else {
            let code = crate::setup_code::create(&config.data_dir)
                .context("cannot write the setup code into the data directory")?;
            tracing::warn!(
                setup_code = %code,
                "first run: create the administrator in the browser with setup code {code} \
                 (not needed on the server itself; `brickdesk setup-code` shows it again)"
            );
            Some(Arc::from(code))
        };
        let services = Services::new(store, queue, marketplaces, public_base);
        let state = AppState {
            services,
            throttle: LoginThrottle::default(),
            pushes: crate::push_gate::PushGate::default(),
            stopping: tokio_util::sync::CancellationToken::new(),
            config: Arc::new(config),
            scheduler: scheduler.clone(),
            control_token: control_token.into(),
            setup_code,
        };
        jobs::register_all(&state.services.queue, &state.services);
        Ok(Self {
            listener,
            state,
            notify_listener,
        })
    }

    /// The BrickOwl notify listener's address, when there is one.
    pub fn notify_addr(&self) -> Option<SocketAddr> {
        self.notify_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// The shared state, for tests and commands that run beside the server.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Starts the job workers and serves until `shutdown` resolves; then lets in-flight
    /// requests finish, gives running jobs [`SHUTDOWN_GRACE`] (the rest go back to waiting),
    /// and flushes.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let data_dir = self.state.config.data_dir.clone();
        let router = http::router(self.state.clone());
        // Jobs use the orders index: the workers start once it is read. A store whose index
        // cannot be read (a damaged record) stops the server, naming the record.
        let unreadable = {
            let (orders, queue, stopping) = (
                self.state.services.store.orders().clone(),
                self.state.services.queue.clone(),
                self.state.stopping.clone(),
            );
            let (failed, unreadable) = tokio::sync::oneshot::channel::<String>();
            // A small store is read by now: its workers start before the first request.
            if orders.load_state() == LoadState::Ready {
                queue.start();
            } else {
                tokio::spawn(async move {
                    tokio::select! {
                        state = orders.loaded() => match state {
                            LoadState::Failed(reason) => {
                                let _ = failed.send(reason);
                            }
                            _ => queue.start(),
                        },
                        () = stopping.cancelled() => {}
                    }
                });
            }
            unreadable
        };
        let config = &self.state.config;
        let limits = http::serve::Limits {
            header_timeout: std::time::Duration::from_secs(config.header_timeout_seconds.max(1)),
            per_address: config.connections_per_address,
            exempt_loopback: config.trust_proxy_headers,
        };
        if let Some(listener) = self.notify_listener {
            let router = http::brickowl_notify_router(self.state.clone());
            let stop = self.state.stopping.clone();
            // Nobody proxies BrickOwl's fixed port: every peer counts against the cap.
            let limits = http::serve::Limits {
                exempt_loopback: false,
                ..limits
            };
            tokio::spawn(http::serve::serve(
                listener,
                router,
                limits,
                stop.cancelled_owned(),
            ));
        }
        tokio::spawn(
            self.state
                .scheduler
                .clone()
                .run(self.state.services.clone(), self.state.stopping.clone()),
        );
        let stopping = self.state.stopping.clone();
        let queue = self.state.services.queue.clone();
        let (unread_tx, unread_rx) = tokio::sync::oneshot::channel::<String>();
        http::serve::serve(self.listener, router, limits, async move {
            // A failed commit stops the queue; the server stops with it (fail-stop).
            tokio::select! {
                () = shutdown => {}
                () = queue.stopped() => {}
                Ok(reason) = unreadable => {
                    let _ = unread_tx.send(reason);
                }
            }
            // Event streams never end by themselves; end them so shutdown can finish.
            stopping.cancel();
        })
        .await;
        crate::control::remove(&data_dir);
        self.state.services.queue.shutdown(SHUTDOWN_GRACE).await;
        if let Ok(reason) = unread_rx.await {
            anyhow::bail!("stopped: {reason}");
        }
        if let Some(reason) = self.state.services.queue.failure() {
            anyhow::bail!(
                "stopped because the disk refused a write ({reason}); everything acknowledged \
                 before it is on disk. Free space or mend the disk, then start brickdesk again"
            );
        }
        self.state.services.store.flush().await?;
        tracing::info!("stopped; every acknowledged write is flushed");
        Ok(())
    }
}

/// The demo's public `demo`/`demo` account never meets a real shop: `--demo` refuses a store
/// with accounts it did not make, and a plain `serve` refuses a store the demo made.
async fn demo_apart(store: &Store, config: &Config) -> anyhow::Result<()> {
    let demo_store = store.is_demo()?;
    let dir = config.data_dir.display();
    if config.demo && !demo_store {
        if store.users().setup_done()? {
            anyhow::bail!(
                "{dir} holds a real shop; the demo would add its public demo/demo account to it. \
                 Run the demo with its own --data-dir"
            );
        }
        store.mark_demo()?;
    } else if !config.demo && demo_store {
        anyhow::bail!(
            "{dir} was made by `serve --demo` and its demo/demo account is public; give your \
             shop its own --data-dir (or start this one with --demo again)"
        );
    } else if !config.demo && public_demo_account(store).await? {
        // A demo from before the mark existed left its account in what is now a real shop.
        anyhow::bail!(
            "{dir} has the account demo with the public password demo (left by `serve --demo`); \
             set it a new password with `brickdesk user reset-password --login demo` or disable \
             it with `brickdesk user disable --login demo`, then start again"
        );
    }
    Ok(())
}

/// Whether the store holds an enabled account `demo` whose password is `demo`.
async fn public_demo_account(store: &Store) -> anyhow::Result<bool> {
    let Some(user) = store.users().find_by_login(crate::demo::LOGIN)? else {
        return Ok(false);
    };
    if user.disabled {
        return Ok(false);
    }
    let hash = Some(user.password_hash);
    Ok(
        crate::auth::password::verify(crate::demo::LOGIN.to_owned(), hash)
            .await
            .unwrap_or(true),
    )
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(%err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested");
}

/// Before a store of an older schema is migrated, a backup of it as it is (every tree's bytes,
/// with the key to its saved marketplace keys, mode 0600) goes to the backup folder as
/// `before-schema-<new>-<time>.backup`, so an upgrade can always be undone with
/// `brickdesk restore`. Rotation leaves these alone.
fn back_up_before_migrating(
    data_dir: &std::path::Path,
    folder: &std::path::Path,
) -> anyhow::Result<()> {
    let Some(found) = crate::store::schema_at(data_dir)? else {
        return Ok(());
    };
    if found >= crate::store::SCHEMA_VERSION {
        return Ok(());
    }
    std::fs::create_dir_all(folder)
        .with_context(|| format!("cannot create the backup folder {}", folder.display()))?;
    let stamp = OffsetDateTime::now_utc().unix_timestamp();
    let out = folder.join(format!(
        "before-schema-{}-{stamp}.backup",
        crate::store::SCHEMA_VERSION
    ));
    let (header, cut) = crate::backup::salvage(data_dir, &out, true).with_context(|| {
        format!(
            "cannot back up the store before migrating it to {}",
            out.display()
        )
    })?;
    if !cut.is_empty() {
        tracing::warn!(?cut, "the store's backup before migrating is incomplete");
    }
    tracing::info!(
        from = found,
        to = crate::store::SCHEMA_VERSION,
        backup = %out.display(),
        entries = header.trees.values().sum::<u64>(),
        "backed up the store before migrating it"
    );
    Ok(())
}
