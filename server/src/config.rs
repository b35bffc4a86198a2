//! Configuration, layered: built-in defaults, then a TOML file, then `BRICKDESK_*` environment
//! variables, then command-line flags. `assets/brickdesk.example.toml` documents every key.

use std::{fmt, net::SocketAddr, path::PathBuf};

use figment::{
    Figment,
    providers::{Env, Format as _, Serialized, Toml},
};
use serde::{Deserialize, Serialize};

/// Every key a config file or `BRICKDESK_*` variable may set.
const KEYS: &[&str] = &[
    "listen",
    "data_dir",
    "public_url",
    "secure_cookies",
    "trust_proxy_headers",
    "session_days",
    "max_body_bytes",
    "header_timeout_seconds",
    "request_timeout_seconds",
    "connections_per_address",
    "log",
    "log_format",
    "bricklink_base_url",
    "brickowl_base_url",
    "marketplace_timeout_seconds",
    "poll_cron",
    "colors_cron",
    "inventory_cron",
    "search_refresh_cron",
    "prune_cron",
    "backup_cron",
    "backup_dir",
    "backup_keep",
    "bricklink_daily_calls",
    "brickowl_per_minute",
    "brickowl_notify_listen",
    "metrics_token",
    "inventory_confirm_percent",
];

/// The running configuration.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server binds (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// Where the database and key files live.
    pub data_dir: PathBuf,
    /// External base URL, e.g. `https://shop.example.com`, used in links shown to the user.
    pub public_url: Option<String>,
    /// Mark the session cookie `Secure`; defaults to true when `public_url` is https.
    pub secure_cookies: Option<bool>,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted reverse proxy).
    pub trust_proxy_headers: bool,
    /// How long a login lasts.
    pub session_days: u32,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// Longest wait for a request's line and headers (slow clients are cut off).
    pub header_timeout_seconds: u64,
    /// Longest a request may take to arrive whole and be answered (event streams and the
    /// control backup excepted); past it the answer is 408.
    pub request_timeout_seconds: u64,
    /// Connections one client address may hold open; 0 means no cap. Behind a trusted proxy
    /// (`trust_proxy_headers`) the proxy on loopback is exempt.
    pub connections_per_address: usize,
    /// A bulk edit of lots changing more than this percentage of the store's lots waits for
    /// the seller to confirm it after seeing what it changes.
    pub inventory_confirm_percent: u32,
    /// tracing filter, e.g. `info,server=debug`.
    pub log: String,
    /// `text` or `json`.
    pub log_format: LogFormat,
    /// BrickLink Store API base (tests and the demo point it at the simulator).
    pub bricklink_base_url: String,
    /// BrickOwl API base.
    pub brickowl_base_url: String,
    /// Longest wait for one marketplace answer.
    pub marketplace_timeout_seconds: u64,
    /// When to poll every live connection for missed pushes (cron, UTC); empty turns it off.
    pub poll_cron: String,
    /// When to refresh BrickLink's colour table (cron, UTC); empty turns it off.
    pub colors_cron: String,
    /// When every inventory read before is read again (nightly); empty turns it off.
    pub inventory_cron: String,
    /// When the most used searches are computed again (cron, UTC); empty turns it off.
    pub search_refresh_cron: String,
    /// When finished jobs past their retention and old activity are deleted (cron, UTC).
    pub prune_cron: String,
    /// When to write a rotating backup (cron, UTC; nightly at 03:30 by default); empty turns it
    /// off.
    pub backup_cron: String,
    /// Where rotating backups go; empty means `backups/` in the data directory.
    pub backup_dir: String,
    /// How many rotating backups to keep.
    pub backup_keep: usize,
    /// BrickLink calls a day brickdesk allows itself (BrickLink's published soft limit is 5,000;
    /// the last 10 % are kept for work a person waits on).
    pub bricklink_daily_calls: u32,
    /// BrickOwl calls a minute.
    pub brickowl_per_minute: u32,
    /// Where to accept BrickOwl's fixed-port notify (`0.0.0.0:42500`); empty turns it off.
    pub brickowl_notify_listen: String,
    /// The bearer token `GET /metrics` wants; unset, `/metrics` is off.
    pub metrics_token: Option<String>,
    /// `serve --demo`: a command-line switch only, never read from files or the environment.
    #[serde(skip)]
    pub demo: bool,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./brickdesk-data"),
            public_url: None,
            secure_cookies: None,
            trust_proxy_headers: false,
            session_days: 30,
            max_body_bytes: 64 * 1024,
            header_timeout_seconds: 20,
            request_timeout_seconds: 60,
            connections_per_address: 64,
            inventory_confirm_percent: 10,
            log: "info".to_owned(),
            log_format: LogFormat::Text,
            bricklink_base_url: "https://api.bricklink.com/api/store/v1".to_owned(),
            brickowl_base_url: "https://api.brickowl.com/v1".to_owned(),
            marketplace_timeout_seconds: 30,
            poll_cron: "*/10 * * * *".to_owned(),
            colors_cron: "0 4 * * 1".to_owned(),
            inventory_cron: "15 5 * * *".to_owned(),
            search_refresh_cron: "*/5 * * * *".to_owned(),
            prune_cron: "17 * * * *".to_owned(),
            backup_cron: "30 3 * * *".into(),
            backup_dir: String::new(),
            backup_keep: 7,
            bricklink_daily_calls: 5_000,
            brickowl_per_minute: 600,
            brickowl_notify_listen: String::new(),
            metrics_token: None,
            demo: false,
        }
    }
}

/// Values given on the command line; they win over everything else.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {0} does not exist")]
    MissingFile(PathBuf),
    #[error("{0}")]
    Invalid(Box<figment::Error>),
}

impl Config {
    /// Where backups go: `backup_dir`, else `<data dir>/backups`.
    pub fn backup_folder(&self) -> PathBuf {
        match self.backup_dir.trim() {
            "" => self.data_dir.join("backups"),
            dir => dir.into(),
        }
    }

    /// Loads defaults → `file` → environment → `overrides`.
    pub fn load(
        file: Option<&std::path::Path>,
        overrides: &Overrides,
    ) -> Result<Self, ConfigError> {
        Self::figment(file, overrides)?
            .extract()
            .map_err(|e| ConfigError::Invalid(Box::new(e)))
    }

    fn figment(
        file: Option<&std::path::Path>,
        overrides: &Overrides,
    ) -> Result<Figment, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            if !file.is_file() {
                return Err(ConfigError::MissingFile(file.to_owned()));
            }
            figment = figment.merge(Toml::file_exact(file));
        }
        Ok(figment
            .merge(Env::prefixed("BRICKDESK_").only(KEYS))
            .merge(Serialized::globals(overrides)))
    }

    /// Whether the session cookie carries `Secure`.
    pub fn cookies_secure(&self) -> bool {
        self.secure_cookies.unwrap_or_else(|| {
            self.public_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://"))
        })
    }

    /// The session cookie's name: `__Host-` prefixed when cookies are secure.
    pub fn session_cookie(&self) -> &'static str {
        if self.cookies_secure() {
            app::routes::SECURE_SESSION_COOKIE
        } else {
            app::routes::SESSION_COOKIE
        }
    }

    /// The `Strict-Transport-Security` value when the public URL is https.
    pub fn hsts(&self) -> Option<&'static str> {
        self.public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
            .then_some("max-age=31536000")
    }

    /// Session lifetime.
    pub fn session_ttl(&self) -> time::Duration {
        time::Duration::days(i64::from(self.session_days.max(1)))
    }
}

impl fmt::Debug for Config {
    // Spelled out so that a secret added later cannot leak through a derived Debug unnoticed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("public_url", &self.public_url)
            .field("secure_cookies", &self.cookies_secure())
            .field("trust_proxy_headers", &self.trust_proxy_headers)
            .field("session_days", &self.session_days)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("header_timeout_seconds", &self.header_timeout_seconds)
            .field("request_timeout_seconds", &self.request_timeout_seconds)
            .field("connections_per_address", &self.connections_per_address)
            .field("inventory_confirm_percent", &self.inventory_confirm_percent)
            .field("log", &self.log)
            .field("log_format", &self.log_format)
            .field("bricklink_base_url", &self.bricklink_base_url)
            .field("brickowl_base_url", &self.brickowl_base_url)
            .field(
                "marketplace_timeout_seconds",
                &self.marketplace_timeout_seconds,
            )
            .field("poll_cron", &self.poll_cron)
            .field("colors_cron", &self.colors_cron)
            .field("inventory_cron", &self.inventory_cron)
            .field("search_refresh_cron", &self.search_refresh_cron)
            .field("prune_cron", &self.prune_cron)
            .field("backup_cron", &self.backup_cron)
            .field("backup_dir", &self.backup_dir)
            .field("backup_keep", &self.backup_keep)
            .field("bricklink_daily_calls", &self.bricklink_daily_calls)
            .field("brickowl_per_minute", &self.brickowl_per_minute)
            .field("brickowl_notify_listen", &self.brickowl_notify_listen)
            .field(
                "metrics_token",
                &self.metrics_token.as_ref().map(|_| "<set>"),
            )
            .field("demo", &self.demo)
            .finish()
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closures return figment::Error
mod tests {
    use super::*;

    #[test]
    fn layers_apply_in_order_defaults_file_env_flags() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "brickdesk.toml",
                "listen = \"127.0.0.1:9000\"\ndata_dir = \"/from/file\"\nsession_days = 7\n",
            )?;
            jail.set_env("BRICKDESK_DATA_DIR", "/from/env");
            jail.set_env("BRICKDESK_LOG", "debug");
            jail.set_env("BRICKDESK_UNRELATED", "ignored");
            let overrides = Overrides {
                listen: Some("127.0.0.1:0".parse().expect("addr")),
                data_dir: None,
            };
            let config = Config::load(Some("brickdesk.toml".as_ref()), &overrides)
                .map_err(|e| e.to_string())?;
            assert_eq!(config.listen.port(), 0, "flag beats file");
            assert_eq!(
                config.data_dir,
                PathBuf::from("/from/env"),
                "env beats file"
            );
            assert_eq!(config.session_days, 7, "file beats default");
            assert_eq!(config.log, "debug");
            assert_eq!(config.max_body_bytes, 64 * 1024, "default stays");
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused_with_the_key_named() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("typo.toml", "lisen = \"127.0.0.1:1\"\n")?;
            let err = Config::load(Some("typo.toml".as_ref()), &Overrides::default())
                .expect_err("unknown key");
            assert!(err.to_string().contains("lisen"), "{err}");

            jail.set_env("BRICKDESK_LISTEN", "not an address");
            let err = Config::load(None, &Overrides::default()).expect_err("bad address");
            assert!(err.to_string().to_lowercase().contains("listen"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn the_example_file_documents_every_key_with_its_default() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../assets/brickdesk.example.toml"
        );
        let text = std::fs::read_to_string(path).expect("example config");
        for key in KEYS {
            assert!(
                text.contains(&format!("\n{key} =")) || text.contains(&format!("# {key} =")),
                "{key}"
            );
        }
        figment::Jail::expect_with(|_| {
            let config = Config::load(Some(path.as_ref()), &Overrides::default())
                .map_err(|e| e.to_string())?;
            assert_eq!(config, Config::default());
            Ok(())
        });
    }

    #[test]
    fn a_missing_config_file_is_an_error() {
        let err = Config::load(
            Some("/nonexistent/brickdesk.toml".as_ref()),
            &Overrides::default(),
        )
        .expect_err("missing");
        assert!(matches!(err, ConfigError::MissingFile(_)));
    }

    #[test]
    fn secure_cookies_follow_an_https_public_url_unless_set() {
        let mut config = Config::default();
        assert!(!config.cookies_secure());
        config.public_url = Some("https://shop.example.com".into());
        assert!(config.cookies_secure());
        config.secure_cookies = Some(false);
        assert!(!config.cookies_secure());
    }
}
