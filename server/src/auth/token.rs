//! Random tokens: 256-bit session tokens (stored only as SHA-256) and CSRF tokens.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest as _, Sha256};

use crate::store::sessions::TokenHash;

/// `bytes` random bytes from the OS, URL-safe base64 encoded.
pub fn random(bytes: usize) -> anyhow::Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| anyhow::anyhow!("the OS random source failed: {e}"))?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

/// A new 256-bit session token.
pub fn session_token() -> anyhow::Result<String> {
    random(32)
}

/// What the store keeps of a session token.
pub fn hash(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_and_distinct() {
        let a = session_token().expect("token");
        let b = session_token().expect("token");
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).expect("base64").len(), 32);
        assert_ne!(a, b);
        assert_eq!(hash(&a), hash(&a));
        assert_ne!(hash(&a), hash(&b));
    }
}
