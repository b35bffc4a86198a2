//! The BrickLink Store API v1 client: every request signed ([`oauth`]), admitted by the
//! account's [`AccountGuard`], and read through the `{meta, data}` envelope whose `meta.code`
//! is the truth even when HTTP said 200. Gateway failures (HTTP 503 HTML pages, bare 429s)
//! become typed errors too.

pub mod oauth;
pub mod wire;

use reqwest::{Method, StatusCode, header};
use serde::de::{DeserializeOwned, IgnoredAny};
use url::Url;

use super::{
    MarketplaceError, de,
    guard::{AccountGuard, Priority},
};

pub use oauth::Credentials;

/// Which orders: received (`in`) or placed (`out`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    #[default]
    In,
    Out,
}

/// The filter of `GET /orders`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderFilter {
    pub direction: Direction,
    /// Statuses to include (upper case, e.g. `PENDING`); empty means all.
    pub include: Vec<String>,
    /// Statuses to leave out (e.g. `PURGED`).
    pub exclude: Vec<String>,
    /// `Some(true)` for filed orders only; BrickLink's default is un-filed only.
    pub filed: Option<bool>,
}

impl OrderFilter {
    fn query(&self) -> Vec<(&'static str, String)> {
        let mut query = vec![(
            "direction",
            match self.direction {
                Direction::In => "in",
                Direction::Out => "out",
            }
            .to_owned(),
        )];
        let statuses: Vec<String> = self
            .include
            .iter()
            .cloned()
            .chain(self.exclude.iter().map(|s| format!("-{s}")))
            .collect();
        if !statuses.is_empty() {
            query.push(("status", statuses.join(",")));
        }
        if let Some(filed) = self.filed {
            query.push(("filed", filed.to_string()));
        }
        query
    }
}

/// Which price guide: what sold in the last six months, or what is for sale now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuideType {
    Sold,
    Stock,
}

/// A BrickLink client for one account.
#[derive(Clone)]
pub struct BrickLink {
    http: reqwest::Client,
    base: Url,
    creds: Credentials,
    guard: AccountGuard,
}

impl std::fmt::Debug for BrickLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrickLink")
            .field("base", &self.base.as_str())
            .field("creds", &self.creds)
            .finish_non_exhaustive()
    }
}

impl BrickLink {
    /// A client of `base` (e.g. `https://api.bricklink.com/api/store/v1`).
    pub fn new(http: reqwest::Client, base: Url, creds: Credentials, guard: AccountGuard) -> Self {
        Self {
            http,
            base,
            creds,
            guard,
        }
    }

    /// A cheap signed call that proves the keys work from this address.
    pub async fn check(&self, priority: Priority) -> Result<(), MarketplaceError> {
        self.get::<wire::Color>("/colors/11", &[], priority)
            .await
            .map(drop)
    }

    /// `GET /orders`.
    pub async fn orders(
        &self,
        filter: &OrderFilter,
        priority: Priority,
    ) -> Result<Vec<wire::OrderSummary>, MarketplaceError> {
        let list: super::Lenient<wire::OrderSummary> = self
            .get_streamed("/orders", &filter.query(), priority)
            .await?;
        Ok(list.into_items("/orders"))
    }

    /// `GET /orders/{id}`, with the `UK` country code made `GB`.
    pub async fn order(
        &self,
        order_id: i64,
        priority: Priority,
    ) -> Result<wire::Order, MarketplaceError> {
        let mut order: wire::Order = self
            .get(&format!("/orders/{order_id}"), &[], priority)
            .await?;
        if let Some(address) = order.shipping.as_mut().and_then(|s| s.address.as_mut())
            && address.country_code.as_deref() == Some("UK")
        {
            address.country_code = Some("GB".into());
        }
        Ok(order)
    }

    /// `GET /orders/{id}/items`: the items in their batches.
    pub async fn order_items(
        &self,
        order_id: i64,
        priority: Priority,
    ) -> Result<Vec<Vec<wire::OrderItem>>, MarketplaceError> {
        self.get(&format!("/orders/{order_id}/items"), &[], priority)
            .await
    }

    /// `PUT /orders/{id}/status`.
    pub async fn update_status(
        &self,
        order_id: i64,
        status: &str,
        priority: Priority,
    ) -> Result<(), MarketplaceError> {
        let body = serde_json::json!({"field": "status", "value": status});
        let path = format!("/orders/{order_id}/status");
        self.write(Method::PUT, &path, Some(&body), priority).await
    }

    /// `PUT /orders/{id}/payment_status`.
    pub async fn update_payment_status(
        &self,
        order_id: i64,
        status: &str,
        priority: Priority,
    ) -> Result<(), MarketplaceError> {
        let body = serde_json::json!({"field": "payment_status", "value": status});
        let path = format!("/orders/{order_id}/payment_status");
        self.write(Method::PUT, &path, Some(&body), priority).await
    }

    /// `PUT /orders/{id}` with the shipment's tracking number.
    pub async fn update_tracking(
        &self,
        order_id: i64,
        tracking_no: &str,
        priority: Priority,
    ) -> Result<(), MarketplaceError> {
        let body = serde_json::json!({"shipping": {"tracking_no": tracking_no}});
        let path = format!("/orders/{order_id}");
        self.write(Method::PUT, &path, Some(&body), priority).await
    }

    /// `GET /inventories`: every lot of the store, available and in stockrooms, in one answer.
    pub async fn inventories(
        &self,
        priority: Priority,
    ) -> Result<Vec<wire::InventoryLot>, MarketplaceError> {
        self.get_streamed("/inventories", &[], priority).await
    }

    /// `GET /inventories/{id}`: one lot.
    pub async fn inventory(
        &self,
        inventory_id: i64,
        priority: Priority,
    ) -> Result<wire::InventoryLot, MarketplaceError> {
        self.get(&format!("/inventories/{inventory_id}"), &[], priority)
            .await
    }

    /// `PUT /inventories/{id}`: `quantity` a signed change (`"+3"`, `"-1"`), the other fields
    /// absolute; BrickLink answers with the lot as it now is. It refuses a lot at 0 outside a
    /// stockroom (`Refused`).
    pub async fn update_inventory(
        &self,
        inventory_id: i64,
        change: &InventoryChange,
        priority: Priority,
    ) -> Result<wire::InventoryLot, MarketplaceError> {
        let path = format!("/inventories/{inventory_id}");
        Box::pin(self.call::<wire::InventoryLot>(
            Method::PUT,
            &path,
            &[],
            Some(&change.body()),
            priority,
            Reading::Whole,
        ))
        .await?
        .ok_or_else(|| MarketplaceError::Undecodable(format!("{path}: no lot in the answer")))
    }

    /// `DELETE /inventories/{id}`.
    pub async fn delete_inventory(
        &self,
        inventory_id: i64,
        priority: Priority,
    ) -> Result<(), MarketplaceError> {
        let path = format!("/inventories/{inventory_id}");
        self.write(Method::DELETE, &path, None, priority).await
    }

    /// `GET /notifications`: the unread events (reading them marks them read).
    pub async fn notifications(
        &self,
        priority: Priority,
    ) -> Result<Vec<wire::Notification>, MarketplaceError> {
        self.get("/notifications", &[], priority).await
    }

    /// `GET /items/{type}/{no}`, image URLs made absolute.
    pub async fn item(
        &self,
        kind: &str,
        no: &str,
        priority: Priority,
    ) -> Result<wire::CatalogItem, MarketplaceError> {
        let mut item: wire::CatalogItem = self
            .get(
                &format!("/items/{}/{}", kind.to_ascii_lowercase(), segment(no)),
                &[],
                priority,
            )
            .await?;
        item.image_url = item.image_url.map(|u| de::absolute_url(&self.base, &u));
        item.thumbnail_url = item.thumbnail_url.map(|u| de::absolute_url(&self.base, &u));
        Ok(item)
    }

    /// `GET /items/{type}/{no}/images/{color_id}`, the URL made absolute.
    pub async fn image(
        &self,
        kind: &str,
        no: &str,
        color_id: i64,
        priority: Priority,
    ) -> Result<wire::ItemImage, MarketplaceError> {
        let path = format!(
            "/items/{}/{}/images/{color_id}",
            kind.to_ascii_lowercase(),
            segment(no)
        );
        let mut image: wire::ItemImage = self.get(&path, &[], priority).await?;
        image.thumbnail_url = de::absolute_url(&self.base, &image.thumbnail_url);
        Ok(image)
    }

    /// `GET /items/{type}/{no}/subsets`: the parts, in match groups.
    pub async fn subsets(
        &self,
        kind: &str,
        no: &str,
        priority: Priority,
    ) -> Result<Vec<wire::SubsetGroup>, MarketplaceError> {
        let path = format!(
            "/items/{}/{}/subsets",
            kind.to_ascii_lowercase(),
            segment(no)
        );
        self.get(&path, &[("break_minifigs", "false".into())], priority)
            .await
    }

    /// `GET /items/{type}/{no}/price` for one colour and condition (`N` or `U`).
    pub async fn price_guide(
        &self,
        kind: &str,
        no: &str,
        color_id: i64,
        guide: GuideType,
        new_or_used: &str,
        priority: Priority,
    ) -> Result<wire::PriceGuide, MarketplaceError> {
        let path = format!("/items/{}/{}/price", kind.to_ascii_lowercase(), segment(no));
        let guide = match guide {
            GuideType::Sold => "sold",
            GuideType::Stock => "stock",
        };
        let query = [
            ("color_id", color_id.to_string()),
            ("guide_type", guide.to_owned()),
            ("new_or_used", new_or_used.to_owned()),
        ];
        self.get(&path, &query, priority).await
    }

    /// `GET /orders/{id}/messages`.
    pub async fn order_messages(
        &self,
        order_id: i64,
        priority: Priority,
    ) -> Result<Vec<wire::Message>, MarketplaceError> {
        self.get(&format!("/orders/{order_id}/messages"), &[], priority)
            .await
    }

    /// `GET /orders/{id}/feedback`: both ways.
    pub async fn order_feedback(
        &self,
        order_id: i64,
        priority: Priority,
    ) -> Result<Vec<wire::Feedback>, MarketplaceError> {
        self.get(&format!("/orders/{order_id}/feedback"), &[], priority)
            .await
    }

    /// `GET /feedback/{id}`.
    pub async fn feedback(
        &self,
        feedback_id: i64,
        priority: Priority,
    ) -> Result<wire::Feedback, MarketplaceError> {
        self.get(&format!("/feedback/{feedback_id}"), &[], priority)
            .await
    }

    /// `POST /feedback`: the seller rates the buyer of `order_id` (0 praise, 1 neutral, 2
    /// complaint).
    pub async fn leave_feedback(
        &self,
        order_id: i64,
        rating: i64,
        comment: &str,
        priority: Priority,
    ) -> Result<(), MarketplaceError> {
        let body = serde_json::json!({"order_id": order_id, "rating": rating, "comment": comment});
        self.write(Method::POST, "/feedback", Some(&body), priority)
            .await
    }

    /// `POST /feedback/{id}/reply`.
    pub async fn reply_feedback(
        &self,
        feedback_id: i64,
        reply: &str,
        priority: Priority,
    ) -> Result<(), MarketplaceError> {
        let body = serde_json::json!({"reply": reply});
        let path = format!("/feedback/{feedback_id}/reply");
        self.write(Method::POST, &path, Some(&body), priority).await
    }

    /// `GET /colors`.
    pub async fn colors(&self, priority: Priority) -> Result<Vec<wire::Color>, MarketplaceError> {
        self.get("/colors", &[], priority).await
    }

    async fn get<T: DeserializeOwned + Send + 'static>(
        &self,
        path: &str,
        query: &[(&str, String)],
        priority: Priority,
    ) -> Result<T, MarketplaceError> {
        // Boxed: a request's state is large, and callers run many of these at once.
        // Decoded straight into `T`: a whole store's lots never sit in memory as JSON values.
        match Box::pin(self.call::<T>(Method::GET, path, query, None, priority, Reading::Whole))
            .await?
        {
            Some(data) => Ok(data),
            None => serde_json::from_value(serde_json::Value::Null)
                .map_err(|e| MarketplaceError::Undecodable(format!("{path}: {e}"))),
        }
    }

    /// A GET whose answer is as large as the store (about 1 KB an order or lot): decoded as it
    /// arrives, never held whole. An answer without `data` is unreadable, never an empty store.
    async fn get_streamed<T: DeserializeOwned + Send + 'static>(
        &self,
        path: &str,
        query: &[(&str, String)],
        priority: Priority,
    ) -> Result<T, MarketplaceError> {
        Box::pin(self.call::<T>(Method::GET, path, query, None, priority, Reading::Streamed))
            .await?
            .ok_or_else(|| MarketplaceError::Undecodable(format!("{path}: no data in the answer")))
    }

    /// A `PUT`, `POST` or `DELETE` whose answer says only whether it worked.
    async fn write(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        priority: Priority,
    ) -> Result<(), MarketplaceError> {
        Box::pin(self.call::<IgnoredAny>(method, path, &[], body, priority, Reading::Whole))
            .await
            .map(drop)
    }

    #[tracing::instrument(skip_all, fields(marketplace = "bricklink", %method, path))]
    async fn call<T: DeserializeOwned + Send + 'static>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
        priority: Priority,
        reading: Reading,
    ) -> Result<Option<T>, MarketplaceError> {
        let mut url = Url::parse(&format!(
            "{}{path}",
            self.base.as_str().trim_end_matches('/')
        ))
        .map_err(|e| MarketplaceError::Refused(format!("bad address {path}: {e}")))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let permit = self.guard.acquire(priority).await?;
        let stamp = oauth::Stamp::fresh();
        let mut request = self.http.request(method.clone(), url.clone()).header(
            header::AUTHORIZATION,
            oauth::authorization(method.as_str(), &url, &self.creds, &stamp),
        );
        if let Some(body) = body {
            request = request.json(body);
        }
        let outcome = match request.send().await {
            Ok(response) => match reading {
                Reading::Whole => read(response).await,
                Reading::Streamed => read_streamed(response).await,
            },
            Err(err) => Err(MarketplaceError::from_reqwest(err)),
        };
        permit.settle(app::Marketplace::BrickLink, &outcome);
        outcome
    }
}

/// What a `PUT /inventories/{id}` changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InventoryChange {
    /// Pieces to add (negative: to take away).
    pub quantity: Option<i64>,
    pub unit_price: Option<app::Money>,
    pub remarks: Option<String>,
    pub description: Option<String>,
    pub stockroom: Option<bool>,
}

impl InventoryChange {
    fn body(&self) -> serde_json::Value {
        let mut body = serde_json::Map::new();
        if let Some(n) = self.quantity {
            body.insert("quantity".into(), format!("{n:+}").into());
        }
        if let Some(price) = self.unit_price {
            body.insert("unit_price".into(), price.to_wire().into());
        }
        if let Some(remarks) = &self.remarks {
            body.insert("remarks".into(), remarks.clone().into());
        }
        if let Some(description) = &self.description {
            body.insert("description".into(), description.clone().into());
        }
        if let Some(stockroom) = self.stockroom {
            body.insert("is_stock_room".into(), stockroom.into());
            if stockroom {
                body.insert("stock_room_id".into(), "A".into());
            }
        }
        serde_json::Value::Object(body)
    }
}

/// A path segment: item numbers may hold characters a path cannot.
fn segment(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// How an answer is read.
#[derive(Debug, Clone, Copy)]
enum Reading {
    /// Into memory, then decoded: an error's `data` may then be read again as anything.
    Whole,
    /// Decoded as it arrives ([`super::decode_streamed`]), for answers as large as the store.
    Streamed,
}

/// A successful answer decoded as it arrives; any other is small and read whole.
async fn read_streamed<T: DeserializeOwned + Send + 'static>(
    response: reqwest::Response,
) -> Result<Option<T>, MarketplaceError> {
    if response.status() != StatusCode::OK {
        return read(response).await;
    }
    let retry_after = super::retry_after(response.headers());
    let envelope: wire::Envelope<T> = super::decode_streamed(response).await?;
    settle(envelope, retry_after)
}

async fn read<T: DeserializeOwned>(
    response: reqwest::Response,
) -> Result<Option<T>, MarketplaceError> {
    let status = response.status();
    let retry_after = super::retry_after(response.headers());
    let bytes = response
        .bytes()
        .await
        .map_err(MarketplaceError::from_reqwest)?;
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Err(MarketplaceError::RateLimited { retry_after });
    }
    let envelope: wire::Envelope<T> = match serde_json::from_slice(&bytes) {
        Ok(envelope) => envelope,
        // An error's `data` need not have the answer's shape: its `meta` says what happened.
        Err(typed) => match serde_json::from_slice::<wire::Envelope<IgnoredAny>>(&bytes) {
            Ok(said) if (200..300).contains(&said.meta.code) => {
                return Err(MarketplaceError::Undecodable(format!(
                    "HTTP {}: {typed}",
                    status.as_u16()
                )));
            }
            Ok(said) => wire::Envelope {
                meta: said.meta,
                data: None,
            },
            Err(_) if status.is_server_error() => {
                return Err(MarketplaceError::Unavailable(format!(
                    "HTTP {}{}",
                    status.as_u16(),
                    if bytes.trim_ascii_start().starts_with(b"<") {
                        " (an HTML error page)"
                    } else {
                        ""
                    }
                )));
            }
            Err(err) => {
                return Err(MarketplaceError::Undecodable(format!(
                    "HTTP {}: {err}",
                    status.as_u16()
                )));
            }
        },
    };
    settle(envelope, retry_after)
}

/// What an envelope's `meta` says of the call: its `data`, or the error it names.
fn settle<T>(
    envelope: wire::Envelope<T>,
    retry_after: Option<std::time::Duration>,
) -> Result<Option<T>, MarketplaceError> {
    let meta = envelope.meta;
    let reason = if meta.description.is_empty() {
        meta.message.clone()
    } else {
        meta.description.clone()
    };
    match meta.code {
        200..=299 => Ok(envelope.data),
        // A request whose time BrickLink refuses says nothing about the keys: this server's
        // clock is off. Worth another try once it is right, and said so.
        401 if reason.contains("TIMESTAMP") => Err(MarketplaceError::Unavailable(format!(
            "BrickLink refused the request's time ({reason}); check that this server's clock \
             is right to within a few minutes"
        ))),
        401 => Err(MarketplaceError::BadCredentials(reason)),
        404 => Err(MarketplaceError::NotFound(reason)),
        429 => Err(MarketplaceError::RateLimited { retry_after }),
        500..=599 => Err(MarketplaceError::Unavailable(reason)),
        code => Err(MarketplaceError::Refused(format!(
            "{} ({code}): {reason}",
            meta.message
        ))),
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
