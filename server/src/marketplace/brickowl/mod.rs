//! The BrickOwl API v1 client: the key travels in the query of a GET and in the form body of
//! a POST; answers are bare JSON; failures are HTTP statuses. Every call is admitted by the
//! account's [`AccountGuard`] (600 a minute).

pub mod wire;

use reqwest::{StatusCode, header};
use serde::de::DeserializeOwned;
use url::Url;

use super::{
    MarketplaceError,
    guard::{AccountGuard, Priority},
};

/// Lot updates one `bulk/batch` may carry.
pub const BATCH_LIMIT: usize = 50;

/// One lot's `inventory/update`; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LotChange {
    pub lot_id: i64,
    /// Pieces to add (negative: to take away).
    pub relative_quantity: Option<i64>,
    pub absolute_quantity: Option<i64>,
    pub price: Option<app::Money>,
    pub personal_note: Option<String>,
    pub public_note: Option<String>,
    pub for_sale: Option<bool>,
}

impl LotChange {
    fn args(&self) -> Vec<(&'static str, String)> {
        let mut args = vec![("lot_id", self.lot_id.to_string())];
        if let Some(n) = self.relative_quantity {
            args.push(("relative_quantity", n.to_string()));
        }
        if let Some(n) = self.absolute_quantity {
            args.push(("absolute_quantity", n.to_string()));
        }
        if let Some(price) = self.price {
            args.push(("price", price.to_wire()));
        }
        if let Some(note) = &self.personal_note {
            args.push(("personal_note", note.clone()));
        }
        if let Some(note) = &self.public_note {
            args.push(("public_note", note.clone()));
        }
        if let Some(for_sale) = self.for_sale {
            args.push(("for_sale", if for_sale { "1" } else { "0" }.to_owned()));
        }
        args
    }
}

/// Which orders `order/list` returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderQuery {
    /// A status name or id.
    pub status: Option<String>,
    /// Orders with a timestamp at or after this unix time.
    pub order_time: Option<i64>,
    /// At most this many (BrickOwl's default 500, maximum 5,000).
    pub limit: Option<u32>,
    /// Sort by last update instead of creation.
    pub by_updated: bool,
}

/// A BrickOwl client for one account.
#[derive(Clone)]
pub struct BrickOwl {
    http: reqwest::Client,
    base: Url,
    key: String,
    guard: AccountGuard,
}

impl std::fmt::Debug for BrickOwl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrickOwl")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

impl BrickOwl {
    /// A client of `base` (e.g. `https://api.brickowl.com/v1`).
    pub fn new(http: reqwest::Client, base: Url, key: String, guard: AccountGuard) -> Self {
        Self {
            http,
            base,
            key,
            guard,
        }
    }

    /// A cheap call that proves the key works and may read orders.
    pub async fn check(&self, priority: Priority) -> Result<(), MarketplaceError> {
        let query = OrderQuery {
            limit: Some(1),
            ..OrderQuery::default()
        };
        self.orders(&query, priority).await.map(drop)
    }

    /// `GET order/list` (orders received).
    pub async fn orders(
        &self,
        query: &OrderQuery,
        priority: Priority,
    ) -> Result<Vec<wire::OrderSummary>, MarketplaceError> {
        let mut args = vec![("list_type", "store".to_owned())];
        if let Some(status) = &query.status {
            args.push(("status", status.clone()));
        }
        if let Some(time) = query.order_time {
            args.push(("order_time", time.to_string()));
        }
        if let Some(limit) = query.limit {
            args.push(("limit", limit.to_string()));
        }
        if query.by_updated {
            args.push(("sort_by", "updated".into()));
        }
        let list: super::Lenient<wire::OrderSummary> =
            self.get("order/list", &args, priority).await?;
        Ok(list.into_items("order/list"))
    }

    /// `GET order/view`.
    pub async fn order(
        &self,
        order_id: &str,
        priority: Priority,
    ) -> Result<wire::Order, MarketplaceError> {
        self.get("order/view", &[("order_id", order_id.to_owned())], priority)
            .await
    }

    /// `GET order/items`, image URLs made absolute.
    pub async fn order_items(
        &self,
        order_id: &str,
        priority: Priority,
    ) -> Result<Vec<wire::OrderItem>, MarketplaceError> {
        let mut items: Vec<wire::OrderItem> = self
            .get(
                "order/items",
                &[("order_id", order_id.to_owned())],
                priority,
            )
            .await?;
        for item in &mut items {
            item.image_small = item
                .image_small
                .take()
                .map(|u| super::de::absolute_url(&self.base, &u));
        }
        Ok(items)
    }

    /// `POST order/set_status` (`status_id` 1–7; BrickOwl refuses 0 and 8).
    pub async fn set_status(
        &self,
        order_id: &str,
        status_id: u8,
        priority: Priority,
    ) -> Result<(), MarketplaceError> {
        self.post(
            "order/set_status",
            &[
                ("order_id", order_id.to_owned()),
                ("status_id", status_id.to_string()),
            ],
            priority,
        )
        .await
    }

    /// `POST order/feedback`: the seller rates the buyer (1, 0 or -1; comment at most 120
    /// characters).
    pub async fn leave_feedback(
        &self,
        order_id: &str,
        rating: i64,
        comment: &str,
        priority: Priority,
    ) -> Result<(), MarketplaceError> {
        self.post(
            "order/feedback",
            &[
                ("order_id", order_id.to_owned()),
                ("rating", rating.to_string()),
                ("comment", comment.to_owned()),
            ],
            priority,
        )
        .await
    }

    /// `POST order/tracking`.
    pub async fn set_tracking(
        &self,
        order_id: &str,
        tracking: &str,
        priority: Priority,
    ) -> Result<(), MarketplaceError> {
        self.post(
            "order/tracking",
            &[
                ("order_id", order_id.to_owned()),
                ("tracking_id", tracking.to_owned()),
            ],
            priority,
        )
        .await
    }

    /// `GET catalog/lookup`.
    pub async fn catalog_lookup(
        &self,
        boid: &str,
        priority: Priority,
    ) -> Result<wire::CatalogItem, MarketplaceError> {
        self.get("catalog/lookup", &[("boid", boid.to_owned())], priority)
            .await
    }

    /// `GET catalog/color_list`: BrickOwl's colours, each with the BrickLink ids it stands for.
    pub async fn color_list(
        &self,
        priority: Priority,
    ) -> Result<Vec<wire::Color>, MarketplaceError> {
        let list: wire::ColorList = self.get("catalog/color_list", &[], priority).await?;
        Ok(list.into_colors())
    }

    /// `GET catalog/id_lookup`: BrickOwl ids for another catalogue's number (`id_type` such as
    /// `bl_item_no`), for items of `kind` (`Part`, `Minifigure`, ...).
    pub async fn id_lookup(
        &self,
        id: &str,
        kind: &str,
        id_type: Option<&str>,
        priority: Priority,
    ) -> Result<wire::IdLookup, MarketplaceError> {
        let mut args = vec![("id", id.to_owned()), ("type", kind.to_owned())];
        if let Some(id_type) = id_type {
            args.push(("id_type", id_type.to_owned()));
        }
        self.get("catalog/id_lookup", &args, priority).await
    }

    fn url(&self, path: &str) -> Result<Url, MarketplaceError> {
        Url::parse(&format!(
            "{}/{path}",
            self.base.as_str().trim_end_matches('/')
        ))
        .map_err(|e| MarketplaceError::Refused(format!("bad address {path}: {e}")))
    }

    /// `GET inventory/list`: every lot of the store, also those not for sale or at 0.
    pub async fn inventory(
        &self,
        priority: Priority,
    ) -> Result<Vec<wire::InventoryLot>, MarketplaceError> {
        self.get(
            "inventory/list",
            &[("active_only", "0".to_owned())],
            priority,
        )
        .await
    }

    /// `POST inventory/update` of one lot.
    pub async fn update_inventory(
        &self,
        change: &LotChange,
        priority: Priority,
    ) -> Result<(), MarketplaceError> {
        self.post("inventory/update", &change.args(), priority)
            .await
    }

    /// Up to [`BATCH_LIMIT`] lot updates in one `POST bulk/batch`: one result per change, in
    /// order (`Err` with BrickOwl's words for a change it refused).
    pub async fn update_inventory_batch(
        &self,
        changes: &[LotChange],
        priority: Priority,
    ) -> Result<Vec<Result<(), String>>, MarketplaceError> {
        if changes.len() > BATCH_LIMIT {
            return Err(MarketplaceError::Refused(format!(
                "a batch holds at most {BATCH_LIMIT} requests"
            )));
        }
        let requests: Vec<serde_json::Value> = changes
            .iter()
            .map(|change| {
                let params: serde_json::Map<String, serde_json::Value> = change
                    .args()
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v.into()))
                    .collect();
                serde_json::json!({
                    "endpoint": "inventory/update",
                    "request_method": "POST",
                    "params": [params],
                })
            })
            .collect();
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("key", &self.key)
            .append_pair(
                "requests",
                &serde_json::json!({ "requests": requests }).to_string(),
            )
            .finish();
        let request = self
            .http
            .post(self.url("bulk/batch")?)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        let answers: Vec<serde_json::Value> = self.send("bulk/batch", request, priority).await?;
        Ok(answers
            .iter()
            .map(|a| match a["status"].as_str() {
                Some("success") => Ok(()),
                _ => Err(a["error"]["status"]
                    .as_str()
                    .unwrap_or("refused")
                    .to_owned()),
            })
            .collect())
    }

    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        args: &[(&str, String)],
        priority: Priority,
    ) -> Result<T, MarketplaceError> {
        let mut url = self.url(path)?;
        url.query_pairs_mut()
            .append_pair("key", &self.key)
            .extend_pairs(args);
        let request = self.http.get(url);
        self.send(path, request, priority).await
    }

    async fn post(
        &self,
        path: &str,
        args: &[(&str, String)],
        priority: Priority,
    ) -> Result<(), MarketplaceError> {
        // The serializer is not `Send`; it must be gone before the first await.
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("key", &self.key)
            .extend_pairs(args)
            .finish();
        let request = self
            .http
            .post(self.url(path)?)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        let status: wire::Status = self.send(path, request, priority).await?;
        if status.status == "success" {
            Ok(())
        } else {
            Err(MarketplaceError::Refused(status.status))
        }
    }

    #[tracing::instrument(skip_all, fields(marketplace = "brickowl", path))]
    async fn send<T: DeserializeOwned>(
        &self,
        path: &str,
        request: reqwest::RequestBuilder,
        priority: Priority,
    ) -> Result<T, MarketplaceError> {
        let permit = self.guard.acquire(priority).await?;
        let outcome = match request.send().await {
            Ok(response) => read(path, response).await,
            Err(err) => Err(MarketplaceError::from_reqwest(err)),
        };
        permit.settle(app::Marketplace::BrickOwl, &outcome);
        outcome
    }
}

async fn read<T: DeserializeOwned>(
    path: &str,
    response: reqwest::Response,
) -> Result<T, MarketplaceError> {
    let status = response.status();
    let retry_after = super::retry_after(response.headers());
    let bytes = response
        .bytes()
        .await
        .map_err(MarketplaceError::from_reqwest)?;
    if !status.is_success() {
        let reason = error_text(&bytes).unwrap_or_else(|| format!("HTTP {}", status.as_u16()));
        return Err(match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                MarketplaceError::BadCredentials(reason)
            }
            StatusCode::NOT_FOUND => MarketplaceError::NotFound(reason),
            StatusCode::TOO_MANY_REQUESTS => MarketplaceError::RateLimited { retry_after },
            s if s.is_server_error() => MarketplaceError::Unavailable(reason),
            _ => MarketplaceError::Refused(reason),
        });
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| MarketplaceError::Undecodable(format!("{path}: {e}")))
}

/// The message of a JSON error body (`{"error": {"status": "..."}}` or `{"error": "..."}`).
fn error_text(bytes: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let error = value.get("error")?;
    error
        .get("status")
        .or_else(|| error.get("message"))
        .unwrap_or(error)
        .as_str()
        .map(str::to_owned)
}
