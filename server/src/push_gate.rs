//! How fast marketplace pushes are taken, per connection (GCRA via governor): a burst, then
//! one per refill period. A leaked webhook address or a flood on BrickOwl's token-less port can
//! then neither fill the job queue and the activity log nor spend the day's BrickLink calls.
//! A push beyond the bucket is not lost work: the handler schedules one coalesced catch-up for
//! that connection at the time the bucket has room again, merged with any already waiting.

use std::{num::NonZeroU32, sync::Arc, time::Duration};

use app::{Marketplace, UserId};
use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock as _, DefaultClock},
};

/// BrickLink pushes taken at once, then one per [`BRICKLINK_REFILL`]: each taken push costs a
/// notifications read, and the day has 5,000 calls for everything.
const BRICKLINK_BURST: u32 = 10;
const BRICKLINK_REFILL: Duration = Duration::from_secs(120);
/// BrickOwl notifies taken at once, then one per [`BRICKOWL_REFILL`]: each names one order.
const BRICKOWL_BURST: u32 = 30;
const BRICKOWL_REFILL: Duration = Duration::from_secs(20);

/// Whether a push is taken now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Taken: act on it as it says.
    Now,
    /// Over the connection's rate: catch up (coalesced) once this much time has passed.
    Later(Duration),
}

/// The per-connection buckets; cheap to clone.
#[derive(Clone)]
pub struct PushGate {
    bricklink: Arc<DefaultKeyedRateLimiter<UserId>>,
    brickowl: Arc<DefaultKeyedRateLimiter<UserId>>,
}

impl Default for PushGate {
    fn default() -> Self {
        Self {
            bricklink: Arc::new(RateLimiter::keyed(quota(BRICKLINK_BURST, BRICKLINK_REFILL))),
            brickowl: Arc::new(RateLimiter::keyed(quota(BRICKOWL_BURST, BRICKOWL_REFILL))),
        }
    }
}

impl PushGate {
    /// Spends one push of `user`'s `marketplace` connection, if its bucket has one.
    pub fn admit(&self, user: UserId, marketplace: Marketplace) -> Admission {
        let limiter = match marketplace {
            Marketplace::BrickLink => &self.bricklink,
            Marketplace::BrickOwl => &self.brickowl,
        };
        match limiter.check_key(&user) {
            Ok(()) => Admission::Now,
            Err(not_until) => {
                Admission::Later(not_until.wait_time_from(DefaultClock::default().now()))
            }
        }
    }
}

fn quota(burst: u32, refill: Duration) -> Quota {
    Quota::with_period(refill)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_gets_its_burst_then_waits_and_others_are_untouched() {
        let gate = PushGate::default();
        let (flooded, other) = (UserId(1), UserId(2));
        for _ in 0..BRICKOWL_BURST {
            assert_eq!(gate.admit(flooded, Marketplace::BrickOwl), Admission::Now);
        }
        let Admission::Later(wait) = gate.admit(flooded, Marketplace::BrickOwl) else {
            panic!("the burst is spent");
        };
        assert!(wait <= BRICKOWL_REFILL);
        assert_eq!(gate.admit(flooded, Marketplace::BrickLink), Admission::Now);
        assert_eq!(gate.admit(other, Marketplace::BrickOwl), Admission::Now);
    }
}
