//! The seller's document template and invoice numbers (`documents`, keyed user | `t` for the
//! template, user | `n` for the next number, user | `i` | marketplace | order id for an
//! order's invoice). An order is numbered once, by a transaction that reads and moves the
//! counter with the order's record, so concurrent requests never share a number or skip one.

use app::{DocumentTemplate, OrderRef, UserId};
use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionError};
use time::OffsetDateTime;

use super::{StoreError, codec, keys};

/// The documents tree.
#[derive(Clone)]
pub struct Documents {
    tree: sled::Tree,
}

/// An order's invoice number and when it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoiced {
    pub number: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

fn template_key(user: UserId) -> Vec<u8> {
    keys::user_scoped(user, b"t")
}

fn next_key(user: UserId) -> Vec<u8> {
    keys::user_scoped(user, b"n")
}

fn invoice_key(user: UserId, order: &OrderRef) -> Vec<u8> {
    keys::order(user, b"i", order)
}

impl Documents {
    pub(super) fn open(db: &sled::Db) -> Result<Self, StoreError> {
        Ok(Self {
            tree: db.open_tree("documents")?,
        })
    }

    /// The seller's template (the defaults until saved).
    pub fn template(&self, user: UserId) -> Result<DocumentTemplate, StoreError> {
        let key = template_key(user);
        self.tree
            .get(&key)?
            .map(|v| codec::decode_at(&self.tree, &key, &v))
            .transpose()
            .map(Option::unwrap_or_default)
    }

    /// Saves the seller's template.
    pub fn set_template(
        &self,
        user: UserId,
        template: &DocumentTemplate,
    ) -> Result<(), StoreError> {
        self.tree
            .insert(template_key(user), codec::encode(template))?;
        Ok(())
    }

    /// The invoice number of `order`: the one it was given, else the next (never below
    /// `first`).
    pub fn invoice(
        &self,
        user: UserId,
        order: &OrderRef,
        first: u64,
    ) -> Result<Invoiced, StoreError> {
        let key = invoice_key(user, order);
        let next = next_key(user);
        let answer = self.tree.transaction(|tx| {
            let abort = |e: StoreError| ConflictableTransactionError::Abort(e.to_string());
            if let Some(known) = tx.get(&key)? {
                return codec::decode::<Invoiced>(&known).map_err(abort);
            }
            let counted = match tx.get(&next)? {
                Some(bytes) => u64::from_be_bytes(
                    bytes
                        .as_ref()
                        .try_into()
                        .map_err(|_| abort(StoreError::Corrupt("invoice counter".into())))?,
                ),
                None => first,
            };
            let number = counted.max(first);
            let invoiced = Invoiced {
                number,
                at: OffsetDateTime::now_utc(),
            };
            tx.insert(next.as_slice(), &(number + 1).to_be_bytes())?;
            tx.insert(key.as_slice(), codec::encode(&invoiced))?;
            Ok(invoiced)
        });
        answer.map_err(|err| match err {
            TransactionError::Abort(reason) => StoreError::Corrupt(reason),
            TransactionError::Storage(err) => err.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use app::Marketplace;

    use super::*;
    use crate::store::Store;

    fn order(id: &str) -> OrderRef {
        OrderRef {
            marketplace: Marketplace::BrickLink,
            order_id: id.into(),
        }
    }

    #[test]
    fn an_order_keeps_its_number_and_numbers_never_repeat_or_skip() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(dir.path()).expect("open");
        let docs = store.documents();
        let user = UserId(1);
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let docs = docs.clone();
                std::thread::spawn(move || {
                    (0..50)
                        .map(|n| {
                            docs.invoice(user, &order(&format!("{}", (t * 7 + n) % 100)), 1)
                                .expect("numbered")
                                .number
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("thread");
        }
        let mut numbers: Vec<u64> = (0..100)
            .map(|n| {
                docs.invoice(user, &order(&n.to_string()), 1)
                    .expect("again")
                    .number
            })
            .collect();
        numbers.sort_unstable();
        numbers.dedup();
        assert_eq!(numbers, (1..=100).collect::<Vec<_>>());
        // A higher first number continues from there.
        assert_eq!(docs.invoice(user, &order("x"), 500).expect("x").number, 500);
        assert_eq!(docs.invoice(user, &order("y"), 1).expect("y").number, 501);
    }
}
