//! One user's index rows, packed: rows in the order they arrived, in chunks of [`CHUNK`] (a
//! full chunk is trimmed to its size, so growth never doubles the whole table), the items
//! each order sold in its chunk's one array instead of an allocation per row, and the place
//! of each order by marketplace and number. A scan walks contiguous memory.

use std::collections::HashMap;

use app::Marketplace;

use super::Row;

/// Rows per chunk.
const CHUNK: usize = 1024;

/// Item ids and pieces an order sold.
pub(super) type Sold = (u32, u32);

/// Rows and the items they sold.
#[derive(Default)]
pub(super) struct Chunk {
    rows: Vec<Row>,
    sold: Vec<Sold>,
}

impl Chunk {
    /// Each row with what it sold.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&Row, &[Sold])> {
        self.rows.iter().map(|row| (row, self.sold_by(row)))
    }

    fn sold_by(&self, row: &Row) -> &[Sold] {
        let from = row.sold_at as usize;
        self.sold
            .get(from..from + row.sold_len as usize)
            .unwrap_or_default()
    }
}

/// A user's rows.
#[derive(Default)]
pub(super) struct Table {
    chunks: Vec<Chunk>,
    /// Marketplace and order number ([`slot`]) → position.
    at: HashMap<u64, u32>,
}

/// The key of an order in [`Table::at`]: the marketplace's tag above any order number.
fn slot(marketplace: Marketplace, id: u64) -> u64 {
    (u64::from(marketplace.tag()) << 56) | (id & ((1 << 56) - 1))
}

fn len_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Table {
    pub(super) fn len(&self) -> usize {
        self.at.len()
    }

    /// The row of an order, with what it sold.
    #[cfg(test)]
    pub(super) fn get(&self, marketplace: Marketplace, id: u64) -> Option<(&Row, &[Sold])> {
        let at = *self.at.get(&slot(marketplace, id))? as usize;
        let chunk = self.chunks.get(at / CHUNK)?;
        let row = chunk.rows.get(at % CHUNK)?;
        Some((row, chunk.sold_by(row)))
    }

    /// Puts an order's row, replacing the one it had.
    pub(super) fn put(&mut self, mut row: Row, sold: &[Sold]) {
        row.sold_len = len_u32(sold.len());
        let key = slot(row.marketplace, row.id);
        if let Some(at) = self.at.get(&key).map(|at| *at as usize) {
            let Some(chunk) = self.chunks.get_mut(at / CHUNK) else {
                return;
            };
            let Some(old) = chunk.rows.get(at % CHUNK) else {
                return;
            };
            let (from, room) = (old.sold_at as usize, old.sold_len as usize);
            if sold.len() <= room {
                // The same lines, or fewer: in place.
                chunk.sold[from..from + sold.len()].copy_from_slice(sold);
                row.sold_at = old.sold_at;
            } else {
                // More lines than before (rare): at the end; the old ones stay unused.
                row.sold_at = len_u32(chunk.sold.len());
                chunk.sold.extend_from_slice(sold);
            }
            chunk.rows[at % CHUNK] = row;
            return;
        }
        if self.chunks.last().is_none_or(|c| c.rows.len() >= CHUNK) {
            if let Some(full) = self.chunks.last_mut() {
                full.rows.shrink_to_fit();
                full.sold.shrink_to_fit();
            }
            self.chunks.push(Chunk {
                rows: Vec::with_capacity(CHUNK),
                sold: Vec::new(),
            });
        }
        let position = len_u32(self.len());
        if let Some(chunk) = self.chunks.last_mut() {
            row.sold_at = len_u32(chunk.sold.len());
            chunk.sold.extend_from_slice(sold);
            chunk.rows.push(row);
            self.at.insert(key, position);
        }
    }

    /// The chunks, to split a scan between threads.
    pub(super) fn chunks(&self) -> &[Chunk] {
        &self.chunks
    }

    /// Every row with what it sold.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&Row, &[Sold])> {
        self.chunks.iter().flat_map(Chunk::iter)
    }

    /// Every row of one marketplace.
    pub(super) fn of(&self, marketplace: Marketplace) -> impl Iterator<Item = &Row> {
        self.chunks
            .iter()
            .flat_map(|c| c.rows.iter())
            .filter(move |r| r.marketplace == marketplace)
    }
}

#[cfg(test)]
mod tests {
    use app::OrderStatus;

    use super::*;
    use crate::store::orders::{rows::StoredRow, shared::Shared};

    fn row(shared: &mut Shared, marketplace: Marketplace, id: u64, lines: u32) -> (Row, Vec<Sold>) {
        shared.row(
            marketplace,
            id,
            StoredRow {
                ordered_at: 0,
                changed_at: i64::try_from(id).unwrap_or(0),
                total: 0,
                items: lines,
                lots: lines,
                status: OrderStatus::Paid,
                filed: false,
                marketplace_status: "PAID".into(),
                buyer: "anna".into(),
                email: String::new(),
                currency: "EUR".into(),
                sold: (0..lines)
                    .map(|i| (i, i + u32::try_from(id).unwrap_or(0)))
                    .collect(),
            },
        )
    }

    /// Rows past several chunks are found by marketplace and number with what they sold;
    /// a changed order replaces its row, with fewer or more lines.
    #[test]
    fn rows_are_found_replaced_and_walked_across_chunks() {
        let mut shared = Shared::default();
        let mut table = Table::default();
        let count = CHUNK as u64 * 2 + 10;
        for id in 1..=count {
            for marketplace in [Marketplace::BrickLink, Marketplace::BrickOwl] {
                let (r, sold) = row(
                    &mut shared,
                    marketplace,
                    id,
                    u32::try_from(id % 5).unwrap_or(0),
                );
                table.put(r, &sold);
            }
        }
        assert_eq!(table.len(), usize::try_from(count * 2).unwrap_or(0));
        assert_eq!(table.iter().count(), table.len());
        let (found, sold) = table.get(Marketplace::BrickOwl, 2049).expect("stored");
        assert_eq!((found.id, found.marketplace), (2049, Marketplace::BrickOwl));
        assert_eq!(sold, &[(0, 2049), (1, 2050), (2, 2051), (3, 2052)]);

        for lines in [1, 7] {
            let (r, sold) = row(&mut shared, Marketplace::BrickOwl, 2049, lines);
            table.put(r, &sold);
            let (_, stored) = table.get(Marketplace::BrickOwl, 2049).expect("stored");
            assert_eq!(stored, sold.as_slice());
        }
        assert_eq!(table.len(), usize::try_from(count * 2).unwrap_or(0));
        let (_, neighbour) = table.get(Marketplace::BrickLink, 2050).expect("stored");
        assert!(neighbour.is_empty(), "2050 sold 2050 % 5 = 0 lines");
        let (_, neighbour) = table.get(Marketplace::BrickLink, 2051).expect("stored");
        assert_eq!(neighbour, &[(0, 2051)]);
        assert_eq!(
            table.of(Marketplace::BrickLink).map(|r| r.id).min(),
            Some(1)
        );
        assert!(table.get(Marketplace::BrickLink, count + 1).is_none());
    }
}
