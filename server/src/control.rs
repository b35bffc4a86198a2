//! The local control channel: a running server owns its data directory exclusively (sled locks
//! it), so commands that must work while it runs (`brickdesk backup`) ask the server itself.
//! At start the server writes `control.json` into the data directory (mode 0600) with its
//! address and a fresh 256-bit token; only someone who can read the data directory can use it.
//! The file is removed at shutdown and replaced at every start.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The file's name in the data directory.
pub const FILE: &str = "control.json";
/// The request header carrying the token.
pub const HEADER: &str = "x-brickdesk-control";

/// What the file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Control {
    /// Base URL of the running server, e.g. `http://127.0.0.1:8080`.
    pub url: String,
    pub token: String,
}

/// A fresh token: 256 random bits in hex.
pub fn new_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Writes the control file of a server at `url` with `token`.
pub fn publish(data_dir: &Path, url: &str, token: &str) -> anyhow::Result<()> {
    let control = Control {
        url: url.to_owned(),
        token: token.to_owned(),
    };
    let path = data_dir.join(FILE);
    let partial = data_dir.join("control.json.partial");
    let file = create_private(&partial)?;
    serde_json::to_writer(&file, &control)?;
    file.sync_all()?;
    std::fs::rename(&partial, &path)?;
    Ok(())
}

/// Creates (or empties) a file only its owner may read or write.
pub fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    // Never reuse what is there (a leftover, or a link someone planted): remove it, then
    // create the file anew, exclusively, owner-only from its first byte.
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// The running server's control file, if there is one.
pub fn read(data_dir: &Path) -> Option<Control> {
    let bytes = std::fs::read(data_dir.join(FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Removes the control file (at shutdown).
pub fn remove(data_dir: &Path) {
    let _ = std::fs::remove_file(data_dir.join(FILE));
}

/// Whether `offered` is the token, compared in constant time.
pub fn allows(token: &str, offered: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    token.len() == offered.len() && bool::from(token.as_bytes().ct_eq(offered.as_bytes()))
}
