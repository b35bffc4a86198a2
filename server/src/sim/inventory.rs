//! The simulated stores' lots: on BrickLink generated from the catalogue for each account, the
//! same for the same seed, and changed by the inventory endpoints as the real store changes
//! them (a relative quantity, and never 0 outside a stockroom); on BrickOwl most of the same
//! lots again, as a seller who lists on both has them (most carrying the BrickLink lot id a
//! syncing tool left in `external_lot_ids`, some out of step by a few pieces), and a few lots
//! only BrickOwl has.

use std::collections::BTreeMap;

use time::{Duration, OffsetDateTime};

use super::data::{self, Rng};

/// A BrickLink lot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lot {
    pub id: i64,
    pub kind: &'static str,
    pub no: &'static str,
    pub name: &'static str,
    pub category_id: i64,
    pub color_id: i64,
    pub quantity: i64,
    pub new: bool,
    /// Ten-thousandths.
    pub unit_price: i64,
    /// By sellers' convention the storage location, like `B-07-2`.
    pub remarks: String,
    pub description: String,
    pub stockroom: bool,
    /// Ten-thousandths.
    pub my_cost: i64,
    /// Tier prices: from this many pieces, this price (ten-thousandths); up to three.
    pub tiers: Vec<(i64, i64)>,
    pub created: OffsetDateTime,
}

/// Where lot ids start.
pub const FIRST_LOT: i64 = 310_000_000;

/// `count` lots with ids from `first`: distinct items, colours and conditions until every one
/// is used, then the same again in other places (sellers keep a part in several bins); a
/// twentieth in the stockroom.
pub fn lots(rng: &mut Rng, first: i64, count: usize, now: OffsetDateTime) -> BTreeMap<i64, Lot> {
    let mut kinds: Vec<(&'static data::Item, i64, bool)> = Vec::new();
    for item in data::PARTS {
        for color in data::COLORS {
            for new in [true, false] {
                kinds.push((item, color.id, new));
            }
        }
    }
    for minifig in data::MINIFIGS {
        for new in [true, false] {
            kinds.push((&minifig.item, 0, new));
        }
    }
    let mut lots = BTreeMap::new();
    for (n, id) in (first..).take(count).enumerate() {
        // Pick without repeating within a round: swap the pick to the end of what is left.
        let left = kinds.len() - n % kinds.len();
        let at = rng.below(left as u64) as usize;
        kinds.swap(at, left - 1);
        let (item, color_id, new) = kinds[left - 1];
        let unit_price = data::price(item.no, color_id, new);
        let location = format!(
            "{}-{:02}-{}",
            char::from(b'A' + rng.below(6) as u8),
            1 + rng.below(40),
            1 + rng.below(6)
        );
        lots.insert(
            id,
            Lot {
                id,
                kind: item.kind,
                no: item.no,
                name: item.name,
                category_id: item.category_id,
                color_id,
                quantity: 1 + rng.below(if item.kind == "PART" { 200 } else { 4 }) as i64,
                new,
                unit_price,
                remarks: location,
                description: String::new(),
                stockroom: rng.chance(0.05),
                my_cost: unit_price * 6 / 10,
                // One part lot in ten sells cheaper by the hundred.
                tiers: if item.kind == "PART" && id % 10 == 3 {
                    vec![
                        (50, unit_price * 9 / 10),
                        (100, unit_price * 8 / 10),
                        (200, unit_price * 7 / 10),
                    ]
                } else {
                    Vec::new()
                },
                created: now - Duration::days(rng.below(700) as i64),
            },
        );
    }
    lots
}

/// A BrickOwl lot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwlLot {
    pub id: i64,
    pub kind: &'static str,
    pub no: &'static str,
    pub name: &'static str,
    /// BrickLink's colour id (the wire says BrickOwl's own, `data::brickowl_color` of it).
    pub color_id: i64,
    pub quantity: i64,
    /// `new` or `usedg` (BrickOwl's condition ids).
    pub condition: &'static str,
    /// Ten-thousandths.
    pub price: i64,
    pub personal_note: String,
    pub public_note: String,
    pub for_sale: bool,
    /// The BrickLink lot id a syncing tool stored with the lot.
    pub external_id: Option<i64>,
}

/// Where BrickOwl lot ids start.
pub const FIRST_OWL_LOT: i64 = 7_200_000;

/// The BrickOwl store of a seller with `bricklink` on BrickLink: ids from `first`.
pub fn owl_lots(
    rng: &mut Rng,
    first: i64,
    bricklink: &BTreeMap<i64, Lot>,
) -> BTreeMap<i64, OwlLot> {
    let mut lots = BTreeMap::new();
    let mut ids = first..;
    let mut listed = |lot: OwlLot| {
        lots.insert(lot.id, lot);
    };
    for lot in bricklink.values().filter(|l| !l.stockroom) {
        // One lot in eight is not listed on BrickOwl.
        if rng.below(8) == 0 {
            continue;
        }
        let drift = if rng.below(10) == 0 {
            1 + rng.below(3) as i64
        } else {
            0
        };
        listed(OwlLot {
            id: ids.next().unwrap_or(first),
            kind: lot.kind,
            no: lot.no,
            name: lot.name,
            color_id: lot.color_id,
            quantity: (lot.quantity - drift).max(1),
            condition: if lot.new { "new" } else { "usedg" },
            price: lot.unit_price,
            personal_note: lot.remarks.clone(),
            public_note: String::new(),
            for_sale: true,
            // Most were listed by a tool that kept the BrickLink id; the rest by hand.
            external_id: (rng.below(4) != 0).then_some(lot.id),
        });
    }
    // What only BrickOwl has: minifigures in a condition BrickLink does not list.
    for minifig in data::MINIFIGS.iter().take(2) {
        let taken = bricklink
            .values()
            .any(|l| l.no == minifig.item.no && !l.new);
        if !taken {
            listed(OwlLot {
                id: ids.next().unwrap_or(first),
                kind: minifig.item.kind,
                no: minifig.item.no,
                name: minifig.item.name,
                color_id: 0,
                quantity: 1,
                condition: "usedg",
                price: data::price(minifig.item.no, 0, false),
                personal_note: "OWL-1".into(),
                public_note: String::new(),
                for_sale: true,
                external_id: None,
            });
        }
    }
    // And two parts in a colour and condition the BrickLink store does not have at all, which
    // no link can match.
    let mut spare = data::PARTS.iter().flat_map(|item| {
        data::COLORS
            .iter()
            .map(move |color| (item, color.id))
            .filter(|(item, color)| {
                !bricklink
                    .values()
                    .any(|l| l.no == item.no && l.color_id == *color && l.new)
            })
    });
    for _ in 0..2 {
        let Some((item, color_id)) = spare.next() else {
            break;
        };
        listed(OwlLot {
            id: ids.next().unwrap_or(first),
            kind: item.kind,
            no: item.no,
            name: item.name,
            color_id,
            quantity: 5,
            condition: "new",
            price: data::price(item.no, color_id, true),
            personal_note: "OWL-2".into(),
            public_note: String::new(),
            for_sale: true,
            external_id: None,
        });
    }
    lots
}

/// A change to a lot as `PUT /inventories/{id}` sends it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Change {
    /// Signed: `+3`, `-1`.
    pub quantity: Option<i64>,
    pub unit_price: Option<i64>,
    pub remarks: Option<String>,
    pub description: Option<String>,
    pub stockroom: Option<bool>,
}

/// Why a change was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The quantity would drop below 0.
    Negative,
    /// 0 pieces outside a stockroom: delete the lot or move it to a stockroom.
    ZeroOutsideStockroom,
}

/// Applies `change` to `lot`, or nothing when it is refused.
pub fn apply(lot: &mut Lot, change: &Change) -> Result<(), Refused> {
    let quantity = lot.quantity + change.quantity.unwrap_or(0);
    if quantity < 0 {
        return Err(Refused::Negative);
    }
    let stockroom = change.stockroom.unwrap_or(lot.stockroom);
    if quantity == 0 && !stockroom {
        return Err(Refused::ZeroOutsideStockroom);
    }
    lot.quantity = quantity;
    lot.stockroom = stockroom;
    if let Some(price) = change.unit_price {
        lot.unit_price = price;
    }
    if let Some(remarks) = &change.remarks {
        lot.remarks.clone_from(remarks);
    }
    if let Some(description) = &change.description {
        lot.description.clone_from(description);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brickowl_lists_most_of_the_bricklink_store_some_linked_some_not() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let bricklink = lots(&mut Rng::new(3), FIRST_LOT, 200, now);
        let owl = owl_lots(&mut Rng::new(4), FIRST_OWL_LOT, &bricklink);
        let linked = owl.values().filter(|l| l.external_id.is_some()).count();
        let unlinked = owl.values().filter(|l| l.external_id.is_none()).count();
        assert!(owl.len() > 120 && owl.len() < 200, "{}", owl.len());
        assert!(linked > unlinked && unlinked > 0);
        for lot in owl
            .values()
            .filter_map(|l| Some((l, bricklink.get(&l.external_id?)?)))
        {
            let (owl, bl) = lot;
            assert_eq!(
                (owl.no, owl.color_id, owl.condition == "new"),
                (bl.no, bl.color_id, bl.new)
            );
        }
    }

    #[test]
    fn lots_are_distinct_and_the_same_for_the_same_seed() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let a = lots(&mut Rng::new(7), FIRST_LOT, 300, now);
        let b = lots(&mut Rng::new(7), FIRST_LOT, 300, now);
        assert_eq!(a, b);
        assert_eq!(a.len(), 300);
        let mut kinds: Vec<_> = a.values().map(|l| (l.no, l.color_id, l.new)).collect();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), 300, "no item, colour and condition twice");
        assert!(a.values().all(|l| l.quantity > 0 && l.unit_price > 0));
    }

    #[test]
    fn quantities_change_relatively_and_never_reach_zero_outside_a_stockroom() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let mut lot = lots(&mut Rng::new(1), FIRST_LOT, 1, now)
            .into_values()
            .next()
            .expect("a lot");
        lot.quantity = 3;
        lot.stockroom = false;
        let minus = |n| Change {
            quantity: Some(n),
            ..Change::default()
        };
        assert_eq!(apply(&mut lot, &minus(2)), Ok(()));
        assert_eq!(lot.quantity, 5);
        assert_eq!(apply(&mut lot, &minus(-6)), Err(Refused::Negative));
        assert_eq!(
            apply(&mut lot, &minus(-5)),
            Err(Refused::ZeroOutsideStockroom)
        );
        assert_eq!(lot.quantity, 5, "a refused change changes nothing");
        let to_stockroom = Change {
            quantity: Some(-5),
            stockroom: Some(true),
            ..Change::default()
        };
        assert_eq!(apply(&mut lot, &to_stockroom), Ok(()));
        assert_eq!((lot.quantity, lot.stockroom), (0, true));
    }
}
