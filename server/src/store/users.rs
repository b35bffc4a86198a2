//! Accounts: records keyed by id, with case-folded username and email indexes kept unique in
//! the same transaction as the record.

use app::{User, UserId};
use serde::{Deserialize, Serialize};
use sled::{
    Transactional as _,
    transaction::{ConflictableTransactionError, TransactionError, TransactionalTree},
};
use time::OffsetDateTime;

use super::{StoreError, codec, keys};

const SETUP_DONE_KEY: &[u8] = b"setup_done";

/// A stored account, password hash included. Never sent to a client: see [`UserRecord::to_api`].
#[derive(Clone, Serialize, Deserialize)]
pub struct UserRecord {
    pub id: UserId,
    pub username: String,
    pub email: String,
    pub display_name: Option<String>,
    pub is_admin: bool,
    /// PHC string (argon2id).
    pub password_hash: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// A disabled account cannot log in; its sessions ended when it was disabled.
    #[serde(default)]
    pub disabled: bool,
}

impl UserRecord {
    /// The account as the API shows it.
    pub fn to_api(&self) -> User {
        User {
            id: self.id,
            username: self.username.clone(),
            email: self.email.clone(),
            display_name: self.display_name.clone(),
            is_admin: self.is_admin,
            created_at: self.created_at,
            disabled: self.disabled,
        }
    }
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("is_admin", &self.is_admin)
            .finish_non_exhaustive()
    }
}

/// What creating an account needs; inputs are already parsed.
pub struct NewUser {
    pub username: app::validate::Username,
    pub email: app::validate::Email,
    pub is_admin: bool,
    pub password_hash: String,
}

/// Whether creating an account may happen only as the very first one.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Creation {
    /// First-run setup: refused once any account exists.
    FirstOnly,
    /// An administrator adding an account.
    Any,
}

/// The users trees.
#[derive(Clone)]
pub struct Users {
    ids: super::Ids,
    users: sled::Tree,
    by_name: sled::Tree,
    by_email: sled::Tree,
    meta: sled::Tree,
}

impl Users {
    pub(super) fn open(
        db: &sled::Db,
        meta: &sled::Tree,
        ids: super::Ids,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            ids,
            users: db.open_tree("users")?,
            by_name: db.open_tree("users_by_name")?,
            by_email: db.open_tree("users_by_email")?,
            meta: meta.clone(),
        })
    }

    /// True once the first account exists.
    pub fn setup_done(&self) -> Result<bool, StoreError> {
        Ok(self.meta.contains_key(SETUP_DONE_KEY)?)
    }

    /// Creates an account. With [`Creation::FirstOnly`] the "no account yet" check and the
    /// insert are one transaction, so two racing setups cannot both win.
    pub fn create(&self, new: NewUser, creation: Creation) -> Result<UserRecord, StoreError> {
        let record = UserRecord {
            id: UserId(self.ids.next()?),
            username: new.username.as_str().to_owned(),
            email: new.email.as_str().to_owned(),
            display_name: None,
            is_admin: new.is_admin,
            password_hash: new.password_hash,
            created_at: OffsetDateTime::now_utc()
                .replace_nanosecond(0)
                .unwrap_or_else(|_| OffsetDateTime::now_utc()),
            disabled: false,
        };
        let name_key = new.username.key();
        let email_key = new.email.key();
        (&self.users, &self.by_name, &self.by_email, &self.meta)
            .transaction(|(users, by_name, by_email, meta)| {
                if creation == Creation::FirstOnly && meta.get(SETUP_DONE_KEY)?.is_some() {
                    return abort(StoreError::SetupDone);
                }
                claim_index(by_name, &name_key, record.id, StoreError::UsernameTaken)?;
                claim_index(by_email, &email_key, record.id, StoreError::EmailTaken)?;
                if users.get(keys::user(record.id))?.is_some() {
                    return abort(StoreError::IdTaken);
                }
                users.insert(&keys::user(record.id), codec::encode(&record))?;
                meta.insert(SETUP_DONE_KEY, &[1u8])?;
                Ok(())
            })
            .map_err(flatten)?;
        Ok(record)
    }

    /// The account with this id.
    pub fn get(&self, id: UserId) -> Result<Option<UserRecord>, StoreError> {
        self.users
            .get(keys::user(id))?
            .map(|v| codec::decode(&v))
            .transpose()
    }

    /// The account whose username or email matches `login`, ignoring case.
    pub fn find_by_login(&self, login: &str) -> Result<Option<UserRecord>, StoreError> {
        let login = login.trim();
        let id = match self.by_name.get(login.to_ascii_lowercase())? {
            Some(id) => Some(id),
            None => self.by_email.get(login.to_lowercase())?,
        };
        match id {
            Some(id) => self.get(keys::user_from(&id)?),
            None => Ok(None),
        }
    }

    /// Every account, in id order.
    pub fn list(&self) -> Result<Vec<UserRecord>, StoreError> {
        self.users
            .iter()
            .map(|entry| {
                let (key, value) = entry?;
                codec::decode_at(&self.users, &key, &value)
            })
            .collect()
    }

    /// Changes username, email and display name, moving the unique indexes atomically.
    pub fn update_profile(
        &self,
        id: UserId,
        username: &app::validate::Username,
        email: &app::validate::Email,
        display_name: Option<&str>,
    ) -> Result<UserRecord, StoreError> {
        (&self.users, &self.by_name, &self.by_email)
            .transaction(|(users, by_name, by_email)| {
                let Some(bytes) = users.get(keys::user(id))? else {
                    return abort(StoreError::NoSuchUser);
                };
                let mut record: UserRecord = codec::decode(&bytes).map_err(abort_with)?;
                let old_name = record.username.to_ascii_lowercase();
                let old_email = record.email.to_lowercase();
                if old_name != username.key() {
                    claim_index(by_name, &username.key(), id, StoreError::UsernameTaken)?;
                    by_name.remove(old_name.as_bytes())?;
                }
                if old_email != email.key() {
                    claim_index(by_email, &email.key(), id, StoreError::EmailTaken)?;
                    by_email.remove(old_email.as_bytes())?;
                }
                record.username = username.as_str().to_owned();
                record.email = email.as_str().to_owned();
                record.display_name = display_name.map(str::to_owned);
                users.insert(&keys::user(id), codec::encode(&record))?;
                Ok(record)
            })
            .map_err(flatten)
    }

    /// Disables or enables an account; the record as it is now.
    pub fn set_disabled(&self, id: UserId, disabled: bool) -> Result<UserRecord, StoreError> {
        self.users
            .transaction(|users| {
                let Some(bytes) = users.get(keys::user(id))? else {
                    return abort(StoreError::NoSuchUser);
                };
                let mut record: UserRecord = codec::decode(&bytes).map_err(abort_with)?;
                record.disabled = disabled;
                users.insert(&keys::user(id), codec::encode(&record))?;
                Ok(record)
            })
            .map_err(flatten)
    }

    /// Replaces the password hash.
    pub fn set_password_hash(&self, id: UserId, hash: &str) -> Result<(), StoreError> {
        self.users
            .transaction(|users| {
                let Some(bytes) = users.get(keys::user(id))? else {
                    return abort(StoreError::NoSuchUser);
                };
                let mut record: UserRecord = codec::decode(&bytes).map_err(abort_with)?;
                hash.clone_into(&mut record.password_hash);
                users.insert(&keys::user(id), codec::encode(&record))?;
                Ok(())
            })
            .map_err(flatten)
    }
}

type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

/// Points `index[key]` at `id`, unless another account holds it.
fn claim_index(
    index: &TransactionalTree,
    key: &str,
    id: UserId,
    taken: StoreError,
) -> TxResult<()> {
    if let Some(holder) = index.get(key.as_bytes())?
        && holder.as_ref() != keys::user(id)
    {
        return abort(taken);
    }
    index.insert(key.as_bytes(), &keys::user(id))?;
    Ok(())
}

fn abort<T>(err: StoreError) -> TxResult<T> {
    Err(ConflictableTransactionError::Abort(err))
}

fn abort_with(err: StoreError) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(err)
}

fn flatten(err: TransactionError<StoreError>) -> StoreError {
    match err {
        TransactionError::Abort(err) => err,
        TransactionError::Storage(err) => StoreError::Sled(err),
    }
}

#[cfg(test)]
mod tests {
    use app::validate::{Email, Username};

    use super::*;
    use crate::store::Store;

    fn new_user(name: &str, email: &str) -> NewUser {
        NewUser {
            username: Username::parse(name).expect("valid"),
            email: Email::parse(email).expect("valid"),
            is_admin: false,
            password_hash: "hash".into(),
        }
    }

    #[test]
    fn usernames_and_emails_are_unique_ignoring_case() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let users = store.users();
        let ann = users
            .create(new_user("Ann", "ann@example.com"), Creation::Any)
            .expect("ann");
        assert!(matches!(
            users.create(new_user("ANN", "other@example.com"), Creation::Any),
            Err(StoreError::UsernameTaken)
        ));
        assert!(matches!(
            users.create(new_user("bob", "Ann@Example.com"), Creation::Any),
            Err(StoreError::EmailTaken)
        ));
        assert_eq!(
            users.find_by_login("ann").expect("ok").map(|u| u.id),
            Some(ann.id)
        );
        assert_eq!(
            users
                .find_by_login("ANN@EXAMPLE.COM")
                .expect("ok")
                .map(|u| u.id),
            Some(ann.id)
        );
        assert!(users.find_by_login("nobody").expect("ok").is_none());
        assert_eq!(
            users.list().expect("list").len(),
            1,
            "failed creations left nothing behind"
        );
    }

    #[test]
    fn first_only_creation_succeeds_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let users = store.users();
        assert!(!users.setup_done().expect("ok"));
        users
            .create(new_user("ann", "ann@example.com"), Creation::FirstOnly)
            .expect("first");
        assert!(users.setup_done().expect("ok"));
        assert!(matches!(
            users.create(new_user("bob", "bob@example.com"), Creation::FirstOnly),
            Err(StoreError::SetupDone)
        ));
    }

    #[test]
    fn profile_updates_move_the_indexes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let users = store.users();
        let ann = users
            .create(new_user("ann", "ann@example.com"), Creation::Any)
            .expect("ann");
        users
            .create(new_user("bob", "bob@example.com"), Creation::Any)
            .expect("bob");
        let taken = users.update_profile(
            ann.id,
            &Username::parse("Bob").expect("valid"),
            &Email::parse("ann@example.com").expect("valid"),
            None,
        );
        assert!(matches!(taken, Err(StoreError::UsernameTaken)));
        let updated = users
            .update_profile(
                ann.id,
                &Username::parse("Anna").expect("valid"),
                &Email::parse("anna@example.com").expect("valid"),
                Some("Anna K"),
            )
            .expect("update");
        assert_eq!(updated.display_name.as_deref(), Some("Anna K"));
        assert!(
            users.find_by_login("ann").expect("ok").is_none(),
            "old name released"
        );
        assert!(
            users
                .find_by_login("ann@example.com")
                .expect("ok")
                .is_none(),
            "old email released"
        );
        assert_eq!(
            users.find_by_login("anna").expect("ok").map(|u| u.id),
            Some(ann.id)
        );
        // A case-only change of one's own name is not a conflict.
        users
            .update_profile(
                ann.id,
                &Username::parse("ANNA").expect("valid"),
                &Email::parse("anna@example.com").expect("valid"),
                None,
            )
            .expect("case change");
    }
}
