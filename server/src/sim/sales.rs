//! Sales from the simulated stores' lots: an order's lines name the lot they sold from (its
//! `inventory_id` on BrickLink; `lot_id`, with the BrickLink id a syncing tool stored, on
//! BrickOwl) and the lot loses the pieces as the marketplace's own lots do. BrickLink removes
//! a lot that sells out; BrickOwl keeps it at 0. Each sale is journalled with the account's
//! inventory writes as `BL SOLD {id} -2 order {order}` (`BO SOLD ...`).

use time::OffsetDateTime;

use super::{Account, Side, data::Line, data::Rng};

/// Up to three lots in stock and how many pieces of each a buyer takes (at most three).
pub(super) fn pick(rng: &mut Rng, account: &Account, side: Side) -> Vec<(i64, i64)> {
    let stocked: Vec<(i64, i64)> = match side {
        Side::BrickLink => account
            .bricklink_lots
            .values()
            .filter(|l| !l.stockroom && l.quantity > 0)
            .map(|l| (l.id, l.quantity))
            .collect(),
        Side::BrickOwl => account
            .brickowl_lots
            .values()
            .filter(|l| l.for_sale && l.quantity > 0)
            .map(|l| (l.id, l.quantity))
            .collect(),
    };
    if stocked.is_empty() {
        return Vec::new();
    }
    let wanted = 1 + rng.below(3) as usize;
    let mut picks: Vec<(i64, i64)> = Vec::new();
    for _ in 0..wanted {
        let (id, held) = stocked[rng.below(stocked.len() as u64) as usize];
        if picks.iter().any(|(p, _)| *p == id) {
            continue;
        }
        picks.push((id, 1 + rng.below(held.min(3) as u64) as i64));
    }
    picks
}

/// Takes `picks` off the account's lots on `side` and hands back the order's lines; changes
/// nothing when a lot is missing or holds fewer pieces.
pub(super) fn take(
    account: &mut Account,
    side: Side,
    order: i64,
    picks: &[(i64, i64)],
) -> Result<Vec<Line>, String> {
    let mut lines = Vec::with_capacity(picks.len());
    for &(id, quantity) in picks {
        if quantity < 1 {
            return Err(format!("a sale takes at least one piece (lot {id})"));
        }
        let line = match side {
            Side::BrickLink => {
                let lot = account
                    .bricklink_lots
                    .get(&id)
                    .filter(|l| !l.stockroom)
                    .ok_or_else(|| format!("BrickLink lot {id} is not for sale"))?;
                (lot.quantity >= quantity)
                    .then_some(())
                    .ok_or_else(|| format!("BrickLink lot {id} holds {}", lot.quantity))?;
                Line {
                    inventory_id: id,
                    bl_lot_id: None,
                    no: lot.no,
                    name: lot.name,
                    kind: lot.kind,
                    category_id: lot.category_id,
                    color_id: lot.color_id,
                    quantity,
                    new: lot.new,
                    unit_price: lot.unit_price,
                    remarks: lot.remarks.clone(),
                }
            }
            Side::BrickOwl => {
                let lot = account
                    .brickowl_lots
                    .get(&id)
                    .filter(|l| l.for_sale)
                    .ok_or_else(|| format!("BrickOwl lot {id} is not for sale"))?;
                (lot.quantity >= quantity)
                    .then_some(())
                    .ok_or_else(|| format!("BrickOwl lot {id} holds {}", lot.quantity))?;
                Line {
                    inventory_id: id,
                    bl_lot_id: lot.external_id,
                    no: lot.no,
                    name: lot.name,
                    kind: lot.kind,
                    category_id: 0,
                    color_id: lot.color_id,
                    quantity,
                    new: lot.condition == "new",
                    unit_price: lot.price,
                    remarks: lot.personal_note.clone(),
                }
            }
        };
        lines.push(line);
    }
    for &(id, quantity) in picks {
        match side {
            Side::BrickLink => {
                let left = account.bricklink_lots.get_mut(&id).map(|lot| {
                    lot.quantity -= quantity;
                    lot.quantity
                });
                if left == Some(0) {
                    account.bricklink_lots.remove(&id);
                }
                account
                    .inventory_writes
                    .push(format!("BL SOLD {id} -{quantity} order {order}"));
            }
            Side::BrickOwl => {
                if let Some(lot) = account.brickowl_lots.get_mut(&id) {
                    lot.quantity -= quantity;
                }
                account
                    .inventory_writes
                    .push(format!("BO SOLD {id} -{quantity} order {order}"));
            }
        }
    }
    Ok(lines)
}

impl super::Sim {
    /// The buyer or the marketplace cancels order `id` of account `index` on `side`: its
    /// status becomes cancelled (BrickLink `CANCELLED`, BrickOwl 8), dated now, and it is
    /// pushed. The lots keep what they lost: neither marketplace's API says a cancellation
    /// returns pieces to the store. False when there is no such order.
    pub fn cancel(&self, index: usize, side: Side, id: i64) -> bool {
        let now = OffsetDateTime::now_utc()
            .replace_millisecond(0)
            .unwrap_or_else(|_| OffsetDateTime::now_utc());
        let push = {
            let mut world = self.world();
            let Some(account) = world.accounts.get_mut(index) else {
                return false;
            };
            let orders = match side {
                Side::BrickLink => &mut account.bricklink_orders,
                Side::BrickOwl => &mut account.brickowl_orders,
            };
            let Some(order) = orders.get_mut(&id) else {
                return false;
            };
            order.status = match side {
                Side::BrickLink => "CANCELLED".into(),
                Side::BrickOwl => "8".into(),
            };
            order.changed = now;
            match side {
                Side::BrickLink => {
                    account.notifications.push(("Order".into(), id, now));
                    account.bricklink_callback.clone()
                }
                Side::BrickOwl => account.brickowl_notify.clone().map(|url| {
                    format!(
                        "{url}{}order_id={id}&store_id={}",
                        if url.contains('?') { '&' } else { '?' },
                        account.store_id
                    )
                }),
            }
        };
        if let Some(url) = push {
            self.push(url, side, id, now);
        }
        true
    }
}
