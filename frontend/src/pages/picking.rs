//! Picking: the pick lists (a new one from every paid order, the location pattern) and one
//! pick list to work through on a phone: big lines in location order, ticked by whoever picks
//! and seen live by everyone with the list open; a short pick offers the stock correction;
//! a closed list ships its orders with their tracking numbers in one go.

use app::{
    AtZero, EditQueued, FulfilmentSettings, LotEdit, NewPickList, OrderRef, PickLine, PickList,
    PickListId, PickListState, PickListSummary, PickTicked, Queued, ShipOrder, ShipRequest,
    TickRequest, routes,
};
use leptos::{ev::SubmitEvent, prelude::*};
use leptos_router::{
    components::A,
    hooks::{use_navigate, use_params_map},
};

use crate::{
    api,
    components::{
        documents::DocumentLinks,
        form::{ErrorNotice, SuccessNotice},
        format::{count, relative},
        loaded::loaded,
        orders::MarketBadge,
    },
    sse::use_live_events,
};

/// The pick lists page.
#[component]
pub fn PickListsPage() -> impl IntoView {
    let lists = RwSignal::new(None::<Result<Vec<PickListSummary>, String>>);
    leptos::task::spawn_local(async move {
        let fresh = api::get::<Vec<PickListSummary>>(routes::PICK_LISTS).await;
        lists.set(Some(fresh.map_err(|e| e.message)));
    });
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let navigate = use_navigate();
    let pick_paid = move |_| {
        busy.set(true);
        error.set(None);
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            let body = NewPickList {
                orders: Vec::new(),
                all_paid: true,
            };
            match api::post::<_, PickList>(routes::PICK_LISTS, &body).await {
                Ok(list) => navigate(&format!("/picking/{}", list.id.0), Default::default()),
                Err(e) => {
                    busy.set(false);
                    error.set(Some(e.message));
                }
            }
        });
    };
    view! {
        <div class="page-head">
            <h1>"Picking"</h1>
            <p class="muted">"One list across BrickLink and BrickOwl: every order's pieces of a lot on one line, in the order of your storage locations. Tick lines off on your phone; everyone with the list open sees it."</p>
        </div>
        <div class="card pick-start">
            <button class="btn btn-primary" id="pick-paid" on:click=pick_paid disabled=move || busy.get()>
                "Pick every paid order"
            </button>
            <p class="muted small">"Or choose orders on the Orders page and press “Pick selected”."</p>
            <ErrorNotice message=error />
        </div>
        {loaded(lists, "Loading your pick lists…", |found| if found.is_empty() {
            view! {
                <div class="card empty" id="no-pick-lists">
                    <h2>"No pick lists yet"</h2>
                    <p class="muted">"When orders are paid, press “Pick every paid order” above and take your phone to the shelves."</p>
                </div>
            }.into_any()
        } else {
            view! {
                <div class="list-grid" id="pick-lists">
                    {found.into_iter().map(|list| view! { <PickListCard list /> }).collect_view()}
                </div>
            }.into_any()
        })}
        <LocationPattern />
    }
}

#[component]
fn PickListCard(list: PickListSummary) -> impl IntoView {
    let href = format!("/picking/{}", list.id.0);
    let summary = list.clone();
    view! {
        <A href=href attr:class="card list-card pick-card">
            <h2>{format!("Pick list {}", list.id.0)}
                {(list.state == PickListState::Closed).then(|| view! { <span class="chip">" closed"</span> })}
            </h2>
            <p class="small muted">{format!("{} by {}", relative(list.created_at), list.created_by)}</p>
            <p class="small">
                {format!("{} order{} · {} lines · {} pieces", list.orders, plural(list.orders), list.lines, count(u64::try_from(list.pieces).unwrap_or(0)))}
            </p>
            <TickedBar summary=summary.clone() />
            <p class="small">
                {format!("{} of {} lines ticked", list.ticked, list.lines)}
                {(list.short > 0).then(|| format!(" · {} short", list.short))}
            </p>
        </A>
    }
}

/// How many of a list's lines are ticked, as a bar.
#[component]
fn TickedBar(summary: PickListSummary) -> impl IntoView {
    let done = (summary.ticked * 100)
        .checked_div(summary.lines)
        .unwrap_or(100);
    view! {
        <div class="progress" role="progressbar" aria-valuenow=done aria-valuemin="0" aria-valuemax="100">
            <div class="progress-fill" style=format!("width: {done}%")></div>
        </div>
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The location pattern setting.
#[component]
fn LocationPattern() -> impl IntoView {
    let pattern = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let saved = RwSignal::new(None::<String>);
    leptos::task::spawn_local(async move {
        if let Ok(settings) = api::get::<FulfilmentSettings>(routes::FULFILMENT_SETTINGS).await {
            pattern.set(settings.location_pattern);
        }
    });
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        saved.set(None);
        leptos::task::spawn_local(async move {
            let body = FulfilmentSettings {
                location_pattern: pattern.get_untracked(),
            };
            match api::put::<_, FulfilmentSettings>(routes::FULFILMENT_SETTINGS, &body).await {
                Ok(_) => saved.set(Some("Saved: new pick lists use it.".into())),
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    view! {
        <form class="card inline-form location-pattern" id="location-pattern" on:submit=submit>
            <label class="field grow">
                <span class="field-label">"Location in your remarks"</span>
                <input id="pattern" name="pattern" placeholder="e.g. ^([A-Z]-\\d+-\\d+) — empty takes the remarks whole"
                    prop:value=move || pattern.get() on:input=move |ev| pattern.set(event_target_value(&ev)) />
                <span class="muted small">"A regular expression; its first group (or the whole match) is the location. Locations sort as people read them: A-2 before A-10."</span>
            </label>
            <button class="btn" type="submit">"Save"</button>
        </form>
        <ErrorNotice message=error />
        <SuccessNotice message=saved />
    }
}

/// One pick list.
#[component]
pub fn PickListPage() -> impl IntoView {
    let params = use_params_map();
    let live = use_live_events();
    let id = move || {
        params.with(|p| {
            p.get("id")
                .and_then(|id| id.parse::<u64>().ok())
                .map(PickListId)
        })
    };
    let list = RwSignal::new(None::<Result<PickList, String>>);
    let load = move || {
        let Some(id) = id() else {
            list.set(Some(Err("There is no such pick list.".into())));
            return;
        };
        leptos::task::spawn_local(async move {
            let fresh = api::get::<PickList>(&routes::pick_list(id)).await;
            list.set(Some(fresh.map_err(|e| e.message)));
        });
    };
    // The list is read after the page listens, so a tick that came first is in what it reads.
    Effect::new(move |_| {
        live.resync.track();
        load();
    });
    Effect::new(move |_| {
        let Some(ticked) = live.pick.get() else {
            return;
        };
        if Some(ticked.list) == id() {
            apply_tick(list, &ticked);
        }
    });
    view! {
        <p class="crumbs"><A href="/picking">"← Picking"</A></p>
        {loaded(list, "Loading the pick list…", move |found| view! { <PickListView list=found signal=list /> })}
    }
}

fn apply_tick(list: RwSignal<Option<Result<PickList, String>>>, ticked: &PickTicked) {
    list.update(|current| {
        if let Some(Ok(found)) = current
            && let Some(line) = found.lines.iter_mut().find(|l| l.line == ticked.line)
        {
            line.tick.clone_from(&ticked.tick);
        }
    });
}

#[component]
fn PickListView(
    list: PickList,
    signal: RwSignal<Option<Result<PickList, String>>>,
) -> impl IntoView {
    let summary = list.summary();
    let id = list.id;
    let open = list.state == PickListState::Open;
    let error = RwSignal::new(None::<String>);
    let close = move |_| {
        error.set(None);
        leptos::task::spawn_local(async move {
            match api::post::<_, PickList>(&routes::pick_list_close(id), &serde_json::json!({}))
                .await
            {
                Ok(closed) => signal.set(Some(Ok(closed))),
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    let orders = list.orders.clone();
    view! {
        <div class="page-head pick-head">
            <h1>{format!("Pick list {}", id.0)}</h1>
            <p class="muted" id="pick-progress">
                {format!("{} of {} lines ticked · {} pieces · {} order{}", summary.ticked, summary.lines, count(u64::try_from(summary.pieces).unwrap_or(0)), summary.orders, plural(summary.orders))}
                {(summary.short > 0).then(|| format!(" · {} short", summary.short))}
                {(!open).then_some(" · closed")}
            </p>
            <TickedBar summary />
        </div>
        <ErrorNotice message=error />
        <ol class="pick-lines" id="pick-lines">
            {list.lines.into_iter().map(|line| view! { <PickLineCard list=id line open /> }).collect_view()}
        </ol>
        {if open {
            view! {
                <div class="card pick-close">
                    <p class="muted small">"When every line is ticked, close the list: orders whose pieces were all found are picked; short lines stay on their orders so you can tell the buyer."</p>
                    <button class="btn btn-primary" id="close-pick-list" on:click=close>"Close the list"</button>
                </div>
            }.into_any()
        } else {
            view! {
                <div class="card">
                    <h2>"Print"</h2>
                    <p class="muted small">"Every order of this list in one document, each on its own page."</p>
                    <DocumentLinks orders=orders.clone() />
                </div>
                <ShipForm orders />
            }.into_any()
        }}
    }
}

#[component]
fn PickLineCard(list: PickListId, line: PickLine, open: bool) -> impl IntoView {
    let number = line.line;
    let needed = line.quantity;
    let short_open = RwSignal::new(false);
    let found = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let corrected = RwSignal::new(None::<String>);
    let send = move |value: Option<i64>| {
        error.set(None);
        leptos::task::spawn_local(async move {
            let body = TickRequest { found: value };
            // The answer comes back as a live event too; the page applies that.
            if let Err(e) = api::put::<_, PickTicked>(&routes::pick_line(list, number), &body).await
            {
                error.set(Some(e.message));
            } else {
                short_open.set(false);
            }
        });
    };
    let save_short = move |ev: SubmitEvent| {
        ev.prevent_default();
        match found.get_untracked().trim().parse::<i64>() {
            Ok(n) if (0..needed).contains(&n) => send(Some(n)),
            _ => error.set(Some(format!(
                "Enter how many you found: 0 to {}.",
                needed - 1
            ))),
        }
    };
    let lot = line.lot;
    let correct = move |_| {
        let Some(lot) = lot else {
            return;
        };
        leptos::task::spawn_local(async move {
            let body = LotEdit {
                quantity: Some(0),
                at_zero: Some(AtZero::Stockroom),
                ..LotEdit::default()
            };
            match api::put::<_, EditQueued>(&routes::inventory_lot(lot), &body).await {
                Ok(_) => corrected.set(Some(
                    "The lot is set to 0 on both marketplaces (BrickLink keeps it in the stockroom)."
                        .into(),
                )),
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    let tick = line.tick.clone();
    let is_short = line.is_short();
    let state = match (&tick, is_short) {
        (None, _) => "open",
        (Some(_), true) => "short",
        (Some(_), false) => "done",
    };
    let swatch = line
        .color_code
        .clone()
        .map(|code| view! { <span class="swatch" style=format!("background: #{code}")></span> });
    let condition = if line.new { "New" } else { "Used" };
    let details = [
        line.color_name.clone().unwrap_or_default(),
        condition.to_owned(),
        line.item_no.clone(),
    ]
    .into_iter()
    .filter(|part| !part.is_empty())
    .collect::<Vec<_>>()
    .join(" · ");
    view! {
        <li class="card pick-line" data-line=number data-state=state>
            <div class="pick-where">
                <span class="pick-location">{if line.location.is_empty() { "No location".to_owned() } else { line.location.clone() }}</span>
                <span class="pick-quantity">{format!("× {needed}")}</span>
            </div>
            <div class="pick-item">
                {line.image.clone().map(|src| view! { <img class="pick-picture" src=src alt="" loading="lazy" /> })}
                <div>
                    <strong>{line.name.clone()}</strong>
                    <p class="small muted">
                        {swatch}
                        {details}
                    </p>
                    <p class="small pick-orders">
                        {line.orders.iter().map(|share| view! {
                            <span class="chip">
                                <MarketBadge marketplace=share.marketplace />
                                {format!(" {} × {}", share.order_id, share.quantity)}
                            </span>
                        }).collect_view()}
                    </p>
                </div>
            </div>
            {tick.clone().map(|t| view! {
                <p class="small pick-ticked">
                    {if is_short { format!("Found {} of {needed}", t.found) } else { "Found all".to_owned() }}
                    {format!(" · {} {}", t.by, relative(t.at))}
                </p>
            })}
            {(open && tick.is_none()).then(|| view! {
                <div class="pick-actions">
                    <button class="btn btn-primary pick-found" on:click=move |_| send(Some(needed))>"Found all"</button>
                    <button class="btn pick-short" on:click=move |_| short_open.update(|o| *o = !*o)>"Short…"</button>
                </div>
            })}
            {(open && tick.is_some()).then(|| view! {
                <div class="pick-actions">
                    <button class="btn btn-small pick-undo" on:click=move |_| send(None)>"Undo"</button>
                </div>
            })}
            <Show when=move || short_open.get()>
                <form class="inline-form pick-short-form" on:submit=save_short>
                    <label class="field">
                        <span class="field-label">"Found"</span>
                        <input type="number" inputmode="numeric" min="0" max=needed - 1 name="found"
                            prop:value=move || found.get() on:input=move |ev| found.set(event_target_value(&ev)) />
                    </label>
                    <button class="btn btn-primary" type="submit">"Save"</button>
                </form>
            </Show>
            {(is_short && lot.is_some()).then(|| view! {
                <div class="pick-actions">
                    <button class="btn btn-small pick-correct" on:click=correct>"Shelf empty: set the lot to 0"</button>
                </div>
            })}
            <ErrorNotice message=error />
            <SuccessNotice message=corrected />
        </li>
    }
}

/// After picking: ship the list's orders at once, each with its tracking number.
#[component]
fn ShipForm(orders: Vec<OrderRef>) -> impl IntoView {
    let tracking: Vec<(OrderRef, RwSignal<String>)> = orders
        .into_iter()
        .map(|o| (o, RwSignal::new(String::new())))
        .collect();
    let error = RwSignal::new(None::<String>);
    let done = RwSignal::new(None::<String>);
    let rows = tracking.clone();
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let body = ShipRequest {
            orders: tracking
                .iter()
                .map(|(o, t)| ShipOrder {
                    marketplace: o.marketplace,
                    order_id: o.order_id.clone(),
                    tracking: Some(t.get_untracked()),
                })
                .collect(),
        };
        leptos::task::spawn_local(async move {
            match api::post::<_, Queued>(routes::ORDERS_SHIP, &body).await {
                Ok(queued) => done.set(Some(format!(
                    "Marking {} order{} shipped: each one shows Shipped once its marketplace took it (see Jobs).",
                    queued.job_ids.len(),
                    plural(queued.job_ids.len())
                ))),
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    view! {
        <form class="card ship-form" id="ship-form" on:submit=submit>
            <h2>"Ship these orders"</h2>
            <p class="muted small">"Packed and ready? Add tracking numbers (optional) and mark them all shipped on their marketplaces."</p>
            {rows.into_iter().map(|(order, value)| view! {
                <label class="field ship-row">
                    <span class="field-label">
                        <MarketBadge marketplace=order.marketplace />
                        " "
                        <A href=format!("/orders/{}/{}", order.marketplace.as_str(), order.order_id)>{order.order_id.clone()}</A>
                    </span>
                    <input name="tracking" placeholder="Tracking number"
                        prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev)) />
                </label>
            }).collect_view()}
            <button class="btn btn-primary" type="submit" id="ship-all">"Mark all shipped"</button>
            <ErrorNotice message=error />
            <SuccessNotice message=done />
        </form>
    }
}
