//! Per-account limits and circuit breakers, so no marketplace ever sees more than it allows.
//!
//! BrickLink: at most [`Limits::bricklink_in_flight`] calls at once and a daily budget, with a
//! reserve that only interactive work (webhook follow-ups, validation, clicks) may spend.
//! BrickOwl: a per-minute rate (governor's GCRA with a small burst, so no sliding minute
//! exceeds the allowance). Both: a breaker per account and marketplace that opens after
//! consecutive failures and lets one probe through when its wait is over. A refused call
//! comes back as [`Gated`] with the time worth trying again, so the queue parks the job
//! without spending an attempt. Calls per account per day are persisted and exported.

use std::{
    collections::HashMap,
    num::NonZeroU32,
    sync::{Arc, Mutex},
    time::Duration,
};

use app::{ApiUsage, BreakerState, Marketplace, UserId};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge},
    registry::Registry,
};
use time::{Date, OffsetDateTime};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The limits; [`Limits::default`] is what the marketplaces publish.
#[derive(Debug, Clone)]
pub struct Limits {
    pub bricklink_in_flight: usize,
    pub bricklink_daily: u32,
    /// Calls of the daily budget only interactive work may spend.
    pub bricklink_reserve: u32,
    pub brickowl_in_flight: usize,
    pub brickowl_per_minute: u32,
    /// Consecutive failures that open a breaker.
    pub breaker_failures: u32,
    /// First open period; doubles each time a probe fails, up to `breaker_max_open`.
    pub breaker_open: Duration,
    pub breaker_max_open: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            bricklink_in_flight: 4,
            bricklink_daily: 5_000,
            bricklink_reserve: 500,
            brickowl_in_flight: 8,
            brickowl_per_minute: 600,
            breaker_failures: 5,
            breaker_open: Duration::from_secs(30),
            breaker_max_open: Duration::from_secs(600),
        }
    }
}

/// Who is asking: background work leaves the budget's reserve alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// Webhook follow-ups, key checks, things a person is waiting for.
    Interactive,
    /// Imports, polling, prefetching.
    Background,
}

/// A call that may not happen now; try again at `until`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Gated {
    pub until: OffsetDateTime,
    pub reason: String,
}

/// The guard of every account; cheap to clone.
#[derive(Clone)]
pub struct Guard {
    inner: Arc<Inner>,
}

struct Inner {
    limits: Limits,
    accounts: Mutex<HashMap<(UserId, Marketplace), Arc<Account>>>,
    usage: Option<sled::Tree>,
    metrics: GuardMetrics,
}

struct Account {
    user: UserId,
    marketplace: Marketplace,
    in_flight: Arc<Semaphore>,
    rate: Option<DefaultDirectRateLimiter>,
    state: Mutex<AccountState>,
}

#[derive(Debug)]
struct AccountState {
    day: Date,
    calls: u32,
    failures: u32,
    breaker: Breaker,
    /// How many times in a row the breaker opened; sets the next open period.
    trips: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Breaker {
    Closed,
    Open { until: OffsetDateTime },
    HalfOpen { probing: bool },
}

/// Leave to make one call; say how it went with [`Permit::succeeded`] or [`Permit::failed`].
/// Dropped without either, the call counts as neither (for example a 404).
pub struct Permit {
    account: Arc<Account>,
    guard: Guard,
    probe: bool,
    _slot: OwnedSemaphorePermit,
}

/// One account's view of the guard, handed to its client.
#[derive(Clone)]
pub struct AccountGuard {
    account: Arc<Account>,
    guard: Guard,
}

impl Guard {
    /// A guard that persists daily call counts in `usage`.
    pub fn new(limits: Limits, usage: Option<sled::Tree>) -> Self {
        Self {
            inner: Arc::new(Inner {
                limits,
                accounts: Mutex::new(HashMap::new()),
                usage,
                metrics: GuardMetrics::default(),
            }),
        }
    }

    /// Opens the guard on the store's `api_usage` tree.
    pub fn open(db: &sled::Db, limits: Limits) -> Result<Self, sled::Error> {
        Ok(Self::new(limits, Some(db.open_tree("api_usage")?)))
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// The guard of one account.
    pub fn account(&self, user: UserId, marketplace: Marketplace) -> AccountGuard {
        let mut accounts = lock(&self.inner.accounts);
        let account = accounts
            .entry((user, marketplace))
            .or_insert_with(|| Arc::new(self.new_account(user, marketplace)))
            .clone();
        AccountGuard {
            account,
            guard: self.clone(),
        }
    }

    /// Today's usage and breaker of one account.
    pub fn usage(&self, user: UserId, marketplace: Marketplace) -> ApiUsage {
        self.account(user, marketplace)
            .usage(OffsetDateTime::now_utc())
    }

    /// Forgets an account's breaker (after its keys change).
    pub fn reset_breaker(&self, user: UserId, marketplace: Marketplace) {
        let account = self.account(user, marketplace);
        let mut state = lock(&account.account.state);
        state.breaker = Breaker::Closed;
        state.failures = 0;
        state.trips = 0;
        drop(state);
        self.inner
            .metrics
            .set_breaker(&account.account, Breaker::Closed);
    }

    /// Calls per account and breaker states in Prometheus text format.
    pub fn metrics_text(&self) -> String {
        self.inner.metrics.encode()
    }

    fn new_account(&self, user: UserId, marketplace: Marketplace) -> Account {
        let limits = &self.inner.limits;
        let (in_flight, rate) = match marketplace {
            Marketplace::BrickLink => (limits.bricklink_in_flight, None),
            Marketplace::BrickOwl => {
                let per_minute =
                    NonZeroU32::new(limits.brickowl_per_minute).unwrap_or(NonZeroU32::MIN);
                let burst =
                    NonZeroU32::new(limits.brickowl_per_minute / 60).unwrap_or(NonZeroU32::MIN);
                let quota = Quota::per_minute(per_minute).allow_burst(burst);
                (limits.brickowl_in_flight, Some(RateLimiter::direct(quota)))
            }
        };
        let today = OffsetDateTime::now_utc().date();
        let calls = self
            .inner
            .usage
            .as_ref()
            .and_then(|tree| tree.get(usage_key(user, marketplace, today)).ok().flatten())
            .and_then(|v| v.as_ref().try_into().ok().map(u32::from_be_bytes))
            .unwrap_or(0);
        Account {
            user,
            marketplace,
            in_flight: Arc::new(Semaphore::new(in_flight.max(1))),
            rate,
            state: Mutex::new(AccountState {
                day: today,
                calls,
                failures: 0,
                breaker: Breaker::Closed,
                trips: 0,
            }),
        }
    }
}

impl AccountGuard {
    /// Waits for a free slot (and, for BrickOwl, the rate) and counts the call; refuses at once
    /// while the breaker is open or the day's budget is spent.
    pub async fn acquire(&self, priority: Priority) -> Result<Permit, Gated> {
        let account = &self.account;
        // Held until the permit takes it over: a wait that ends any other way (a timeout
        // drops this future, the guard stops) gives the probe back at once.
        let probe = ProbeClaim {
            account: account.clone(),
            probe: self.admit(priority, OffsetDateTime::now_utc())?,
        };
        if let Some(rate) = &account.rate {
            rate.until_ready().await;
        }
        let slot = account
            .in_flight
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Gated {
                until: OffsetDateTime::now_utc() + Duration::from_secs(5),
                reason: "brickdesk is stopping".into(),
            })?;
        self.count_call(OffsetDateTime::now_utc());
        Ok(Permit {
            account: account.clone(),
            guard: self.guard.clone(),
            probe: probe.hand_over(),
            _slot: slot,
        })
    }

    /// Today's usage and breaker.
    pub fn usage(&self, now: OffsetDateTime) -> ApiUsage {
        let limits = &self.guard.inner.limits;
        let mut state = lock(&self.account.state);
        roll_day(&mut state, now.date());
        let (breaker, retry_at) = match state.breaker {
            Breaker::Closed => (BreakerState::Closed, None),
            Breaker::Open { until } if until > now => (BreakerState::Open, Some(until)),
            Breaker::Open { .. } | Breaker::HalfOpen { .. } => (BreakerState::HalfOpen, None),
        };
        let (daily_budget, per_minute) = match self.account.marketplace {
            Marketplace::BrickLink => (Some(limits.bricklink_daily), None),
            Marketplace::BrickOwl => (None, Some(limits.brickowl_per_minute)),
        };
        ApiUsage {
            calls_today: state.calls,
            daily_budget,
            per_minute,
            breaker,
            retry_at,
        }
    }

    /// Breaker and budget checks; true when this call is the half-open probe.
    fn admit(&self, priority: Priority, now: OffsetDateTime) -> Result<bool, Gated> {
        let limits = &self.guard.inner.limits;
        let marketplace = self.account.marketplace;
        let mut state = lock(&self.account.state);
        roll_day(&mut state, now.date());
        let probe = match state.breaker {
            Breaker::Closed => false,
            Breaker::Open { until } if until > now => {
                return Err(Gated {
                    until,
                    reason: format!(
                        "{marketplace} failed several times in a row; brickdesk waits before \
                         trying again"
                    ),
                });
            }
            Breaker::Open { .. } | Breaker::HalfOpen { probing: false } => {
                state.breaker = Breaker::HalfOpen { probing: true };
                true
            }
            Breaker::HalfOpen { probing: true } => {
                return Err(Gated {
                    until: now + Duration::from_secs(2),
                    reason: format!("waiting to see whether {marketplace} has recovered"),
                });
            }
        };
        if marketplace == Marketplace::BrickLink {
            let allowed = match priority {
                Priority::Interactive => limits.bricklink_daily,
                Priority::Background => limits
                    .bricklink_daily
                    .saturating_sub(limits.bricklink_reserve),
            };
            if state.calls >= allowed {
                if probe {
                    state.breaker = Breaker::HalfOpen { probing: false };
                }
                let tomorrow = now
                    .date()
                    .next_day()
                    .unwrap_or(now.date())
                    .midnight()
                    .assume_utc();
                return Err(Gated {
                    until: tomorrow,
                    reason: format!(
                        "today's BrickLink allowance of {} calls is used up; brickdesk goes on \
                         after midnight UTC",
                        allowed
                    ),
                });
            }
        }
        Ok(probe)
    }

    fn count_call(&self, now: OffsetDateTime) {
        let account = &self.account;
        let calls = {
            let mut state = lock(&account.state);
            roll_day(&mut state, now.date());
            state.calls += 1;
            state.calls
        };
        if let Some(tree) = &self.guard.inner.usage {
            let key = usage_key(account.user, account.marketplace, now.date());
            if let Err(err) = tree.insert(key, &calls.to_be_bytes()) {
                tracing::warn!(%err, "cannot record the API call count");
            }
        }
        self.guard
            .inner
            .metrics
            .calls
            .get_or_create(&label(account))
            .inc();
    }
}

impl Permit {
    /// The call worked: the breaker closes.
    pub fn succeeded(self) {
        let mut state = lock(&self.account.state);
        state.failures = 0;
        state.trips = 0;
        state.breaker = Breaker::Closed;
        drop(state);
        self.guard
            .inner
            .metrics
            .set_breaker(&self.account, Breaker::Closed);
    }

    /// The marketplace failed (down, overloaded, timed out): the breaker may open.
    pub fn failed(self) {
        let limits = &self.guard.inner.limits;
        let now = OffsetDateTime::now_utc();
        let mut state = lock(&self.account.state);
        state.failures += 1;
        let trip = self.probe || state.failures >= limits.breaker_failures;
        if trip {
            let factor = 1u32.checked_shl(state.trips.min(16)).unwrap_or(u32::MAX);
            let wait = limits
                .breaker_open
                .saturating_mul(factor)
                .min(limits.breaker_max_open);
            state.trips += 1;
            state.failures = 0;
            state.breaker = Breaker::Open { until: now + wait };
            tracing::warn!(
                user = %self.account.user,
                marketplace = %self.account.marketplace,
                wait_s = wait.as_secs(),
                "circuit breaker open"
            );
        }
        let breaker = state.breaker;
        drop(state);
        self.guard.inner.metrics.set_breaker(&self.account, breaker);
    }
}

impl Permit {
    /// Tells the breaker how a call went: outages count against it, success closes it, and a
    /// refusal (bad keys, not found) is neither.
    pub fn settle<T>(self, marketplace: Marketplace, outcome: &Result<T, super::MarketplaceError>) {
        match outcome {
            Ok(_) => self.succeeded(),
            Err(err) if err.is_outage() => {
                tracing::warn!(%err, %marketplace, "marketplace call failed");
                self.failed();
            }
            Err(err) => tracing::info!(%err, %marketplace, "marketplace refused the call"),
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        // A probe that ended neither way (a 404, say) lets the next call probe.
        if self.probe {
            release_probe(&self.account);
        }
    }
}

/// The half-open probe a call was admitted as, while it waits for its slot.
struct ProbeClaim {
    account: Arc<Account>,
    probe: bool,
}

impl ProbeClaim {
    /// The permit takes the probe over.
    fn hand_over(mut self) -> bool {
        std::mem::take(&mut self.probe)
    }
}

impl Drop for ProbeClaim {
    fn drop(&mut self) {
        if self.probe {
            release_probe(&self.account);
        }
    }
}

/// Lets the next call probe, unless the probe settled the breaker meanwhile.
fn release_probe(account: &Account) {
    let mut state = lock(&account.state);
    if state.breaker == (Breaker::HalfOpen { probing: true }) {
        state.breaker = Breaker::HalfOpen { probing: false };
    }
}

fn roll_day(state: &mut AccountState, today: Date) {
    if state.day != today {
        state.day = today;
        state.calls = 0;
    }
}

fn usage_key(user: UserId, marketplace: Marketplace, day: Date) -> Vec<u8> {
    let mut key = user.0.to_be_bytes().to_vec();
    key.push(marketplace.tag());
    key.extend_from_slice(&day.to_julian_day().to_be_bytes());
    key
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AccountLabel {
    user: String,
    marketplace: String,
}

fn label(account: &Account) -> AccountLabel {
    AccountLabel {
        user: account.user.to_string(),
        marketplace: account.marketplace.as_str().to_owned(),
    }
}

struct GuardMetrics {
    registry: Mutex<Registry>,
    calls: Family<AccountLabel, Counter>,
    breaker_open: Family<AccountLabel, Gauge>,
}

impl Default for GuardMetrics {
    fn default() -> Self {
        let metrics = Self {
            registry: Mutex::new(Registry::with_prefix("brickdesk_marketplace")),
            calls: Family::default(),
            breaker_open: Family::default(),
        };
        {
            let mut registry = lock(&metrics.registry);
            registry.register(
                "calls",
                "Marketplace API calls made, per user and marketplace",
                metrics.calls.clone(),
            );
            registry.register(
                "breaker_open",
                "1 while the account's circuit breaker holds calls back",
                metrics.breaker_open.clone(),
            );
        }
        metrics
    }
}

impl GuardMetrics {
    fn set_breaker(&self, account: &Account, breaker: Breaker) {
        let open = i64::from(!matches!(breaker, Breaker::Closed));
        self.breaker_open.get_or_create(&label(account)).set(open);
    }

    fn encode(&self) -> String {
        let mut text = String::new();
        if let Err(err) =
            prometheus_client::encoding::text::encode(&mut text, &lock(&self.registry))
        {
            tracing::error!(%err, "cannot encode marketplace metrics");
        }
        text
    }
}

#[cfg(test)]
#[path = "guard_tests.rs"]
mod tests;
