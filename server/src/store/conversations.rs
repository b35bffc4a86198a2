//! Orders' messages and feedback as last fetched (`conversations`, keyed user | marketplace |
//! order id): the order page shows them at once and the dashboard counts what waits on the
//! seller without asking a marketplace.

use app::{Conversation, Marketplace, OrderRef, UserId};

use super::{StoreError, codec, keys};

/// The conversations tree.
#[derive(Clone)]
pub struct Conversations {
    tree: sled::Tree,
}

fn key(user: UserId, order: &OrderRef) -> Vec<u8> {
    keys::order(user, &[], order)
}

impl Conversations {
    pub(super) fn open(db: &sled::Db) -> Result<Self, StoreError> {
        Ok(Self {
            tree: db.open_tree("conversations")?,
        })
    }

    /// `order`'s conversation: what was fetched, else an empty one.
    pub fn get(&self, user: UserId, order: &OrderRef) -> Result<Conversation, StoreError> {
        let key = key(user, order);
        Ok(match self.tree.get(&key)? {
            Some(bytes) => codec::decode_at(&self.tree, &key, &bytes)?,
            None => Conversation::empty(order.marketplace, order.order_id.clone()),
        })
    }

    /// Keeps a conversation.
    pub fn put(&self, user: UserId, conversation: &Conversation) -> Result<(), StoreError> {
        let order = OrderRef {
            marketplace: conversation.marketplace,
            order_id: conversation.order_id.clone(),
        };
        self.tree
            .insert(key(user, &order), codec::encode(conversation))?;
        Ok(())
    }

    /// Every conversation of `user` on `marketplace` (or both).
    pub fn all(
        &self,
        user: UserId,
        marketplace: Option<Marketplace>,
    ) -> Result<Vec<Conversation>, StoreError> {
        let prefix = match marketplace {
            Some(m) => keys::user_scoped(user, &[m.tag()]),
            None => keys::user(user).to_vec(),
        };
        self.tree
            .scan_prefix(prefix)
            .map(|entry| {
                let (key, value) = entry?;
                codec::decode_at(&self.tree, &key, &value)
            })
            .collect()
    }
}
