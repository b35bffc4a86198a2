//! The sled store: opening the data directory, the schema version in the `meta` tree, and one
//! facade per noun (`users`, `sessions`). Keys are big-endian tuples scoped by user first, so
//! one user's data is one range; values carry a version byte ([`codec`]).

pub mod activity;
pub mod catalog;
pub(crate) mod codec;
pub mod connections;
#[cfg(test)]
mod golden;
pub mod ids;
mod keys;
pub mod minifigs;
pub mod orders;
pub mod secrets;
pub mod sessions;
pub mod users;

use std::path::Path;

pub use activity::Activity;
pub use catalog::Catalog;
pub use connections::{ConnectionRecord, Connections};
pub use ids::Ids;
pub use minifigs::Minifigs;
pub use orders::{OrderFilter, Orders, Upserted};
pub use sessions::{SessionRecord, Sessions};
pub use users::{NewUser, UserRecord, Users};

/// Writes to the store's trees that must land in one atomic, durable commit with a job
/// (`Queue::enqueue_with`). Built by the store's nouns, so callers above never name sled.
pub type WriteSet = Vec<(sled::Tree, sled::Batch)>;

/// The schema this build writes. Bump it with a migration in [`Store::open`].
pub const SCHEMA_VERSION: u32 = 1;
const SCHEMA_KEY: &[u8] = b"schema_version";
const DEMO_KEY: &[u8] = b"demo_store";

/// What can go wrong below the HTTP layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the data directory {0} is in use by another brickdesk process; stop it first")]
    InUse(String),
    #[error(
        "the database in {dir} cannot be opened ({source}); it may be damaged: restore the \
         newest backup (brickdesk restore --force)"
    )]
    Open { dir: String, source: sled::Error },
    #[error(
        "the data was written by a newer brickdesk (schema {found}, this build knows up to \
         {supported}); upgrade brickdesk instead of downgrading"
    )]
    NewerSchema { found: u32, supported: u32 },
    #[error(
        "there is no brickdesk data in {0}; check --data-dir (or BRICKDESK_DATA_DIR), or start \
         the server once to create it"
    )]
    NoStore(String),
    #[error("a stored record is damaged: {0}")]
    Corrupt(String),
    #[error("that username is already taken")]
    UsernameTaken,
    #[error("that email address is already in use")]
    EmailTaken,
    #[error("setup is already done")]
    SetupDone,
    #[error("no such user")]
    NoSuchUser,
    #[error("a new record's id is already in use; nothing was overwritten")]
    IdTaken,
    #[error(
        "saved marketplace keys cannot be read (the data directory's secret.key is missing or \
         different); enter the keys again"
    )]
    SecretUnreadable,
    #[error(transparent)]
    Sled(#[from] sled::Error),
}

/// A counter per user that moves on every write to their orders, lists or minifigs, so
/// caches of what was read (search results) know when they are stale.
#[derive(Clone, Default)]
pub struct Revisions(std::sync::Arc<std::sync::Mutex<std::collections::HashMap<app::UserId, u64>>>);

impl Revisions {
    /// `user`'s current revision.
    pub fn get(&self, user: app::UserId) -> u64 {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&user)
            .copied()
            .unwrap_or(0)
    }

    /// Marks a write by `user`.
    pub fn bump(&self, user: app::UserId) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(user)
            .or_default() += 1;
    }
}

/// The store facade: cheap to clone (every field is a handle).
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    meta: sled::Tree,
    ids: Ids,
    users: Users,
    sessions: Sessions,
    connections: Connections,
    orders: Orders,
    activity: Activity,
    minifigs: Minifigs,
    catalog: Catalog,
    revisions: Revisions,
}

impl Store {
    /// Opens the database under `data_dir/db` only when it exists: commands that read or
    /// change a store (`backup`, `user`) must not create an empty one at a mistyped path.
    pub fn open_existing(data_dir: &Path) -> Result<Self, StoreError> {
        if !data_dir.join("db").is_dir() {
            return Err(StoreError::NoStore(data_dir.display().to_string()));
        }
        Self::open(data_dir)
    }

    /// Opens (creating if needed) the database under `data_dir/db`, checking the schema version.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        let mut dirs = std::fs::DirBuilder::new();
        dirs.recursive(true);
        // What is created here is the seller's alone.
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut dirs, 0o700);
        dirs.create(data_dir).map_err(|e| StoreError::Open {
            dir: data_dir.display().to_string(),
            source: sled::Error::Io(e),
        })?;
        let dir = data_dir.join("db");
        let db = sled::Config::new()
            .path(&dir)
            // sled keeps up to 1 GiB of pages in memory by default; a home server has better
            // uses for it, and the orders list is answered from its own index anyway.
            .cache_capacity(64 * 1024 * 1024)
            .open()
            .map_err(|source| {
                if is_held(&source) {
                    StoreError::InUse(data_dir.display().to_string())
                } else {
                    StoreError::Open {
                        dir: dir.display().to_string(),
                        source,
                    }
                }
            })?;
        let meta = db.open_tree("meta")?;
        check_schema(&meta)?;
        let revisions = Revisions::default();
        let ids = Ids::open(&db, &meta)?;
        Ok(Self {
            users: Users::open(&db, &meta, ids.clone())?,
            sessions: Sessions::open(&db)?,
            connections: Connections::open(&db, secrets::Sealer::open_or_create(data_dir)?)?,
            orders: Orders::open(&db, revisions.clone())?,
            activity: Activity::open(&db)?,
            minifigs: Minifigs::open(&db, revisions.clone(), ids.clone())?,
            catalog: Catalog::open(&db)?,
            revisions,
            ids,
            db,
            meta,
        })
    }

    /// The database, for engines that keep their own trees (the job queue).
    pub fn db(&self) -> &sled::Db {
        &self.db
    }

    /// The id sequence of users, lists, minifigs and jobs.
    pub fn ids(&self) -> &Ids {
        &self.ids
    }

    /// The accounts.
    pub fn users(&self) -> &Users {
        &self.users
    }

    /// The login sessions.
    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// The marketplace connections.
    pub fn connections(&self) -> &Connections {
        &self.connections
    }

    /// The orders.
    pub fn orders(&self) -> &Orders {
        &self.orders
    }

    /// The activity feed.
    pub fn activity(&self) -> &Activity {
        &self.activity
    }

    /// The partial-minifig lists.
    pub fn minifigs(&self) -> &Minifigs {
        &self.minifigs
    }

    /// Per-user write counters.
    pub fn revisions(&self) -> &Revisions {
        &self.revisions
    }

    /// The persisted catalogue cache and colours.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Makes every write so far durable (see docs/durability.md). Runs sled's blocking flush on
    /// the blocking pool: `flush_async` deadlocks with many concurrent callers.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || db.flush())
            .await
            .map_err(|e| StoreError::Corrupt(format!("flush task failed: {e}")))??;
        Ok(())
    }

    /// Blocking flush, for shutdown paths and the command line.
    pub fn flush_blocking(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// Whether the store answers reads.
    pub fn is_ready(&self) -> bool {
        self.meta.get(SCHEMA_KEY).is_ok()
    }

    /// Whether `serve --demo` made this store (its `demo`/`demo` account is public).
    pub fn is_demo(&self) -> Result<bool, StoreError> {
        Ok(self.meta.contains_key(DEMO_KEY)?)
    }

    /// Marks the store as the demo's, for good.
    pub fn mark_demo(&self) -> Result<(), StoreError> {
        self.meta.insert(DEMO_KEY, &[1u8])?;
        self.flush_blocking()
    }

    /// Writes and flushes a tiny record: fails when the disk does not take writes.
    pub async fn probe(&self) -> Result<(), StoreError> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        self.meta.insert(b"ready_probe", &now.to_be_bytes())?;
        self.flush().await
    }
}

/// Whether opening a database failed because another process holds it (sled 0.34 says so
/// only in words).
pub fn is_held(err: &sled::Error) -> bool {
    matches!(err, sled::Error::Io(io) if io.to_string().contains("could not acquire lock"))
}

fn check_schema(meta: &sled::Tree) -> Result<(), StoreError> {
    match meta.get(SCHEMA_KEY)? {
        None => {
            meta.insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())?;
            Ok(())
        }
        Some(bytes) => {
            let found = u32::from_be_bytes(
                bytes
                    .as_ref()
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("schema version".into()))?,
            );
            if found > SCHEMA_VERSION {
                return Err(StoreError::NewerSchema {
                    found,
                    supported: SCHEMA_VERSION,
                });
            }
            // Older schemas migrate here, one version step at a time, once there are any.
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_store_records_its_schema_and_reopens() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        store.flush_blocking().expect("flush");
        drop(store);
        let store = Store::open(dir.path()).expect("reopen");
        assert!(store.is_ready());
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = Store::open(dir.path()).expect("open");
            store
                .meta
                .insert(SCHEMA_KEY, &(SCHEMA_VERSION + 1).to_be_bytes())
                .expect("write");
            store.flush_blocking().expect("flush");
        }
        let err = Store::open(dir.path()).err().expect("refused");
        assert!(
            matches!(err, StoreError::NewerSchema { found, .. } if found == SCHEMA_VERSION + 1)
        );
        assert!(err.to_string().contains("newer brickdesk"));
    }
}
