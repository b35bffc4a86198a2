//! Orders: both marketplaces in one table with filters, search, sort and pages; new and changed
//! orders appear live; "Sync now" and the import's progress bar; empty states that lead to
//! Settings; a banner when a marketplace cannot be reached.

use std::time::Duration;

use app::{
    ConnectionView, JobState, JobView, Marketplace, NewPickList, OrderList, OrderQuery, OrderRef,
    OrderSort, OrderStatus, PickList, Queued, ShipOrder, ShipRequest, SyncRequest, jobs::kinds,
    routes,
};
use leptos::prelude::*;

use crate::components::loaded::loaded;
use leptos_router::{
    components::A,
    hooks::{use_navigate, use_query_map},
};

use crate::{
    api,
    components::{
        documents::DocumentLinks,
        form::{ErrorNotice, SuccessNotice},
        format::{date_time, money, relative},
        orders::{FreshnessBanner, MarketBadge, StatusChip},
        pager::Pager,
    },
    sse::use_live_events,
};

/// What the filters ask for.
#[derive(Clone, PartialEq)]
struct Filters {
    q: String,
    status: String,
    marketplace: String,
    from: String,
    to: String,
    sort: OrderSort,
    descending: bool,
    page: usize,
}

impl Filters {
    fn query(&self) -> String {
        let text = |value: &String| Some(value.trim().to_owned()).filter(|v| !v.is_empty());
        OrderQuery {
            status: text(&self.status),
            marketplace: Marketplace::parse(self.marketplace.trim()),
            q: text(&self.q),
            from: text(&self.from),
            to: text(&self.to),
            sort: Some(self.sort),
            order: Some(if self.descending { "desc" } else { "asc" }.to_owned()),
            page: Some(self.page),
            per_page: Some(50),
        }
        .to_query_string()
    }

    fn narrowed(&self) -> bool {
        [
            &self.q,
            &self.status,
            &self.marketplace,
            &self.from,
            &self.to,
        ]
        .iter()
        .any(|v| !v.trim().is_empty())
    }
}

/// A running sync, as its job reports it.
#[derive(Clone, PartialEq)]
struct Running {
    percent: Option<u8>,
    message: String,
    /// Estimated time left, from the pace so far.
    eta: Option<String>,
}

/// "about 3 min left" from the pace since `started_ms` (browser clock).
fn eta(started_ms: f64, percent: u8) -> Option<String> {
    if !(3..100).contains(&percent) {
        return None;
    }
    let elapsed = (js_sys::Date::now() - started_ms) / 1000.0;
    let left = elapsed / f64::from(percent) * f64::from(100 - percent);
    Some(match left {
        s if s < 60.0 => "less than a minute left".to_owned(),
        s if s < 3600.0 => format!("about {} min left", (s / 60.0).round()),
        s => format!("about {:.1} h left", s / 3600.0),
    })
}

/// The Orders page.
#[component]
pub fn OrdersPage() -> impl IntoView {
    let live = use_live_events();
    // `?q=`, `?status=` and `?marketplace=` come from dashboard cards and search results.
    let url = use_query_map();
    let from_url = move || {
        url.with(|q| {
            (
                q.get("q").unwrap_or_default(),
                q.get("status").unwrap_or_default(),
                q.get("marketplace").unwrap_or_default(),
            )
        })
    };
    let (first_q, first_status, first_marketplace) = from_url();
    let filters = RwSignal::new(Filters {
        q: first_q.clone(),
        status: first_status,
        marketplace: first_marketplace,
        from: String::new(),
        to: String::new(),
        sort: OrderSort::Date,
        descending: true,
        page: 1,
    });
    let search = RwSignal::new(first_q);
    Effect::new(move |seen: Option<(String, String, String)>| {
        let now = from_url();
        if seen.is_some_and(|seen| seen != now) {
            let (q, status, marketplace) = now.clone();
            search.set(q.clone());
            filters.update(|f| {
                f.q = q;
                f.status = status;
                f.marketplace = marketplace;
                f.page = 1;
            });
        }
        now
    });
    let list = RwSignal::new(None::<Result<OrderList, String>>);
    let connections = RwSignal::new(Vec::<ConnectionView>::new());
    let running = RwSignal::new(None::<Running>);
    let notice = RwSignal::new(None::<String>);
    let reload_queued = StoredValue::new(false);
    let typed = StoredValue::new(0u64);
    let import_started = StoredValue::new(None::<f64>);

    let load = move || {
        let query = filters.get_untracked().query();
        leptos::task::spawn_local(async move {
            let fresh = api::get::<OrderList>(&format!("{}?{query}", routes::ORDERS)).await;
            list.set(Some(fresh.map_err(|e| e.message)));
        });
    };
    let load_connections = move || {
        leptos::task::spawn_local(async move {
            if let Ok(all) = api::get::<Vec<ConnectionView>>(routes::CONNECTIONS).await {
                connections.set(all);
            }
        });
    };
    let reload_soon = move || {
        if !reload_queued.get_value() {
            reload_queued.set_value(true);
            set_timeout(
                move || {
                    reload_queued.set_value(false);
                    load();
                },
                Duration::from_millis(300),
            );
        }
    };
    Effect::new(move |_| {
        filters.track();
        live.resync.track();
        load();
    });
    Effect::new(move |_| {
        live.resync.track();
        load_connections();
    });
    Effect::new(move |_| {
        let Some(summary) = live.order.get() else {
            return;
        };
        // The event carries the whole row: a row on this page changes in place at once.
        let mut on_page = false;
        list.update(|l| {
            if let Some(Ok(found)) = l
                && let Some(row) = found.orders.iter_mut().find(|o| {
                    o.marketplace == summary.marketplace && o.order_id == summary.order_id
                })
            {
                *row = summary.clone();
                on_page = true;
            }
        });
        // A new order, or a change that may move it into or out of a filtered view: ask again.
        if !on_page || filters.with_untracked(Filters::narrowed) {
            reload_soon();
        }
    });
    Effect::new(move |_| {
        if let Some(fresh) = live.connection.get() {
            connections.update(|all| {
                if let Some(slot) = all.iter_mut().find(|c| c.marketplace == fresh.marketplace) {
                    *slot = fresh;
                }
            });
        }
    });
    Effect::new(move |_| {
        let Some(job) = live.job.get() else { return };
        if !kinds::ORDER_SYNCS.contains(&job.kind.as_str()) {
            return;
        }
        let percent = (job.kind == kinds::IMPORT_ORDERS_BATCH)
            .then(|| job.progress.as_ref().map_or(0, |p| p.percent));
        if percent.is_some() && import_started.get_value().is_none() {
            import_started.set_value(Some(js_sys::Date::now()));
        }
        match job.state {
            JobState::Running => running.set(Some(Running {
                eta: percent
                    .zip(import_started.get_value())
                    .and_then(|(p, at)| eta(at, p)),
                percent,
                message: match job.kind.as_str() {
                    kinds::IMPORT_ORDERS_BATCH => job.progress.as_ref().map_or_else(
                        || "Importing orders…".to_owned(),
                        |p| format!("Importing orders: {}", p.message),
                    ),
                    kinds::IMPORT_ORDERS => "Listing every order…".to_owned(),
                    _ => "Checking for new and changed orders…".to_owned(),
                },
            })),
            state if state.is_terminal() => {
                running.set(None);
                import_started.set_value(None);
                load_connections();
                reload_soon();
            }
            _ => {}
        }
    });

    // Search as you type, without a request per key.
    let on_search = move |ev| {
        search.set(event_target_value(&ev));
        typed.update_value(|n| *n += 1);
        let mine = typed.get_value();
        set_timeout(
            move || {
                if typed.get_value() == mine {
                    filters.update(|f| {
                        f.q = search.get_untracked();
                        f.page = 1;
                    });
                }
            },
            Duration::from_millis(250),
        );
    };
    let sync_now = move |_| {
        notice.set(None);
        leptos::task::spawn_local(async move {
            match api::post::<_, Queued>(routes::SYNC, &SyncRequest::default()).await {
                Ok(queued) => {
                    running.set(Some(Running {
                        percent: None,
                        message: "Checking for new and changed orders…".into(),
                        eta: None,
                    }));
                    // The jobs may have ended before this answer came (their events first, not
                    // yet ours): read them once, so the page never waits for an event it missed.
                    let mut open = false;
                    for id in queued.job_ids {
                        let job = api::get::<JobView>(&format!("/api/jobs/{id}")).await;
                        open |= job.is_ok_and(|j| !j.state.is_terminal());
                    }
                    if !open {
                        running.set(None);
                        load_connections();
                        reload_soon();
                    }
                }
                Err(err) => notice.set(Some(err.message)),
            }
        });
    };
    let any_connected = move || connections.with(|all| all.iter().any(|c| c.configured));

    view! {
        <div class="page-head page-head-row">
            <div>
                <h1>"Orders"</h1>
                <p class="muted" id="sync-summary">{move || sync_summary(&connections.get())}</p>
            </div>
            <button class="btn btn-primary" id="sync-now" on:click=sync_now disabled=move || running.with(Option::is_some)>
                {move || if running.with(Option::is_some) { "Syncing…" } else { "Sync now" }}
            </button>
        </div>
        <FreshnessBanner connections=connections.into() />
        {move || notice.get().map(|n| view! { <p class="notice notice-error" role="alert">{n}</p> })}
        {move || running.get().map(|r| view! {
            <div class="card sync-card" id="sync-progress">
                <div class="sync-line"><span>{r.message.clone()}</span>
                    <span>
                        {r.eta.clone().map(|e| view! { <span class="muted">{e}" · "</span> })}
                        {r.percent.map(|p| view! { <strong>{format!("{p}%")}</strong> })}
                    </span>
                </div>
                <div class="meter" role="progressbar" aria-valuemin="0" aria-valuemax="100"
                    aria-valuenow=r.percent.map(|p| p.to_string())>
                    <div class=if r.percent.is_some() { "meter-fill" } else { "meter-fill meter-busy" }
                        style=format!("width: {}%", r.percent.unwrap_or(35))></div>
                </div>
            </div>
        })}
        <div class="filters card">
            <input type="search" id="orders-search" placeholder="Search order number, buyer or item…"
                aria-label="Search orders" prop:value=move || search.get() on:input=on_search />
            <select id="orders-status" aria-label="Status"
                on:change=move |ev| filters.update(|f| { f.status = event_target_value(&ev); f.page = 1; })>
                <option value="">"Any status"</option>
                <option value=OrderStatus::needs_action_filter()>"Needs action"</option>
                {OrderStatus::ALL.into_iter().map(|s| view! { <option value=s.as_str()>{s.label()}</option> }).collect_view()}
            </select>
            <select id="orders-marketplace" aria-label="Marketplace"
                on:change=move |ev| filters.update(|f| { f.marketplace = event_target_value(&ev); f.page = 1; })>
                <option value="">"Both marketplaces"</option>
                {Marketplace::ALL.into_iter().map(|m| view! { <option value=m.as_str()>{m.label()}</option> }).collect_view()}
            </select>
            <label class="date-filter">"From"
                <input type="date" id="orders-from" on:change=move |ev| filters.update(|f| { f.from = event_target_value(&ev); f.page = 1; }) />
            </label>
            <label class="date-filter">"To"
                <input type="date" id="orders-to" on:change=move |ev| filters.update(|f| { f.to = event_target_value(&ev); f.page = 1; }) />
            </label>
            <select id="orders-sort" aria-label="Sort"
                on:change=move |ev| {
                    let value = event_target_value(&ev);
                    filters.update(|f| {
                        (f.sort, f.descending) = match value.as_str() {
                            "date-asc" => (OrderSort::Date, false),
                            "changed" => (OrderSort::Changed, true),
                            "total" => (OrderSort::Total, true),
                            "buyer" => (OrderSort::Buyer, false),
                            "status" => (OrderSort::Status, false),
                            _ => (OrderSort::Date, true),
                        };
                        f.page = 1;
                    });
                }>
                <option value="date">"Newest first"</option>
                <option value="date-asc">"Oldest first"</option>
                <option value="changed">"Recently changed"</option>
                <option value="total">"Highest total"</option>
                <option value="buyer">"Buyer A–Z"</option>
                <option value="status">"Status"</option>
            </select>
        </div>
        <section class="card table-card">
            {loaded(list, "Loading orders…", move |found| if found.orders.is_empty() {
                view! {
                    <EmptyOrders narrowed=filters.with(Filters::narrowed) connected=any_connected() />
                }.into_any()
            } else {
                view! { <OrderTable found filters /> }.into_any()
            })}
        </section>
    }
}

fn sync_summary(connections: &[ConnectionView]) -> String {
    let parts: Vec<String> = connections
        .iter()
        .filter(|c| c.configured)
        .map(|c| match c.last_sync_at {
            Some(at) => format!("{} synced {}", c.marketplace, relative(at)),
            None => format!("{} not synced yet", c.marketplace),
        })
        .collect();
    if parts.is_empty() {
        "Orders from BrickLink and BrickOwl, in one place.".into()
    } else {
        format!("{}. New orders appear by themselves.", parts.join(" · "))
    }
}

#[component]
fn EmptyOrders(narrowed: bool, connected: bool) -> impl IntoView {
    let (title, text) = if narrowed {
        (
            "No orders match",
            "Try fewer words or another status, marketplace or date.",
        )
    } else if connected {
        (
            "No orders yet",
            "New orders appear here the moment the marketplace tells brickdesk; “Sync now” checks right away.",
        )
    } else {
        (
            "Connect a marketplace",
            "Paste your BrickLink or BrickOwl API keys in Settings and your orders come in by themselves.",
        )
    };
    view! {
        <div class="empty" id="orders-empty">
            <h2>{title}</h2>
            <p class="muted">{text}</p>
            {(!connected && !narrowed).then(|| view! { <A href="/settings" attr:class="btn btn-primary">"Go to Settings"</A> })}
        </div>
    }
}

#[component]
fn OrderTable(found: OrderList, filters: RwSignal<Filters>) -> impl IntoView {
    let navigate = use_navigate();
    let selected = RwSignal::new(Vec::<OrderRef>::new());
    let (page, per_page, shown, total) =
        (found.page, found.per_page, found.orders.len(), found.total);
    let rows = found
        .orders
        .into_iter()
        .map(|order| {
            let href = format!("/orders/{}/{}", order.marketplace.as_str(), order.order_id);
            let go = {
                let (navigate, href) = (navigate.clone(), href.clone());
                move |_| navigate(&href, Default::default())
            };
            let this = OrderRef {
                marketplace: order.marketplace,
                order_id: order.order_id.clone(),
            };
            let checked = {
                let this = this.clone();
                move || selected.with(|s| s.contains(&this))
            };
            let toggle = move |ev: leptos::ev::Event| {
                let on = event_target_checked(&ev);
                let this = this.clone();
                selected.update(|s| {
                    s.retain(|o| *o != this);
                    if on {
                        s.push(this);
                    }
                });
            };
            view! {
                <tr class="clickable" on:click=go data-order=order.order_id>
                    <td class="select-cell" on:click=|ev| ev.stop_propagation()>
                        <input type="checkbox" class="select-order" aria-label=format!("Select order {}", order.order_id)
                            prop:checked=checked on:change=toggle />
                    </td>
                    <td><MarketBadge marketplace=order.marketplace />" "<a href=href class="order-link">{format!("#{}", order.order_id)}</a></td>
                    <td class="muted">{date_time(order.ordered_at)}</td>
                    <td>{order.buyer.clone()}</td>
                    <td class="num">{order.items}</td>
                    <td class="num">{money(order.total, &order.currency)}</td>
                    <td><StatusChip status=order.status /></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <SelectionBar selected />
        <table class="table" id="orders-table">
            <thead><tr><th class="select-cell"></th><th>"Order"</th><th>"Placed"</th><th>"Buyer"</th><th class="num">"Items"</th><th class="num">"Total"</th><th>"Status"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
        <Pager id="orders-count" page per_page shown total go=move |to| filters.update(|f| f.page = to) />
    }
}

/// What to do with the chosen orders: one pick list, or all shipped at once.
#[component]
fn SelectionBar(selected: RwSignal<Vec<OrderRef>>) -> impl IntoView {
    let navigate = use_navigate();
    let error = RwSignal::new(None::<String>);
    let done = RwSignal::new(None::<String>);
    let pick = move |_| {
        error.set(None);
        let navigate = navigate.clone();
        let body = NewPickList {
            orders: selected.get_untracked(),
            all_paid: false,
        };
        leptos::task::spawn_local(async move {
            match api::post::<_, PickList>(routes::PICK_LISTS, &body).await {
                Ok(list) => navigate(&format!("/picking/{}", list.id.0), Default::default()),
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    let ship = move |_| {
        error.set(None);
        let body = ShipRequest {
            orders: selected
                .get_untracked()
                .into_iter()
                .map(|o| ShipOrder {
                    marketplace: o.marketplace,
                    order_id: o.order_id,
                    tracking: None,
                })
                .collect(),
        };
        leptos::task::spawn_local(async move {
            match api::post::<_, Queued>(routes::ORDERS_SHIP, &body).await {
                Ok(queued) => {
                    selected.set(Vec::new());
                    done.set(Some(format!(
                        "Marking {} order(s) shipped; each shows Shipped once its marketplace took it.",
                        queued.job_ids.len()
                    )));
                }
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    view! {
        <Show when=move || !selected.with(Vec::is_empty)>
            <div class="card bulk-bar selection-bar" id="order-selection">
                <strong>{move || format!("{} selected", selected.with(Vec::len))}</strong>
                <button class="btn btn-primary" id="pick-selected" on:click=pick.clone()>"Pick selected"</button>
                <button class="btn" id="ship-selected" on:click=ship>"Mark shipped"</button>
                {move || view! { <DocumentLinks orders=selected.get() /> }}
                <button class="btn btn-small" on:click=move |_| selected.set(Vec::new())>"Clear"</button>
            </div>
        </Show>
        <ErrorNotice message=error />
        <SuccessNotice message=done />
    }
}
