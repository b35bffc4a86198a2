//! The short texts of many entries (buyer names, item numbers), laid end to end in one byte
//! array, so that a query's word is looked for in all of them in one pass of a SIMD searcher:
//! tens of thousands of separate short searches cost far more in setting each one up than in
//! reading the bytes.

use memchr::memmem::Finder;

/// Between two texts: a query is split at white space, so no word holds it.
const END: u8 = b'\n';

/// Texts by entry id.
#[derive(Default)]
pub(super) struct Texts {
    bytes: Vec<u8>,
    /// Every text written, as (start, entry id), in the order written (so by start).
    written: Vec<(u32, u32)>,
    /// Each entry's current text: start and length.
    current: Vec<(u32, u32)>,
}

/// Where a needle was found in an entry's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Found {
    /// The whole text.
    Exact,
    /// At its start.
    Prefix,
    /// Further in.
    Inside,
}

fn u32_of(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Texts {
    /// Entries, with or without a text.
    pub(super) fn len(&self) -> usize {
        self.current.len()
    }

    /// Sets the text of `id`: ids below it without one read as empty. A text set again is
    /// written anew (the old bytes stay unused: entries are rarely replaced).
    pub(super) fn set(&mut self, id: u32, text: &str) {
        let at = id as usize;
        if self.current.len() <= at {
            self.current.resize(at + 1, (0, 0));
        }
        let start = u32_of(self.bytes.len());
        self.bytes.extend_from_slice(text.as_bytes());
        self.bytes.push(END);
        self.written.push((start, id));
        self.current[at] = (start, u32_of(text.len()));
    }

    /// The text of `id` (empty when it has none).
    #[cfg(test)]
    pub(super) fn get(&self, id: u32) -> &str {
        let (start, len) = self.current.get(id as usize).copied().unwrap_or_default();
        self.bytes
            .get(start as usize..(start + len) as usize)
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .unwrap_or_default()
    }

    /// Calls `each` with the id of every entry whose text holds `needle`, and where: once or
    /// more for each such entry, its first occurrence first.
    pub(super) fn find(&self, needle: &Finder<'_>, mut each: impl FnMut(u32, Found)) {
        let wanted = needle.needle().len();
        for at in needle.find_iter(&self.bytes) {
            let Some(piece) = self
                .written
                .partition_point(|(start, _)| *start as usize <= at)
                .checked_sub(1)
            else {
                continue;
            };
            let (start, id) = self.written[piece];
            let (now, len) = self.current[id as usize];
            let offset = at - start as usize;
            // A text since replaced, or a needle that runs past its text's end.
            if now != start || offset + wanted > len as usize {
                continue;
            }
            each(
                id,
                match offset {
                    0 if wanted == len as usize => Found::Exact,
                    0 => Found::Prefix,
                    _ => Found::Inside,
                },
            );
        }
    }

    /// Per entry, the bits of the `words` its text holds (bit `w` for `words[w]`), or-ed into
    /// `bits`, which grows to [`Texts::len`].
    pub(super) fn holders(&self, words: &[Finder<'_>], bits: &mut Vec<u64>) {
        if bits.len() < self.len() {
            bits.resize(self.len(), 0);
        }
        for (w, word) in words.iter().enumerate().take(64) {
            self.find(word, |id, _| bits[id as usize] |= 1 << w);
        }
    }

    /// Per entry, the best of `points` (exact, prefix, inside; 0 counts as no match) its text
    /// earns for holding `needle`, raised into `scores`, which grows to [`Texts::len`].
    pub(super) fn scores(&self, needle: &Finder<'_>, points: [u32; 3], scores: &mut Vec<u32>) {
        if scores.len() < self.len() {
            scores.resize(self.len(), 0);
        }
        let [exact, prefix, inside] = points;
        self.find(needle, |id, found| {
            let earned = match found {
                Found::Exact => exact,
                Found::Prefix => prefix,
                Found::Inside => inside,
            };
            let slot = &mut scores[id as usize];
            *slot = earned.max(*slot);
        });
    }

    /// Gives back what growing left unused.
    pub(super) fn trim(&mut self) {
        self.bytes.shrink_to_fit();
        self.written.shrink_to_fit();
        self.current.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(texts: &Texts, needle: &str) -> Vec<(u32, Found)> {
        let mut all = Vec::new();
        texts.find(&Finder::new(needle.as_bytes()), |id, at| all.push((id, at)));
        all
    }

    /// Each text is found where it is, never across two texts or in one since replaced;
    /// ids set out of order and gaps read back.
    #[test]
    fn texts_are_found_in_their_own_entry() {
        let mut texts = Texts::default();
        texts.set(0, "anna");
        texts.set(3, "hanna");
        texts.set(1, "ann");
        texts.set(2, "");
        assert_eq!(texts.len(), 4);
        assert_eq!(
            found(&texts, "ann"),
            [(0, Found::Prefix), (3, Found::Inside), (1, Found::Exact)]
        );
        assert!(found(&texts, "a\nh").is_empty(), "not across two texts");
        assert!(found(&texts, "annah").is_empty());
        texts.set(0, "bob");
        assert_eq!(texts.get(0), "bob");
        assert_eq!(texts.get(2), "");
        assert_eq!(texts.get(9), "");
        assert_eq!(
            found(&texts, "anna"),
            [(3, Found::Inside)],
            "not the old text"
        );
        let mut bits = Vec::new();
        let words = [Finder::new(b"ann"), Finder::new(b"h")];
        texts.holders(&words, &mut bits);
        assert_eq!(bits, [0, 0b01, 0, 0b11]);
        texts.trim();
        assert_eq!(texts.get(3), "hanna");
    }

    /// An entry keeps its best score: exact over prefix over inside, a zero never a match,
    /// and a score the caller had already is not lowered.
    #[test]
    fn scores_keep_each_entrys_best() {
        let mut texts = Texts::default();
        for (id, text) in ["ann", "anna", "hanna", "bob"].into_iter().enumerate() {
            texts.set(u32::try_from(id).unwrap(), text);
        }
        let mut scores = vec![0, 0, 0, 95];
        texts.scores(&Finder::new(b"ann"), [90, 70, 40], &mut scores);
        assert_eq!(scores, [90, 70, 40, 95]);
        let mut scores = Vec::new();
        texts.scores(&Finder::new(b"ann"), [85, 65, 0], &mut scores);
        assert_eq!(scores, [85, 65, 0, 0]);
    }
}
