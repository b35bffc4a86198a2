//! One user's index rows, packed: rows in the order they arrived, in chunks of [`CHUNK`] (a
//! full chunk is trimmed to its size, so growth never doubles the whole table), the items
//! each order sold packed into its chunk's one byte array instead of an allocation per row,
//! and the place of each order by marketplace and number in sorted arrays. A scan walks
//! contiguous memory.

use std::collections::HashMap;

use app::Marketplace;

use super::Row;

/// Rows per chunk.
const CHUNK: usize = 1024;

/// Item ids and pieces an order sold.
pub(super) type Sold = (u32, u32);

/// The lines of one order as [`pack`] wrote them: item ids in ascending order, each as the
/// difference from the one before and then its pieces, both LEB128 (seven bits a byte, the
/// high bit set on every byte but the last). A 20-line order of a shop's usual items takes
/// about 40 bytes instead of 160.
#[derive(Clone, Copy)]
pub(super) struct Lines<'a> {
    bytes: &'a [u8],
    item: u32,
}

impl Iterator for Lines<'_> {
    type Item = Sold;

    fn next(&mut self) -> Option<Sold> {
        if self.bytes.is_empty() {
            return None;
        }
        let step = self.number();
        let pieces = self.number();
        self.item = self.item.wrapping_add(step);
        Some((self.item, pieces))
    }
}

impl Lines<'_> {
    fn number(&mut self) -> u32 {
        let mut value = 0_u32;
        let mut shift = 0;
        while let Some((byte, rest)) = self.bytes.split_first() {
            self.bytes = rest;
            if shift < 32 {
                value |= u32::from(byte & 0x7f) << shift;
            }
            shift += 7;
            if byte & 0x80 == 0 {
                break;
            }
        }
        value
    }
}

/// Appends `lines` to `out` in the form [`Lines`] reads (sorting them first).
fn pack(lines: &mut [Sold], out: &mut Vec<u8>) {
    lines.sort_unstable();
    let mut last = 0;
    for &(item, pieces) in &*lines {
        put_number(item - last, out);
        put_number(pieces, out);
        last = item;
    }
}

fn put_number(mut value: u32, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Rows and the lines they sold.
#[derive(Default)]
pub(super) struct Chunk {
    rows: Vec<Row>,
    sold: Vec<u8>,
}

impl Chunk {
    /// Each row with what it sold.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&Row, Lines<'_>)> {
        self.rows.iter().map(|row| (row, self.sold_by(row)))
    }

    fn sold_by(&self, row: &Row) -> Lines<'_> {
        let from = row.sold_at as usize;
        Lines {
            bytes: self
                .sold
                .get(from..from + row.sold_len as usize)
                .unwrap_or_default(),
            item: 0,
        }
    }
}

/// Orders added to [`Places`] since the sorted arrays were last rebuilt, at most this many or
/// a sixteenth of the table, whichever is more.
const RECENT: usize = 4096;

/// Where each order's row is, by [`slot`]: sorted keys and positions (12 bytes an order; the
/// index is read in key order, so opening a store only appends), and the orders added out of
/// order since, merged in once there are enough of them.
#[derive(Default)]
struct Places {
    keys: Vec<u64>,
    at: Vec<u32>,
    recent: HashMap<u64, u32>,
}

impl Places {
    fn len(&self) -> usize {
        self.keys.len() + self.recent.len()
    }

    fn get(&self, key: u64) -> Option<u32> {
        if let Some(at) = self.recent.get(&key) {
            return Some(*at);
        }
        let i = self.keys.binary_search(&key).ok()?;
        self.at.get(i).copied()
    }

    /// Adds a key not yet present.
    fn insert(&mut self, key: u64, at: u32) {
        if self.keys.last().is_none_or(|last| *last < key) {
            self.keys.push(key);
            self.at.push(at);
            return;
        }
        self.recent.insert(key, at);
        if self.recent.len() > RECENT.max(self.keys.len() / 16) {
            self.merge();
        }
    }

    /// Merges the recent keys into the sorted arrays, sized exactly (also what gives back
    /// what growing by doubling left unused).
    fn merge(&mut self) {
        let mut recent: Vec<(u64, u32)> = self.recent.drain().collect();
        recent.sort_unstable();
        let total = self.keys.len() + recent.len();
        let mut keys = Vec::with_capacity(total);
        let mut at = Vec::with_capacity(total);
        let mut old = self
            .keys
            .iter()
            .copied()
            .zip(self.at.iter().copied())
            .peekable();
        let mut new = recent.into_iter().peekable();
        loop {
            let take_old = match (old.peek(), new.peek()) {
                (Some(o), Some(n)) => o.0 < n.0,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            let next = if take_old { old.next() } else { new.next() };
            if let Some((key, place)) = next {
                keys.push(key);
                at.push(place);
            }
        }
        self.keys = keys;
        self.at = at;
        self.recent.shrink_to_fit();
    }
}

/// A user's rows.
#[derive(Default)]
pub(super) struct Table {
    chunks: Vec<Chunk>,
    /// Marketplace and order number ([`slot`]) → position.
    places: Places,
}

/// The key of an order in [`Places`]: the marketplace's tag above any order number.
fn slot(marketplace: Marketplace, id: u64) -> u64 {
    (u64::from(marketplace.tag()) << 56) | (id & ((1 << 56) - 1))
}

fn len_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Table {
    pub(super) fn len(&self) -> usize {
        self.places.len()
    }

    /// The row of an order, with what it sold.
    #[cfg(test)]
    pub(super) fn get(&self, marketplace: Marketplace, id: u64) -> Option<(&Row, Vec<Sold>)> {
        let at = self.places.get(slot(marketplace, id))? as usize;
        let chunk = self.chunks.get(at / CHUNK)?;
        let row = chunk.rows.get(at % CHUNK)?;
        Some((row, chunk.sold_by(row).collect()))
    }

    /// Puts an order's row, replacing the one it had.
    pub(super) fn put(&mut self, mut row: Row, mut sold: Vec<Sold>) {
        let key = slot(row.marketplace, row.id);
        if let Some(at) = self.places.get(key).map(|at| at as usize) {
            let Some(chunk) = self.chunks.get_mut(at / CHUNK) else {
                return;
            };
            let Some(old) = chunk.rows.get(at % CHUNK) else {
                return;
            };
            let mut packed = Vec::new();
            pack(&mut sold, &mut packed);
            row.sold_len = len_u32(packed.len());
            let (from, room) = (old.sold_at as usize, old.sold_len as usize);
            if packed.len() <= room {
                // The same lines, or fewer: in place.
                chunk.sold[from..from + packed.len()].copy_from_slice(&packed);
                row.sold_at = old.sold_at;
            } else {
                // More than before (rare): at the end; the old bytes stay unused.
                row.sold_at = len_u32(chunk.sold.len());
                chunk.sold.extend_from_slice(&packed);
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
            // A new row's lines are packed straight onto the end of its chunk's bytes.
            let start = chunk.sold.len();
            pack(&mut sold, &mut chunk.sold);
            row.sold_at = len_u32(start);
            row.sold_len = len_u32(chunk.sold.len() - start);
            chunk.rows.push(row);
            self.places.insert(key, position);
        }
    }

    /// Gives back what growing left unused: called once the index is read.
    pub(super) fn trim(&mut self) {
        self.places.merge();
        if let Some(last) = self.chunks.last_mut() {
            last.sold.shrink_to_fit();
        }
        self.chunks.shrink_to_fit();
    }

    /// The chunks, to split a scan between threads.
    pub(super) fn chunks(&self) -> &[Chunk] {
        &self.chunks
    }

    /// Every row with what it sold.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&Row, Lines<'_>)> {
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
                table.put(r, sold);
            }
        }
        assert_eq!(table.len(), usize::try_from(count * 2).unwrap_or(0));
        assert_eq!(table.iter().count(), table.len());
        let (found, sold) = table.get(Marketplace::BrickOwl, 2049).expect("stored");
        assert_eq!((found.id, found.marketplace), (2049, Marketplace::BrickOwl));
        assert_eq!(sold, &[(0, 2049), (1, 2050), (2, 2051), (3, 2052)]);

        for lines in [1, 7] {
            let (r, sold) = row(&mut shared, Marketplace::BrickOwl, 2049, lines);
            table.put(r, sold.clone());
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

    /// Lines come back as written, whatever their order, size or repeats: ids in ascending
    /// order, the largest numbers intact.
    #[test]
    fn lines_are_packed_and_read_back() {
        let lines = vec![
            (u32::MAX, u32::MAX),
            (7, 1),
            (0, 0),
            (7, 300),
            (128, 127),
            (16_384, 2),
        ];
        let mut packed = Vec::new();
        pack(&mut lines.clone(), &mut packed);
        let read: Vec<Sold> = Lines {
            bytes: &packed,
            item: 0,
        }
        .collect();
        let mut sorted = lines;
        sorted.sort_unstable();
        assert_eq!(read, sorted);
        let mut few = Vec::new();
        pack(&mut [(3, 2), (1, 5)], &mut few);
        assert_eq!(few, [1, 5, 2, 2], "small numbers take a byte each");
    }

    /// Orders added out of key order (newest first, another marketplace's below the last)
    /// are found before and after the sorted arrays take them in, and a trimmed table still
    /// finds every one.
    #[test]
    fn places_are_found_whatever_the_order_they_came_in() {
        let mut shared = Shared::default();
        let mut table = Table::default();
        let count = (RECENT as u64) * 3;
        for id in (1..=count).rev() {
            let (r, sold) = row(&mut shared, Marketplace::BrickOwl, id, 1);
            table.put(r, sold);
            if id % 7 == 0 {
                let (r, sold) = row(&mut shared, Marketplace::BrickLink, id, 2);
                table.put(r, sold);
            }
        }
        assert!(
            table.places.keys.len() > RECENT,
            "the recent orders were merged into the sorted arrays"
        );
        let expected = usize::try_from(count + count / 7).unwrap_or(0);
        assert_eq!(table.len(), expected);
        let check = |table: &Table| {
            for id in 1..=count {
                let (found, _) = table.get(Marketplace::BrickOwl, id).expect("stored");
                assert_eq!(found.id, id);
                assert_eq!(
                    table.get(Marketplace::BrickLink, id).is_some(),
                    id % 7 == 0,
                    "BrickLink order {id}"
                );
            }
        };
        check(&table);
        table.trim();
        assert!(table.places.recent.is_empty());
        assert_eq!(table.places.keys.capacity(), expected);
        check(&table);
        assert_eq!(table.len(), expected);
    }
}
