//! The marketplaces: a BrickLink client (OAuth 1.0a), a BrickOwl client (API key), and the
//! [`guard`] that keeps both within their limits. Wire types stay in each client's `wire.rs`.

pub mod account;
pub mod bricklink;
pub mod brickowl;
#[cfg(test)]
mod decode_tests;
pub mod guard;

use std::time::Duration;

use time::OffsetDateTime;

/// How a marketplace call failed, in terms the rest of brickdesk acts on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MarketplaceError {
    /// The keys were refused; the marketplace's reason.
    #[error("the marketplace refused the keys: {0}")]
    BadCredentials(String),
    /// No such order or item.
    #[error("not found: {0}")]
    NotFound(String),
    /// The request was refused for a reason retrying will not change (400, 403, 422).
    #[error("the marketplace refused the request: {0}")]
    Refused(String),
    /// Too many calls; wait at least `retry_after` when the marketplace said so.
    #[error("the marketplace asks brickdesk to slow down")]
    RateLimited { retry_after: Option<Duration> },
    /// Down, overloaded, timed out, unreachable.
    #[error("the marketplace is unavailable: {0}")]
    Unavailable(String),
    /// The answer could not be read.
    #[error("the marketplace sent an answer brickdesk cannot read: {0}")]
    Undecodable(String),
    /// Held back by brickdesk's own limits or breaker until `until`.
    #[error("{reason}")]
    Gated {
        until: OffsetDateTime,
        reason: String,
    },
}

impl MarketplaceError {
    /// Whether the marketplace itself misbehaved, which counts towards its breaker.
    pub fn is_outage(&self) -> bool {
        matches!(
            self,
            Self::Unavailable(_) | Self::RateLimited { .. } | Self::Undecodable(_)
        )
    }

    /// A transport error in words, without its URL: BrickOwl's key travels in the query
    /// string, and this text reaches logs, job records, connection messages and backups.
    pub(crate) fn from_reqwest(err: reqwest::Error) -> Self {
        let err = err.without_url();
        if err.is_timeout() {
            Self::Unavailable("no answer in time".into())
        } else if err.is_connect() {
            Self::Unavailable("cannot connect".into())
        } else if err.is_decode() {
            Self::Undecodable(err.to_string())
        } else {
            Self::Unavailable(err.to_string())
        }
    }
}

impl From<guard::Gated> for MarketplaceError {
    fn from(gated: guard::Gated) -> Self {
        Self::Gated {
            until: gated.until,
            reason: gated.reason,
        }
    }
}

/// The longest wait a `Retry-After` is followed for: a marketplace (or a proxy in front of it)
/// that asks for days must not park every job that long.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(15 * 60);

/// The wait a `Retry-After: <seconds>` header asks for, at most [`MAX_RETRY_AFTER`].
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|seconds| Duration::from_secs(seconds).min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod download_tests {
    use wiremock::{
        Mock, MockServer, ResponseTemplate,
        matchers::{method, path},
    };

    use super::*;

    async fn markets() -> Marketplaces {
        let base: url::Url = "http://127.0.0.1:9/".parse().expect("url");
        let endpoints = Endpoints {
            bricklink: base.clone(),
            brickowl: base,
            timeout: Duration::from_secs(5),
        };
        Marketplaces::new(endpoints, guard::Guard::new(guard::Limits::default(), None))
            .expect("client")
    }

    #[tokio::test]
    async fn pictures_are_raster_capped_while_read_and_stay_on_their_host() {
        let server = MockServer::start().await;
        let png = ResponseTemplate::new(200).set_body_raw(vec![1u8; 64], "image/png");
        Mock::given(method("GET"))
            .and(path("/ok.png"))
            .respond_with(png)
            .mount(&server)
            .await;
        let svg = ResponseTemplate::new(200)
            .set_body_raw(b"<svg onload='alert(1)'/>".to_vec(), "image/svg+xml");
        Mock::given(method("GET"))
            .and(path("/evil.svg"))
            .respond_with(svg)
            .mount(&server)
            .await;
        let huge =
            ResponseTemplate::new(200).set_body_raw(vec![0u8; PICTURE_LIMIT + 1], "image/jpeg");
        Mock::given(method("GET"))
            .and(path("/huge.jpg"))
            .respond_with(huge)
            .mount(&server)
            .await;
        // "localhost" is another host than the "127.0.0.1" that was asked.
        let elsewhere = format!("http://localhost:{}/ok.png", server.address().port());
        Mock::given(method("GET"))
            .and(path("/moved.png"))
            .respond_with(ResponseTemplate::new(302).insert_header("location", elsewhere))
            .mount(&server)
            .await;
        let markets = markets().await;
        let url = |p: &str| format!("{}{p}", server.uri());
        let (bytes, kind) = markets.download(&url("/ok.png")).await.expect("a png");
        assert_eq!((bytes.len(), kind.as_str()), (64, "image/png"));
        for (picture, says) in [
            ("/evil.svg", "not a picture"),
            ("/huge.jpg", "too large"),
            ("/moved.png", "HTTP 302"),
        ] {
            let err = markets.download(&url(picture)).await.expect_err(picture);
            assert!(err.to_string().contains(says), "{picture}: {err}");
        }
    }

    #[tokio::test]
    async fn picture_addresses_are_derived_from_the_item() {
        let real = Marketplaces::new(
            Endpoints {
                bricklink: "https://api.bricklink.com/api/store/v1"
                    .parse()
                    .expect("url"),
                brickowl: "https://api.brickowl.com/v1".parse().expect("url"),
                timeout: Duration::from_secs(5),
            },
            guard::Guard::new(guard::Limits::default(), None),
        )
        .expect("client");
        let img = "https://img.bricklink.com/ItemImage";
        for (kind, no, color, wanted) in [
            ("PART", "3001", 11, Some(format!("{img}/PN/11/3001.png"))),
            (
                "minifig",
                "sw0001a",
                0,
                Some(format!("{img}/MN/0/sw0001a.png")),
            ),
            ("SET", "75192-1", 0, Some(format!("{img}/SN/0/75192-1.png"))),
            ("GEAR", "5005256", 0, None),
            ("PART", "../etc", 11, None),
            ("PART", "", 11, None),
        ] {
            assert_eq!(
                real.bricklink_picture(kind, no, color),
                wanted,
                "{kind} {no}"
            );
        }
        // Against the simulator: the same paths on its host.
        assert_eq!(
            markets()
                .await
                .bricklink_picture("PART", "3001", 5)
                .as_deref(),
            Some("http://127.0.0.1:9/img/ItemImage/PN/5/3001.png")
        );
    }
}

#[cfg(test)]
mod retry_after_tests {
    use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

    use super::*;

    #[test]
    fn retry_after_is_read_in_seconds_and_capped() {
        let wait = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(RETRY_AFTER, HeaderValue::from_static(value));
            retry_after(&headers)
        };
        assert_eq!(wait("7"), Some(Duration::from_secs(7)));
        assert_eq!(wait("86400"), Some(MAX_RETRY_AFTER));
        assert_eq!(wait("18446744073709551615"), Some(MAX_RETRY_AFTER));
        assert_eq!(wait("soon"), None);
    }
}

/// Decodes a JSON answer as it arrives, on the blocking pool, so a large one is never held
/// whole: BrickLink's order list is the whole store, about 1 KB an order (a gigabyte at a
/// million orders). A transfer cut part-way is the transport's error (worth another try),
/// not an unreadable answer.
pub(crate) async fn decode_streamed<T: serde::de::DeserializeOwned + Send + 'static>(
    response: reqwest::Response,
) -> Result<T, MarketplaceError> {
    use futures_util::TryStreamExt as _;

    let body = Box::pin(response.bytes_stream().map_err(std::io::Error::other));
    let reader = tokio_util::io::SyncIoBridge::new(tokio_util::io::StreamReader::new(body));
    let decoded = tokio::task::spawn_blocking(move || {
        serde_json::from_reader::<_, T>(std::io::BufReader::with_capacity(64 * 1024, reader))
    })
    .await
    .map_err(|e| MarketplaceError::Unavailable(format!("reading the answer failed: {e}")))?;
    decoded.map_err(|err| {
        if !err.is_io() {
            return MarketplaceError::Undecodable(err.to_string());
        }
        // The transport's own error, without its address (BrickOwl's carries the key).
        let timed_out = std::error::Error::source(&err)
            .and_then(|io| io.downcast_ref::<std::io::Error>())
            .and_then(std::io::Error::get_ref)
            .and_then(|inner| inner.downcast_ref::<reqwest::Error>())
            .is_some_and(reqwest::Error::is_timeout);
        MarketplaceError::Unavailable(if timed_out {
            "no answer in time".into()
        } else {
            "the answer was cut off part-way".into()
        })
    })
}

/// A list read element by element: one element that cannot be read is skipped and reported
/// in the log, not an outage of the whole list. Anything but a list is refused as usual.
/// Each element is decoded from its own text as the list is read, so a store's whole order
/// list never sits in memory as a JSON value tree (that took 4 KB an order, 400 MiB for
/// 100,000 orders, for a moment during an import).
pub(crate) struct Lenient<T> {
    items: Vec<T>,
    skipped: usize,
    first_error: Option<String>,
}

impl<T> Lenient<T> {
    /// The elements that could be read; the others are named in the log.
    pub(crate) fn into_items(self, what: &str) -> Vec<T> {
        if let Some(err) = &self.first_error {
            tracing::warn!(
                what,
                skipped = self.skipped,
                total = self.skipped + self.items.len(),
                %err,
                "elements of a marketplace list could not be read and were skipped"
            );
        }
        self.items
    }
}

impl<'de, T: serde::de::DeserializeOwned> serde::Deserialize<'de> for Lenient<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Elements<T>(std::marker::PhantomData<T>);

        impl<'de, T: serde::de::DeserializeOwned> serde::de::Visitor<'de> for Elements<T> {
            type Value = Lenient<T>;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list")
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Lenient<T>, A::Error> {
                let mut list = Lenient {
                    items: Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096)),
                    skipped: 0,
                    first_error: None,
                };
                while let Some(text) = seq.next_element::<Box<serde_json::value::RawValue>>()? {
                    match serde_json::from_str(text.get()) {
                        Ok(item) => list.items.push(item),
                        Err(err) => {
                            list.skipped += 1;
                            list.first_error.get_or_insert_with(|| err.to_string());
                        }
                    }
                }
                Ok(list)
            }
        }

        deserializer.deserialize_seq(Elements(std::marker::PhantomData))
    }
}

/// Deserializers for the marketplaces' loose JSON.
pub(crate) mod de {
    use app::Money;
    use serde::{Deserialize, Deserializer, de::Error as _};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Loose {
        Text(String),
        Int(i64),
        Float(f64),
        Bool(bool),
    }

    /// Money from `"13.7240"` or a bare number.
    pub fn money<'de, D: Deserializer<'de>>(d: D) -> Result<Money, D::Error> {
        match Loose::deserialize(d)? {
            Loose::Text(text) => Money::parse(&text).map_err(D::Error::custom),
            Loose::Int(n) => Ok(Money(n.saturating_mul(Money::SCALE))),
            Loose::Float(f) => Ok(Money::from_f64_lossy(f)),
            Loose::Bool(_) => Err(D::Error::custom("a boolean is not money")),
        }
    }

    /// Optional money; absent, null and `""` are none.
    pub fn money_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Money>, D::Error> {
        match Option::<Loose>::deserialize(d)? {
            None => Ok(None),
            Some(Loose::Text(text)) if text.trim().is_empty() => Ok(None),
            Some(Loose::Text(text)) => Money::parse(&text).map(Some).map_err(D::Error::custom),
            Some(Loose::Int(n)) => Ok(Some(Money(n.saturating_mul(Money::SCALE)))),
            Some(Loose::Float(f)) => Ok(Some(Money::from_f64_lossy(f))),
            Some(Loose::Bool(_)) => Err(D::Error::custom("a boolean is not money")),
        }
    }

    /// An integer sent as `"83"` or `83`.
    pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        match Loose::deserialize(d)? {
            Loose::Text(text) => text.trim().parse().map_err(D::Error::custom),
            Loose::Int(n) => Ok(n),
            Loose::Float(f) if f.fract() == 0.0 => Ok(f as i64),
            other => Err(D::Error::custom(format!(
                "not an integer: {}",
                describe(&other)
            ))),
        }
    }

    /// An optional integer; absent, null and `""` are none.
    pub fn int_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Option::<Loose>::deserialize(d)? {
            None => Ok(None),
            Some(Loose::Text(text)) if text.trim().is_empty() => Ok(None),
            Some(Loose::Text(text)) => text.trim().parse().map(Some).map_err(D::Error::custom),
            Some(Loose::Int(n)) => Ok(Some(n)),
            Some(other) => Err(D::Error::custom(format!(
                "not an integer: {}",
                describe(&other)
            ))),
        }
    }

    /// A string that may arrive as a number.
    pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        match Loose::deserialize(d)? {
            Loose::Text(text) => Ok(text),
            Loose::Int(n) => Ok(n.to_string()),
            Loose::Float(f) => Ok(f.to_string()),
            Loose::Bool(b) => Ok(b.to_string()),
        }
    }

    fn describe(value: &Loose) -> String {
        match value {
            Loose::Text(t) => format!("{t:?}"),
            Loose::Int(n) => n.to_string(),
            Loose::Float(f) => f.to_string(),
            Loose::Bool(b) => b.to_string(),
        }
    }

    /// A protocol-relative image URL (`//img.bricklink.com/x.png`) made absolute with the
    /// scheme of the API's base URL.
    pub fn absolute_url(base: &url::Url, link: &str) -> String {
        base.join(link)
            .map_or_else(|_| link.to_owned(), String::from)
    }
}

/// Largest picture brickdesk keeps.
pub const PICTURE_LIMIT: usize = 2 * 1024 * 1024;

/// The picture types `/img` serves.
pub const RASTER_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// Redirects are followed only within the host that was asked (at most five): a marketplace
/// answer must not send brickdesk to fetch from somewhere else.
fn same_host_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let asked = attempt.previous().first().and_then(|u| u.host_str());
        if attempt.previous().len() > 5 {
            attempt.error("too many redirects")
        } else if asked.is_some() && attempt.url().host_str() == asked {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}

/// Where the marketplaces are and how long to wait for them.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub bricklink: url::Url,
    pub brickowl: url::Url,
    /// Longest wait for one answer.
    pub timeout: Duration,
}

/// Builds each account's client: one shared HTTP connection pool and one [`guard::Guard`].
#[derive(Clone)]
pub struct Marketplaces {
    http: reqwest::Client,
    endpoints: std::sync::Arc<Endpoints>,
    guard: guard::Guard,
}

impl Marketplaces {
    /// Clients of `endpoints`, limited by `guard`.
    pub fn new(endpoints: Endpoints, guard: guard::Guard) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("brickdesk/", env!("CARGO_PKG_VERSION")))
            .timeout(endpoints.timeout)
            .connect_timeout(endpoints.timeout.min(Duration::from_secs(10)))
            .redirect(same_host_redirects())
            .build()?;
        Ok(Self {
            http,
            endpoints: std::sync::Arc::new(endpoints),
            guard,
        })
    }

    /// The guard of every account.
    pub fn guard(&self) -> &guard::Guard {
        &self.guard
    }

    /// Where BrickLink keeps the picture of an item in one colour, without asking its API: the
    /// image host's paths are predictable (`ItemImage/PN/{colour}/{no}.png` for parts, `MN/0/`
    /// for minifigs, `SN/0/` for sets; docs/marketplace-apis.md). Against anything but the real
    /// API (the simulator) the same paths on that host. `None` for kinds without such paths.
    pub fn bricklink_picture(&self, kind: &str, no: &str, color_id: i64) -> Option<String> {
        let (code, color) = match kind.to_ascii_uppercase().as_str() {
            "PART" => ("PN", color_id),
            "MINIFIG" => ("MN", 0),
            "SET" => ("SN", 0),
            _ => return None,
        };
        if no.is_empty()
            || !no
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            return None;
        }
        let api = &self.endpoints.bricklink;
        let host = if api.host_str() == Some("api.bricklink.com") {
            "https://img.bricklink.com/ItemImage".to_owned()
        } else {
            format!("{}/img/ItemImage", api.origin().ascii_serialization())
        };
        Some(format!("{host}/{code}/{color}/{no}.png"))
    }

    /// Downloads a picture from a marketplace's image server: a raster type only (PNG, JPEG,
    /// GIF, WebP: `/img` serves it from brickdesk's own origin, where an SVG could run
    /// script), at most [`PICTURE_LIMIT`] bytes, counted while reading.
    pub async fn download(&self, url: &str) -> Result<(bytes::Bytes, String), MarketplaceError> {
        let mut response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(MarketplaceError::from_reqwest)?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err(MarketplaceError::NotFound("no such picture".to_owned()));
        }
        if !status.is_success() {
            return Err(MarketplaceError::Unavailable(format!(
                "HTTP {}",
                status.as_u16()
            )));
        }
        let kind = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_default();
        if !RASTER_TYPES.contains(&kind.as_str()) {
            return Err(MarketplaceError::Refused(format!(
                "{kind:?} is not a picture brickdesk shows"
            )));
        }
        let too_large = || MarketplaceError::Refused("the picture is too large".into());
        if response
            .content_length()
            .is_some_and(|n| n > PICTURE_LIMIT as u64)
        {
            return Err(too_large());
        }
        let mut bytes = bytes::BytesMut::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(MarketplaceError::from_reqwest)?
        {
            if bytes.len() + chunk.len() > PICTURE_LIMIT {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok((bytes.freeze(), kind))
    }

    /// A BrickLink client for `user`.
    pub fn bricklink(
        &self,
        user: app::UserId,
        creds: bricklink::Credentials,
    ) -> bricklink::BrickLink {
        bricklink::BrickLink::new(
            self.http.clone(),
            self.endpoints.bricklink.clone(),
            creds,
            self.guard.account(user, app::Marketplace::BrickLink),
        )
    }

    /// A BrickOwl client for `user`.
    pub fn brickowl(&self, user: app::UserId, key: String) -> brickowl::BrickOwl {
        brickowl::BrickOwl::new(
            self.http.clone(),
            self.endpoints.brickowl.clone(),
            key,
            self.guard.account(user, app::Marketplace::BrickOwl),
        )
    }
}
