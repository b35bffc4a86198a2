//! Logging in by username or email.

use app::{LoginRequest, SessionInfo, routes};
use leptos::{ev::SubmitEvent, prelude::*};

use crate::{
    api,
    components::form::{Brand, ErrorNotice, Field},
    session::use_session,
};

/// The login page.
#[component]
pub fn LoginPage() -> impl IntoView {
    let session = use_session();
    let login = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if login.get_untracked().trim().is_empty() || password.get_untracked().is_empty() {
            error.set(Some(
                "Enter your username or email, and your password.".into(),
            ));
            return;
        }
        error.set(None);
        busy.set(true);
        let request = LoginRequest {
            login: login.get_untracked(),
            password: password.get_untracked(),
        };
        leptos::task::spawn_local(async move {
            let result = api::post::<_, SessionInfo>(routes::SESSION, &request).await;
            busy.set(false);
            match result {
                Ok(info) => session.logged_in(info),
                Err(err) => {
                    password.set(String::new());
                    error.set(Some(err.message));
                }
            }
        });
    };

    view! {
        <div class="auth-page">
            <form class="card auth-card" id="login-form" on:submit=submit novalidate>
                <Brand />
                <h1>"Log in"</h1>
                <Show when=move || session.notice.with(Option::is_some)>
                    <p class="notice notice-info" role="status">{move || session.notice.get()}</p>
                </Show>
                <Show when=move || session.demo.get()>
                    <p class="notice notice-info" id="demo-hint">
                        "This is the demo: log in as " <strong>"demo"</strong> " with the password " <strong>"demo"</strong>
                        ". Simulated BrickLink and BrickOwl stores send it new orders every minute or so."
                    </p>
                </Show>
                <Field label="Username or email" id="login-login" value=login autocomplete="username" />
                <Field label="Password" id="login-password" value=password kind="password"
                    autocomplete="current-password" />
                <ErrorNotice message=error />
                <button type="submit" class="btn btn-primary btn-wide" id="login-submit" disabled=move || busy.get()>
                    {move || if busy.get() { "Logging in…" } else { "Log in" }}
                </button>
                <p class="muted small">
                    "Forgot your password? Whoever runs this server can set a new one with "
                    <code>"brickdesk user reset-password"</code>"."
                </p>
            </form>
        </div>
    }
}
