//! Restoring a backup: verified first, never under a running server, written beside the live
//! database and renamed into place only when whole, with ids above every id it holds.

use std::{io::Write as _, path::Path};

use super::{BackupError, Header, KEY_FILE, Record, create_private, header, io, next, verify};
use crate::store::ids;

/// Whether `dir` holds anything.
fn has_content(dir: &Path) -> Result<bool, BackupError> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_some()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io(dir)(e)),
    }
}

/// Restores `backup` into `data_dir`: verified first; refuses a data directory a running
/// server holds (whatever `force` says), and one with anything in it unless `force`. The
/// database is written beside the live one (`db.restoring`) and renamed into place only when
/// whole, so a failed or interrupted restore leaves what was there. The backup's secret key
/// replaces the directory's only when the backup carries one. New ids start above every id
/// the backup holds.
pub fn restore(backup: &Path, data_dir: &Path, force: bool) -> Result<Header, BackupError> {
    let header = verify(backup)?;
    let live = data_dir.join("db");
    if live.exists() && held(&live) {
        return Err(BackupError::InUse(data_dir.display().to_string()));
    }
    if has_content(data_dir)? && !force {
        return Err(BackupError::NotEmpty(data_dir.display().to_string()));
    }
    std::fs::create_dir_all(data_dir).map_err(io(data_dir))?;
    let staging = data_dir.join("db.restoring");
    let staged_key = data_dir.join("secret.key.restoring");
    for leftover in [&staging, &staged_key] {
        remove(leftover)?;
    }
    let restored = (|| {
        let db = sled::Config::new().path(&staging).open()?;
        let carried_key = load(backup, &db, &staged_key)?;
        let floor = header.id_floor.max(ids::highest_in(&db)?);
        ids::raise_floor(&db, floor)?;
        db.flush()?;
        Ok::<_, BackupError>(carried_key)
    })();
    let carried_key = match restored {
        Ok(carried) => carried,
        Err(err) => {
            let _ = remove(&staging);
            let _ = remove(&staged_key);
            return Err(err);
        }
    };
    let replaced = data_dir.join("db.replaced");
    remove(&replaced)?;
    if live.exists() {
        std::fs::rename(&live, &replaced).map_err(io(&live))?;
    }
    std::fs::rename(&staging, &live).map_err(io(&staging))?;
    if carried_key {
        let key = data_dir.join(KEY_FILE);
        std::fs::rename(&staged_key, &key).map_err(io(&key))?;
    }
    remove(&replaced)?;
    remove(&data_dir.join(crate::control::FILE))?;
    Ok(header)
}

/// Writes the backup's trees into `db` and its key, if it carries one, to `key_path`;
/// says whether it did.
fn load(backup: &Path, db: &sled::Db, key_path: &Path) -> Result<bool, BackupError> {
    let (_, mut reader) = header(backup)?;
    let mut tree = None::<sled::Tree>;
    let mut batch = sled::Batch::default();
    let mut in_batch = 0usize;
    let mut carried_key = false;
    while let Some(record) = next(&mut reader)? {
        match record {
            Record::Tree(name) => {
                if let Some(previous) = tree.take() {
                    previous.apply_batch(std::mem::take(&mut batch))?;
                    in_batch = 0;
                }
                tree = Some(db.open_tree(name)?);
            }
            Record::Entry(key, value) => {
                batch.insert(key, value);
                in_batch += 1;
                if in_batch >= 10_000
                    && let Some(tree) = &tree
                {
                    tree.apply_batch(std::mem::take(&mut batch))?;
                    in_batch = 0;
                }
            }
            Record::Secret(key) => {
                let mut file = create_private(key_path)?;
                file.write_all(&key).map_err(io(key_path))?;
                file.sync_all().map_err(io(key_path))?;
                carried_key = true;
            }
        }
    }
    if let Some(tree) = tree {
        tree.apply_batch(batch)?;
    }
    Ok(carried_key)
}

/// Whether another process holds the store at `db` (sled locks it while open). A store that
/// cannot be opened for another reason is not held: `--force` may replace it.
fn held(db: &Path) -> bool {
    sled::Config::new()
        .path(db)
        .open()
        .is_err_and(|err| crate::store::is_held(&err))
}

/// Removes a file or a directory tree; gone already is fine.
fn remove(path: &Path) -> Result<(), BackupError> {
    let gone = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    match gone {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(path)(e)),
    }
}
