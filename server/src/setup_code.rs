//! The one-time setup code: until the first account exists, `POST /api/setup` from anywhere
//! but the server itself wants this code, so the first stranger to find a fresh server cannot
//! make themselves its administrator. It is printed in the log at start, kept in
//! `DATA_DIR/setup-code` (owner-only) for `brickdesk setup-code`, and removed once setup is done.

use std::path::{Path, PathBuf};

use subtle::ConstantTimeEq as _;

/// The file beside the store.
pub const FILE: &str = "setup-code";

/// Letters that cannot be mistaken for one another.
const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE)
}

/// A fresh code, `XXXX-XXXX`, written owner-only into the data directory.
pub fn create(data_dir: &Path) -> anyhow::Result<String> {
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let letters: String = random
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect();
    let code = format!("{}-{}", &letters[..4], &letters[4..]);
    let mut file = crate::control::create_private(&path(data_dir))?;
    std::io::Write::write_all(&mut file, code.as_bytes())?;
    Ok(code)
}

/// The code of a server that is not set up yet.
pub fn read(data_dir: &Path) -> Option<String> {
    std::fs::read_to_string(path(data_dir))
        .ok()
        .map(|c| c.trim().to_owned())
}

/// Forgets the code once setup is done.
pub fn remove(data_dir: &Path) {
    let _ = std::fs::remove_file(path(data_dir));
}

/// Whether `given` is the code (compared in constant time, letter case and spaces ignored).
pub fn matches(code: &str, given: &str) -> bool {
    let given: String = given
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    bool::from(given.as_bytes().ct_eq(code.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_kept_owner_only_and_matches_loosely_typed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let code = create(dir.path()).expect("code");
        assert_eq!(code.len(), 9);
        assert_eq!(read(dir.path()).as_deref(), Some(code.as_str()));
        assert!(matches(&code, &format!(" {} ", code.to_lowercase())));
        assert!(!matches(&code, "AAAA-AAAA"));
        remove(dir.path());
        assert_eq!(read(dir.path()), None);
    }
}
