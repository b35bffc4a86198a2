//! Partial-minifig lists: `minifig_lists` keyed user | list id, and `minifigs` keyed
//! user | list id | minifig id with the minifig's parts inline (a minifig has a handful), so
//! one list is one range and a change to a part is one atomic read-modify-write of its minifig
//! (the fetch job and the seller's clicks may touch the same minifig at once).

use app::{
    Condition, FetchState, ListId, ListSummary, MinifigId, MinifigList, PartialMinifig, Totals,
    UserId,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{StoreError, codec, keys};

/// The two trees.
#[derive(Clone)]
pub struct Minifigs {
    ids: super::Ids,
    lists: sled::Tree,
    minifigs: sled::Tree,
    revisions: super::Revisions,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ListRecord {
    name: String,
    description: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    updated_at: OffsetDateTime,
}

/// What a new minifig starts with.
#[derive(Debug, Clone)]
pub struct NewMinifig {
    pub bricklink_id: String,
    pub condition: Condition,
    pub reference_id: Option<String>,
    pub notes: Option<String>,
}

fn list_key(user: UserId, list: ListId) -> Vec<u8> {
    keys::user_scoped(user, &list.0.to_be_bytes())
}

fn minifig_key(user: UserId, list: ListId, minifig: MinifigId) -> Vec<u8> {
    let mut key = list_key(user, list);
    key.extend_from_slice(&minifig.0.to_be_bytes());
    key
}

impl Minifigs {
    pub(super) fn open(
        db: &sled::Db,
        revisions: super::Revisions,
        ids: super::Ids,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            ids,
            lists: db.open_tree("minifig_lists")?,
            minifigs: db.open_tree("minifigs")?,
            revisions,
        })
    }

    /// A new, empty list.
    pub fn create_list(
        &self,
        user: UserId,
        name: String,
        description: Option<String>,
    ) -> Result<ListSummary, StoreError> {
        let id = ListId(self.ids.next()?);
        let now = OffsetDateTime::now_utc();
        let record = ListRecord {
            name,
            description,
            created_at: now,
            updated_at: now,
        };
        create(&self.lists, &list_key(user, id), codec::encode(&record))?;
        self.revisions.bump(user);
        Ok(summary(id, record, Totals::default()))
    }

    /// `user`'s lists, newest first, with their totals.
    pub fn lists(&self, user: UserId) -> Result<Vec<ListSummary>, StoreError> {
        let mut lists = Vec::new();
        for entry in self.lists.scan_prefix(keys::user(user)) {
            let (key, value) = entry?;
            let id = ListId(id_at(&key, 8)?);
            let record: ListRecord = codec::decode_at(&self.lists, &key, &value)?;
            let totals = self.totals(user, id)?;
            lists.push(summary(id, record, totals));
        }
        lists.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        Ok(lists)
    }

    /// How many lists `user` has (without reading their minifigs).
    pub fn list_count(&self, user: UserId) -> usize {
        self.lists.scan_prefix(keys::user(user)).count()
    }

    /// One list with its minifigs, oldest first; `None` when it is not `user`'s.
    pub fn list(&self, user: UserId, id: ListId) -> Result<Option<MinifigList>, StoreError> {
        let Some(value) = self.lists.get(list_key(user, id))? else {
            return Ok(None);
        };
        let record: ListRecord = codec::decode(&value)?;
        let minifigs = self.minifigs_of(user, id)?;
        let mut totals = Totals::default();
        for minifig in &minifigs {
            totals.add(&minifig.totals);
        }
        Ok(Some(MinifigList {
            summary: summary(id, record, totals),
            minifigs,
        }))
    }

    /// Whether `user` has list `id`.
    pub fn has_list(&self, user: UserId, id: ListId) -> Result<bool, StoreError> {
        Ok(self.lists.contains_key(list_key(user, id))?)
    }

    /// Renames or re-describes a list; `None` when it is not `user`'s.
    pub fn update_list(
        &self,
        user: UserId,
        id: ListId,
        name: Option<&str>,
        description: Option<Option<&str>>,
    ) -> Result<Option<ListSummary>, StoreError> {
        let mut decode_error = None;
        let updated = self.lists.update_and_fetch(list_key(user, id), |old| {
            let old = old?;
            let mut record: ListRecord = match codec::decode(old) {
                Ok(record) => record,
                Err(err) => {
                    decode_error = Some(err);
                    return Some(old.to_vec());
                }
            };
            if let Some(name) = name {
                name.clone_into(&mut record.name);
            }
            if let Some(description) = description {
                record.description = description.map(str::to_owned);
            }
            record.updated_at = OffsetDateTime::now_utc();
            Some(codec::encode(&record))
        })?;
        if let Some(err) = decode_error {
            return Err(err);
        }
        let Some(value) = updated else {
            return Ok(None);
        };
        self.revisions.bump(user);
        let totals = self.totals(user, id)?;
        Ok(Some(summary(id, codec::decode(&value)?, totals)))
    }

    /// Deletes a list and its minifigs; false when it is not `user`'s.
    pub fn delete_list(&self, user: UserId, id: ListId) -> Result<bool, StoreError> {
        if self.lists.remove(list_key(user, id))?.is_none() {
            return Ok(false);
        }
        let mut batch = sled::Batch::default();
        for entry in self.minifigs.scan_prefix(list_key(user, id)) {
            batch.remove(entry?.0);
        }
        self.minifigs.apply_batch(batch)?;
        self.revisions.bump(user);
        Ok(true)
    }

    /// Adds a minifig (no parts yet) to a list; `None` when the list is not `user`'s.
    pub fn add_minifig(
        &self,
        user: UserId,
        list: ListId,
        new: NewMinifig,
    ) -> Result<Option<PartialMinifig>, StoreError> {
        if !self.has_list(user, list)? {
            return Ok(None);
        }
        let id = MinifigId(self.ids.next()?);
        let now = OffsetDateTime::now_utc();
        let minifig = PartialMinifig {
            id,
            list_id: list,
            image: app::routes::image(app::ItemType::Minifig.as_str(), &new.bricklink_id, 0),
            bricklink_id: new.bricklink_id,
            name: None,
            reference_id: new.reference_id,
            condition: new.condition,
            notes: new.notes,
            prices: None,
            fetch: FetchState::Loading { done: 0, total: 0 },
            job: None,
            parts: Vec::new(),
            totals: Totals::of_parts(&[]),
            created_at: now,
            updated_at: now,
        };
        create(
            &self.minifigs,
            &minifig_key(user, list, id),
            codec::encode(&minifig),
        )?;
        self.revisions.bump(user);
        Ok(Some(minifig))
    }

    /// One minifig; `None` when it is not on `user`'s list `list`.
    pub fn minifig(
        &self,
        user: UserId,
        list: ListId,
        id: MinifigId,
    ) -> Result<Option<PartialMinifig>, StoreError> {
        self.minifigs
            .get(minifig_key(user, list, id))?
            .map(|v| codec::decode(&v))
            .transpose()
    }

    /// Changes a minifig atomically with `change` (which may run more than once under
    /// contention), then recomputes its totals; `None` when it does not exist.
    pub fn update_minifig(
        &self,
        user: UserId,
        list: ListId,
        id: MinifigId,
        mut change: impl FnMut(&mut PartialMinifig),
    ) -> Result<Option<PartialMinifig>, StoreError> {
        let mut decode_error = None;
        let updated = self
            .minifigs
            .update_and_fetch(minifig_key(user, list, id), |old| {
                let old = old?;
                let mut minifig: PartialMinifig = match codec::decode(old) {
                    Ok(minifig) => minifig,
                    Err(err) => {
                        decode_error = Some(err);
                        return Some(old.to_vec());
                    }
                };
                change(&mut minifig);
                minifig.totals = Totals::of_parts(&minifig.parts);
                minifig.updated_at = OffsetDateTime::now_utc();
                Some(codec::encode(&minifig))
            })?;
        if let Some(err) = decode_error {
            return Err(err);
        }
        self.revisions.bump(user);
        updated.map(|v| codec::decode(&v)).transpose()
    }

    /// Deletes a minifig; false when it is not on `user`'s list.
    pub fn delete_minifig(
        &self,
        user: UserId,
        list: ListId,
        id: MinifigId,
    ) -> Result<bool, StoreError> {
        let removed = self.minifigs.remove(minifig_key(user, list, id))?.is_some();
        self.revisions.bump(user);
        Ok(removed)
    }

    /// Every minifig of `user`, for dashboards and search.
    pub fn all_minifigs(&self, user: UserId) -> Result<Vec<PartialMinifig>, StoreError> {
        self.minifigs
            .scan_prefix(keys::user(user))
            .map(|entry| {
                let (key, value) = entry?;
                codec::decode_at(&self.minifigs, &key, &value)
            })
            .collect()
    }

    fn minifigs_of(&self, user: UserId, list: ListId) -> Result<Vec<PartialMinifig>, StoreError> {
        self.minifigs
            .scan_prefix(list_key(user, list))
            .map(|entry| {
                let (key, value) = entry?;
                codec::decode_at(&self.minifigs, &key, &value)
            })
            .collect()
    }

    fn totals(&self, user: UserId, list: ListId) -> Result<Totals, StoreError> {
        let mut totals = Totals::default();
        for minifig in self.minifigs_of(user, list)? {
            totals.add(&minifig.totals);
        }
        Ok(totals)
    }
}

fn id_at(key: &[u8], at: usize) -> Result<u64, StoreError> {
    key.get(at..at + 8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| StoreError::Corrupt("short minifig key".into()))
}

fn summary(id: ListId, record: ListRecord, totals: Totals) -> ListSummary {
    ListSummary {
        id,
        name: record.name,
        description: record.description,
        totals,
        created_at: record.created_at,
        updated_at: record.updated_at,
    }
}

/// Writes a new record, refusing to replace one that has its key (an id handed out twice).
fn create(tree: &sled::Tree, key: &[u8], value: Vec<u8>) -> Result<(), StoreError> {
    tree.compare_and_swap(key, None::<&[u8]>, Some(value))?
        .map_err(|_| StoreError::IdTaken)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn new(no: &str) -> NewMinifig {
        NewMinifig {
            bricklink_id: no.into(),
            condition: Condition::Used,
            reference_id: Some("bin 4".into()),
            notes: None,
        }
    }

    #[test]
    fn lists_and_minifigs_belong_to_their_user() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let minifigs = store.minifigs();
        let (alice, bob) = (UserId(1), UserId(2));
        let list = minifigs
            .create_list(alice, "Star Wars".into(), None)
            .expect("create");
        let fig = minifigs
            .add_minifig(alice, list.id, new("sw0001a"))
            .expect("add")
            .expect("list exists");
        assert!(minifigs.list(bob, list.id).expect("read").is_none());
        assert!(
            minifigs
                .add_minifig(bob, list.id, new("sw0002"))
                .expect("add")
                .is_none()
        );
        assert!(
            minifigs
                .minifig(bob, list.id, fig.id)
                .expect("read")
                .is_none()
        );
        assert!(!minifigs.delete_list(bob, list.id).expect("delete"));
        let mine = minifigs.list(alice, list.id).expect("read").expect("mine");
        assert_eq!(mine.minifigs.len(), 1);
        assert_eq!(mine.summary.totals.minifigs, 1);
    }

    #[test]
    fn deleting_a_list_removes_its_minifigs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let minifigs = store.minifigs();
        let user = UserId(1);
        let keep = minifigs.create_list(user, "Keep".into(), None).expect("a");
        let gone = minifigs.create_list(user, "Gone".into(), None).expect("b");
        minifigs
            .add_minifig(user, keep.id, new("sw0001a"))
            .expect("add");
        minifigs
            .add_minifig(user, gone.id, new("sw0002"))
            .expect("add");
        assert!(minifigs.delete_list(user, gone.id).expect("delete"));
        let all = minifigs.all_minifigs(user).expect("all");
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].bricklink_id, "sw0001a");
        let names: Vec<String> = minifigs
            .lists(user)
            .expect("lists")
            .into_iter()
            .map(|l| l.name)
            .collect();
        assert_eq!(names, ["Keep"]);
    }
}
