//! The root component: picks setup, login or the app shell by session phase, and routes pages
//! inside the shell.

use leptos::prelude::*;
use leptos_router::{
    components::{Route, Router, Routes},
    path,
};

use crate::{
    api,
    components::shell::Shell,
    pages::{
        dashboard::DashboardPage,
        inventory::InventoryPage,
        jobs::JobsPage,
        login::LoginPage,
        minifig_list::MinifigListPage,
        minifigs::MinifigsPage,
        not_found::NotFound,
        order::OrderPage,
        orders::OrdersPage,
        picking::{PickListPage, PickListsPage},
        settings::SettingsPage,
        setup::SetupPage,
    },
    session::{Phase, Session},
};

/// The whole UI.
#[component]
pub fn App() -> impl IntoView {
    let session = Session::provide();
    api::on_logged_out(move || session.expired());
    leptos::task::spawn_local(session.load());

    view! {
        <Router>
            {move || match session.phase() {
                Phase::Loading => view! { <div class="splash" aria-busy="true">"Loading brickdesk…"</div> }.into_any(),
                Phase::Unreachable => view! { <Unreachable /> }.into_any(),
                Phase::NeedsSetup => view! { <SetupPage /> }.into_any(),
                Phase::LoggedOut => view! { <LoginPage /> }.into_any(),
                Phase::LoggedIn => view! {
                    <Shell>
                        <Routes fallback=NotFound>
                            <Route path=path!("/") view=DashboardPage />
                            <Route path=path!("/orders") view=OrdersPage />
                            <Route path=path!("/orders/:marketplace/:order_id") view=OrderPage />
                            <Route path=path!("/picking") view=PickListsPage />
                            <Route path=path!("/picking/:id") view=PickListPage />
                            <Route path=path!("/inventory") view=InventoryPage />
                            <Route path=path!("/minifigs") view=MinifigsPage />
                            <Route path=path!("/minifigs/:id") view=MinifigListPage />
                            <Route path=path!("/settings") view=SettingsPage />
                            <Route path=path!("/jobs") view=JobsPage />
                        </Routes>
                    </Shell>
                }.into_any(),
            }}
        </Router>
    }
}

/// Shown when the server does not answer at start.
#[component]
fn Unreachable() -> impl IntoView {
    let session = crate::session::use_session();
    view! {
        <div class="auth-page">
            <div class="card auth-card">
                <h1>"brickdesk is not answering"</h1>
                <p>"The page loaded, but the server behind it did not reply. Check that brickdesk is still running, then try again."</p>
                <button class="btn btn-primary" on:click=move |_| leptos::task::spawn_local(session.load())>
                    "Try again"
                </button>
            </div>
        </div>
    }
}
