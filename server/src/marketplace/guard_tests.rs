use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

const USER: UserId = UserId(7);

/// Three calls fail in a row: with [`small`] limits the breaker opens.
async fn trip(account: &AccountGuard, priority: Priority) {
    for _ in 0..3 {
        account.acquire(priority).await.expect("closed").failed();
    }
}

/// The breaker's open period is over: the next call may probe.
fn open_period_over(account: &AccountGuard) {
    lock(&account.account.state).breaker = Breaker::Open {
        until: OffsetDateTime::now_utc() - Duration::from_secs(1),
    };
}

fn small() -> Limits {
    Limits {
        bricklink_daily: 10,
        bricklink_reserve: 3,
        breaker_failures: 3,
        breaker_open: Duration::from_secs(60),
        ..Limits::default()
    }
}

#[tokio::test]
async fn bricklink_never_has_more_than_four_calls_in_flight() {
    let guard = Guard::new(Limits::default(), None);
    let account = guard.account(USER, Marketplace::BrickLink);
    let now = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    let calls = (0..50).map(|_| {
        let (account, now, max) = (account.clone(), now.clone(), max.clone());
        tokio::spawn(async move {
            let permit = account
                .acquire(Priority::Background)
                .await
                .expect("admitted");
            let running = now.fetch_add(1, Ordering::SeqCst) + 1;
            max.fetch_max(running, Ordering::SeqCst);
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(2)).await;
            now.fetch_sub(1, Ordering::SeqCst);
            permit.succeeded();
        })
    });
    for call in calls.collect::<Vec<_>>() {
        call.await.expect("task");
    }
    assert_eq!(max.load(Ordering::SeqCst), 4);
    assert_eq!(account.usage(OffsetDateTime::now_utc()).calls_today, 50);
}

#[tokio::test]
async fn background_work_leaves_the_reserve_to_interactive_work() {
    let guard = Guard::new(small(), None);
    let account = guard.account(USER, Marketplace::BrickLink);
    for _ in 0..7 {
        account
            .acquire(Priority::Background)
            .await
            .expect("within budget")
            .succeeded();
    }
    let gated = account
        .acquire(Priority::Background)
        .await
        .err()
        .expect("reserve kept");
    assert!(gated.until > OffsetDateTime::now_utc());
    assert_eq!(
        gated.until.time(),
        time::Time::MIDNIGHT,
        "waits for the next day"
    );
    for _ in 0..3 {
        account
            .acquire(Priority::Interactive)
            .await
            .expect("reserve")
            .succeeded();
    }
    assert!(
        account.acquire(Priority::Interactive).await.is_err(),
        "budget spent"
    );
    assert_eq!(guard.usage(USER, Marketplace::BrickLink).calls_today, 10);
}

#[tokio::test]
async fn consecutive_failures_open_the_breaker_and_one_probe_closes_it() {
    let guard = Guard::new(small(), None);
    let account = guard.account(USER, Marketplace::BrickOwl);
    trip(&account, Priority::Background).await;
    let gated = account
        .acquire(Priority::Background)
        .await
        .err()
        .expect("open");
    assert!(gated.reason.contains("BrickOwl"), "{}", gated.reason);
    assert_eq!(
        guard.usage(USER, Marketplace::BrickOwl).breaker,
        BreakerState::Open
    );

    // Time passes: pretend the open period is over.
    open_period_over(&account);
    let probe = account.acquire(Priority::Background).await.expect("probe");
    assert!(
        account.acquire(Priority::Background).await.is_err(),
        "only one probe at a time"
    );
    probe.succeeded();
    account
        .acquire(Priority::Background)
        .await
        .expect("closed again")
        .succeeded();
    assert_eq!(
        guard.usage(USER, Marketplace::BrickOwl).breaker,
        BreakerState::Closed
    );
}

#[tokio::test]
async fn a_failed_probe_opens_the_breaker_for_longer() {
    let guard = Guard::new(small(), None);
    let account = guard.account(USER, Marketplace::BrickLink);
    trip(&account, Priority::Interactive).await;
    let first = account
        .acquire(Priority::Interactive)
        .await
        .err()
        .expect("open")
        .until;
    open_period_over(&account);
    account
        .acquire(Priority::Interactive)
        .await
        .expect("probe")
        .failed();
    let second = account
        .acquire(Priority::Interactive)
        .await
        .err()
        .expect("open")
        .until;
    assert!(
        second - first > time::Duration::seconds(50),
        "{first} then {second}"
    );
}

#[tokio::test]
async fn calls_are_counted_per_account_and_survive_a_new_guard() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = sled::open(dir.path()).expect("db");
    let guard = Guard::open(&db, Limits::default()).expect("guard");
    for _ in 0..3 {
        guard
            .account(USER, Marketplace::BrickLink)
            .acquire(Priority::Background)
            .await
            .expect("admitted")
            .succeeded();
    }
    guard
        .account(UserId(8), Marketplace::BrickLink)
        .acquire(Priority::Background)
        .await
        .expect("admitted")
        .succeeded();
    let again = Guard::open(&db, Limits::default()).expect("guard");
    assert_eq!(again.usage(USER, Marketplace::BrickLink).calls_today, 3);
    assert_eq!(
        again.usage(UserId(8), Marketplace::BrickLink).calls_today,
        1
    );
    assert_eq!(again.usage(USER, Marketplace::BrickOwl).calls_today, 0);
    let text = guard.metrics_text();
    assert!(
        text.contains(r#"brickdesk_marketplace_calls_total{user="7",marketplace="bricklink"} 3"#),
        "{text}"
    );
}

#[tokio::test]
async fn a_probe_whose_wait_is_abandoned_lets_the_next_call_probe() {
    let guard = Guard::new(small(), None);
    let account = guard.account(USER, Marketplace::BrickLink);
    trip(&account, Priority::Interactive).await;
    open_period_over(&account);
    // Every slot is busy, so the probe waits; its caller gives up (a job's time limit).
    let busy: Vec<_> = (0..4)
        .map(|_| {
            account
                .account
                .in_flight
                .clone()
                .try_acquire_owned()
                .expect("a slot")
        })
        .collect();
    let abandoned = tokio::time::timeout(
        Duration::from_millis(20),
        account.acquire(Priority::Interactive),
    )
    .await;
    assert!(abandoned.is_err(), "still waiting for a slot");
    drop(busy);
    account
        .acquire(Priority::Interactive)
        .await
        .expect("the next call is the probe, not refused until a restart")
        .succeeded();
    assert_eq!(
        account.usage(OffsetDateTime::now_utc()).breaker,
        BreakerState::Closed
    );
}
