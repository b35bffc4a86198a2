//! The jobs API: lists and filters, detail with attempts, retry, cancel, delete, queue counts,
//! and who may see what.

use app::{JobList, JobState, JobView, QueueName, QueuesView};
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::queue::{JobContext, JobError, JobSpec, RetryPolicy};
use tests::{PASSWORD, TestApp};

async fn echo(ctx: JobContext) -> Result<Value, JobError> {
    Ok(ctx.payload)
}

async fn refuse(_ctx: JobContext) -> Result<Value, JobError> {
    Err(JobError::permanent("the marketplace said no"))
}

#[tokio::test]
async fn users_see_their_own_jobs_and_admins_see_all() {
    let app = TestApp::spawn().await;
    let admin = app.setup_admin().await.user;
    let bob = app.create_user("bob", "bob@example.com").await;
    let bob_client = app.new_client();
    bob_client.login("bob", PASSWORD).await;
    let queue = &app.state.services.queue;
    queue.register("echo", RetryPolicy::default(), echo);

    let mine = queue
        .enqueue(JobSpec::new("echo", json!(1)).owner(admin.id))
        .await
        .unwrap();
    queue
        .enqueue(
            JobSpec::new("echo", json!(2))
                .owner(admin.id)
                .queue(QueueName::Bulk),
        )
        .await
        .unwrap();
    let his = queue
        .enqueue(JobSpec::new("echo", json!(3)).owner(bob.id))
        .await
        .unwrap();
    queue.until_settled().await;

    let all: JobList = app.api.list_jobs("").await.json();
    assert_eq!(all.total, 3);
    assert_eq!(all.jobs[0].id, his.id, "newest first");
    let bulk: JobList = app.api.list_jobs("queue=bulk").await.json();
    assert_eq!(bulk.total, 1);
    let succeeded: JobList = app
        .api
        .list_jobs("state=succeeded&per_page=2&page=2")
        .await
        .json();
    assert_eq!((succeeded.total, succeeded.jobs.len()), (3, 1));

    let own: JobList = bob_client.list_jobs("").await.json();
    assert_eq!(
        own.jobs.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![his.id]
    );
    assert_eq!(
        bob_client.get_job(mine.id).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        bob_client.cancel_job(mine.id).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        bob_client.delete_job(mine.id).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        bob_client.retry_job(mine.id).await.status(),
        StatusCode::NOT_FOUND
    );

    let detail: JobView = bob_client.get_job(his.id).await.json();
    assert_eq!(detail.result, Some(json!(3)));
    assert_eq!(detail.history.len(), 1);
}

#[tokio::test]
async fn a_dead_job_shows_its_error_and_can_be_retried() {
    let app = TestApp::spawn().await;
    let admin = app.setup_admin().await.user;
    let queue = &app.state.services.queue;
    queue.register("refuse", RetryPolicy::default(), refuse);
    let id = queue
        .enqueue(JobSpec::new("refuse", Value::Null).owner(admin.id))
        .await
        .unwrap()
        .id;
    queue.until_settled().await;

    let dead: JobView = app.api.get_job(id).await.json();
    assert_eq!(dead.state, JobState::Dead);
    assert_eq!(dead.last_error.as_deref(), Some("the marketplace said no"));
    assert_eq!(
        dead.history[0].error.as_deref(),
        Some("the marketplace said no")
    );

    let retried = app.api.retry_job(id).await;
    assert_eq!(retried.status(), StatusCode::OK, "{}", retried.text());
    queue.until_settled().await;
    let again: JobView = app.api.get_job(id).await.json();
    assert_eq!((again.state, again.history.len()), (JobState::Dead, 2));

    queue.register("refuse", RetryPolicy::default(), echo);
    app.api.retry_job(id).await;
    queue.until_settled().await;
    assert_eq!(
        app.api.get_job(id).await.json::<JobView>().state,
        JobState::Succeeded
    );
    let twice = app.api.retry_job(id).await;
    assert_eq!(twice.status(), StatusCode::CONFLICT);
    assert_eq!(twice.error_code(), "job-conflict");
}

#[tokio::test]
async fn waiting_jobs_can_be_cancelled_and_deleted() {
    let app = TestApp::spawn().await;
    let admin = app.setup_admin().await.user;
    let queue = &app.state.services.queue;
    let later = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    let id = queue
        .enqueue(
            JobSpec::new("echo", Value::Null)
                .owner(admin.id)
                .run_at(later),
        )
        .await
        .unwrap()
        .id;
    assert_eq!(
        app.api.get_job(id).await.json::<JobView>().state,
        JobState::Scheduled
    );

    let cancelled: JobView = app.api.cancel_job(id).await.json();
    assert_eq!(cancelled.state, JobState::Cancelled);
    assert_eq!(
        app.api.delete_job(id).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.api.get_job(id).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.api.delete_job(id).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn queue_counts_cover_every_queue_and_state() {
    let app = TestApp::spawn().await;
    let admin = app.setup_admin().await.user;
    let queue = &app.state.services.queue;
    queue.register("echo", RetryPolicy::default(), echo);
    queue
        .enqueue(JobSpec::new("echo", Value::Null).owner(admin.id))
        .await
        .unwrap();
    queue.until_settled().await;
    let later = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    queue
        .enqueue(
            JobSpec::new("echo", Value::Null)
                .owner(admin.id)
                .queue(QueueName::Bulk)
                .run_at(later),
        )
        .await
        .unwrap();

    let view: QueuesView = app.api.get_queues().await.json();
    assert_eq!(view.marketplaces.len(), 2);
    assert!(view.marketplaces.iter().all(|m| !m.configured
        && m.usage.breaker == app::BreakerState::Closed
        && m.usage.calls_today == 0));
    let counts = view.queues;
    assert_eq!(counts.len(), 3);
    for entry in &counts {
        assert_eq!(entry.counts.len(), 7, "every state, zeros included");
    }
    let of = |queue: QueueName, state: &str| {
        counts.iter().find(|c| c.queue == queue).unwrap().counts[state]
    };
    assert_eq!(of(QueueName::Default, "succeeded"), 1);
    assert_eq!(of(QueueName::Bulk, "scheduled"), 1);
    assert_eq!(of(QueueName::Critical, "ready"), 0);
    assert!(
        counts.iter().all(|c| c.lag_seconds == 0.0),
        "nothing waits for a worker"
    );
}

#[tokio::test]
async fn the_jobs_api_needs_a_login_and_valid_filters() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.api.list_jobs("").await.status(),
        StatusCode::UNAUTHORIZED
    );
    app.setup_admin().await;
    let bad = app.api.list_jobs("state=exploded").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(bad.error_code(), "invalid-input");
    assert_eq!(
        app.api.get_job(app::JobId(999)).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn metrics_count_jobs_by_queue_state_and_kind() {
    let app = TestApp::spawn().await;
    let queue = &app.state.services.queue;
    queue.register("echo", RetryPolicy::default(), echo);
    queue.register("refuse", RetryPolicy::default(), refuse);
    queue
        .enqueue(JobSpec::new("echo", Value::Null))
        .await
        .unwrap();
    queue
        .enqueue(JobSpec::new("refuse", Value::Null))
        .await
        .unwrap();
    queue.until_settled().await;

    let scrape = app.api.send(app.metrics_request()).await;
    assert_eq!(scrape.status(), StatusCode::OK);
    assert!(
        scrape
            .header("content-type")
            .unwrap()
            .contains("openmetrics-text")
    );
    let text = scrape.text();
    for line in [
        "brickdesk_jobs_enqueued_total{kind=\"echo\"} 1",
        "brickdesk_jobs_succeeded_total{kind=\"echo\"} 1",
        "brickdesk_jobs_failed_total{kind=\"refuse\"} 1",
        "brickdesk_jobs_count{queue=\"default\",state=\"succeeded\"} 1",
        "brickdesk_jobs_count{queue=\"default\",state=\"dead\"} 1",
        "brickdesk_jobs_count{queue=\"bulk\",state=\"ready\"} 0",
        "brickdesk_jobs_queue_lag_seconds{queue=\"critical\"} 0",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(line)),
            "missing {line:?} in:\n{text}"
        );
    }
    assert!(
        text.contains("brickdesk_jobs_run_seconds_count{kind=\"echo\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn a_batch_shows_its_parts_and_each_part_its_batch() {
    let app = TestApp::spawn().await;
    let admin = app.setup_admin().await.user;
    let queue = &app.state.services.queue;
    queue.register("echo", RetryPolicy::default(), echo);
    queue.register("refuse", RetryPolicy::default(), refuse);
    let (parent, parts) = queue
        .enqueue_batch(
            JobSpec::new("import_orders", Value::Null).owner(admin.id),
            vec![
                JobSpec::new("echo", json!(1)).owner(admin.id),
                JobSpec::new("refuse", json!(2)).owner(admin.id),
            ],
        )
        .await
        .unwrap();
    queue.until_settled().await;
    let batch: JobView = app.api.get_job(parent).await.json();
    assert_eq!(batch.state, JobState::Dead);
    assert_eq!(
        batch.parts.map(|p| (p.total, p.succeeded, p.failed)),
        Some((2, 1, 1))
    );
    assert_eq!(batch.last_error.as_deref(), Some("1 of 2 parts failed"));
    let part: JobView = app.api.get_job(parts[0]).await.json();
    assert_eq!(part.parent, Some(parent));
}
