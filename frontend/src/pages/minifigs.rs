//! Minifig lists: every list with its progress and cost to complete, and a form for a new one.

use app::{ListSummary, NewList, routes};
use leptos::{ev::SubmitEvent, prelude::*};
use leptos_router::{components::A, hooks::use_navigate};

use crate::components::loaded::loaded;
use crate::{
    api,
    components::{
        form::ErrorNotice,
        minifigs::{CollectedBar, cost_to_complete},
    },
};

/// The lists page.
#[component]
pub fn MinifigsPage() -> impl IntoView {
    let lists = RwSignal::new(None::<Result<Vec<ListSummary>, String>>);
    leptos::task::spawn_local(async move {
        let fresh = api::get::<Vec<ListSummary>>(routes::MINIFIG_LISTS).await;
        lists.set(Some(fresh.map_err(|e| e.message)));
    });
    view! {
        <div class="page-head">
            <h1>"Partial minifigs"</h1>
            <p class="muted">"Minifigures you are completing: what each still needs, what you have collected, and what the rest will cost."</p>
        </div>
        <NewListForm />
        {loaded(lists, "Loading your lists…", |found| if found.is_empty() {
            view! {
                <div class="card empty" id="no-lists">
                    <h2>"No lists yet"</h2>
                    <p class="muted">"Create a list above, then add minifigures to it by their BrickLink ID (like sw0001a). brickdesk fetches their parts, pictures and prices in the background."</p>
                </div>
            }.into_any()
        } else {
            view! {
                <div class="list-grid" id="lists">
                    {found.into_iter().map(|list| view! { <ListCard list /> }).collect_view()}
                </div>
            }.into_any()
        })}
    }
}

#[component]
fn ListCard(list: ListSummary) -> impl IntoView {
    let href = format!("/minifigs/{}", list.id.0);
    let totals = list.totals.clone();
    view! {
        <A href=href attr:class="card list-card">
            <h2>{list.name.clone()}</h2>
            {list.description.clone().map(|d| view! { <p class="muted small">{d}</p> })}
            <p class="small">
                {format!("{} minifig{}", totals.minifigs, if totals.minifigs == 1 { "" } else { "s" })}
                {(totals.complete > 0).then(|| format!(" · {} complete", totals.complete))}
            </p>
            <CollectedBar totals=totals.clone() />
            <p class="list-cost"><span class="muted small">"To complete "</span><strong>{cost_to_complete(&totals)}</strong></p>
        </A>
    }
}

#[component]
fn NewListForm() -> impl IntoView {
    let name = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let navigate = use_navigate();
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if let Err(e) = app::minifigs::list_name(&name.get_untracked()) {
            error.set(Some(e.message));
            return;
        }
        busy.set(true);
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            let body = NewList {
                name: name.get_untracked(),
                description: Some(description.get_untracked()),
            };
            match api::post::<_, ListSummary>(routes::MINIFIG_LISTS, &body).await {
                Ok(list) => navigate(&format!("/minifigs/{}", list.id.0), Default::default()),
                Err(e) => {
                    busy.set(false);
                    error.set(Some(e.message));
                }
            }
        });
    };
    view! {
        <form class="card inline-form" id="new-list" on:submit=submit>
            <label class="field">
                <span class="field-label">"New list"</span>
                <input id="list-name" name="list-name" placeholder="e.g. Star Wars to complete"
                    prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) />
            </label>
            <label class="field grow">
                <span class="field-label">"Description (optional)"</span>
                <input id="list-description" name="list-description"
                    prop:value=move || description.get() on:input=move |ev| description.set(event_target_value(&ev)) />
            </label>
            <button class="btn btn-primary" type="submit" disabled=move || busy.get()>"Create list"</button>
        </form>
        <ErrorNotice message=error />
    }
}
