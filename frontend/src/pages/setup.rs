//! First run: create the administrator account.

use app::{
    ErrorCode, SessionInfo, SetupRequest, routes,
    validate::{Email, NewPassword, Username},
};
use leptos::{ev::SubmitEvent, prelude::*};

use crate::{
    api,
    components::form::{Brand, ErrorNotice, Field},
    session::use_session,
};

/// The setup page.
#[component]
pub fn SetupPage() -> impl IntoView {
    let session = use_session();
    let username = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let checked = Username::parse(&username.get_untracked())
            .and_then(|_| Email::parse(&email.get_untracked()))
            .and_then(|_| NewPassword::parse(&password.get_untracked(), "password"));
        if let Err(invalid) = checked {
            error.set(Some(invalid.message));
            return;
        }
        if password.get_untracked() != confirm.get_untracked() {
            error.set(Some("The two passwords are not the same.".into()));
            return;
        }
        error.set(None);
        busy.set(true);
        let request = SetupRequest {
            username: username.get_untracked(),
            email: email.get_untracked(),
            password: password.get_untracked(),
            setup_code: Some(code.get_untracked()).filter(|c| !c.trim().is_empty()),
        };
        leptos::task::spawn_local(async move {
            let result = api::post::<_, SessionInfo>(routes::SETUP, &request).await;
            busy.set(false);
            match result {
                Ok(info) => session.logged_in(info),
                Err(err) if err.code == Some(ErrorCode::SetupDone) => session.setup_already_done(),
                Err(err) => error.set(Some(err.message)),
            }
        });
    };

    view! {
        <div class="auth-page">
            <form class="card auth-card" id="setup-form" on:submit=submit novalidate>
                <Brand />
                <h1>"Welcome to brickdesk"</h1>
                <p class="lead">
                    "Create the administrator account for your shop. You will use it to connect BrickLink and BrickOwl."
                </p>
                <Field label="Username" id="setup-username" value=username autocomplete="username"
                    hint="3 to 32 letters, digits, dots, dashes or underscores." />
                <Field label="Email" id="setup-email" value=email kind="email" autocomplete="email" />
                <Field label="Password" id="setup-password" value=password kind="password"
                    autocomplete="new-password" hint="At least 8 characters." />
                <Field label="Repeat the password" id="setup-confirm" value=confirm kind="password"
                    autocomplete="new-password" />
                {move || session.code_needed.get().then(|| view! {
                    <Field label="Setup code" id="setup-code" value=code autocomplete="off"
                        hint="brickdesk printed it in its log when it started (like K7QX-M2PD); `brickdesk setup-code` on the server shows it again." />
                })}
                <ErrorNotice message=error />
                <button type="submit" class="btn btn-primary btn-wide" id="setup-submit" disabled=move || busy.get()>
                    {move || if busy.get() { "Creating your account…" } else { "Create account" }}
                </button>
            </form>
        </div>
    }
}
