//! Marketplace connections per user: the sealed keys, the background check's verdict, the
//! webhook token, and when orders were last synced. A `webhook_tokens` tree maps each token to
//! its owner, maintained in the same transaction as the record.

use app::{ConnectionStatus, Marketplace, UserId};
use base64::Engine as _;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use sled::{Transactional as _, transaction::TransactionError};
use time::OffsetDateTime;

use super::{StoreError, codec, keys, secrets::Sealer};

/// One user's connection to one marketplace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionRecord {
    pub status: ConnectionStatus,
    pub message: Option<String>,
    /// Base64 of the sealed keys (see [`super::secrets`]).
    sealed: String,
    /// Bumped whenever keys are saved, so a check of older keys cannot overwrite the verdict.
    pub generation: u64,
    /// 128 random bits, hex: the secret part of the webhook URL.
    pub webhook_token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub checked_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_sync_at: Option<OffsetDateTime>,
    /// BrickOwl's store id, learnt from its orders: how its fixed-port notify finds the user.
    #[serde(default)]
    pub store_id: Option<String>,
}

/// The connections trees.
#[derive(Clone)]
pub struct Connections {
    records: sled::Tree,
    tokens: sled::Tree,
    sealer: Sealer,
}

fn key(user: UserId, marketplace: Marketplace) -> Vec<u8> {
    keys::user_scoped(user, &[marketplace.tag()])
}

fn new_token() -> Result<String, StoreError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| StoreError::Corrupt(format!("no randomness for a token: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn storage_error(err: TransactionError<()>) -> StoreError {
    match err {
        TransactionError::Abort(()) => StoreError::Corrupt("connection transaction aborted".into()),
        TransactionError::Storage(err) => StoreError::Sled(err),
    }
}

impl Connections {
    pub(super) fn open(db: &sled::Db, sealer: Sealer) -> Result<Self, StoreError> {
        Ok(Self {
            records: db.open_tree("connections")?,
            tokens: db.open_tree("webhook_tokens")?,
            sealer,
        })
    }

    /// The connection, if keys were saved.
    pub fn get(
        &self,
        user: UserId,
        marketplace: Marketplace,
    ) -> Result<Option<ConnectionRecord>, StoreError> {
        self.records
            .get(key(user, marketplace))?
            .map(|bytes| codec::decode(&bytes))
            .transpose()
    }

    /// Seals and saves new keys: status pending, a new generation, the webhook token kept (or
    /// made on first connect).
    pub fn save_keys<T: Serialize>(
        &self,
        user: UserId,
        marketplace: Marketplace,
        keys_value: &T,
        now: OffsetDateTime,
    ) -> Result<ConnectionRecord, StoreError> {
        let record_key = key(user, marketplace);
        let plain = serde_json::to_vec(keys_value)
            .map_err(|e| StoreError::Corrupt(format!("cannot encode keys: {e}")))?;
        let sealed = self.sealer.seal(&plain, &record_key)?;
        let previous = self.get(user, marketplace)?;
        let record = ConnectionRecord {
            status: ConnectionStatus::Pending,
            message: Some(format!("Checking the keys with {marketplace}…")),
            sealed: base64::engine::general_purpose::STANDARD.encode(sealed),
            generation: previous.as_ref().map_or(1, |p| p.generation + 1),
            webhook_token: match &previous {
                Some(p) => p.webhook_token.clone(),
                None => new_token()?,
            },
            updated_at: now,
            checked_at: None,
            last_sync_at: previous.as_ref().and_then(|p| p.last_sync_at),
            store_id: previous.and_then(|p| p.store_id),
        };
        self.write(user, marketplace, &record, None)?;
        Ok(record)
    }

    /// The saved keys, unsealed.
    pub fn keys<T: DeserializeOwned>(
        &self,
        user: UserId,
        marketplace: Marketplace,
        record: &ConnectionRecord,
    ) -> Result<T, StoreError> {
        let sealed = base64::engine::general_purpose::STANDARD
            .decode(&record.sealed)
            .map_err(|_| StoreError::SecretUnreadable)?;
        let plain = self.sealer.open(&sealed, &key(user, marketplace))?;
        serde_json::from_slice(&plain).map_err(|_| StoreError::SecretUnreadable)
    }

    /// Records the check's verdict, unless newer keys were saved meanwhile (then `None`).
    pub fn set_status(
        &self,
        user: UserId,
        marketplace: Marketplace,
        generation: u64,
        status: ConnectionStatus,
        message: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Option<ConnectionRecord>, StoreError> {
        self.modify(user, marketplace, |record| {
            if record.generation != generation {
                return false;
            }
            record.status = status;
            record.message = message.map(str::to_owned);
            if status != ConnectionStatus::Pending {
                record.checked_at = Some(now);
            }
            true
        })
    }

    /// Notes a finished sync.
    pub fn set_last_sync(
        &self,
        user: UserId,
        marketplace: Marketplace,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.modify(user, marketplace, |record| {
            record.last_sync_at = Some(at);
            true
        })
        .map(drop)
    }

    /// Notes the marketplace's store id (once known, or when it changes).
    pub fn set_store_id(
        &self,
        user: UserId,
        marketplace: Marketplace,
        store_id: &str,
    ) -> Result<(), StoreError> {
        self.modify(user, marketplace, |record| {
            let changes = record.store_id.as_deref() != Some(store_id);
            record.store_id = Some(store_id.to_owned());
            changes
        })
        .map(drop)
    }

    /// Changes a connection's record compare-and-swap: `change` edits the current record and
    /// says whether to write it; when the record changed meanwhile (new keys, a rotated
    /// webhook token), it is read again and `change` runs on that, so an update never writes
    /// an older copy back. `None` when there is no record or nothing was written.
    fn modify(
        &self,
        user: UserId,
        marketplace: Marketplace,
        mut change: impl FnMut(&mut ConnectionRecord) -> bool,
    ) -> Result<Option<ConnectionRecord>, StoreError> {
        let record_key = key(user, marketplace);
        loop {
            let Some(current) = self.records.get(&record_key)? else {
                return Ok(None);
            };
            let mut record: ConnectionRecord = codec::decode(&current)?;
            if !change(&mut record) {
                return Ok(None);
            }
            let swapped = self.records.compare_and_swap(
                &record_key,
                Some(current),
                Some(codec::encode(&record)),
            )?;
            if swapped.is_ok() {
                return Ok(Some(record));
            }
        }
    }

    /// A fresh webhook token; the old URL stops working at once.
    pub fn rotate_webhook(
        &self,
        user: UserId,
        marketplace: Marketplace,
    ) -> Result<Option<ConnectionRecord>, StoreError> {
        let Some(mut record) = self.get(user, marketplace)? else {
            return Ok(None);
        };
        let old = std::mem::replace(&mut record.webhook_token, new_token()?);
        self.write(user, marketplace, &record, Some(&old))?;
        Ok(Some(record))
    }

    /// Forgets the connection and its webhook token; true if there was one.
    pub fn remove(&self, user: UserId, marketplace: Marketplace) -> Result<bool, StoreError> {
        let Some(record) = self.get(user, marketplace)? else {
            return Ok(false);
        };
        let record_key = key(user, marketplace);
        (&self.records, &self.tokens)
            .transaction(|(records, tokens)| {
                records.remove(record_key.as_slice())?;
                tokens.remove(record.webhook_token.as_bytes())?;
                Ok(())
            })
            .map_err(storage_error)?;
        Ok(true)
    }

    /// Whose webhook URL carries `token`.
    pub fn by_webhook_token(
        &self,
        token: &str,
    ) -> Result<Option<(UserId, Marketplace)>, StoreError> {
        let Some(bytes) = self.tokens.get(token.as_bytes())? else {
            return Ok(None);
        };
        let user = keys::user_from(&bytes)?;
        let marketplace = bytes
            .get(8)
            .and_then(|tag| Marketplace::from_tag(*tag))
            .ok_or_else(|| StoreError::Corrupt("bad webhook token entry".into()))?;
        Ok(Some((user, marketplace)))
    }

    /// Every saved connection.
    pub fn all(&self) -> Result<Vec<(UserId, Marketplace, ConnectionRecord)>, StoreError> {
        self.records
            .iter()
            .map(|entry| {
                let (k, v) = entry?;
                let user = keys::user_from(&k)?;
                let marketplace = k
                    .get(8)
                    .and_then(|tag| Marketplace::from_tag(*tag))
                    .ok_or_else(|| StoreError::Corrupt("bad connection key".into()))?;
                Ok((user, marketplace, codec::decode_at(&self.records, &k, &v)?))
            })
            .collect()
    }

    fn write(
        &self,
        user: UserId,
        marketplace: Marketplace,
        record: &ConnectionRecord,
        retired_token: Option<&str>,
    ) -> Result<(), StoreError> {
        let record_key = key(user, marketplace);
        let value = codec::encode(record);
        (&self.records, &self.tokens)
            .transaction(|(records, tokens)| {
                records.insert(record_key.as_slice(), value.as_slice())?;
                if let Some(old) = retired_token {
                    tokens.remove(old.as_bytes())?;
                }
                tokens.insert(record.webhook_token.as_bytes(), record_key.as_slice())?;
                Ok(())
            })
            .map_err(storage_error)
    }
}

#[cfg(test)]
mod tests {
    use app::BrickOwlKeys;

    use super::*;
    use crate::store::Store;

    const USER: UserId = UserId(3);

    fn key_of(value: &str) -> BrickOwlKeys {
        BrickOwlKeys {
            api_key: value.into(),
        }
    }

    #[test]
    fn keys_are_sealed_and_each_save_starts_a_new_check() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(dir.path()).expect("store");
        let now = OffsetDateTime::now_utc();
        let connections = store.connections();
        let first = connections
            .save_keys(USER, Marketplace::BrickOwl, &key_of("firstkey123"), now)
            .expect("saved");
        assert_eq!(
            (first.status, first.generation),
            (ConnectionStatus::Pending, 1)
        );
        let second = connections
            .save_keys(USER, Marketplace::BrickOwl, &key_of("secondkey456"), now)
            .expect("saved");
        assert_eq!(second.generation, 2);
        assert_eq!(second.webhook_token, first.webhook_token, "the URL stays");
        let opened: BrickOwlKeys = connections
            .keys(USER, Marketplace::BrickOwl, &second)
            .expect("opens");
        assert_eq!(opened.api_key, "secondkey456");

        let stale = connections
            .set_status(
                USER,
                Marketplace::BrickOwl,
                1,
                ConnectionStatus::Valid,
                None,
                now,
            )
            .expect("ok");
        assert!(stale.is_none(), "a check of older keys changes nothing");
        let checked = connections
            .set_status(
                USER,
                Marketplace::BrickOwl,
                2,
                ConnectionStatus::Invalid,
                Some("no"),
                now,
            )
            .expect("ok")
            .expect("current");
        assert_eq!(checked.status, ConnectionStatus::Invalid);
        assert_eq!(checked.checked_at, Some(now));
    }

    #[test]
    fn webhook_tokens_find_their_owner_until_rotated_or_removed() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(dir.path()).expect("store");
        let connections = store.connections();
        let now = OffsetDateTime::now_utc();
        let record = connections
            .save_keys(USER, Marketplace::BrickLink, &key_of("abc"), now)
            .expect("saved");
        assert_eq!(record.webhook_token.len(), 32);
        assert_eq!(
            connections
                .by_webhook_token(&record.webhook_token)
                .expect("ok"),
            Some((USER, Marketplace::BrickLink))
        );
        let rotated = connections
            .rotate_webhook(USER, Marketplace::BrickLink)
            .expect("ok")
            .expect("exists");
        assert_ne!(rotated.webhook_token, record.webhook_token);
        assert_eq!(
            connections
                .by_webhook_token(&record.webhook_token)
                .expect("ok"),
            None
        );
        assert!(
            connections
                .by_webhook_token(&rotated.webhook_token)
                .expect("ok")
                .is_some()
        );
        assert!(
            connections
                .remove(USER, Marketplace::BrickLink)
                .expect("ok")
        );
        assert_eq!(
            connections
                .by_webhook_token(&rotated.webhook_token)
                .expect("ok"),
            None
        );
        assert!(
            connections
                .get(USER, Marketplace::BrickLink)
                .expect("ok")
                .is_none()
        );
        assert!(
            !connections
                .remove(USER, Marketplace::BrickLink)
                .expect("ok")
        );
    }

    #[test]
    fn without_the_key_file_saved_keys_cannot_be_read() {
        let dir = tempfile::tempdir().expect("dir");
        let now = OffsetDateTime::now_utc();
        {
            let store = Store::open(dir.path()).expect("store");
            store
                .connections()
                .save_keys(USER, Marketplace::BrickOwl, &key_of("precious"), now)
                .expect("saved");
            store.flush_blocking().expect("flush");
        }
        std::fs::remove_file(dir.path().join(super::super::secrets::KEY_FILE)).expect("rm");
        let store = Store::open(dir.path()).expect("store with a new key");
        let record = store
            .connections()
            .get(USER, Marketplace::BrickOwl)
            .expect("ok")
            .expect("kept");
        let keys: Result<BrickOwlKeys, _> =
            store
                .connections()
                .keys(USER, Marketplace::BrickOwl, &record);
        assert!(matches!(keys, Err(StoreError::SecretUnreadable)));
    }

    #[test]
    fn bookkeeping_never_writes_back_an_older_copy_over_new_keys() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(dir.path()).expect("store");
        let connections = store.connections().clone();
        let now = OffsetDateTime::now_utc();
        connections
            .save_keys(USER, Marketplace::BrickOwl, &key_of("key0000000"), now)
            .expect("saved");
        let busy = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let (bookkeeper, running) = (connections.clone(), busy.clone());
        let writer = std::thread::spawn(move || {
            let mut n = 0u64;
            while running.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                bookkeeper
                    .set_last_sync(USER, Marketplace::BrickOwl, now)
                    .expect("sync noted");
                bookkeeper
                    .set_store_id(USER, Marketplace::BrickOwl, &format!("store{}", n % 2))
                    .expect("store noted");
            }
        });
        let mut last = None;
        for n in 1..=300 {
            last = Some(
                connections
                    .save_keys(
                        USER,
                        Marketplace::BrickOwl,
                        &key_of(&format!("key{n:07}")),
                        now,
                    )
                    .expect("saved"),
            );
        }
        busy.store(false, std::sync::atomic::Ordering::Relaxed);
        writer.join().expect("joins");
        let stored = connections
            .get(USER, Marketplace::BrickOwl)
            .expect("reads")
            .expect("there");
        assert_eq!(
            stored.generation,
            last.expect("saved").generation,
            "the newest keys stay"
        );
        let keys: BrickOwlKeys = connections
            .keys(USER, Marketplace::BrickOwl, &stored)
            .expect("opens");
        assert_eq!(keys.api_key, "key0000300");
    }
}
