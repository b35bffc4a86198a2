//! One minifig list: its totals, an add form (the minifig appears at once and its parts load
//! in as the background job fetches them), and a card per minifig with picture, name, a bar of
//! collected parts and the cost to complete; opened, its parts with thumbnails, quantity
//! steppers for needed and collected, colour and condition.

use std::collections::HashSet;

use app::{
    Color, Condition, FetchState, ListId, ListSummary, ListUpdate, MinifigId, MinifigList,
    MinifigPart, MinifigQueued, MinifigUpdate, NewMinifig, PartUpdate, PartialMinifig, Totals,
    routes,
};
use leptos::{ev::SubmitEvent, prelude::*};
use leptos_router::{
    components::A,
    hooks::{use_navigate, use_params_map},
};

use crate::{
    api,
    components::{
        form::ErrorNotice,
        format::money,
        loaded::loaded,
        minifigs::{CollectedBar, Swatch, cost_to_complete},
    },
    sse::use_live_events,
};

type Loaded = RwSignal<Option<Result<MinifigList, String>>>;

/// What the page shares with its cards (kept here so a card re-rendered by a live update keeps
/// it).
#[derive(Clone, Copy)]
struct Shared {
    list: Loaded,
    expanded: RwSignal<HashSet<MinifigId>>,
    colors: RwSignal<Vec<Color>>,
    error: RwSignal<Option<String>>,
}

impl Shared {
    /// Puts a changed minifig in place (or at the end when new) and recounts the list.
    fn replace(self, minifig: PartialMinifig) {
        self.list.update(|loaded| {
            let Some(Ok(list)) = loaded else { return };
            if list.summary.id != minifig.list_id {
                return;
            }
            // An older copy never replaces a newer one: the answer to adding a minifig can
            // arrive after the events of its fetch.
            match list.minifigs.iter_mut().find(|m| m.id == minifig.id) {
                Some(slot) if slot.updated_at <= minifig.updated_at => *slot = minifig,
                Some(_) => return,
                None => list.minifigs.push(minifig),
            }
            recount(list);
        });
    }

    fn remove(self, id: MinifigId) {
        self.list.update(|loaded| {
            if let Some(Ok(list)) = loaded {
                list.minifigs.retain(|m| m.id != id);
                recount(list);
            }
        });
    }
}

fn recount(list: &mut MinifigList) {
    let mut totals = Totals::default();
    for minifig in &list.minifigs {
        totals.add(&minifig.totals);
    }
    list.summary.totals = totals;
}

/// The list page.
#[component]
pub fn MinifigListPage() -> impl IntoView {
    let params = use_params_map();
    let live = use_live_events();
    let id = move || params.with(|p| p.get("id").and_then(|id| id.parse().ok()).map(ListId));
    let shared = Shared {
        list: RwSignal::new(None),
        expanded: RwSignal::new(HashSet::new()),
        colors: RwSignal::new(Vec::new()),
        error: RwSignal::new(None),
    };
    let load = move || {
        let Some(list_id) = id() else {
            shared.list.set(Some(Err("There is no such list.".into())));
            return;
        };
        leptos::task::spawn_local(async move {
            let fresh = api::get::<MinifigList>(&routes::minifig_list(list_id)).await;
            shared.list.set(Some(fresh.map_err(|e| e.message)));
        });
    };
    leptos::task::spawn_local(async move {
        if let Ok(colors) = api::get::<Vec<Color>>(routes::CATALOG_COLORS).await {
            shared.colors.set(colors);
        }
    });
    Effect::new(move |_| {
        live.resync.track();
        load();
    });
    Effect::new(move |_| {
        if let Some(minifig) = live.minifig.get() {
            shared.replace(minifig);
        }
    });

    view! {
        <p class="crumbs"><A href="/minifigs">"← Minifig lists"</A></p>
        {loaded(
            Signal::derive(move || shared.list.with(|l| l.as_ref().map(|r| r.as_ref().map(|l| l.summary.clone()).map_err(Clone::clone)))),
            "Loading the list…",
            move |summary| view! { <ListHead summary shared /> },
        )}
        <ErrorNotice message=shared.error />
        {move || shared.list.with(|l| matches!(l, Some(Ok(_)))).then(|| view! { <AddMinifigForm shared /> })}
        {move || match shared.list.with(|l| l.as_ref().and_then(|r| r.as_ref().ok()).map(|l| l.minifigs.is_empty())) {
            Some(true) => view! {
                <div class="card empty" id="no-minifigs">
                    <h2>"No minifigs on this list yet"</h2>
                    <p class="muted">"Type a BrickLink minifigure ID above (it is on the minifig's BrickLink page, like sw0001a) and brickdesk brings in its parts, pictures and prices. Then untick what you already have."</p>
                </div>
            }.into_any(),
            _ => ().into_any(),
        }}
        <div class="minifig-grid" id="minifigs">
            <For
                each=move || shared.list.with(|l| l.as_ref().and_then(|r| r.as_ref().ok()).map(|l| l.minifigs.clone()).unwrap_or_default())
                key=|m| (m.id, m.updated_at)
                children=move |minifig| view! { <MinifigCard minifig shared /> }
            />
        </div>
    }
}

#[component]
fn ListHead(summary: ListSummary, shared: Shared) -> impl IntoView {
    let editing = RwSignal::new(false);
    let name = RwSignal::new(summary.name.clone());
    let description = RwSignal::new(summary.description.clone().unwrap_or_default());
    let navigate = use_navigate();
    let list_id = summary.id;
    let save = move |ev: SubmitEvent| {
        ev.prevent_default();
        leptos::task::spawn_local(async move {
            let body = ListUpdate {
                name: Some(name.get_untracked()),
                description: Some(description.get_untracked()),
            };
            match api::put::<_, ListSummary>(&routes::minifig_list(list_id), &body).await {
                Ok(saved) => {
                    editing.set(false);
                    shared.list.update(|l| {
                        if let Some(Ok(list)) = l {
                            list.summary.name = saved.name;
                            list.summary.description = saved.description;
                        }
                    });
                }
                Err(e) => shared.error.set(Some(e.message)),
            }
        });
    };
    let remove = move |_| {
        let confirmed = web_sys::window()
            .and_then(|w| {
                w.confirm_with_message("Delete this list and every minifig on it?")
                    .ok()
            })
            .unwrap_or(false);
        if !confirmed {
            return;
        }
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            match api::delete(&routes::minifig_list(list_id)).await {
                Ok(()) => navigate("/minifigs", Default::default()),
                Err(e) => shared.error.set(Some(e.message)),
            }
        });
    };
    let totals = summary.totals.clone();
    view! {
        <div class="page-head page-head-row">
            <div>
                <Show when=move || !editing.get() fallback=move || view! {
                    <form class="inline-form" id="edit-list" on:submit=save>
                        <input id="edit-list-name" aria-label="List name" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) />
                        <input id="edit-list-description" aria-label="Description" placeholder="Description" prop:value=move || description.get() on:input=move |ev| description.set(event_target_value(&ev)) />
                        <button class="btn btn-primary" type="submit">"Save"</button>
                        <button class="btn" type="button" on:click=move |_| editing.set(false)>"Cancel"</button>
                    </form>
                }>
                    <h1 id="list-title">{summary.name.clone()}</h1>
                    {summary.description.clone().map(|d| view! { <p class="muted">{d}</p> })}
                </Show>
            </div>
            <div class="actions">
                <button class="btn" on:click=move |_| editing.set(true)>"Rename"</button>
                <button class="btn btn-danger" on:click=remove>"Delete list"</button>
            </div>
        </div>
        <div class="card list-totals" id="list-totals">
            <div><span class="muted small">"Minifigs"</span><strong>{format!("{} ({} complete)", totals.minifigs, totals.complete)}</strong></div>
            <div class="grow"><CollectedBar totals=totals.clone() /></div>
            <div><span class="muted small">"Cost to complete"</span><strong id="list-cost">{cost_to_complete(&totals)}</strong></div>
        </div>
    }
}

#[component]
fn AddMinifigForm(shared: Shared) -> impl IntoView {
    let no = RwSignal::new(String::new());
    let reference = RwSignal::new(String::new());
    let condition = RwSignal::new(Condition::New);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let typed = no.get_untracked();
        if let Err(e) = app::minifigs::bricklink_id(&typed) {
            error.set(Some(e.message));
            return;
        }
        let Some(list_id) = shared.list.with_untracked(|l| {
            l.as_ref()
                .and_then(|r| r.as_ref().ok())
                .map(|l| l.summary.id)
        }) else {
            return;
        };
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let body = NewMinifig {
                bricklink_id: typed,
                condition: Some(condition.get_untracked()),
                reference_id: Some(reference.get_untracked()),
                notes: None,
            };
            match api::post::<_, MinifigQueued>(&routes::list_minifigs(list_id), &body).await {
                Ok(queued) => {
                    shared.expanded.update(|e| {
                        e.insert(queued.minifig.id);
                    });
                    shared.replace(queued.minifig);
                    no.set(String::new());
                    reference.set(String::new());
                }
                Err(e) => error.set(Some(e.message)),
            }
            busy.set(false);
        });
    };
    view! {
        <form class="card inline-form" id="add-minifig" on:submit=submit>
            <label class="field">
                <span class="field-label">"BrickLink minifig ID"</span>
                <input id="minifig-no" name="minifig-no" placeholder="sw0001a" autocomplete="off"
                    prop:value=move || no.get() on:input=move |ev| no.set(event_target_value(&ev)) />
            </label>
            <label class="field">
                <span class="field-label">"Condition"</span>
                <select id="minifig-condition" on:change=move |ev| condition.set(if event_target_value(&ev) == "used" { Condition::Used } else { Condition::New })>
                    <option value="new">"New"</option>
                    <option value="used">"Used"</option>
                </select>
            </label>
            <label class="field grow">
                <span class="field-label">"Your reference (optional)"</span>
                <input id="minifig-reference" placeholder="bin, box or lot" prop:value=move || reference.get() on:input=move |ev| reference.set(event_target_value(&ev)) />
            </label>
            <button class="btn btn-primary" type="submit" disabled=move || busy.get()>"Add minifig"</button>
        </form>
        <ErrorNotice message=error />
    }
}

#[component]
fn MinifigCard(minifig: PartialMinifig, shared: Shared) -> impl IntoView {
    let id = minifig.id;
    let list_id = minifig.list_id;
    let open = move || shared.expanded.with(|e| e.contains(&id));
    let toggle = move |_| {
        shared.expanded.update(|e| {
            if !e.remove(&id) {
                e.insert(id);
            }
        });
    };
    let remove = move |_| {
        leptos::task::spawn_local(async move {
            match api::delete(&routes::list_minifig(list_id, id)).await {
                Ok(()) => shared.remove(id),
                Err(e) => shared.error.set(Some(e.message)),
            }
        });
    };
    let title = minifig
        .name
        .clone()
        .unwrap_or_else(|| format!("Looking up {}…", minifig.bricklink_id));
    let state = match &minifig.fetch {
        FetchState::Loading { done, total } => {
            let percent = if *total == 0 { 5 } else { done * 100 / total };
            let text = if *total == 0 {
                "Looking it up on BrickLink…".to_owned()
            } else {
                format!("Loading parts: {done} of {total}")
            };
            view! {
                <div class="fetching" role="status">
                    <div class="meter" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow=percent.to_string()>
                        <div class="meter-fill" style=format!("width: {percent}%")></div>
                    </div>
                    <span class="small muted">{text}</span>
                </div>
            }
            .into_any()
        }
        FetchState::Failed { message } => {
            view! { <p class="notice notice-error small" role="alert">{message.clone()}</p> }
                .into_any()
        }
        FetchState::Ready => ().into_any(),
    };
    let totals = minifig.totals.clone();
    let own_price = minifig.prices.as_ref().and_then(|p| {
        p.per_piece(minifig.condition)
            .map(|amount| money(amount, p.currency.as_deref().unwrap_or("")))
    });
    let parts = minifig.parts.clone();
    let condition = minifig.condition;
    let complete = totals.complete == 1 && !parts.is_empty();
    let details = minifig.clone();
    view! {
        <article class="card minifig-card" data-minifig=minifig.bricklink_id data-complete=complete.to_string()>
            <div class="minifig-head">
                <img class="minifig-picture" src=minifig.image.clone() alt="" width="64" height="80" loading="lazy" />
                <div class="grow">
                    <h2>{title}</h2>
                    <p class="small muted">
                        <span class="mono">{minifig.bricklink_id.clone()}</span>
                        {format!(" · {}", condition.label())}
                        {minifig.reference_id.clone().map(|r| format!(" · ref {r}"))}
                        {own_price.map(|p| format!(" · whole minifig sells for {p}"))}
                    </p>
                    {state}
                    <CollectedBar totals=totals.clone() />
                    <p class="small">
                        {if complete { "Complete".to_owned() } else { format!("To complete: {}", cost_to_complete(&totals)) }}
                    </p>
                </div>
                <div class="minifig-actions">
                    <button class="btn" on:click=toggle aria-expanded=move || open().to_string()>
                        {move || if open() { "Hide parts" } else { "Parts" }}
                    </button>
                    <button class="btn btn-danger" on:click=remove title="Remove from the list">"Remove"</button>
                </div>
            </div>
            <Show when=open>
                <MinifigDetails minifig=details.clone() shared />
            </Show>
        </article>
    }
}

#[component]
fn MinifigDetails(minifig: PartialMinifig, shared: Shared) -> impl IntoView {
    let (list_id, id) = (minifig.list_id, minifig.id);
    let notes = RwSignal::new(minifig.notes.clone().unwrap_or_default());
    let reference = RwSignal::new(minifig.reference_id.clone().unwrap_or_default());
    let save = move |ev: SubmitEvent| {
        ev.prevent_default();
        leptos::task::spawn_local(async move {
            let body = MinifigUpdate {
                reference_id: Some(reference.get_untracked()),
                condition: None,
                notes: Some(notes.get_untracked()),
            };
            match api::put::<_, PartialMinifig>(&routes::list_minifig(list_id, id), &body).await {
                Ok(saved) => shared.replace(saved),
                Err(e) => shared.error.set(Some(e.message)),
            }
        });
    };
    let rows = minifig
        .parts
        .iter()
        .cloned()
        .map(|part| view! { <PartRow part list_id id shared /> })
        .collect_view();
    view! {
        <div class="table-card parts">
            <table class="table">
                <thead>
                    <tr>
                        <th></th><th>"Part"</th><th>"Colour"</th><th>"Condition"</th>
                        <th class="num">"Needed"</th><th class="num">"Collected"</th><th class="num">"Each"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        <form class="inline-form minifig-notes" on:submit=save>
            <input aria-label="Reference" placeholder="Your reference" prop:value=move || reference.get() on:input=move |ev| reference.set(event_target_value(&ev)) />
            <input class="grow" aria-label="Notes" placeholder="Notes (e.g. torso scratched)" prop:value=move || notes.get() on:input=move |ev| notes.set(event_target_value(&ev)) />
            <button class="btn" type="submit">"Save notes"</button>
        </form>
    }
}

#[component]
fn PartRow(part: MinifigPart, list_id: ListId, id: MinifigId, shared: Shared) -> impl IntoView {
    let part_id = part.id;
    let send = move |update: PartUpdate| {
        leptos::task::spawn_local(async move {
            match api::put::<_, PartialMinifig>(
                &routes::minifig_part(list_id, id, part_id),
                &update,
            )
            .await
            {
                Ok(saved) => shared.replace(saved),
                Err(e) => shared.error.set(Some(e.message)),
            }
        });
    };
    let (needed, collected) = (part.quantity_needed, part.quantity_collected);
    let each = part.cost_per_piece().map(|p| {
        money(
            p,
            part.prices
                .as_ref()
                .and_then(|p| p.currency.as_deref())
                .unwrap_or(""),
        )
    });
    // Loading until the guide of the part's condition is there (a condition just changed asks
    // for its own guide in the background).
    let loading = !part.prices.as_ref().is_some_and(|p| p.has(part.condition));
    let color_id = part.color_id;
    let colors = move || {
        shared.colors.with(|all| {
            all.iter()
                .map(|c| view! { <option value=c.id.to_string() selected=c.id == color_id>{c.name.clone()}</option> })
                .collect_view()
        })
    };
    let class = if needed == 0 {
        "part-row part-have"
    } else if collected >= needed {
        "part-row part-done"
    } else {
        "part-row"
    };
    view! {
        <tr class=class data-part=part.item_no>
            <td class="thumb-cell"><img class="thumb" src=part.image.clone() alt="" width="32" height="32" loading="lazy" /></td>
            <td><span class="mono small">{part.item_no.clone()}</span><br />{part.name.clone()}</td>
            <td>
                <Swatch code=part.color_code.clone() name=part.color_name.clone() />
                {move || if shared.colors.with(Vec::is_empty) {
                    view! { <span>{part.color_name.clone().unwrap_or_else(|| format!("colour {color_id}"))}</span> }.into_any()
                } else {
                    view! {
                        <select aria-label="Colour" on:change=move |ev| {
                            if let Ok(color) = event_target_value(&ev).parse() {
                                send(PartUpdate { color_id: Some(color), ..PartUpdate::default() });
                            }
                        }>{colors()}</select>
                    }.into_any()
                }}
            </td>
            <td>
                <select aria-label="Condition" on:change=move |ev| {
                    let condition = if event_target_value(&ev) == "used" { Condition::Used } else { Condition::New };
                    send(PartUpdate { condition: Some(condition), ..PartUpdate::default() });
                }>
                    <option value="new" selected=part.condition == Condition::New>"New"</option>
                    <option value="used" selected=part.condition == Condition::Used>"Used"</option>
                </select>
            </td>
            <td class="num">
                <Stepper value=needed label="needed"
                    on_change=Callback::new(move |v| send(PartUpdate { quantity_needed: Some(v), ..PartUpdate::default() })) />
            </td>
            <td class="num">
                <Stepper value=collected label="collected" max=needed
                    on_change=Callback::new(move |v| send(PartUpdate { quantity_collected: Some(v), ..PartUpdate::default() })) />
            </td>
            <td class="num">{if loading { "loading…".to_owned() } else { each.unwrap_or_else(|| "no sales".into()) }}</td>
        </tr>
    }
}

/// − value +, clamped to 0..=max.
#[component]
fn Stepper(
    value: u32,
    label: &'static str,
    #[prop(default = 9_999)] max: u32,
    on_change: Callback<u32>,
) -> impl IntoView {
    view! {
        <span class="stepper" data-stepper=label>
            <button type="button" class="icon-button" aria-label=format!("One less {label}")
                disabled=value == 0 on:click=move |_| on_change.run(value.saturating_sub(1))>"−"</button>
            <span class="stepper-value">{value}</span>
            <button type="button" class="icon-button" aria-label=format!("One more {label}")
                disabled={value >= max} on:click=move |_| on_change.run((value + 1).min(max))>"+"</button>
        </span>
    }
}
