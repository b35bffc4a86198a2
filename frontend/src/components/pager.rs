//! Under a paged table: which rows are shown of how many, and Previous / Next.

use leptos::prelude::*;

use crate::components::format::count;

/// `first–last of total` and the buttons; `go` gets the page to show.
#[component]
pub fn Pager(
    /// The id of the count, for tests.
    id: &'static str,
    page: usize,
    per_page: usize,
    shown: usize,
    total: usize,
    #[prop(into)] go: Callback<usize>,
) -> impl IntoView {
    let first = (page.max(1) - 1) * per_page + 1;
    let last = (first + shown).saturating_sub(1);
    let pages = total.div_ceil(per_page.max(1));
    let total = count(u64::try_from(total).unwrap_or(u64::MAX));
    view! {
        <div class="pager">
            <span class="muted" id=id>{format!("{first}–{last} of {total}")}</span>
            <button class="btn" disabled={page <= 1} on:click=move |_| go.run(page - 1)>"Previous"</button>
            <button class="btn" disabled={page >= pages} on:click=move |_| go.run(page + 1)>"Next"</button>
        </div>
    }
}
