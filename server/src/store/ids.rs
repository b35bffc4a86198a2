//! Ids of users, lists, minifigs and jobs: one increasing sequence per store. sled's own
//! counter (`generate_id`) lives outside every tree, so a backup cannot carry it and a
//! restored store would count from zero again, handing out ids that already exist. The floor
//! kept in `meta` (set by a restore, see [`crate::backup`]) puts every new id above every id
//! the restored data holds.

use super::StoreError;

const FLOOR_KEY: &[u8] = b"id_floor";

/// The store's id sequence; cheap to clone.
#[derive(Clone)]
pub struct Ids {
    db: sled::Db,
    floor: u64,
}

impl Ids {
    pub(crate) fn open(db: &sled::Db, meta: &sled::Tree) -> Result<Self, StoreError> {
        Ok(Self {
            db: db.clone(),
            floor: floor(meta)?,
        })
    }

    /// A new id, above every id handed out or restored before.
    pub fn next(&self) -> Result<u64, StoreError> {
        Ok(self.floor + self.db.generate_id()? + 1)
    }
}

fn floor(meta: &sled::Tree) -> Result<u64, StoreError> {
    meta.get(FLOOR_KEY)?
        .map(|bytes| {
            bytes
                .as_ref()
                .try_into()
                .map(u64::from_be_bytes)
                .map_err(|_| StoreError::Corrupt("meta/id_floor is not a number".into()))
        })
        .transpose()
        .map(Option::unwrap_or_default)
}

/// Raises the floor of the store in `db` to at least `at_least` (used by restore, before the
/// store is opened).
pub fn raise_floor(db: &sled::Db, at_least: u64) -> Result<(), StoreError> {
    let meta = db.open_tree("meta")?;
    let current = floor(&meta)?;
    if at_least > current {
        meta.insert(FLOOR_KEY, &at_least.to_be_bytes())?;
    }
    Ok(())
}

/// The highest id among the keys of the trees that hold ids (users, lists, minifigs, jobs, lots:
/// each key ends in its id), for backups written before they carried a floor.
pub fn highest_in(db: &sled::Db) -> Result<u64, StoreError> {
    let mut highest = 0;
    let names = db.tree_names();
    for name in [
        "users",
        "minifig_lists",
        "minifigs",
        "jobs",
        "inventory",
        "inventory_changes",
        "pick_lists",
    ] {
        // Only trees the store has: looking must not create one.
        if !names.iter().any(|n| n.as_ref() == name.as_bytes()) {
            continue;
        }
        for key in db.open_tree(name)?.iter().keys() {
            let key = key?;
            if let Some(tail) = key.len().checked_sub(8).map(|at| &key[at..])
                && let Ok(bytes) = <[u8; 8]>::try_from(tail)
            {
                highest = highest.max(u64::from_be_bytes(bytes));
            }
        }
    }
    Ok(highest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raised_floor_puts_new_ids_above_it_across_reopens() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = sled::open(dir.path()).expect("open");
        let meta = db.open_tree("meta").expect("meta");
        let first = Ids::open(&db, &meta).expect("ids").next().expect("id");
        raise_floor(&db, 1_000).expect("raise");
        raise_floor(&db, 10).expect("never lowered");
        let ids = Ids::open(&db, &meta).expect("ids");
        let next = ids.next().expect("id");
        assert!(first < 1_000 && next > 1_000, "{first} then {next}");
        assert!(ids.next().expect("id") > next);
    }
}
