//! argon2id password hashes (PHC strings), computed off the async threads.

use std::sync::OnceLock;

use argon2::{
    Argon2, PasswordHash, PasswordHasher as _, PasswordVerifier as _,
    password_hash::{SaltString, rand_core::OsRng},
};

/// Hashes a password with argon2id and a fresh random salt (the crate's OWASP defaults).
pub fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("hashing the password failed: {e}"))
}

/// Whether `password` matches the stored hash; a malformed hash never matches.
pub fn verify_blocking(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// [`hash_blocking`] on the blocking pool.
pub async fn hash(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash_blocking(&password)).await?
}

/// [`verify_blocking`] on the blocking pool. With no stored hash (unknown login) it verifies
/// against a dummy hash anyway, so response time does not reveal which logins exist.
pub async fn verify(password: String, hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || match hash {
        Some(hash) => verify_blocking(&password, &hash),
        None => {
            verify_blocking(&password, dummy_hash());
            false
        }
    })
    .await
    .unwrap_or(false)
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_blocking("brickdesk-timing-equaliser").unwrap_or_else(|_| String::from("$argon2id$"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_salted_argon2id_and_verify() {
        let a = hash_blocking("correct horse").expect("hash");
        let b = hash_blocking("correct horse").expect("hash");
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "salted");
        assert!(verify_blocking("correct horse", &a));
        assert!(!verify_blocking("wrong horse", &a));
        assert!(!verify_blocking("correct horse", "not a hash"));
    }

    #[tokio::test]
    async fn unknown_logins_never_verify() {
        assert!(!verify("anything".into(), None).await);
    }
}
