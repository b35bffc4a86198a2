//! Login sessions. Only a SHA-256 of each token is stored, so a copied database opens no
//! session. A by-user index lets password changes end every other session at once.

use app::UserId;
use serde::{Deserialize, Serialize};
use sled::{Transactional as _, transaction::TransactionError};
use time::OffsetDateTime;

use super::{StoreError, codec, keys};

/// SHA-256 of a session token.
pub type TokenHash = [u8; 32];

/// A stored session.
#[derive(Clone, Serialize, Deserialize)]
pub struct SessionRecord {
    pub user_id: UserId,
    /// Sent back by the browser in `X-CSRF-Token` on mutating requests.
    pub csrf_token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// The sessions trees.
#[derive(Clone)]
pub struct Sessions {
    sessions: sled::Tree,
    by_user: sled::Tree,
}

impl Sessions {
    pub(super) fn open(db: &sled::Db) -> Result<Self, StoreError> {
        Ok(Self {
            sessions: db.open_tree("sessions")?,
            by_user: db.open_tree("sessions_by_user")?,
        })
    }

    /// Stores a session under the hash of its token.
    pub fn insert(&self, hash: &TokenHash, record: &SessionRecord) -> Result<(), StoreError> {
        let value = codec::encode(record);
        (&self.sessions, &self.by_user)
            .transaction(|(sessions, by_user)| {
                sessions.insert(hash.as_slice(), value.as_slice())?;
                by_user.insert(keys::user_scoped(record.user_id, hash), &[])?;
                Ok(())
            })
            .map_err(storage_error)
    }

    /// The live session for this token hash; an expired one is removed and not returned.
    pub fn get(
        &self,
        hash: &TokenHash,
        now: OffsetDateTime,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let Some(bytes) = self.sessions.get(hash)? else {
            return Ok(None);
        };
        let record: SessionRecord = codec::decode(&bytes)?;
        if record.expires_at <= now {
            self.remove(hash)?;
            return Ok(None);
        }
        Ok(Some(record))
    }

    /// Ends one session.
    pub fn remove(&self, hash: &TokenHash) -> Result<(), StoreError> {
        let Some(bytes) = self.sessions.get(hash)? else {
            return Ok(());
        };
        let record: SessionRecord = codec::decode(&bytes)?;
        (&self.sessions, &self.by_user)
            .transaction(|(sessions, by_user)| {
                sessions.remove(hash.as_slice())?;
                by_user.remove(keys::user_scoped(record.user_id, hash))?;
                Ok(())
            })
            .map_err(storage_error)
    }

    /// Ends every session of `user`, except `keep` if given. Returns how many ended.
    pub fn remove_all_for(
        &self,
        user: UserId,
        keep: Option<&TokenHash>,
    ) -> Result<usize, StoreError> {
        let mut ended = 0;
        for key in self.by_user.scan_prefix(keys::user(user)).keys() {
            let key = key?;
            let hash: TokenHash = key[8..]
                .try_into()
                .map_err(|_| StoreError::Corrupt("session index key".into()))?;
            if Some(&hash) != keep {
                self.remove(&hash)?;
                self.by_user.remove(&key)?;
                ended += 1;
            }
        }
        Ok(ended)
    }

    /// Removes sessions that expired before `now`; run at start.
    pub fn prune_expired(&self, now: OffsetDateTime) -> Result<usize, StoreError> {
        let mut expired = Vec::new();
        for entry in self.sessions.iter() {
            let (key, value) = entry?;
            let record: SessionRecord = codec::decode(&value)?;
            if record.expires_at <= now {
                expired.push(key);
            }
        }
        for key in &expired {
            if let Ok(hash) = TokenHash::try_from(key.as_ref()) {
                self.remove(&hash)?;
            }
        }
        Ok(expired.len())
    }

    /// How many sessions `user` has.
    pub fn count_for(&self, user: UserId) -> usize {
        self.by_user.scan_prefix(keys::user(user)).count()
    }
}

fn storage_error(err: TransactionError<()>) -> StoreError {
    match err {
        TransactionError::Abort(()) => StoreError::Corrupt("session transaction aborted".into()),
        TransactionError::Storage(err) => StoreError::Sled(err),
    }
}

#[cfg(test)]
mod tests {
    use time::Duration;

    use super::*;
    use crate::store::Store;

    fn record(user: u64, expires_in: Duration) -> SessionRecord {
        let now = OffsetDateTime::now_utc();
        SessionRecord {
            user_id: UserId(user),
            csrf_token: "csrf".into(),
            created_at: now,
            expires_at: now + expires_in,
        }
    }

    #[test]
    fn sessions_expire_and_end_per_user() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let sessions = store.sessions();
        let now = OffsetDateTime::now_utc();
        sessions
            .insert(&[1; 32], &record(1, Duration::hours(1)))
            .expect("insert");
        sessions
            .insert(&[2; 32], &record(1, Duration::hours(1)))
            .expect("insert");
        sessions
            .insert(&[3; 32], &record(2, Duration::hours(1)))
            .expect("insert");
        sessions
            .insert(&[4; 32], &record(2, Duration::seconds(-1)))
            .expect("insert");

        assert!(sessions.get(&[1; 32], now).expect("get").is_some());
        assert!(
            sessions.get(&[4; 32], now).expect("get").is_none(),
            "expired"
        );
        assert_eq!(
            sessions.count_for(UserId(2)),
            1,
            "the expired one was removed on read"
        );

        assert_eq!(
            sessions
                .remove_all_for(UserId(1), Some(&[2; 32]))
                .expect("end"),
            1
        );
        assert!(sessions.get(&[1; 32], now).expect("get").is_none());
        assert!(sessions.get(&[2; 32], now).expect("get").is_some(), "kept");
        assert!(
            sessions.get(&[3; 32], now).expect("get").is_some(),
            "other user untouched"
        );
    }

    #[test]
    fn pruning_removes_only_expired_sessions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let sessions = store.sessions();
        sessions
            .insert(&[1; 32], &record(1, Duration::hours(1)))
            .expect("insert");
        sessions
            .insert(&[2; 32], &record(1, Duration::seconds(-5)))
            .expect("insert");
        assert_eq!(
            sessions
                .prune_expired(OffsetDateTime::now_utc())
                .expect("prune"),
            1
        );
        assert_eq!(sessions.count_for(UserId(1)), 1);
    }
}
