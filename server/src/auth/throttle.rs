//! Login throttling per login name and per client address (GCRA via governor). Every attempt
//! spends one cell; an exhausted bucket answers 429 with the wait until the next attempt.

use std::{net::IpAddr, num::NonZeroU32, sync::Arc, time::Duration};

use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock as _, DefaultClock},
};

/// Attempts a login name gets in a burst, then one more per `LOGIN_REFILL`.
const LOGIN_BURST: u32 = 5;
const LOGIN_REFILL: Duration = Duration::from_secs(12);
/// Attempts one address gets in a burst, then one more per `ADDR_REFILL`.
const ADDR_BURST: u32 = 20;
const ADDR_REFILL: Duration = Duration::from_secs(3);
/// Above this many tracked keys, forget the ones whose buckets are full again.
const MAX_TRACKED: usize = 10_000;

/// The two keyed limiters; cheap to clone.
#[derive(Clone)]
pub struct LoginThrottle {
    by_login: Arc<DefaultKeyedRateLimiter<String>>,
    by_addr: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self {
            by_login: Arc::new(RateLimiter::keyed(quota(LOGIN_BURST, LOGIN_REFILL))),
            by_addr: Arc::new(RateLimiter::keyed(quota(ADDR_BURST, ADDR_REFILL))),
        }
    }
}

fn quota(burst: u32, refill: Duration) -> Quota {
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(refill)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst)
}

impl LoginThrottle {
    /// Spends one attempt for `login` (case-folded) and `addr`; `Err(wait)` when either is
    /// exhausted.
    pub fn check(&self, login: &str, addr: IpAddr) -> Result<(), Duration> {
        self.forget_idle();
        let now = DefaultClock::default().now();
        self.by_addr
            .check_key(&addr)
            .map_err(|not_until| not_until.wait_time_from(now))?;
        self.by_login
            .check_key(&login.trim().to_lowercase())
            .map_err(|not_until| not_until.wait_time_from(now))
    }

    fn forget_idle(&self) {
        if self.by_login.len() > MAX_TRACKED {
            self.by_login.retain_recent();
        }
        if self.by_addr.len() > MAX_TRACKED {
            self.by_addr.retain_recent();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_is_throttled_after_its_burst_whatever_its_case() {
        let throttle = LoginThrottle::default();
        let addr: IpAddr = "127.0.0.1".parse().expect("ip");
        for _ in 0..LOGIN_BURST {
            assert!(throttle.check("Ann", addr).is_ok());
        }
        let wait = throttle.check("ANN", addr).expect_err("throttled");
        assert!(wait > Duration::ZERO && wait <= LOGIN_REFILL);
        assert!(
            throttle.check("bob", addr).is_ok(),
            "other logins are unaffected"
        );
    }

    #[test]
    fn an_address_is_throttled_across_logins() {
        let throttle = LoginThrottle::default();
        let addr: IpAddr = "10.0.0.9".parse().expect("ip");
        for i in 0..ADDR_BURST {
            assert!(throttle.check(&format!("user{i}"), addr).is_ok());
        }
        assert!(throttle.check("fresh", addr).is_err());
        assert!(
            throttle
                .check("fresh", "10.0.0.10".parse().expect("ip"))
                .is_ok()
        );
    }
}
