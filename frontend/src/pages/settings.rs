//! Settings: the marketplace connections, the profile (username, email, display name) and the
//! password.

use app::{
    PasswordChange, ProfileUpdate, User, routes,
    validate::{self, Email, NewPassword, Username},
};
use leptos::{ev::SubmitEvent, prelude::*};

use crate::{
    api,
    components::{
        connections::Connections,
        form::{ErrorNotice, Field, SuccessNotice},
    },
    session::use_session,
};

/// The settings page.
#[component]
pub fn SettingsPage() -> impl IntoView {
    view! {
        <div class="page-head">
            <h1>"Settings"</h1>
            <p class="muted">"Your marketplace connections and your account on this brickdesk."</p>
        </div>
        <Connections />
        <h2 class="section-title">"Account"</h2>
        <div class="settings-grid">
            <ProfileForm />
            <PasswordForm />
        </div>
    }
}

#[component]
fn ProfileForm() -> impl IntoView {
    let session = use_session();
    let current = session.info.get_untracked().map(|info| info.user);
    let username = RwSignal::new(
        current
            .as_ref()
            .map(|u| u.username.clone())
            .unwrap_or_default(),
    );
    let email = RwSignal::new(
        current
            .as_ref()
            .map(|u| u.email.clone())
            .unwrap_or_default(),
    );
    let display_name = RwSignal::new(
        current
            .as_ref()
            .and_then(|u| u.display_name.clone())
            .unwrap_or_default(),
    );
    let error = RwSignal::new(None::<String>);
    let saved = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        saved.set(None);
        let checked = Username::parse(&username.get_untracked())
            .and_then(|_| Email::parse(&email.get_untracked()))
            .and_then(|_| validate::display_name(Some(&display_name.get_untracked())));
        if let Err(invalid) = checked {
            error.set(Some(invalid.message));
            return;
        }
        error.set(None);
        busy.set(true);
        let update = ProfileUpdate {
            username: username.get_untracked(),
            email: email.get_untracked(),
            display_name: Some(display_name.get_untracked()),
        };
        leptos::task::spawn_local(async move {
            let result = api::put::<_, User>(routes::ME, &update).await;
            busy.set(false);
            match result {
                Ok(user) => {
                    session.info.update(|info| {
                        if let Some(info) = info {
                            info.user = user;
                        }
                    });
                    saved.set(Some("Your profile is saved.".into()));
                }
                Err(err) => error.set(Some(err.message)),
            }
        });
    };

    view! {
        <form class="card" id="profile-form" on:submit=submit novalidate>
            <h2>"Profile"</h2>
            <Field label="Username" id="profile-username" value=username autocomplete="username" />
            <Field label="Email" id="profile-email" value=email kind="email" autocomplete="email" />
            <Field label="Display name" id="profile-display-name" value=display_name autocomplete="name"
                hint="Shown in the header instead of your username. Leave empty to use the username." />
            <ErrorNotice message=error />
            <SuccessNotice message=saved />
            <button type="submit" class="btn btn-primary" id="profile-submit" disabled=move || busy.get()>
                {move || if busy.get() { "Saving…" } else { "Save profile" }}
            </button>
        </form>
    }
}

#[component]
fn PasswordForm() -> impl IntoView {
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let saved = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        saved.set(None);
        if current.get_untracked().is_empty() {
            error.set(Some("Enter your current password.".into()));
            return;
        }
        if let Err(invalid) = NewPassword::parse(&new.get_untracked(), "new_password") {
            error.set(Some(invalid.message));
            return;
        }
        if new.get_untracked() != confirm.get_untracked() {
            error.set(Some("The two new passwords are not the same.".into()));
            return;
        }
        error.set(None);
        busy.set(true);
        let change = PasswordChange {
            current_password: current.get_untracked(),
            new_password: new.get_untracked(),
        };
        leptos::task::spawn_local(async move {
            let result = api::post_no_content(routes::ME_PASSWORD, &change).await;
            busy.set(false);
            match result {
                Ok(()) => {
                    for field in [current, new, confirm] {
                        field.set(String::new());
                    }
                    saved.set(Some(
                        "Password changed. Any other browser logged in to this account was logged out."
                            .into(),
                    ));
                }
                Err(err) => error.set(Some(err.message)),
            }
        });
    };

    view! {
        <form class="card" id="password-form" on:submit=submit novalidate>
            <h2>"Password"</h2>
            <Field label="Current password" id="password-current" value=current kind="password"
                autocomplete="current-password" />
            <Field label="New password" id="password-new" value=new kind="password"
                autocomplete="new-password" hint="At least 8 characters." />
            <Field label="Repeat the new password" id="password-confirm" value=confirm kind="password"
                autocomplete="new-password" />
            <ErrorNotice message=error />
            <SuccessNotice message=saved />
            <button type="submit" class="btn btn-primary" id="password-submit" disabled=move || busy.get()>
                {move || if busy.get() { "Changing…" } else { "Change password" }}
            </button>
        </form>
    }
}
