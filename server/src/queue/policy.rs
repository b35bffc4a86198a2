//! Per-kind retry policy: attempts, time limit, and exponential backoff with full jitter; and
//! the three ways a handler can fail.

use std::time::Duration;

use time::OffsetDateTime;

/// How a kind of job is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Runs before the job is dead.
    pub max_attempts: u32,
    /// Limit of one run.
    pub timeout: Duration,
    /// First backoff ceiling; doubles each attempt.
    pub base: Duration,
    /// Largest backoff ceiling.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            timeout: Duration::from_secs(120),
            base: Duration::from_secs(2),
            cap: Duration::from_secs(30 * 60),
        }
    }
}

impl RetryPolicy {
    /// The ceiling of the wait after failed attempt `attempt` (1-based): `min(cap, base·2ⁿ⁻¹)`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1).min(31))
            .unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// A wait drawn uniformly from `[0, ceiling]` ("full jitter"), so retries of many failed
    /// jobs spread out instead of arriving together.
    pub fn backoff(&self, attempt: u32, random: u64) -> Duration {
        let ceiling = self.ceiling(attempt).as_millis().min(u128::from(u64::MAX)) as u64;
        Duration::from_millis(random % (ceiling + 1))
    }
}

/// Why a run did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// Worth another attempt after a backoff.
    #[error("{0}")]
    Retryable(String),
    /// Will never work (bad input, bad credentials): dead at once, no retry storm.
    #[error("{0}")]
    Permanent(String),
    /// Not now, and not the job's fault (an open circuit breaker, a `Retry-After`): run again
    /// at `until` without spending an attempt.
    #[error("{reason}")]
    Park {
        until: OffsetDateTime,
        reason: String,
    },
}

impl JobError {
    /// A retryable error from anything displayable.
    pub fn retryable(err: impl std::fmt::Display) -> Self {
        Self::Retryable(err.to_string())
    }

    /// A permanent error from anything displayable.
    pub fn permanent(err: impl std::fmt::Display) -> Self {
        Self::Permanent(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_double_up_to_the_cap() {
        let policy = RetryPolicy {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(10),
            ..RetryPolicy::default()
        };
        let ceilings: Vec<u64> = (1..=6).map(|n| policy.ceiling(n).as_secs()).collect();
        assert_eq!(ceilings, [1, 2, 4, 8, 10, 10]);
        assert_eq!(policy.ceiling(500), Duration::from_secs(10), "no overflow");
    }

    #[test]
    fn backoff_stays_within_zero_and_the_ceiling() {
        let policy = RetryPolicy::default();
        for attempt in 1..40 {
            for random in [0, 1, 12_345, u64::MAX / 3, u64::MAX] {
                let wait = policy.backoff(attempt, random);
                assert!(
                    wait <= policy.ceiling(attempt),
                    "attempt {attempt}: {wait:?}"
                );
            }
        }
        assert_eq!(policy.backoff(1, 0), Duration::ZERO);
    }
}
