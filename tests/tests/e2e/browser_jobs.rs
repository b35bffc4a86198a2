//! The Jobs page in headless Chromium against the real server: a running job shows its
//! progress and finishes without a reload, a failed job shows its error and runs again.

use std::sync::Arc;

use serde_json::Value;
use server::queue::{JobContext, JobError, JobSpec, RetryPolicy};
use tests::{PASSWORD, TestApp, browser::Browser};
use tokio::sync::Notify;

#[tokio::test]
async fn the_jobs_page_follows_jobs_live_and_runs_failed_ones_again() {
    if !tests::browser::ui_available() {
        return;
    }
    let app = TestApp::spawn().await;
    let admin = app.setup_admin().await.user;
    let Some(browser) = Browser::start().await else {
        return;
    };

    let release = Arc::new(Notify::new());
    let gate = release.clone();
    app.state.services.queue.register(
        "import_orders",
        RetryPolicy::default(),
        move |ctx: JobContext| {
            let gate = gate.clone();
            async move {
                ctx.progress(40, "40 of 100 orders");
                gate.notified().await;
                Ok(Value::Null)
            }
        },
    );
    app.state.services.queue.register(
        "check_connection",
        RetryPolicy::default(),
        |_ctx: JobContext| async { Err(JobError::permanent("BrickLink refused the credentials")) },
    );

    browser
        .log_in_at(&format!("{}/jobs", app.base), "admin", PASSWORD)
        .await;
    browser.wait_for_text("h1", "Jobs").await;
    browser
        .wait_for_text(".empty", "No background jobs yet")
        .await;

    let import = app
        .state
        .services
        .queue
        .enqueue(JobSpec::new("import_orders", Value::Null).owner(admin.id));
    import.await.unwrap();
    browser.wait_for_text("#jobs-table", "Import orders").await;
    browser.wait_for_text("#jobs-table", "Running").await;
    browser.find("#jobs-table [role=progressbar]").await;
    browser.screenshot("jobs-running").await;
    release.notify_one();
    browser.wait_for_text("#jobs-table", "Done").await;

    let check = app
        .state
        .services
        .queue
        .enqueue(JobSpec::new("check_connection", Value::Null).owner(admin.id));
    let failed = check.await.unwrap().id;
    app.state.services.queue.until_settled().await;
    browser.wait_for_text("#jobs-table", "Failed").await;
    browser.click("#jobs-table tbody tr:first-child").await;
    browser
        .wait_for_text("#job-detail", "BrickLink refused the credentials")
        .await;
    browser.screenshot("jobs-detail").await;

    app.state.services.queue.register(
        "check_connection",
        RetryPolicy::default(),
        |_ctx: JobContext| async { Ok(Value::Null) },
    );
    browser.click("#job-retry").await;
    browser.wait_for_text("#job-detail", "Done").await;
    let record = app.state.services.queue.get(failed).unwrap().unwrap();
    assert_eq!(record.state, app::JobState::Succeeded);
    browser.close().await;
}
