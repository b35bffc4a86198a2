//! Settings: the marketplace connections, the profile (username, email, display name), the
//! password, and the template packing slips and invoices are printed from.

use app::{
    AccountUpdate, NewAccount, PasswordChange, PasswordReset, ProfileUpdate, User, routes,
    validate::{self, Email, NewPassword, Username},
};
use leptos::{ev::SubmitEvent, prelude::*};

use crate::{
    api,
    components::{
        connections::Connections,
        documents::TemplateForm,
        form::{ErrorNotice, Field, SuccessNotice},
    },
    session::use_session,
};

/// The settings page.
#[component]
pub fn SettingsPage() -> impl IntoView {
    let session = use_session();
    let is_admin = move || {
        session
            .info
            .with(|i| i.as_ref().is_some_and(|i| i.user.is_admin))
    };
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
        <h2 class="section-title">"Printing"</h2>
        <TemplateForm />
        {move || is_admin().then(|| view! { <Users /> })}
    }
}

/// Accounts on this brickdesk, for administrators: add one, disable or enable it (a disabled
/// account's sessions end at once), set a new password.
#[component]
fn Users() -> impl IntoView {
    let session = use_session();
    let me = session.info.get_untracked().map(|i| i.user.id);
    let users = RwSignal::new(Vec::<User>::new());
    let error = RwSignal::new(None::<String>);
    let saved = RwSignal::new(None::<String>);
    let load = move || {
        leptos::task::spawn_local(async move {
            match api::get::<Vec<User>>(routes::USERS).await {
                Ok(all) => users.set(all),
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    load();
    let username = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let make_admin = RwSignal::new(false);
    let add = move |ev: SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        saved.set(None);
        let body = NewAccount {
            username: username.get_untracked(),
            email: email.get_untracked(),
            password: password.get_untracked(),
            is_admin: make_admin.get_untracked(),
        };
        leptos::task::spawn_local(async move {
            match api::post::<_, User>(routes::USERS, &body).await {
                Ok(user) => {
                    saved.set(Some(format!("{} can log in now.", user.username)));
                    username.set(String::new());
                    email.set(String::new());
                    password.set(String::new());
                    load();
                }
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    let toggle = move |user: User| {
        leptos::task::spawn_local(async move {
            let body = AccountUpdate {
                disabled: Some(!user.disabled),
            };
            match api::put::<_, User>(&routes::user(user.id), &body).await {
                Ok(changed) => {
                    saved.set(Some(if changed.disabled {
                        format!(
                            "{} is disabled and logged out everywhere.",
                            changed.username
                        )
                    } else {
                        format!("{} can log in again.", changed.username)
                    }));
                    load();
                }
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    let reset = move |user: User| {
        let Some(password) = web_sys::window().and_then(|w| {
            w.prompt_with_message(&format!(
                "New password for {} (at least 8 characters). Their sessions end.",
                user.username
            ))
            .ok()
            .flatten()
        }) else {
            return;
        };
        leptos::task::spawn_local(async move {
            let body = PasswordReset { password };
            match api::post_no_content(&routes::user_password(user.id), &body).await {
                Ok(()) => saved.set(Some(format!("{} has a new password.", user.username))),
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    view! {
        <h2 class="section-title">"Users"</h2>
        <div class="card table-card" id="users">
            <table class="table">
                <thead><tr><th>"Username"</th><th>"Email"</th><th>"Role"</th><th>"State"</th><th></th></tr></thead>
                <tbody>
                    {move || users.get().into_iter().map(|user| {
                        let mine = Some(user.id) == me;
                        let (u1, u2) = (user.clone(), user.clone());
                        view! {
                            <tr data-user=user.username.clone()>
                                <td>{user.username.clone()}</td>
                                <td>{user.email.clone()}</td>
                                <td>{if user.is_admin { "Administrator" } else { "User" }}</td>
                                <td>{if user.disabled { "Disabled" } else { "Active" }}</td>
                                <td class="actions">
                                    {(!mine).then(|| view! {
                                        <button class="btn" on:click=move |_| toggle(u1.clone())>
                                            {if user.disabled { "Enable" } else { "Disable" }}
                                        </button>
                                    })}
                                    <button class="btn" on:click=move |_| reset(u2.clone())>"Set password"</button>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        <form class="card inline-form" id="add-user" on:submit=add>
            <Field label="Username" id="new-user-name" value=username autocomplete="off" />
            <Field label="Email" id="new-user-email" value=email kind="email" autocomplete="off" />
            <Field label="Password" id="new-user-password" value=password kind="password" autocomplete="new-password" />
            <label class="field checkbox">
                <input type="checkbox" prop:checked=move || make_admin.get()
                    on:change=move |ev| make_admin.set(event_target_checked(&ev)) />
                <span>"Administrator"</span>
            </label>
            <button class="btn btn-primary" type="submit">"Add user"</button>
        </form>
        <ErrorNotice message=error />
        <SuccessNotice message=saved />
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
