//! Catalogue pictures: a moka cache bounded by bytes, filled from BrickLink's image host at the
//! address the item gives (`Marketplaces::bricklink_picture`, no API call), and only for the few
//! pictures that are not there (older JPEGs) through the user's BrickLink account (the
//! catalogue image endpoint, its answer kept by [`crate::catalog`], then the picture).
//! Concurrent misses for one picture make one upstream fetch (`try_get_with`). Served by
//! `/img`, warmed by `prefetch_pictures`.

use std::sync::Arc;

use app::{Marketplace, UserId};
use sha2::Digest as _;

use crate::{
    catalog::Catalog,
    connections,
    marketplace::{MarketplaceError, Marketplaces, account::Account, guard::Priority},
    store::Store,
};

/// A cached picture.
#[derive(Debug, Clone)]
pub struct Picture {
    pub bytes: bytes::Bytes,
    pub content_type: String,
    pub etag: String,
}

/// The picture cache (at most 64 MiB, a week per picture) and what fills it.
#[derive(Clone)]
pub struct Pictures {
    cache: moka::future::Cache<String, Arc<Picture>>,
    catalog: Catalog,
    store: Store,
    marketplaces: Marketplaces,
}

/// The cache key of a picture.
pub fn key(kind: &str, no: &str, color_id: i64) -> String {
    format!("{}/{no}/{color_id}", kind.to_ascii_uppercase())
}

impl Pictures {
    /// A new, empty cache that asks BrickLink through `catalog` and `marketplaces`.
    pub fn new(catalog: Catalog, store: Store, marketplaces: Marketplaces) -> Self {
        let cache = moka::future::Cache::builder()
            .name("pictures")
            .max_capacity(64 * 1024 * 1024)
            .weigher(|key: &String, value: &Arc<Picture>| {
                u32::try_from(key.len() + value.bytes.len()).unwrap_or(u32::MAX)
            })
            .time_to_live(std::time::Duration::from_secs(7 * 24 * 3600))
            .build();
        Self {
            cache,
            catalog,
            store,
            marketplaces,
        }
    }

    /// Whether the picture is cached.
    pub fn contains(&self, kind: &str, no: &str, color_id: i64) -> bool {
        self.cache.contains_key(&key(kind, no, color_id))
    }

    /// The picture, from the cache or (once) from the marketplace.
    pub async fn get(
        &self,
        user: UserId,
        kind: &str,
        no: &str,
        color_id: i64,
        priority: Priority,
    ) -> Result<Arc<Picture>, Arc<MarketplaceError>> {
        self.cache
            .try_get_with(
                key(kind, no, color_id),
                self.fetch(user, kind, no, color_id, priority),
            )
            .await
    }

    async fn fetch(
        &self,
        user: UserId,
        kind: &str,
        no: &str,
        color_id: i64,
        priority: Priority,
    ) -> Result<Arc<Picture>, MarketplaceError> {
        // Most pictures are where their address says; only the others cost a catalogue call.
        if let Some(url) = self.marketplaces.bricklink_picture(kind, no, color_id) {
            match self.marketplaces.download(&url).await {
                Ok((bytes, content_type)) => return Ok(picture(bytes, content_type)),
                Err(MarketplaceError::NotFound(_) | MarketplaceError::Refused(_)) => {}
                Err(err) => return Err(err),
            }
        }
        let Ok(Account::BrickLink(client)) = connections::open(
            &self.store,
            &self.marketplaces,
            user,
            Marketplace::BrickLink,
        ) else {
            return Err(MarketplaceError::NotFound(
                "no BrickLink connection to ask".into(),
            ));
        };
        let url = self
            .catalog
            .image_url(&client, kind, no, color_id, priority)
            .await
            .map_err(|e| (*e).clone())?;
        let (bytes, content_type) = self.marketplaces.download(&url).await?;
        Ok(picture(bytes, content_type))
    }
}

fn picture(bytes: bytes::Bytes, content_type: String) -> Arc<Picture> {
    let digest = sha2::Sha256::digest(&bytes);
    let etag = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    Arc::new(Picture {
        bytes,
        content_type,
        etag,
    })
}
