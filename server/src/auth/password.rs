//! argon2id password hashes (PHC strings), computed off the async threads. Checks run on a
//! bounded pool: about one per core at a time, a few more waiting, and beyond that the answer is
//! [`Busy`] at once, so a flood of logins cannot queue hundreds of 19 MiB hashes.

use std::sync::{LazyLock, OnceLock};

use tokio::sync::Semaphore;

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

/// Every password check waits here.
static CHECKS: LazyLock<Pool> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    Pool::new(cores, cores * 4)
});

/// Too many password checks are running and waiting: answer "busy" instead of queueing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// A bounded pool: `running` checks at once, `waiting` more may wait for one of them.
pub struct Pool {
    running: Semaphore,
    admitted: Semaphore,
}

impl Pool {
    /// A pool of `running` slots with room for `waiting` callers besides.
    pub fn new(running: usize, waiting: usize) -> Self {
        Self {
            running: Semaphore::new(running.max(1)),
            admitted: Semaphore::new(running.max(1) + waiting),
        }
    }

    /// Runs `work` on the blocking pool once a slot is free; [`Busy`] at once when too many
    /// callers already wait.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Busy> {
        let _admitted = self.admitted.try_acquire().map_err(|_| Busy)?;
        let _running = self.running.acquire().await.map_err(|_| Busy)?;
        tokio::task::spawn_blocking(work).await.map_err(|_| Busy)
    }
}

/// [`verify_blocking`] on the bounded pool. With no stored hash (unknown login) it verifies
/// against a dummy hash anyway, so response time does not reveal which logins exist.
pub async fn verify(password: String, hash: Option<String>) -> Result<bool, Busy> {
    CHECKS
        .run(move || match hash {
            Some(hash) => verify_blocking(&password, &hash),
            None => {
                verify_blocking(&password, dummy_hash());
                false
            }
        })
        .await
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
        assert_eq!(verify("anything".into(), None).await, Ok(false));
    }

    #[tokio::test]
    async fn beyond_the_running_and_waiting_checks_the_answer_is_busy_at_once() {
        let pool = std::sync::Arc::new(Pool::new(1, 1));
        let gate = std::sync::Arc::new(std::sync::Barrier::new(2));
        let held = gate.clone();
        let first = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(move || held.wait()).await }
        });
        // The first check runs (and blocks on the gate); a second may wait; a third may not.
        while pool.running.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let second = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run(|| 2).await }
        });
        while pool.admitted.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(pool.run(|| 3).await, Err(Busy));
        gate.wait();
        assert!(first.await.expect("joins").is_ok());
        assert_eq!(second.await.expect("joins"), Ok(2));
    }
}
