//! Stock sync on screen: the panel on the Inventory page (on/off, what happens to a BrickLink
//! lot a BrickOwl sale empties, today's figures, oversold sales naming both orders) and its
//! short card on the dashboard. Both read `GET /api/stock-sync` when shown and again whenever
//! an order arrives or a lot change is applied, so nothing that happened before the page
//! opened is missed.

use app::{AtZero, StockSyncSettings, StockSyncState, jobs::kinds, routes};
use leptos::prelude::*;
use leptos_router::components::A;

use crate::{
    api,
    components::{
        format::{date_time, relative},
        loaded::loaded,
    },
    sse::use_live_events,
};

/// The state, read now and after every order or applied change.
fn live_state() -> RwSignal<Option<Result<StockSyncState, String>>> {
    let live = use_live_events();
    let state = RwSignal::new(None::<Result<StockSyncState, String>>);
    Effect::new(move |_| {
        live.order.track();
        live.resync.track();
        if live.job.with(|job| {
            job.as_ref()
                .is_some_and(|j| j.kind != kinds::APPLY_LOT_CHANGES)
        }) {
            return;
        }
        leptos::task::spawn_local(async move {
            let fresh = api::get::<StockSyncState>(routes::STOCK_SYNC).await;
            state.set(Some(fresh.map_err(|e| e.message)));
        });
    });
    state
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The Inventory page's panel.
#[component]
pub fn StockSyncPanel() -> impl IntoView {
    let state = live_state();
    let error = RwSignal::new(None::<String>);
    let save = move |settings: StockSyncSettings| {
        error.set(None);
        leptos::task::spawn_local(async move {
            match api::put::<_, StockSyncState>(routes::STOCK_SYNC, &settings).await {
                Ok(fresh) => state.set(Some(Ok(fresh))),
                Err(err) => error.set(Some(err.message)),
            }
        });
    };
    view! {
        <section class="card stock-sync" id="stock-sync">
            {loaded(state, "Loading stock sync…", move |s: StockSyncState| {
                let settings = s.settings.clone();
                let on = settings.enabled;
                let toggle = {
                    let settings = settings.clone();
                    move |_| save(StockSyncSettings { enabled: !on, ..settings.clone() })
                };
                let at_zero = {
                    let settings = settings.clone();
                    move |ev| {
                        let choice = if event_target_value(&ev) == "stockroom" { AtZero::Stockroom } else { AtZero::Delete };
                        save(StockSyncSettings { bricklink_at_zero: choice, ..settings.clone() });
                    }
                };
                let stockroom = settings.bricklink_at_zero == AtZero::Stockroom;
                let oversold = s.oversold.clone();
                let failed_class = if s.failed > 0 { "figure figure-bad" } else { "figure" };
                view! {
                    <div class="stock-sync-head">
                        <div>
                            <h2 class="section-title">"Stock sync"</h2>
                            <p class="muted small" id="stock-sync-summary">{if on {
                                format!("On since {}: every sale on one marketplace takes its pieces off the same lot on the other, once.",
                                    s.since.map(date_time).unwrap_or_default())
                            } else {
                                "Off: a sale on one marketplace stays there. Turn it on and every sale from now on takes its pieces off the same lot on the other marketplace, once.".to_owned()
                            }}</p>
                        </div>
                        <button class=if on { "btn" } else { "btn btn-primary" } id="stock-sync-toggle" on:click=toggle>
                            {if on { "Turn off" } else { "Turn on" }}
                        </button>
                    </div>
                    <div class="stock-sync-figures">
                        <div class="figure"><strong id="stock-sync-today">{s.propagated_today}</strong><span class="small muted">"sales taken off the other side today"</span></div>
                        <div class="figure"><strong id="stock-sync-waiting">{s.waiting}</strong><span class="small muted">"on their way"</span></div>
                        <div class=failed_class><strong id="stock-sync-failed">{s.failed}</strong><span class="small muted">"refused (see Changes)"</span></div>
                        <div class="figure"><strong>{s.needs_linking}</strong><span class="small muted">"lots on one marketplace only (their sales stay there)"</span></div>
                    </div>
                    {(s.unmatched > 0).then(|| view! {
                        <p class="small muted">{format!("{} matched no lot brickdesk knows: read your stores again after listing new lots.", plural(s.unmatched, "sale line", "sale lines"))}</p>
                    })}
                    <label class="small stock-sync-zero">"When a BrickOwl sale empties a BrickLink lot: "
                        <select id="stock-sync-at-zero" on:change=at_zero>
                            <option value="delete" selected=!stockroom>"delete it on BrickLink (as BrickLink does)"</option>
                            <option value="stockroom" selected=stockroom>"move it to the stockroom at 0"</option>
                        </select>
                    </label>
                    {(!oversold.is_empty()).then(|| view! {
                        <div class="notice notice-error" id="stock-sync-oversold" role="status">
                            <strong>{format!("{} — settle with one of the buyers:", plural(oversold.len(), "oversold sale", "oversold sales"))}</strong>
                            <ul>{oversold.into_iter().map(|o| view! {
                                <li><span title=date_time(o.at)>{relative(o.at)}</span>": "{o.describe()}</li>
                            }).collect_view()}</ul>
                        </div>
                    })}
                }
            })}
            {move || error.get().map(|e| view! { <p class="notice notice-error" role="alert">{e}</p> })}
        </section>
    }
}

/// The dashboard's card.
#[component]
pub fn StockSyncCard() -> impl IntoView {
    let state = live_state();
    view! {
        <A href="/inventory" attr:class="card side-card" attr:id="stock-sync-card">
            <h2 class="section-title">"Stock sync"</h2>
            {loaded(state, "Loading…", |s: StockSyncState| if s.settings.enabled {
                view! {
                    <p>{format!("On · {} today · {} on their way", plural(s.propagated_today, "sale", "sales"), s.waiting)}</p>
                    {(s.failed > 0).then(|| view! { <p class="notice notice-error small">{format!("{} refused: open Inventory › Changes", s.failed)}</p> })}
                    {(!s.oversold.is_empty()).then(|| view! { <p class="notice notice-error small">{plural(s.oversold.len(), "oversold sale to settle", "oversold sales to settle")}</p> })}
                }.into_any()
            } else {
                view! { <p class="muted">"Off: sales on one marketplace stay there. Turn it on in Inventory."</p> }.into_any()
            })}
        </A>
    }
}
