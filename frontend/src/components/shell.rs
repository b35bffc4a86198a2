//! The app shell: header with navigation and the user menu, then the page.

use app::routes;
use leptos::prelude::*;
use leptos_router::components::A;

use crate::{
    api,
    components::{form::Brand, search::SearchBox},
    session::use_session,
};

/// Header, navigation and user menu around the routed page; a bar runs under the header while
/// `opening` (a page's part of the UI is being fetched).
#[component]
pub fn Shell(opening: ReadSignal<bool>, children: Children) -> impl IntoView {
    let session = use_session();
    crate::sse::provide_live_events();
    let menu_open = RwSignal::new(false);
    // On a phone the navigation folds into a menu button.
    let nav_open = RwSignal::new(false);
    let shown_name = move || {
        session.info.with(|info| {
            info.as_ref()
                .map(|i| i.user.shown_name().to_owned())
                .unwrap_or_default()
        })
    };
    let initial = move || {
        shown_name()
            .chars()
            .next()
            .unwrap_or('?')
            .to_uppercase()
            .to_string()
    };
    let logout = move |_| {
        menu_open.set(false);
        leptos::task::spawn_local(async move {
            // Whatever the server says, this browser is logged out now.
            let _ = api::delete(routes::SESSION).await;
            session.logged_out(Some("You have logged out."));
        });
    };

    view! {
        <div class="shell">
            <header class="topbar">
                <A href="/">
                    <Brand />
                </A>
                <button
                    class="nav-toggle"
                    id="nav-toggle"
                    aria-controls="main-nav"
                    aria-expanded=move || nav_open.get().to_string()
                    on:click=move |_| nav_open.update(|open| *open = !*open)
                >
                    <span aria-hidden="true">"☰"</span>
                    " Menu"
                </button>
                <nav
                    class="nav"
                    id="main-nav"
                    aria-label="Main"
                    class:nav-open=move || nav_open.get()
                    on:click=move |_| nav_open.set(false)
                >
                    <A href="/" exact=true>"Dashboard"</A>
                    <A href="/orders">"Orders"</A>
                    <A href="/picking">"Picking"</A>
                    <A href="/inventory">"Inventory"</A>
                    <A href="/minifigs">"Minifigs"</A>
                    <A href="/jobs">"Jobs"</A>
                    <A href="/settings">"Settings"</A>
                </nav>
                <SearchBox />
                <div class="user-menu">
                    <button
                        class="user-button"
                        id="user-menu-button"
                        aria-haspopup="menu"
                        aria-expanded=move || menu_open.get().to_string()
                        on:click=move |_| menu_open.update(|open| *open = !*open)
                    >
                        <span class="avatar" aria-hidden="true">{initial}</span>
                        <span class="user-name" id="current-user">{shown_name}</span>
                    </button>
                    <Show when=move || menu_open.get()>
                        <div class="menu" role="menu">
                            <A href="/settings" attr:role="menuitem" on:click=move |_| menu_open.set(false)>
                                "Account settings"
                            </A>
                            <button role="menuitem" id="logout-button" on:click=logout>
                                "Log out"
                            </button>
                        </div>
                    </Show>
                </div>
            </header>
            <div
                class="page-opening"
                class:active=move || opening.get()
                role="progressbar"
                aria-label="Opening the page"
                aria-hidden=move || (!opening.get()).to_string()
            ></div>
            <StartupNotice />
            <main class="page">{children()}</main>
            <VersionFooter />
        </div>
    }
}

/// Which brickdesk this is, at the foot of every page.
#[component]
fn VersionFooter() -> impl IntoView {
    let version = RwSignal::new(None::<app::VersionInfo>);
    leptos::task::spawn_local(async move {
        if let Ok(status) = api::get::<app::SetupStatus>(routes::SETUP).await {
            version.set(Some(status.version));
        }
    });
    view! {
        <footer class="app-footer muted small" id="app-version">
            {move || version.get().map(|v| format!("brickdesk {} · {} · built {} · {}", v.version, v.commit, v.built, v.target))}
        </footer>
    }
}

/// Right after a start a large store's orders are still being read: lists, search and the
/// dashboard wait for it. Says so, with how far it got, checking again every second.
#[component]
fn StartupNotice() -> impl IntoView {
    let loading = RwSignal::new(None::<u64>);
    check_loading(loading);
    view! {
        <Show when=move || loading.get().is_some()>
            <p class="notice startup-notice" role="status" id="startup-notice">
                "brickdesk has just started and is still reading its orders ("
                {move || crate::components::format::count(loading.get().unwrap_or_default())}
                " so far). Order lists, search and the dashboard show them when it is done; new orders are received meanwhile."
            </p>
        </Show>
    }
}

fn check_loading(loading: RwSignal<Option<u64>>) {
    leptos::task::spawn_local(async move {
        let read = api::orders_loading().await;
        loading.set(read);
        if read.is_some() {
            set_timeout(
                move || check_loading(loading),
                std::time::Duration::from_secs(1),
            );
        }
    });
}
