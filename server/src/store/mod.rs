//! The sled store: opening the data directory, the schema version in the `meta` tree, and one
//! facade per noun (`users`, `sessions`). Keys are big-endian tuples scoped by user first, so
//! one user's data is one range; values carry a version byte ([`codec`]).

pub mod activity;
pub mod catalog;
pub(crate) mod codec;
pub mod connections;
pub mod conversations;
pub mod documents;
pub mod fulfilment;
#[cfg(test)]
mod golden;
pub mod ids;
mod inventory;
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
pub use conversations::Conversations;
pub use documents::{Documents, Invoiced};
pub use fulfilment::{Fulfilment, PickError};
pub use ids::Ids;
pub use inventory::{
    Boids, EditPlan, Finished, Inventory, LinkError, LotQuery, Outbox, OwlReadLot, ReadLot,
    RecordedEdit, Started, edit_values, natural, operation_values, reaches_zero, side_quantity,
};
pub use minifigs::Minifigs;
pub use orders::{LoadState, OrderFilter, Orders, Upserted};
pub use sessions::{SessionRecord, Sessions};
pub use users::{NewUser, UserRecord, Users};

/// Writes to the store's trees that must land in one atomic, durable commit with a job
/// (`Queue::enqueue_with`). Built by the store's nouns, so callers above never name sled.
pub type WriteSet = Vec<(sled::Tree, sled::Batch)>;

/// The schema this build writes. Bump it with a step in [`MIGRATIONS`].
pub const SCHEMA_VERSION: u32 = 2;

/// One step of the schema: the version it leaves the store at, what it does (for the log),
/// and the change itself.
pub struct Migration {
    pub to: u32,
    pub does: &'static str,
    pub run: fn(&sled::Db) -> Result<(), StoreError>,
}

/// The steps from schema 1 up to [`SCHEMA_VERSION`], in order. Each runs once: the store
/// records (and flushes) its version after every step, so a crash part-way repeats only the
/// unfinished step, and steps are written to be safe to repeat. Golden fixtures of every
/// older schema's records (`tests/golden/`) must keep reading back after them.
pub const MIGRATIONS: &[Migration] = &[Migration {
    to: 2,
    does: "store the orders' index rows beside them",
    run: orders::build_index_trees,
}];
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
    #[error(
        "upgrading the data to schema {to} ({does}) failed: {reason}; nothing after the last \
         finished step was changed, and starting again retries it"
    )]
    Migration {
        to: u32,
        does: &'static str,
        reason: String,
    },
    #[error(
        "the {tree} record {key} is damaged ({reason}); `brickdesk backup --salvage` still copies \
         every stored byte, and the newest backup can be restored"
    )]
    Damaged {
        tree: String,
        key: String,
        reason: String,
    },
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

/// Removes the snapshot files sled was still writing when the process died. sled writes a
/// snapshot to `snap.<lsn>.generating`, syncs it and only then renames it, but when it opens a
/// store it takes the newest `snap.*` file, `.generating` ones included (it skips only an
/// older suffix): after a `kill -9` at that moment the store would not open again
/// (`Corruption`). An unfinished file holds nothing the log and the previous snapshot do not.
fn drop_unfinished_snapshots(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("snap.") && name.ends_with(".generating") {
            if let Err(err) = std::fs::remove_file(entry.path()) {
                tracing::warn!(file = %name, %err, "cannot remove an unfinished snapshot");
            } else {
                tracing::warn!(file = %name, "removed a snapshot sled never finished");
            }
        }
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
    inventory: Inventory,
    fulfilment: Fulfilment,
    documents: Documents,
    conversations: Conversations,
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

    /// Opens (creating if needed) the database under `data_dir/db`, checking the schema version,
    /// and reads the orders index before it returns (a damaged record is refused here).
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        let store = Self::open_unread(data_dir)?;
        store.orders.read_index()?;
        Ok(store)
    }

    /// As [`Store::open`], but the orders index is read by a thread of its own after this
    /// returns, so a server listens at once whatever the store's size; what needs the index
    /// waits for it ([`Orders::loaded`], [`Orders::load_state`]).
    pub fn open_serving(data_dir: &Path) -> Result<Self, StoreError> {
        let store = Self::open_unread(data_dir)?;
        store.orders.read_index_in_background();
        Ok(store)
    }

    fn open_unread(data_dir: &Path) -> Result<Self, StoreError> {
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
        drop_unfinished_snapshots(&dir);
        let db = sled::Config::new()
            .path(&dir)
            // sled keeps up to 1 GiB of pages in memory by default; a home server has better
            // uses for it, and lists are answered from their own indexes anyway. 16 MiB instead
            // of 64 took 22 MiB off an import's peak and changed no benchmark's speed
            // (docs/benchmarks.md).
            .cache_capacity(16 * 1024 * 1024)
            .open()
            .map_err(|source| open_failed(data_dir, &dir, source))?;
        let meta = db.open_tree("meta")?;
        check_schema(&db, &meta, SCHEMA_VERSION, MIGRATIONS)?;
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
            inventory: Inventory::open(&db, ids.clone())?,
            fulfilment: Fulfilment::open(&db, ids.clone())?,
            documents: Documents::open(&db)?,
            conversations: Conversations::open(&db)?,
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

    /// The store's lots.
    pub fn inventory(&self) -> &Inventory {
        &self.inventory
    }

    /// Pick lists, order flow and fulfilment settings.
    pub fn fulfilment(&self) -> &Fulfilment {
        &self.fulfilment
    }

    /// The document template and invoice numbers.
    pub fn documents(&self) -> &Documents {
        &self.documents
    }

    /// Orders' messages and feedback.
    pub fn conversations(&self) -> &Conversations {
        &self.conversations
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

/// The schema the store in `data_dir` is at, without migrating it (`None`: no store there).
/// Fails with [`StoreError::InUse`] while a server holds it.
pub fn schema_at(data_dir: &Path) -> Result<Option<u32>, StoreError> {
    let dir = data_dir.join("db");
    if !dir.is_dir() {
        return Ok(None);
    }
    let db = sled::Config::new()
        .path(&dir)
        .open()
        .map_err(|source| open_failed(data_dir, &dir, source))?;
    let meta = db.open_tree("meta")?;
    let found = match meta.get(SCHEMA_KEY)? {
        Some(bytes) => u32::from_be_bytes(
            bytes
                .as_ref()
                .try_into()
                .map_err(|_| StoreError::Corrupt("schema version".into()))?,
        ),
        // Never written: a store created and left before its first record.
        None => SCHEMA_VERSION,
    };
    Ok(Some(found))
}

/// What opening a store at schema `found` with this build does, step by step.
pub fn steps_from(found: u32) -> impl Iterator<Item = &'static Migration> {
    MIGRATIONS
        .iter()
        .filter(move |step| step.to > found && step.to <= SCHEMA_VERSION)
}

/// Whether opening a database failed because another process holds it (sled 0.34 says so
/// only in words).
pub fn is_held(err: &sled::Error) -> bool {
    matches!(err, sled::Error::Io(io) if io.to_string().contains("could not acquire lock"))
}

/// What a failed open of the store at `data_dir` (its database in `dir`) is: held by another
/// process, or unreadable.
fn open_failed(data_dir: &Path, dir: &Path, source: sled::Error) -> StoreError {
    if is_held(&source) {
        StoreError::InUse(data_dir.display().to_string())
    } else {
        StoreError::Open {
            dir: dir.display().to_string(),
            source,
        }
    }
}

/// Records `current` in a new store; brings an older one up to it through `steps`.
fn check_schema(
    db: &sled::Db,
    meta: &sled::Tree,
    current: u32,
    steps: &[Migration],
) -> Result<(), StoreError> {
    let Some(bytes) = meta.get(SCHEMA_KEY)? else {
        meta.insert(SCHEMA_KEY, &current.to_be_bytes())?;
        return Ok(());
    };
    let found = u32::from_be_bytes(
        bytes
            .as_ref()
            .try_into()
            .map_err(|_| StoreError::Corrupt("schema version".into()))?,
    );
    if found > current {
        return Err(StoreError::NewerSchema {
            found,
            supported: current,
        });
    }
    for step in steps.iter().filter(|s| s.to > found && s.to <= current) {
        tracing::info!(to = step.to, does = step.does, "migrating the store");
        (step.run)(db).map_err(|err| StoreError::Migration {
            to: step.to,
            does: step.does,
            reason: err.to_string(),
        })?;
        meta.insert(SCHEMA_KEY, &step.to.to_be_bytes())?;
        db.flush()?;
    }
    if found < current {
        meta.insert(SCHEMA_KEY, &current.to_be_bytes())?;
        db.flush()?;
    }
    Ok(())
}

/// Opens a store (`open`) once no handle of this process holds it any more: sled closes a
/// store a moment after its last handle is dropped (its flusher thread lets go of the file
/// last), longer on a busy machine.
#[cfg(test)]
pub(crate) fn when_free(open: impl Fn() -> Result<Store, StoreError>) -> Store {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match open() {
            Ok(store) => return store,
            Err(StoreError::InUse(_)) if std::time::Instant::now() < deadline => {
                std::thread::yield_now();
            }
            Err(err) => panic!("the store opens again: {err}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use app::Marketplace;

    use super::*;

    /// A snapshot sled was writing when the process was killed does not keep the store from
    /// opening, and nothing written before is lost.
    #[test]
    fn an_unfinished_snapshot_does_not_keep_the_store_shut() {
        let dir = tempfile::tempdir().expect("dir");
        {
            let store = Store::open(dir.path()).expect("open");
            store.meta.insert("kept", "yes").expect("insert");
            store.flush_blocking().expect("flush");
        }
        let unfinished = dir
            .path()
            .join("db")
            .join("snap.FFFFFFFFFFFFFFF0.generating");
        std::fs::write(&unfinished, b"cut").expect("write");
        let store = Store::open(dir.path()).expect("opens again");
        assert_eq!(
            store.meta.get("kept").expect("read").as_deref(),
            Some(&b"yes"[..])
        );
        assert!(!unfinished.exists());
    }

    #[test]
    fn a_new_store_records_its_schema_and_reopens() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        store.flush_blocking().expect("flush");
        drop(store);
        let store = when_free(|| Store::open(dir.path()));
        assert!(store.is_ready());
    }

    fn schema(db: &sled::Db) -> u32 {
        let meta = db.open_tree("meta").expect("meta");
        let bytes = meta.get(SCHEMA_KEY).expect("read").expect("there");
        u32::from_be_bytes(bytes.as_ref().try_into().expect("four bytes"))
    }

    fn mark(to: u8) -> fn(&sled::Db) -> Result<(), StoreError> {
        match to {
            2 => |db| {
                db.open_tree("steps")?.insert([2], b"two")?;
                Ok(())
            },
            3 => |db| {
                let steps = db.open_tree("steps")?;
                // Step 3 builds on step 2.
                if steps.get([2])?.is_none() {
                    return Err(StoreError::Corrupt("step 2 missing".into()));
                }
                steps.insert([3], b"three")?;
                Ok(())
            },
            _ => |_| Err(StoreError::Corrupt("the disk said no".into())),
        }
    }

    #[test]
    fn an_older_schema_is_brought_up_step_by_step_and_only_once() {
        let steps = [
            Migration {
                to: 2,
                does: "step two",
                run: mark(2),
            },
            Migration {
                to: 3,
                does: "step three",
                run: mark(3),
            },
        ];
        let dir = tempfile::tempdir().expect("tempdir");
        let db = sled::open(dir.path()).expect("db");
        let meta = db.open_tree("meta").expect("meta");
        meta.insert(SCHEMA_KEY, &1u32.to_be_bytes()).expect("write");
        check_schema(&db, &meta, 3, &steps).expect("migrates");
        assert_eq!(schema(&db), 3);
        let done = db.open_tree("steps").expect("steps");
        assert_eq!(done.len(), 2);
        // Run again: nothing to do (a step that ran twice would find its record already).
        done.remove([2]).expect("remove");
        check_schema(&db, &meta, 3, &steps).expect("nothing to do");
        assert!(
            done.get([2]).expect("read").is_none(),
            "step 2 did not run again"
        );

        // A store at 2 runs step 3 only; a failing step stops there and says which.
        meta.insert(SCHEMA_KEY, &2u32.to_be_bytes()).expect("write");
        done.insert([2], b"two").expect("write");
        let failing = [
            Migration {
                to: 3,
                does: "step three",
                run: mark(3),
            },
            Migration {
                to: 4,
                does: "step four",
                run: mark(4),
            },
        ];
        let err = check_schema(&db, &meta, 4, &failing).expect_err("step four fails");
        assert!(err.to_string().contains("schema 4 (step four)"), "{err}");
        assert_eq!(schema(&db), 3, "the finished step is recorded");
    }

    #[test]
    fn a_damaged_record_is_named_by_its_tree_and_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = Store::open(dir.path()).expect("open");
            let user = store
                .users()
                .create(
                    NewUser {
                        username: app::validate::Username::parse("anna").expect("name"),
                        email: app::validate::Email::parse("anna@example.com").expect("email"),
                        is_admin: true,
                        password_hash: "x".into(),
                    },
                    users::Creation::FirstOnly,
                )
                .expect("user");
            let key = keys::user_scoped(
                user.id,
                &[Marketplace::BrickLink.tag(), 0, 0, 0, 0, 0, 0, 0, 7],
            );
            store
                .db()
                .open_tree("orders")
                .expect("tree")
                .insert([&[0xFF, b'r'][..], &key].concat(), &[0xff_u8; 3][..])
                .expect("write");
            store.flush_blocking().expect("flush");
        }
        let err = Store::open(dir.path()).err().expect("refused");
        let said = err.to_string();
        assert!(
            said.starts_with("the orders record ff720000000000000001")
                && said.contains("--salvage"),
            "{said}"
        );
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
