//! Marketplace secrets at rest: sealed with XChaCha20-Poly1305 under a 256-bit key kept in
//! `secret.key` in the data directory, created with mode 0600. Each sealed value is bound to its
//! owner (the associated data is its record key), so a value copied onto another record does
//! not open. A copied database without the key file reveals no keys.

use std::{io::Write as _, path::Path};

use chacha20poly1305::{
    KeyInit as _, XChaCha20Poly1305, XNonce,
    aead::{Aead as _, Payload},
};

use super::StoreError;

/// File name of the key in the data directory.
pub const KEY_FILE: &str = "secret.key";
const NONCE_LEN: usize = 24;

/// Seals and opens secrets; cheap to clone.
#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl Sealer {
    /// Reads the key file, creating it (0600, never overwritten) on first use.
    pub fn open_or_create(data_dir: &Path) -> Result<Self, StoreError> {
        let path = data_dir.join(KEY_FILE);
        let unreadable = |e: std::io::Error| {
            StoreError::Corrupt(format!(
                "the key file {} cannot be used: {e}",
                path.display()
            ))
        };
        let key = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = vec![0u8; 32];
                getrandom::fill(&mut key)
                    .map_err(|e| StoreError::Corrupt(format!("no randomness for a key: {e}")))?;
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options.open(&path).map_err(unreadable)?;
                file.write_all(&key).map_err(unreadable)?;
                file.sync_all().map_err(unreadable)?;
                key
            }
            Err(e) => return Err(unreadable(e)),
        };
        let cipher = XChaCha20Poly1305::new_from_slice(&key).map_err(|_| {
            StoreError::Corrupt(format!(
                "the key file {} is damaged (it must hold exactly 32 bytes)",
                path.display()
            ))
        })?;
        Ok(Self { cipher })
    }

    /// `nonce ‖ ciphertext` of `plain`, bound to `owner`.
    pub fn seal(&self, plain: &[u8], owner: &[u8]) -> Result<Vec<u8>, StoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce)
            .map_err(|e| StoreError::Corrupt(format!("no randomness for a nonce: {e}")))?;
        let sealed = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: owner,
                },
            )
            .map_err(|_| StoreError::Corrupt("cannot seal a secret".into()))?;
        Ok([nonce.as_slice(), &sealed].concat())
    }

    /// The plain bytes, or [`StoreError::SecretUnreadable`] when the key or owner differ.
    pub fn open(&self, sealed: &[u8], owner: &[u8]) -> Result<Vec<u8>, StoreError> {
        if sealed.len() < NONCE_LEN {
            return Err(StoreError::SecretUnreadable);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        self.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: owner,
                },
            )
            .map_err(|_| StoreError::SecretUnreadable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_opens_and_binds_to_the_owner() {
        let dir = tempfile::tempdir().expect("dir");
        let sealer = Sealer::open_or_create(dir.path()).expect("sealer");
        let sealed = sealer.seal(b"TOKENSECRET", b"owner-1").expect("sealed");
        assert!(!sealed.windows(11).any(|w| w == b"TOKENSECRET"));
        assert_eq!(
            sealer.open(&sealed, b"owner-1").expect("opens"),
            b"TOKENSECRET"
        );
        assert!(matches!(
            sealer.open(&sealed, b"owner-2"),
            Err(StoreError::SecretUnreadable)
        ));
        let again = Sealer::open_or_create(dir.path()).expect("same key");
        assert_eq!(
            again.open(&sealed, b"owner-1").expect("opens"),
            b"TOKENSECRET"
        );
        let other = tempfile::tempdir().expect("dir");
        let stranger = Sealer::open_or_create(other.path()).expect("other key");
        assert!(
            stranger.open(&sealed, b"owner-1").is_err(),
            "another key opens nothing"
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_key_file_is_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("dir");
        Sealer::open_or_create(dir.path()).expect("sealer");
        let mode = std::fs::metadata(dir.path().join(KEY_FILE))
            .expect("file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_damaged_key_file_is_refused_with_a_sentence() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(dir.path().join(KEY_FILE), b"short").expect("write");
        let err = Sealer::open_or_create(dir.path()).err().expect("refused");
        assert!(err.to_string().contains("exactly 32 bytes"), "{err}");
    }
}
