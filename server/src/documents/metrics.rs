//! Helvetica's advance widths (Adobe's AFM for the standard font, in thousandths of the font
//! size) for measuring text before it is placed: right-aligned numbers and cut-off cells.

/// Widths of the printable ASCII characters, space (32) to tilde (126).
const ASCII: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278,
    278, // space to /
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, // 0 to 9
    278, 278, 584, 584, 584, 556, 1015, // : to @
    667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, // A to M
    722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, // N to Z
    278, 278, 278, 469, 556, 333, // [ to `
    556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, // a to m
    556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, // n to z
    334, 260, 334, 584, // { to ~
];

/// How wide `bytes` (WinAnsi) set in Helvetica at `size` points are; bold runs about 6 %
/// wider.
pub fn width(bytes: &[u8], size: f32, bold: bool) -> f32 {
    let units: u32 = bytes
        .iter()
        .map(|b| match b {
            32..=126 => u32::from(ASCII[usize::from(b - 32)]),
            // Accented letters and the rest of Latin-1 are about as wide as a digit.
            _ => 556,
        })
        .sum();
    let scale = if bold { 1.06 } else { 1.0 };
    units as f32 / 1000.0 * size * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_follow_the_font() {
        assert!((width(b"0", 10.0, false) - 5.56).abs() < 1e-4);
        assert!(width(b"WWW", 10.0, false) > width(b"iii", 10.0, false) * 3.0);
        assert!(width(b"A", 10.0, true) > width(b"A", 10.0, false));
    }
}
