//! Login throttling (GCRA via governor), in three buckets:
//!
//! - per (login, address): a few tries, then one every [`PAIR_REFILL`];
//! - per address: more tries across logins, then one every [`ADDR_REFILL`];
//! - per login, a higher ceiling spent only by addresses that already failed on that login.
//!
//! So one wrong password every few seconds from anywhere never keeps the owner out: from an
//! address that has not failed on their login, the owner's attempt meets fresh buckets and is
//! checked whatever others did. Every attempt spends its pair and address cells; an exhausted
//! bucket answers 429 with the wait until the next attempt.

use std::{
    collections::HashMap,
    net::IpAddr,
    num::NonZeroU32,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock as _, DefaultClock},
};

/// Attempts one login gets from one address in a burst, then one more per `PAIR_REFILL`.
const PAIR_BURST: u32 = 5;
const PAIR_REFILL: Duration = Duration::from_secs(12);
/// Attempts one address gets in a burst, then one more per `ADDR_REFILL`.
const ADDR_BURST: u32 = 20;
const ADDR_REFILL: Duration = Duration::from_secs(3);
/// Attempts a login gets from addresses that already failed on it, then one per `LOGIN_REFILL`.
const LOGIN_BURST: u32 = 50;
const LOGIN_REFILL: Duration = Duration::from_secs(5);
/// How long a failure marks its (login, address).
const FAILURE_MEMORY: Duration = Duration::from_secs(3600);
/// Above this many tracked keys, forget the ones whose buckets are full again.
const MAX_TRACKED: usize = 10_000;

type Pair = (String, IpAddr);

/// The limiters; cheap to clone.
#[derive(Clone)]
pub struct LoginThrottle {
    by_pair: Arc<DefaultKeyedRateLimiter<Pair>>,
    by_addr: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    by_login: Arc<DefaultKeyedRateLimiter<String>>,
    failed: Arc<Mutex<HashMap<Pair, Instant>>>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self {
            by_pair: Arc::new(RateLimiter::keyed(quota(PAIR_BURST, PAIR_REFILL))),
            by_addr: Arc::new(RateLimiter::keyed(quota(ADDR_BURST, ADDR_REFILL))),
            by_login: Arc::new(RateLimiter::keyed(quota(LOGIN_BURST, LOGIN_REFILL))),
            failed: Arc::default(),
        }
    }
}

fn quota(burst: u32, refill: Duration) -> Quota {
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(refill)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst)
}

fn pair(login: &str, addr: IpAddr) -> Pair {
    (login.trim().to_lowercase(), addr)
}

impl LoginThrottle {
    /// Spends one attempt of `login` (case-folded) from `addr`; `Err(wait)` when a bucket is
    /// exhausted.
    pub fn check(&self, login: &str, addr: IpAddr) -> Result<(), Duration> {
        self.forget_idle();
        let now = DefaultClock::default().now();
        let key = pair(login, addr);
        let wait = |not_until: governor::NotUntil<_>| not_until.wait_time_from(now);
        self.by_addr.check_key(&addr).map_err(wait)?;
        self.by_pair.check_key(&key).map_err(wait)?;
        if self.has_failed(&key) {
            self.by_login.check_key(&key.0).map_err(wait)?;
        }
        Ok(())
    }

    /// Notes a wrong password of `login` from `addr`.
    pub fn failed(&self, login: &str, addr: IpAddr) {
        self.failures().insert(pair(login, addr), Instant::now());
    }

    /// Notes a right password of `login` from `addr`.
    pub fn succeeded(&self, login: &str, addr: IpAddr) {
        self.failures().remove(&pair(login, addr));
    }

    fn has_failed(&self, key: &Pair) -> bool {
        self.failures()
            .get(key)
            .is_some_and(|at| at.elapsed() < FAILURE_MEMORY)
    }

    fn failures(&self) -> std::sync::MutexGuard<'_, HashMap<Pair, Instant>> {
        self.failed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn forget_idle(&self) {
        if self.by_pair.len() > MAX_TRACKED {
            self.by_pair.retain_recent();
        }
        if self.by_addr.len() > MAX_TRACKED {
            self.by_addr.retain_recent();
        }
        if self.by_login.len() > MAX_TRACKED {
            self.by_login.retain_recent();
        }
        let mut failed = self.failures();
        if failed.len() > MAX_TRACKED {
            failed.retain(|_, at| at.elapsed() < FAILURE_MEMORY);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    #[test]
    fn a_login_from_one_address_is_throttled_after_its_burst_whatever_its_case() {
        let throttle = LoginThrottle::default();
        let addr = ip("127.0.0.1");
        for _ in 0..PAIR_BURST {
            assert!(throttle.check("Ann", addr).is_ok());
        }
        let wait = throttle.check("ANN", addr).expect_err("throttled");
        assert!(wait > Duration::ZERO && wait <= PAIR_REFILL);
        assert!(
            throttle.check("bob", addr).is_ok(),
            "other logins are unaffected"
        );
    }

    #[test]
    fn an_address_is_throttled_across_logins() {
        let throttle = LoginThrottle::default();
        let addr = ip("10.0.0.9");
        for i in 0..ADDR_BURST {
            assert!(throttle.check(&format!("user{i}"), addr).is_ok());
        }
        assert!(throttle.check("fresh", addr).is_err());
        assert!(throttle.check("fresh", ip("10.0.0.10")).is_ok());
    }

    #[test]
    fn failures_from_many_addresses_never_throttle_the_owner_from_a_fresh_one() {
        let throttle = LoginThrottle::default();
        let addresses: Vec<IpAddr> = (0..60u8).map(|n| IpAddr::from([198, 51, 100, n])).collect();
        for addr in &addresses {
            assert!(throttle.check("owner", *addr).is_ok(), "a first try");
            throttle.failed("owner", *addr);
        }
        // Addresses that already failed share the login's ceiling.
        let again = addresses
            .iter()
            .filter(|addr| throttle.check("owner", **addr).is_ok())
            .count();
        assert_eq!(again, LOGIN_BURST as usize);
        assert!(
            throttle.check("owner", ip("192.0.2.1")).is_ok(),
            "a fresh address"
        );
        throttle.succeeded("owner", ip("192.0.2.1"));
    }
}
