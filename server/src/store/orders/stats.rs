//! The dashboard's order statistics, in one pass over a user's index rows: sales per store
//! and UTC day, what waits on the seller, and the items sold most.

use std::sync::Arc;

use app::{Day, Marketplace, NeedsAction, OrderStatus, Period, Sales, TopItem, UserId};
use time::{Duration, OffsetDateTime};

use super::{CHART_DAYS, Item, OrderStats, Orders, Table, at};

/// One store (marketplace and currency) and its sales per day of the chart.
type StoreDays = ((Marketplace, String), [Period; CHART_DAYS]);

impl Orders {
    /// Sales per store over the last [`CHART_DAYS`] UTC days (today included, cancelled
    /// orders left out), what waits on the seller, and the `top` items by pieces sold.
    pub fn stats(&self, user: UserId, now: OffsetDateTime, top: usize) -> OrderStats {
        let today = now.date();
        let first = today - Duration::days(CHART_DAYS as i64 - 1);
        let index = self.rows();
        let mut needs = NeedsAction::default();
        // A shop has a store or two: a short list beats hashing a currency per order.
        let mut stores: Vec<StoreDays> = Vec::new();
        let items: Vec<Arc<Item>> = self.shared().items.clone();
        // Pieces and orders per item id.
        let mut sold: Vec<(u64, u32)> = vec![(0, 0); items.len()];
        for (s, sold_by) in index.get(&user).into_iter().flat_map(Table::iter) {
            match s.status {
                OrderStatus::New => needs.to_invoice += 1,
                OrderStatus::Paid | OrderStatus::Picking => needs.to_pack += 1,
                OrderStatus::Packed => needs.to_ship += 1,
                OrderStatus::OnHold => needs.on_hold += 1,
                _ => {}
            }
            let day = at(s.ordered_at).date();
            if s.status == OrderStatus::Cancelled || day < first {
                continue;
            }
            // An order stamped after today (a clock ahead) counts as today's.
            let slot = usize::try_from((day - first).whole_days())
                .unwrap_or(0)
                .min(CHART_DAYS - 1);
            let at = match stores
                .iter()
                .position(|((m, c), _)| *m == s.marketplace && **c == *s.labels.currency)
            {
                Some(at) => at,
                None => {
                    stores.push((
                        (s.marketplace, s.labels.currency.to_string()),
                        [Period::default(); CHART_DAYS],
                    ));
                    stores.len() - 1
                }
            };
            let days = &mut stores[at].1;
            days[slot].total = days[slot].total + s.total;
            days[slot].orders += 1;
            for (item, quantity) in sold_by {
                // An item interned after the list was read belongs to an upsert racing this
                // read; it is left out.
                if let Some(count) = sold.get_mut(item as usize) {
                    count.0 += u64::from(quantity);
                    count.1 += 1;
                }
            }
        }
        drop(index);
        let sum = |days: &[Period]| {
            days.iter().fold(Period::default(), |acc, d| Period {
                total: acc.total + d.total,
                orders: acc.orders + d.orders,
            })
        };
        stores.sort_by(|a, b| a.0.cmp(&b.0));
        let sales = stores
            .into_iter()
            .map(|((marketplace, currency), days)| Sales {
                marketplace,
                currency,
                today: days[CHART_DAYS - 1],
                week: sum(&days[CHART_DAYS - 7..]),
                month: sum(&days),
                daily: days
                    .iter()
                    .enumerate()
                    .map(|(i, d)| Day {
                        date: (first + Duration::days(i as i64)).to_string(),
                        total: d.total,
                        orders: d.orders,
                    })
                    .collect(),
            })
            .collect();
        let mut top_items: Vec<(Arc<Item>, u64, u32)> = items
            .into_iter()
            .zip(sold)
            .filter(|(_, (_, orders))| *orders > 0)
            .map(|(item, (quantity, orders))| (item, quantity, orders))
            .collect();
        top_items.sort_by(|a, b| {
            b.1.cmp(&a.1)
                .then(b.2.cmp(&a.2))
                .then_with(|| a.0.item_no.cmp(&b.0.item_no))
        });
        OrderStats {
            sales,
            needs_action: needs,
            top_items: top_items
                .into_iter()
                .take(top)
                .map(|(item, quantity, orders)| TopItem {
                    image: app::routes::image(&item.item_type, &item.item_no, item.color_id),
                    item_type: item.item_type.clone(),
                    item_no: item.item_no.clone(),
                    name: item.name.clone(),
                    color_id: item.color_id,
                    color_name: item.color_name.clone(),
                    quantity,
                    orders,
                })
                .collect(),
        }
    }
}
