//! Building a pick list: the orders' lines merged by the lot they sold from (or, where no lot
//! is known, by item, colour, condition and location), each located through the seller's
//! location pattern, in a person's location order (`A-2` before `A-10`), unlocated last.

use std::collections::{BTreeMap, BTreeSet};

use app::{
    Marketplace, NewPickList, OrderRef, OrderStatus, PickLine, PickShare, UserId,
    fulfilment::MAX_PICK_ORDERS,
};
use regex::Regex;

use crate::store::{OrderFilter, Store, StoreError, natural};

/// Why a pick list could not be made.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("Choose at least one order to pick (or ask for every paid order).")]
    NoOrders,
    #[error("No paid order is waiting to be picked.")]
    NothingPaid,
    #[error("A pick list takes at most {MAX_PICK_ORDERS} orders; choose fewer.")]
    TooMany,
    #[error("There is no {} order {}.", .0.marketplace, .0.order_id)]
    Unknown(OrderRef),
    #[error("The location pattern does not work: {0}")]
    Pattern(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Finds the location in a lot's remarks.
pub struct Locator(Option<Regex>);

impl Locator {
    /// From the seller's pattern; empty takes the remarks whole.
    pub fn new(pattern: &str) -> Result<Self, BuildError> {
        if pattern.trim().is_empty() {
            return Ok(Self(None));
        }
        if pattern.len() > 200 {
            return Err(BuildError::Pattern(
                "it is longer than 200 characters.".into(),
            ));
        }
        regex::RegexBuilder::new(pattern)
            .size_limit(1 << 20)
            .build()
            .map(|r| Self(Some(r)))
            .map_err(|e| BuildError::Pattern(first_line(&e.to_string())))
    }

    /// The location in `remarks`: the pattern's first group, or its whole match; empty when it
    /// does not match.
    pub fn locate(&self, remarks: &str) -> String {
        let remarks = remarks.trim();
        let Some(pattern) = &self.0 else {
            return remarks.to_owned();
        };
        pattern
            .captures(remarks)
            .and_then(|c| c.get(1).or_else(|| c.get(0)))
            .map(|m| m.as_str().trim().to_owned())
            .unwrap_or_default()
    }
}

fn first_line(text: &str) -> String {
    text.lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or(text)
        .trim()
        .to_owned()
}

/// The orders a request names: as given (duplicates dropped), or every paid order on no open
/// pick list, oldest first.
pub fn chosen_orders(
    store: &Store,
    user: UserId,
    request: &NewPickList,
) -> Result<Vec<OrderRef>, BuildError> {
    if !request.all_paid {
        let mut seen = BTreeSet::new();
        let orders: Vec<OrderRef> = request
            .orders
            .iter()
            .filter(|o| seen.insert((*o).clone()))
            .cloned()
            .collect();
        if orders.is_empty() {
            return Err(BuildError::NoOrders);
        }
        if orders.len() > MAX_PICK_ORDERS {
            return Err(BuildError::TooMany);
        }
        return Ok(orders);
    }
    let busy = store.fulfilment().on_open_lists(user)?;
    let filter = OrderFilter {
        statuses: vec![OrderStatus::Paid, OrderStatus::Picking],
        marketplace: None,
        query: None,
        from: None,
        to: None,
        sort: app::OrderSort::Date,
        descending: false,
        page: 1,
        per_page: MAX_PICK_ORDERS,
    };
    let orders: Vec<OrderRef> = store
        .orders()
        .list(user, &filter)
        .orders
        .into_iter()
        .map(|o| OrderRef {
            marketplace: o.marketplace,
            order_id: o.order_id,
        })
        .filter(|o| !busy.contains(o))
        .collect();
    if orders.is_empty() {
        return Err(BuildError::NothingPaid);
    }
    Ok(orders)
}

/// What lines merge by.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Merge {
    Lot(u64),
    Item {
        item_type: String,
        item_no: String,
        color_id: i64,
        new: bool,
        location: String,
    },
}

/// The pick lines of `orders`, merged, located and numbered in picking order.
pub fn build(
    store: &Store,
    user: UserId,
    orders: &[OrderRef],
    locator: &Locator,
) -> Result<Vec<PickLine>, BuildError> {
    let colors = store.catalog().color_table();
    let inventory = store.inventory();
    let mut merged: BTreeMap<Merge, PickLine> = BTreeMap::new();
    for order in orders {
        let detail = store
            .orders()
            .get(user, order.marketplace, &order.order_id)?
            .ok_or_else(|| BuildError::Unknown(order.clone()))?;
        for line in detail.lines.iter().filter(|l| l.quantity > 0) {
            let lot = match line.lot {
                Some(named) => inventory.line_lot(user, order.marketplace, named)?,
                None => None,
            };
            let remarks = match lot {
                Some(id) => inventory.get(user, id)?.map(|l| l.remarks),
                None => None,
            }
            .or_else(|| line.remarks.clone())
            .unwrap_or_default();
            let location = locator.locate(&remarks);
            let key = match lot {
                Some(id) => Merge::Lot(id.0),
                None => Merge::Item {
                    item_type: line.item_type.clone(),
                    item_no: line.item_no.clone(),
                    color_id: line.color_id,
                    new: line.new,
                    location: location.clone(),
                },
            };
            let share = PickShare {
                marketplace: order.marketplace,
                order_id: order.order_id.clone(),
                buyer: detail.summary.buyer.clone(),
                quantity: line.quantity,
            };
            let entry = merged.entry(key).or_insert_with(|| PickLine {
                line: 0,
                item_type: line.item_type.clone(),
                item_no: line.item_no.clone(),
                name: line.name.clone(),
                color_id: line.color_id,
                color_name: line.color_name.clone(),
                color_code: colors.get(&line.color_id).and_then(|c| c.code.clone()),
                new: line.new,
                location,
                image: line.image.clone(),
                lot,
                quantity: 0,
                orders: Vec::new(),
                tick: None,
            });
            entry.quantity += line.quantity;
            match entry
                .orders
                .iter_mut()
                .find(|s| s.marketplace == share.marketplace && s.order_id == share.order_id)
            {
                Some(same) => same.quantity += share.quantity,
                None => entry.orders.push(share),
            }
        }
    }
    let mut lines: Vec<PickLine> = merged.into_values().collect();
    lines.sort_by(|a, b| {
        a.location
            .is_empty()
            .cmp(&b.location.is_empty())
            .then_with(|| natural(&a.location, &b.location))
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.item_no.cmp(&b.item_no))
            .then_with(|| a.color_id.cmp(&b.color_id))
    });
    for (n, line) in lines.iter_mut().enumerate() {
        line.line = u32::try_from(n + 1).unwrap_or(u32::MAX);
    }
    Ok(lines)
}

/// Whether `marketplace` lets a seller mark an order shipped through its API.
pub fn can_ship(marketplace: Marketplace) -> bool {
    OrderStatus::settable(marketplace).contains(&OrderStatus::Shipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pattern_finds_the_location_or_nothing() {
        let whole = Locator::new("").expect("empty");
        assert_eq!(whole.locate("  A-12-3 doors "), "A-12-3 doors");
        let bins = Locator::new(r"([A-Z]-\d+-\d+)").expect("pattern");
        assert_eq!(bins.locate("doors A-12-3 top"), "A-12-3");
        assert_eq!(bins.locate("no bin"), "");
        let whole_match = Locator::new(r"[A-Z]\d+").expect("pattern");
        assert_eq!(whole_match.locate("shelf B7"), "B7");
        let err = Locator::new("(").err().expect("refused");
        assert!(err.to_string().starts_with("The location pattern"), "{err}");
    }
}
