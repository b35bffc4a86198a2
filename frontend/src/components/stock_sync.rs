//! Stock sync on screen: the panel on the Inventory page (on/off, what happens to a BrickLink
//! lot a BrickOwl sale empties, today's figures, cancelled orders to put back, oversold sales
//! naming both orders) and its
//! short card on the dashboard. Both read `GET /api/stock-sync` when shown and again whenever
//! an order arrives or a lot change is applied, so nothing that happened before the page
//! opened is missed.

use app::{
    AtZero, Conflict, EditQueued, JobView, LotId, Queued, ReconcileRequest, ReconcileSummary,
    Resolution, RestockRequest, StockSyncSettings, StockSyncState, jobs::kinds, routes,
};
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

type State = RwSignal<Option<Result<StockSyncState, String>>>;

/// Reads the state again into `state`.
fn reload(state: State) {
    leptos::task::spawn_local(async move {
        let fresh = api::get::<StockSyncState>(routes::STOCK_SYNC).await;
        state.set(Some(fresh.map_err(|e| e.message)));
    });
}

/// The state, read now and after every order, applied change or reconcile.
fn live_state() -> State {
    let live = use_live_events();
    let state = RwSignal::new(None::<Result<StockSyncState, String>>);
    Effect::new(move |_| {
        live.order.track();
        live.resync.track();
        reload(state);
    });
    Effect::new(move |_| {
        let ours = live.job.with(|job| {
            job.as_ref().is_some_and(|j| {
                j.kind == kinds::APPLY_LOT_CHANGES || j.kind == kinds::RECONCILE_STOCK
            })
        });
        if ours {
            reload(state);
        }
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
    let reconciling = RwSignal::new(false);
    let live = use_live_events();
    Effect::new(move |_| {
        let ended = live.job.with(|job| {
            job.as_ref()
                .is_some_and(|j| j.kind == kinds::RECONCILE_STOCK && j.state.is_terminal())
        });
        if ended {
            reconciling.set(false);
        }
    });
    let save = move |settings: StockSyncSettings| {
        error.set(None);
        leptos::task::spawn_local(async move {
            match api::put::<_, StockSyncState>(routes::STOCK_SYNC, &settings).await {
                Ok(fresh) => state.set(Some(Ok(fresh))),
                Err(err) => error.set(Some(err.message)),
            }
        });
    };
    let send = move |path: &'static str, request: RestockRequest| {
        error.set(None);
        leptos::task::spawn_local(async move {
            match api::post::<_, EditQueued>(path, &request).await {
                Ok(_) => {
                    if let Ok(fresh) = api::get::<StockSyncState>(routes::STOCK_SYNC).await {
                        state.set(Some(Ok(fresh)));
                    }
                }
                Err(err) => error.set(Some(err.message)),
            }
        });
    };
    let restock = move |request| send(routes::STOCK_SYNC_RESTOCK, request);
    let release = move |request| send(routes::STOCK_SYNC_HELD, request);
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
                let auto_restock = {
                    let settings = settings.clone();
                    move |ev| save(StockSyncSettings { restock_cancelled: event_target_checked(&ev), ..settings.clone() })
                };
                let restocking = settings.restock_cancelled;
                let stockroom = settings.bricklink_at_zero == AtZero::Stockroom;
                let cancelled = s.cancelled.clone();
                let held_sales = s.held_sales.clone();
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
                    <label class="small stock-sync-zero">
                        <input type="checkbox" id="stock-sync-auto-restock" checked=restocking on:change=auto_restock />
                        " Put a cancelled order's pieces back on both marketplaces by themselves"
                    </label>
                    {(!held_sales.is_empty()).then(|| view! {
                        <div class="notice notice-warn" id="stock-sync-held-sales" role="status">
                            <strong>"Held by your guard rails, not sent yet: check these orders, then apply them."</strong>
                            <ul>{held_sales.into_iter().map(|h| {
                                let label = format!("{} order {}: {} off {} ({} to 0 there)", h.marketplace.label(), h.order_id,
                                    plural(usize::try_from(h.pieces).unwrap_or_default(), "piece", "pieces"),
                                    h.marketplace.other().label(), plural(h.lots_to_zero, "lot", "lots"));
                                let request = RestockRequest { marketplace: h.marketplace, order_id: h.order_id.clone() };
                                view! {
                                    <li data-order=h.order_id>{label}" "
                                        <button class="btn btn-small" name="release" on:click=move |_| release(request.clone())>"Apply"</button>
                                    </li>
                                }
                            }).collect_view()}</ul>
                        </div>
                    })}
                    {(!cancelled.is_empty()).then(|| view! {
                        <div class="notice" id="stock-sync-cancelled" role="status">
                            <strong>{format!("{} cancelled — put the pieces back?", plural(cancelled.len(), "order", "orders"))}</strong>
                            <ul>{cancelled.into_iter().map(|c| {
                                let label = format!("{} order {}: {} in {}", c.marketplace.label(), c.order_id,
                                    plural(usize::try_from(c.pieces).unwrap_or_default(), "piece", "pieces"), plural(c.lots, "lot", "lots"));
                                let request = RestockRequest { marketplace: c.marketplace, order_id: c.order_id.clone() };
                                view! {
                                    <li data-order=c.order_id>{label}" "
                                        <button class="btn btn-small" name="restock" on:click=move |_| restock(request.clone())>"Put back"</button>
                                    </li>
                                }
                            }).collect_view()}</ul>
                        </div>
                    })}
                    {on.then(|| view! {
                        <Reconcile state reconciling error last=s.last_reconcile.clone() conflicts=s.conflicts />
                    })}
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

/// The last reconcile in words.
fn reconcile_words(last: Option<&ReconcileSummary>) -> String {
    let Some(r) = last else {
        return "Not reconciled yet: reconciling reads both stores and takes what changed on one \
                to the other."
            .to_owned();
    };
    let when = relative(r.at);
    if r.held.is_some() {
        return format!("Last reconcile {when}: held, nothing sent (see below).");
    }
    let mut said = format!(
        "Last reconcile {when}: {} in step, {} taken across",
        r.in_step + r.new,
        plural(r.propagated, "change", "changes")
    );
    if r.conflicts > 0 {
        said.push_str(&format!(
            ", {}",
            plural(r.conflicts, "conflict", "conflicts")
        ));
    }
    if r.skipped > 0 {
        said.push_str(&format!(
            ", {} left for next time (changes on their way)",
            r.skipped
        ));
    }
    said.push('.');
    said
}

/// Reconcile now, what the last one found or what a guard rail holds, and the conflicts to
/// settle.
#[component]
fn Reconcile(
    state: State,
    reconciling: RwSignal<bool>,
    error: RwSignal<Option<String>>,
    last: Option<ReconcileSummary>,
    conflicts: usize,
) -> impl IntoView {
    let found = RwSignal::new(Vec::<Conflict>::new());
    let load_conflicts = move || {
        leptos::task::spawn_local(async move {
            if let Ok(list) = api::get::<Vec<Conflict>>(routes::STOCK_SYNC_CONFLICTS).await {
                found.set(list);
            }
        });
    };
    if conflicts > 0 {
        load_conflicts();
    }
    let start = move |confirm: bool| {
        error.set(None);
        reconciling.set(true);
        leptos::task::spawn_local(async move {
            let body = ReconcileRequest { confirm };
            match api::post::<_, Queued>(routes::STOCK_SYNC_RECONCILE, &body).await {
                Ok(queued) => {
                    // It may have ended before this answer came: read it once.
                    for id in queued.job_ids {
                        if let Ok(job) = api::get::<JobView>(&format!("/api/jobs/{id}")).await
                            && job.state.is_terminal()
                        {
                            reconciling.set(false);
                            reload(state);
                        }
                    }
                }
                Err(err) => {
                    reconciling.set(false);
                    error.set(Some(err.message));
                }
            }
        });
    };
    let settle = move |lot: LotId, resolution: Resolution| {
        error.set(None);
        leptos::task::spawn_local(async move {
            match api::post::<_, EditQueued>(&routes::stock_sync_resolve(lot), &resolution).await {
                Ok(_) => {
                    found.update(|list| list.retain(|c| c.lot != lot));
                    reload(state);
                }
                Err(err) => error.set(Some(err.message)),
            }
        });
    };
    let settle_all = move |resolution: Resolution| {
        error.set(None);
        leptos::task::spawn_local(async move {
            match api::post::<_, EditQueued>(routes::STOCK_SYNC_RESOLVE_ALL, &resolution).await {
                Ok(_) => {
                    found.set(Vec::new());
                    reload(state);
                }
                Err(err) => error.set(Some(err.message)),
            }
        });
    };
    let held = last.as_ref().and_then(|r| r.held.clone());
    view! {
        <div class="stock-sync-reconcile">
            <div class="reconcile-line">
                <span class="small" id="stock-sync-last">{reconcile_words(last.as_ref())}</span>
                <button class="btn btn-small" id="stock-sync-reconcile" disabled=move || reconciling.get()
                    on:click=move |_| start(false)>
                    {move || if reconciling.get() { "Reconciling…" } else { "Reconcile now" }}
                </button>
            </div>
            {held.map(|held| view! {
                <div class="notice notice-warn" id="stock-sync-held" role="status">
                    <strong>{format!("Held, nothing sent: {}.", held.reasons.join("; "))}</strong>
                    <div class="table-scroll">
                        <table class="table compact">
                            <thead><tr><th>"Lot"</th><th>"BrickLink"</th><th>"BrickOwl"</th></tr></thead>
                            <tbody>{held.lines.into_iter().map(|line| view! {
                                <tr>
                                    <td><span class="mono small">{line.item.no.clone()}</span>" "{line.color_name.clone().unwrap_or_default()}" "{line.item.name.clone()}</td>
                                    <td class="small">{format!("{} → {} → {}", line.base[0], line.now[0], line.after[0])}</td>
                                    <td class="small">{format!("{} → {} → {}", line.base[1], line.now[1], line.after[1])}</td>
                                </tr>
                            }).collect_view()}</tbody>
                        </table>
                    </div>
                    <p class="small muted">"Each cell: in step → now → after. Check them on the marketplaces, then:"</p>
                    <button class="btn btn-primary btn-small" id="stock-sync-confirm" on:click=move |_| start(true)>"Confirm and apply"</button>
                </div>
            })}
            {move || (!found.with(Vec::is_empty)).then(|| view! {
                <div class="notice" id="stock-sync-conflicts" role="status">
                    <strong>"Changed differently on both marketplaces since they were in step: choose which count is right."</strong>
                    <p class="small">"For all of them: "
                        <button class="btn btn-small" name="keep-all-bricklink" on:click=move |_| settle_all(Resolution::Bricklink)>"BrickLink's counts"</button>" "
                        <button class="btn btn-small" name="keep-all-brickowl" on:click=move |_| settle_all(Resolution::Brickowl)>"BrickOwl's counts"</button>
                    </p>
                    <ul>{found.get().into_iter().map(|c| {
                        let lot = c.lot;
                        view! {
                            <li data-lot=lot.0.to_string()>
                                <span class="mono small">{c.item.no.clone()}</span>" "{c.color_name.clone().unwrap_or_default()}" "{c.item.name.clone()}
                                <span class="small muted">{format!(" (in step: {} and {})", c.base[0], c.base[1])}</span>" "
                                <button class="btn btn-small" name="keep-bricklink" on:click=move |_| settle(lot, Resolution::Bricklink)>{format!("BrickLink's {}", c.now[0])}</button>" "
                                <button class="btn btn-small" name="keep-brickowl" on:click=move |_| settle(lot, Resolution::Brickowl)>{format!("BrickOwl's {}", c.now[1])}</button>
                            </li>
                        }
                    }).collect_view()}</ul>
                </div>
            })}
        </div>
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
                    {(!s.cancelled.is_empty()).then(|| view! { <p class="notice small">{plural(s.cancelled.len(), "cancelled order to put back", "cancelled orders to put back")}</p> })}
                    {(s.conflicts > 0).then(|| view! { <p class="notice small">{plural(s.conflicts, "conflict to settle", "conflicts to settle")}</p> })}
                    <p class="small muted">{reconcile_words(s.last_reconcile.as_ref())}</p>
                }.into_any()
            } else {
                view! { <p class="muted">"Off: sales on one marketplace stay there. Turn it on in Inventory."</p> }.into_any()
            })}
        </A>
    }
}
