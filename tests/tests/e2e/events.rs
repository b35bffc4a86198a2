//! `GET /api/events`: job changes arrive live, only to those who may see them, and an open
//! stream does not keep the server from stopping.

use std::time::Duration;

use app::{JobState, events::JobUpdated, routes};
use serde_json::{Value, json};
use server::queue::{JobContext, JobError, JobSpec, RetryPolicy};
use tests::{ApiClient, PASSWORD, TestApp};

async fn echo(ctx: JobContext) -> Result<Value, JobError> {
    ctx.progress(50, "half way");
    Ok(ctx.payload)
}

/// Reads the stream until `done` says enough; gives up after 10 s.
async fn read_events(
    response: &mut reqwest::Response,
    done: impl Fn(&[JobUpdated]) -> bool,
) -> Vec<JobUpdated> {
    let mut buffer = String::new();
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !done(&events) {
        let chunk = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .expect("events within 10 s")
            .expect("stream readable")
            .expect("stream open");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            if block.contains("event: job.updated") {
                let data = block
                    .lines()
                    .find_map(|l| l.strip_prefix("data: "))
                    .expect("data");
                events.push(serde_json::from_str(data).expect("a JobUpdated"));
            }
        }
    }
    events
}

async fn open_stream(client: &ApiClient) -> reqwest::Response {
    let response = client
        .http
        .get(client.url(routes::EVENTS))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    response
}

#[tokio::test]
async fn job_changes_stream_live_to_their_owner_only() {
    let app = TestApp::spawn().await;
    let admin = app.setup_admin().await.user;
    let bob = app.create_user("bob", "bob@example.com").await;
    let bob_client = app.new_client();
    bob_client.login("bob", PASSWORD).await;
    app.state
        .services
        .queue
        .register("echo", RetryPolicy::default(), echo);

    let mut bobs_stream = open_stream(&bob_client).await;
    let mut admins_stream = open_stream(&app.api).await;

    let admins_job = app
        .state
        .services
        .queue
        .enqueue(JobSpec::new("echo", json!(1)).owner(admin.id))
        .await
        .unwrap()
        .id;
    let bobs_job = app
        .state
        .services
        .queue
        .enqueue(JobSpec::new("echo", json!(2)).owner(bob.id))
        .await
        .unwrap()
        .id;

    let finished = |id| {
        move |events: &[JobUpdated]| {
            events
                .iter()
                .any(|e| e.id == id && e.state == JobState::Succeeded)
        }
    };
    let seen_by_bob = read_events(&mut bobs_stream, finished(bobs_job)).await;
    assert!(
        seen_by_bob.iter().all(|e| e.id == bobs_job),
        "bob sees only his job"
    );
    let states: Vec<JobState> = seen_by_bob.iter().map(|e| e.state).collect();
    assert!(states.contains(&JobState::Running), "{states:?}");
    assert!(
        seen_by_bob
            .iter()
            .any(|e| e.progress.as_ref().is_some_and(|p| p.percent == 50)),
        "progress arrives live"
    );

    let seen_by_admin = read_events(&mut admins_stream, |events| {
        finished(admins_job)(events) && finished(bobs_job)(events)
    })
    .await;
    assert!(
        seen_by_admin.iter().any(|e| e.id == bobs_job),
        "admins see every job"
    );
}

#[tokio::test]
async fn the_event_stream_needs_a_login() {
    let app = TestApp::spawn().await;
    assert_eq!(app.api.get(routes::EVENTS).await.status(), 401);
}

#[tokio::test]
async fn an_open_event_stream_does_not_hold_up_shutdown() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    let _stream = open_stream(&app.api).await;
    tokio::time::timeout(Duration::from_secs(10), app.stop())
        .await
        .expect("stopped in time");
}

#[tokio::test]
async fn a_stream_ends_with_its_session() {
    let app = TestApp::spawn().await;
    app.setup_admin().await;
    let bob = app.create_user("bob", "bob@example.com").await;
    let bob_client = app.new_client();
    bob_client.login("bob", PASSWORD).await;
    let mut stream = open_stream(&bob_client).await;
    assert_eq!(bob_client.logout().await.status(), 204);

    app.state
        .services
        .queue
        .register("echo", RetryPolicy::default(), echo);
    app.state
        .services
        .queue
        .enqueue(JobSpec::new("echo", json!(1)).owner(bob.id))
        .await
        .unwrap();
    let mut received = String::new();
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(chunk) = stream.chunk().await.unwrap() {
            received.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream ended");
    assert!(
        !received.contains("job.updated"),
        "nothing was sent after logout: {received}"
    );
}
