//! The persisted catalogue cache and BrickLink's colours. `catalog` keeps what a look-up
//! fetched (item, parts, picture address, prices) with the time it was fetched, so a restart
//! does not ask BrickLink again; `colors` holds the colour table the `sync_colors` job keeps,
//! also held in memory (a few hundred rows, read on every minifig shown).

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

use app::Color;
use serde::{Serialize, de::DeserializeOwned};
use time::OffsetDateTime;

use super::{StoreError, codec};

/// The two trees.
#[derive(Clone)]
pub struct Catalog {
    entries: sled::Tree,
    colors: sled::Tree,
    table: Arc<RwLock<Arc<HashMap<i64, Color>>>>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Entry<T> {
    #[serde(with = "time::serde::rfc3339")]
    fetched_at: OffsetDateTime,
    value: T,
}

impl Catalog {
    pub(super) fn open(db: &sled::Db) -> Result<Self, StoreError> {
        let colors = db.open_tree("colors")?;
        let table = colors
            .iter()
            .map(|entry| {
                let (key, value) = entry?;
                let color: Color = codec::decode_at(&colors, &key, &value)?;
                Ok((color.id, color))
            })
            .collect::<Result<HashMap<_, _>, StoreError>>()?;
        Ok(Self {
            entries: db.open_tree("catalog")?,
            colors,
            table: Arc::new(RwLock::new(Arc::new(table))),
        })
    }

    /// A cached entry and when it was fetched.
    pub fn get<T: DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<(T, OffsetDateTime)>, StoreError> {
        let Some(bytes) = self.entries.get(key)? else {
            return Ok(None);
        };
        let entry: Entry<T> = codec::decode(&bytes)?;
        Ok(Some((entry.value, entry.fetched_at)))
    }

    /// Keeps an entry fetched now.
    pub fn put<T: Serialize>(&self, key: &str, value: &T) -> Result<(), StoreError> {
        let entry = Entry {
            fetched_at: OffsetDateTime::now_utc(),
            value,
        };
        self.entries.insert(key, codec::encode(&entry))?;
        Ok(())
    }

    /// Replaces the colour table.
    pub fn replace_colors(&self, colors: &[Color]) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for entry in &self.colors {
            batch.remove(entry?.0);
        }
        for color in colors {
            batch.insert(&color.id.to_be_bytes(), codec::encode(color));
        }
        self.colors.apply_batch(batch)?;
        let table = colors.iter().map(|c| (c.id, c.clone())).collect();
        *self
            .table
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(table);
        Ok(())
    }

    /// The colour table by id, from memory.
    pub fn color_table(&self) -> Arc<HashMap<i64, Color>> {
        self.table
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Every colour, by id.
    pub fn colors(&self) -> Vec<Color> {
        let mut all: Vec<Color> = self.color_table().values().cloned().collect();
        all.sort_by_key(|c| c.id);
        all
    }

    /// One colour.
    pub fn color(&self, id: i64) -> Option<Color> {
        self.color_table().get(&id).cloned()
    }

    /// Whether the colour table was ever synced.
    pub fn has_colors(&self) -> bool {
        !self.color_table().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn entries_and_colours_survive_a_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = Store::open(dir.path()).expect("open");
            store
                .catalog()
                .put("item/MINIFIG/sw0001a", &"Luke".to_owned())
                .expect("put");
            store
                .catalog()
                .replace_colors(&[Color {
                    id: 11,
                    name: "Black".into(),
                    code: Some("212121".into()),
                }])
                .expect("colors");
            store.flush_blocking().expect("flush");
        }
        let store = crate::store::when_free(|| Store::open(dir.path()));
        let (name, _) = store
            .catalog()
            .get::<String>("item/MINIFIG/sw0001a")
            .expect("get")
            .expect("kept");
        assert_eq!(name, "Luke");
        assert_eq!(store.catalog().color(11).expect("kept").name, "Black");
        assert!(
            store
                .catalog()
                .get::<String>("nope")
                .expect("get")
                .is_none()
        );
    }
}
