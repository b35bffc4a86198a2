//! The root component: picks setup, login or the app shell by session phase, and routes pages
//! inside the shell.

use leptos::prelude::*;
use leptos_router::{
    Lazy, LazyRoute,
    components::{Route, Router, Routes},
    lazy_route, path,
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
    // True while the router fetches the part of the UI a page needs (the first time it opens).
    let (opening, set_opening) = signal(false);

    view! {
        <Router set_is_routing=set_opening>
            {move || match session.phase() {
                Phase::Loading => view! { <div class="splash" aria-busy="true">"Loading brickdesk…"</div> }.into_any(),
                Phase::Unreachable => view! { <Unreachable /> }.into_any(),
                Phase::NeedsSetup => view! { <SetupPage /> }.into_any(),
                Phase::LoggedOut => view! { <LoginPage /> }.into_any(),
                Phase::LoggedIn => view! {
                    <Shell opening=opening>
                        <Routes fallback=NotFound>
                            <Route path=path!("/") view=DashboardPage />
                            <Route path=path!("/orders") view={Lazy::<OrdersRoute>::new()} />
                            <Route path=path!("/orders/:marketplace/:order_id") view={Lazy::<OrderRoute>::new()} />
                            <Route path=path!("/picking") view={Lazy::<PickListsRoute>::new()} />
                            <Route path=path!("/picking/:id") view={Lazy::<PickListRoute>::new()} />
                            <Route path=path!("/inventory") view={Lazy::<InventoryRoute>::new()} />
                            <Route path=path!("/minifigs") view={Lazy::<MinifigsRoute>::new()} />
                            <Route path=path!("/minifigs/:id") view={Lazy::<MinifigListRoute>::new()} />
                            <Route path=path!("/settings") view={Lazy::<SettingsRoute>::new()} />
                            <Route path=path!("/jobs") view={Lazy::<JobsRoute>::new()} />
                        </Routes>
                    </Shell>
                }.into_any(),
            }}
        </Router>
    }
}

/// A page whose code is fetched when it is first opened (its own part of the wasm, so the first
/// download holds only the shell, login and the dashboard: docs/benchmarks.md).
macro_rules! lazy_page {
    ($route:ident, $page:ident) => {
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            fn view(_this: Self) -> AnyView {
                view! { <$page /> }.into_any()
            }
        }
    };
}

lazy_page!(OrdersRoute, OrdersPage);
lazy_page!(OrderRoute, OrderPage);
lazy_page!(PickListsRoute, PickListsPage);
lazy_page!(PickListRoute, PickListPage);
lazy_page!(InventoryRoute, InventoryPage);
lazy_page!(MinifigsRoute, MinifigsPage);
lazy_page!(MinifigListRoute, MinifigListPage);
lazy_page!(SettingsRoute, SettingsPage);
lazy_page!(JobsRoute, JobsPage);

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
