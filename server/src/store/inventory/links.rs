//! Linking the same bricks across marketplaces: a BrickOwl lot joins a BrickLink lot when it
//! carries the BrickLink lot's id (at import, [`Inventory::merge_brickowl`]), when item,
//! colour and condition match one for one ([`Inventory::link_matching`], with BrickOwl's ids
//! for the BrickLink item number and BrickOwl's colour list read at run time), or when the
//! seller links the two; unlinking splits them again and keeps them apart.

use std::collections::HashMap;

use app::{Lot, LotId, UserId};

use super::{Inventory, key};
use crate::store::{StoreError, codec};

/// Why a link or unlink was refused.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("no such lot")]
    NotFound,
    #[error("{0}")]
    Refused(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// BrickOwl's ids for BrickLink item numbers, by (BrickLink type, number).
pub type Boids = HashMap<(String, String), Vec<String>>;

impl Inventory {
    /// Lots only one marketplace holds: BrickLink's, and BrickOwl's not kept apart.
    pub fn unlinked(&self, user: UserId) -> Result<(Vec<Lot>, Vec<Lot>), StoreError> {
        let (mut bricklink, mut brickowl) = (Vec::new(), Vec::new());
        for lot in self.all(user)? {
            match (&lot.bricklink, &lot.brickowl) {
                (Some(_), None) => bricklink.push(lot),
                (None, Some(_)) if !lot.kept_apart => brickowl.push(lot),
                _ => {}
            }
        }
        Ok((bricklink, brickowl))
    }

    /// Links BrickLink-only and BrickOwl-only lots of the same item, colour and condition:
    /// a BrickOwl lot matches a BrickLink lot when its BOID is among BrickOwl's ids for the
    /// BrickLink item (`boids`) and its colour is the BrickLink colour (`colors`: BrickOwl
    /// colour id to BrickLink's). A pair links only when each is the other's one match; the
    /// rest wait for the seller. How many were linked.
    pub fn link_matching(
        &self,
        user: UserId,
        boids: &Boids,
        colors: &HashMap<i64, i64>,
    ) -> Result<usize, StoreError> {
        let (bricklink, brickowl) = self.unlinked(user)?;
        let matches = |bl: &Lot, owl: &Lot| {
            let Some(side) = &owl.brickowl else {
                return false;
            };
            let same_color = match colors.get(&side.color_id) {
                Some(color) => *color == bl.color_id,
                None => side.color_id == 0 && bl.color_id == 0,
            };
            bl.condition == owl.condition
                && same_color
                && boids
                    .get(&(bl.item.item_type.clone(), bl.item.no.clone()))
                    .is_some_and(|ids| ids.contains(&side.boid))
        };
        let mut candidates: HashMap<LotId, Vec<LotId>> = HashMap::new();
        let mut claimed: HashMap<LotId, usize> = HashMap::new();
        for bl in &bricklink {
            for owl in brickowl.iter().filter(|owl| matches(bl, owl)) {
                candidates.entry(bl.id).or_default().push(owl.id);
                *claimed.entry(owl.id).or_default() += 1;
            }
        }
        let owl_lots: HashMap<LotId, &Lot> = brickowl.iter().map(|l| (l.id, l)).collect();
        let mut batch = sled::Batch::default();
        let mut written = Vec::new();
        for bl in bricklink {
            let Some([owl_id]) = candidates.get(&bl.id).map(Vec::as_slice) else {
                continue;
            };
            if claimed.get(owl_id) != Some(&1) {
                continue;
            }
            let Some(owl) = owl_lots.get(owl_id) else {
                continue;
            };
            let mut joined = bl;
            joined.brickowl.clone_from(&owl.brickowl);
            batch.insert(key(user, joined.id), codec::encode(&joined));
            batch.remove(key(user, owl.id));
            written.push(joined.id);
        }
        self.tree.apply_batch(batch)?;
        if !written.is_empty() {
            self.index.forget(user);
        }
        Ok(written.len())
    }

    /// Links a BrickOwl-only lot to a BrickLink-only lot, as the seller chose: the BrickLink
    /// lot holds both (its values stay), the BrickOwl lot's record goes. Call under
    /// [`Inventory::writing`].
    pub fn link(&self, user: UserId, bricklink: LotId, brickowl: LotId) -> Result<Lot, LinkError> {
        let mut bl = self.get(user, bricklink)?.ok_or(LinkError::NotFound)?;
        let owl = self.get(user, brickowl)?.ok_or(LinkError::NotFound)?;
        if bl.bricklink.is_none() || bl.brickowl.is_some() {
            return Err(LinkError::Refused(
                "Choose a lot BrickLink holds and BrickOwl does not yet.",
            ));
        }
        if owl.brickowl.is_none() || owl.bricklink.is_some() {
            return Err(LinkError::Refused(
                "Choose a lot only BrickOwl holds to link to it.",
            ));
        }
        self.no_open_changes(user, &[bricklink, brickowl])?;
        bl.brickowl = owl.brickowl;
        bl.kept_apart = false;
        let mut batch = sled::Batch::default();
        batch.insert(key(user, bl.id), codec::encode(&bl));
        batch.remove(key(user, owl.id));
        self.tree.apply_batch(batch).map_err(StoreError::from)?;
        self.index
            .changed(user, &[(bl.id, Some(bl.clone())), (owl.id, None)]);
        Ok(bl)
    }

    /// Splits a linked lot: BrickOwl's side becomes a lot of its own (with BrickOwl's quantity
    /// and price), and neither is linked again by item and colour. The two lots, BrickLink's
    /// first. Call under [`Inventory::writing`].
    pub fn unlink(&self, user: UserId, id: LotId) -> Result<(Lot, Lot), LinkError> {
        let mut lot = self.get(user, id)?.ok_or(LinkError::NotFound)?;
        let (Some(_), Some(owl)) = (&lot.bricklink, lot.brickowl.clone()) else {
            return Err(LinkError::Refused(
                "This lot is not on both marketplaces: there is nothing to unlink.",
            ));
        };
        self.no_open_changes(user, &[id])?;
        let apart = Lot {
            id: LotId(self.ids.next()?),
            quantity: owl.quantity,
            unit_price: owl.price,
            description: String::new(),
            stockroom: false,
            my_cost: None,
            tier_prices: Vec::new(),
            bricklink: None,
            brickowl: Some(owl),
            kept_apart: true,
            pending: Vec::new(),
            ..lot.clone()
        };
        lot.brickowl = None;
        let mut batch = sled::Batch::default();
        batch.insert(key(user, lot.id), codec::encode(&lot));
        batch.insert(key(user, apart.id), codec::encode(&apart));
        self.tree.apply_batch(batch).map_err(StoreError::from)?;
        self.index.changed(
            user,
            &[(lot.id, Some(lot.clone())), (apart.id, Some(apart.clone()))],
        );
        Ok((lot, apart))
    }

    fn no_open_changes(&self, user: UserId, ids: &[LotId]) -> Result<(), LinkError> {
        let open = self.lots_with_open_changes(user)?;
        if ids.iter().any(|id| open.contains(id)) {
            return Err(LinkError::Refused(
                "This lot has changes still on their way to a marketplace: link or unlink it once \
                 they are applied.",
            ));
        }
        Ok(())
    }
}
