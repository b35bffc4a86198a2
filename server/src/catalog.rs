//! BrickLink's catalogue, cache-first: moka in memory, then the persisted `catalog` tree, and
//! only then the marketplace, through the asking user's account (so its limits and budget
//! apply). Concurrent misses for one entry make one call (`try_get_with`). Items, parts and
//! picture addresses are the same for everyone; prices are kept per user, since BrickLink
//! answers them in the account's currency.

use std::{future::Future, sync::Arc, time::Duration};

use app::{Condition, Money, Prices, UserId};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use time::OffsetDateTime;

use crate::{
    marketplace::{
        MarketplaceError,
        bricklink::{BrickLink, GuideType},
        guard::Priority,
    },
    store,
};

/// How long a catalogue entry is trusted: items and their parts rarely change.
const ITEM_MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);
/// How long a price guide is trusted.
const PRICE_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// A catalogue item as brickdesk keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub no: String,
    pub name: String,
    /// `MINIFIG`, `PART`, ...
    pub kind: String,
    pub year_released: Option<i64>,
}

/// One part of a minifig, as its subset lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubsetPart {
    pub kind: String,
    pub no: String,
    pub name: String,
    pub color_id: i64,
    pub quantity: u32,
}

/// A catalogue item in one colour: what a price guide is asked for.
#[derive(Debug, Clone, Copy)]
pub struct ItemColor<'a> {
    /// `PART`, `MINIFIG`, ...
    pub kind: &'a str,
    pub no: &'a str,
    pub color_id: i64,
}

/// A sold price guide's average as brickdesk keeps it: no price when nothing sold.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Average {
    price: Option<Money>,
    currency: Option<String>,
}

/// The cache; cheap to clone.
#[derive(Clone)]
pub struct Catalog {
    memory: moka::future::Cache<String, Arc<serde_json::Value>>,
    store: store::Catalog,
}

impl Catalog {
    /// A cache in front of `store`.
    pub fn new(store: store::Catalog) -> Self {
        Self {
            memory: moka::future::Cache::builder()
                .name("catalog")
                .max_capacity(20_000)
                .time_to_live(Duration::from_secs(24 * 3600))
                .build(),
            store,
        }
    }

    /// `GET /items/{kind}/{no}`, cached.
    pub async fn item(
        &self,
        client: &BrickLink,
        kind: &str,
        no: &str,
        priority: Priority,
    ) -> Result<Item, Arc<MarketplaceError>> {
        let kind = kind.to_ascii_uppercase();
        self.cached(item_key(&kind, no), ITEM_MAX_AGE, async {
            let item = client.item(&kind, no, priority).await?;
            Ok(Item {
                no: item.no,
                name: item.name,
                kind: item.kind,
                year_released: item.year_released,
            })
        })
        .await
    }

    /// The regular parts of a minifig (no alternates or counterparts), one row per part and
    /// colour, cached.
    pub async fn subsets(
        &self,
        client: &BrickLink,
        no: &str,
        priority: Priority,
    ) -> Result<Vec<SubsetPart>, Arc<MarketplaceError>> {
        self.cached(subsets_key(no), ITEM_MAX_AGE, async {
            let groups = client
                .subsets(app::ItemType::Minifig.as_str(), no, priority)
                .await?;
            let mut parts: Vec<SubsetPart> = Vec::new();
            for entry in groups.into_iter().flat_map(|g| g.entries) {
                if entry.is_alternate || entry.is_counterpart {
                    continue;
                }
                let quantity = u32::try_from(entry.quantity.max(0)).unwrap_or(u32::MAX);
                if let Some(same) = parts
                    .iter_mut()
                    .find(|p| p.no == entry.item.no && p.color_id == entry.color_id)
                {
                    same.quantity += quantity;
                    continue;
                }
                parts.push(SubsetPart {
                    kind: entry.item.kind,
                    name: entry.item.name.unwrap_or_else(|| entry.item.no.clone()),
                    no: entry.item.no,
                    color_id: entry.color_id,
                    quantity,
                });
            }
            Ok(parts)
        })
        .await
    }

    /// The average sold prices of an item in one colour in `conditions` (each price guide
    /// one call, at once, when not cached), and the other condition's only when nothing sold
    /// in a wanted one (the price shown then falls back to it). A guide BrickLink does not
    /// have is an empty price, not an error. A guide already cached is included either way.
    pub async fn prices(
        &self,
        client: &BrickLink,
        user: UserId,
        item: &ItemColor<'_>,
        conditions: &[Condition],
        priority: Priority,
    ) -> Result<Prices, Arc<MarketplaceError>> {
        let kind = item.kind.to_ascii_uppercase();
        let item = ItemColor {
            kind: &kind,
            ..*item
        };
        let guide = |condition: Condition| self.average(client, user, &item, condition, priority);
        let first =
            futures_util::future::try_join_all(conditions.iter().map(|c| guide(*c))).await?;
        let unsold: Vec<Condition> = conditions
            .iter()
            .zip(&first)
            .filter(|(_, average)| average.price.is_none())
            .map(|(c, _)| other(*c))
            .filter(|c| !conditions.contains(c))
            .collect();
        for condition in unsold {
            guide(condition).await?;
        }
        Ok(self
            .peek_prices(user, &kind, item.no, item.color_id)
            .await
            .unwrap_or_default())
    }

    /// One price guide's average, cached (`item.kind` in upper case).
    async fn average(
        &self,
        client: &BrickLink,
        user: UserId,
        item: &ItemColor<'_>,
        condition: Condition,
        priority: Priority,
    ) -> Result<Average, Arc<MarketplaceError>> {
        let ItemColor { kind, no, color_id } = *item;
        self.cached(
            prices_key(user, kind, no, color_id, condition),
            PRICE_MAX_AGE,
            async {
                match client
                    .price_guide(
                        kind,
                        no,
                        color_id,
                        GuideType::Sold,
                        condition.code(),
                        priority,
                    )
                    .await
                {
                    Ok(guide) => Ok(Average {
                        price: Some(guide.avg_price).filter(|p| p.0 > 0),
                        currency: Some(guide.currency_code),
                    }),
                    Err(MarketplaceError::NotFound(_)) => Ok(Average::default()),
                    Err(err) => Err(err),
                }
            },
        )
        .await
    }

    /// The address of an item's picture in one colour (`GET .../images/{color}`), cached.
    pub async fn image_url(
        &self,
        client: &BrickLink,
        kind: &str,
        no: &str,
        color_id: i64,
        priority: Priority,
    ) -> Result<String, Arc<MarketplaceError>> {
        let kind = kind.to_ascii_uppercase();
        self.cached(image_key(&kind, no, color_id), ITEM_MAX_AGE, async {
            Ok(client
                .image(&kind, no, color_id, priority)
                .await?
                .thumbnail_url)
        })
        .await
    }

    /// A cached item, without asking BrickLink.
    pub async fn peek_item(&self, kind: &str, no: &str) -> Option<Item> {
        self.peek(&item_key(&kind.to_ascii_uppercase(), no), ITEM_MAX_AGE)
            .await
    }

    /// A minifig's cached parts, without asking BrickLink.
    pub async fn peek_subsets(&self, no: &str) -> Option<Vec<SubsetPart>> {
        self.peek(&subsets_key(no), ITEM_MAX_AGE).await
    }

    /// The prices cached for an item in one colour, without asking BrickLink: `None` when
    /// neither guide is.
    pub async fn peek_prices(
        &self,
        user: UserId,
        kind: &str,
        no: &str,
        color_id: i64,
    ) -> Option<Prices> {
        let kind = kind.to_ascii_uppercase();
        let (new_key, used_key) = (
            prices_key(user, &kind, no, color_id, Condition::New),
            prices_key(user, &kind, no, color_id, Condition::Used),
        );
        let (new, used) = tokio::join!(
            self.peek::<Average>(&new_key, PRICE_MAX_AGE),
            self.peek::<Average>(&used_key, PRICE_MAX_AGE),
        );
        if new.is_none() && used.is_none() {
            return None;
        }
        let currency = [&new, &used]
            .into_iter()
            .flatten()
            .find_map(|a| a.currency.clone());
        Some(Prices {
            currency,
            new_asked: new.is_some(),
            used_asked: used.is_some(),
            new: new.and_then(|a| a.price),
            used: used.and_then(|a| a.price),
        })
    }

    async fn peek<T: DeserializeOwned>(&self, key: &str, max_age: Duration) -> Option<T> {
        if let Some(value) = self.memory.get(key).await {
            return serde_json::from_value((*value).clone()).ok();
        }
        let value = self.stored(key, max_age)?;
        let typed = serde_json::from_value(value.clone()).ok();
        self.memory.insert(key.to_owned(), Arc::new(value)).await;
        typed
    }

    fn stored(&self, key: &str, max_age: Duration) -> Option<serde_json::Value> {
        match self.store.get::<serde_json::Value>(key) {
            Ok(Some((value, at))) if OffsetDateTime::now_utc() - at < max_age => Some(value),
            Ok(_) => None,
            Err(err) => {
                tracing::warn!(%err, key, "a cached catalogue entry cannot be read; fetching it");
                None
            }
        }
    }

    async fn cached<T, F>(
        &self,
        key: String,
        max_age: Duration,
        fetch: F,
    ) -> Result<T, Arc<MarketplaceError>>
    where
        T: Serialize + DeserializeOwned,
        F: Future<Output = Result<T, MarketplaceError>>,
    {
        let value = self
            .memory
            .try_get_with(key.clone(), async {
                if let Some(value) = self.stored(&key, max_age) {
                    return Ok(Arc::new(value));
                }
                let fresh = serde_json::to_value(fetch.await?)
                    .map_err(|e| MarketplaceError::Undecodable(e.to_string()))?;
                if let Err(err) = self.store.put(&key, &fresh) {
                    tracing::warn!(%err, key, "cannot keep a catalogue entry");
                }
                Ok(Arc::new(fresh))
            })
            .await?;
        serde_json::from_value((*value).clone())
            .map_err(|e| Arc::new(MarketplaceError::Undecodable(e.to_string())))
    }
}

fn item_key(kind: &str, no: &str) -> String {
    format!("item/{kind}/{}", no.to_ascii_lowercase())
}

fn subsets_key(no: &str) -> String {
    format!("subsets/MINIFIG/{}", no.to_ascii_lowercase())
}

/// One guide per key (`price/`, since prices were asked one condition at a time; entries
/// under the older `prices/` held both and are no longer read).
/// A stored sold price guide's average for one condition, and when it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAverage {
    /// `None`: nothing sold in the last six months.
    pub price: Option<Money>,
    pub currency: Option<String>,
    pub read_at: OffsetDateTime,
}

/// The sold price guide average kept for an item in one colour and condition (not older than
/// a week), without asking BrickLink; `None` when it is not kept.
pub fn stored_average(
    store: &store::Catalog,
    user: UserId,
    item: &ItemColor<'_>,
    condition: Condition,
) -> Option<StoredAverage> {
    let key = prices_key(
        user,
        &item.kind.to_ascii_uppercase(),
        item.no,
        item.color_id,
        condition,
    );
    match store.get::<Average>(&key) {
        Ok(Some((average, at))) if OffsetDateTime::now_utc() - at < PRICE_MAX_AGE => {
            Some(StoredAverage {
                price: average.price,
                currency: average.currency,
                read_at: at,
            })
        }
        _ => None,
    }
}

fn prices_key(user: UserId, kind: &str, no: &str, color_id: i64, condition: Condition) -> String {
    format!(
        "price/{}/{kind}/{}/{color_id}/{}",
        user.0,
        no.to_ascii_lowercase(),
        condition.code()
    )
}

fn other(condition: Condition) -> Condition {
    match condition {
        Condition::New => Condition::Used,
        Condition::Used => Condition::New,
    }
}

fn image_key(kind: &str, no: &str, color_id: i64) -> String {
    format!("image/{kind}/{}/{color_id}", no.to_ascii_lowercase())
}
