//! Shown for paths no page answers.

use leptos::prelude::*;
use leptos_router::components::A;

/// The "no such page" page.
#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <section class="card empty">
            <h1>"There is no page here"</h1>
            <p>"The link may be old, or the address mistyped."</p>
            <A href="/">"Go to the start page"</A>
        </section>
    }
}
