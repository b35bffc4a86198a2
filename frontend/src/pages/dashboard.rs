//! The dashboard: what needs doing (cards that open the filtered orders list), sales per store
//! today, this week and this month with a 30-day chart, the best-selling items, minifig lists,
//! connections and jobs at a glance, and what happened lately. It refreshes itself when orders,
//! syncs, minifigs or jobs change.

use std::time::Duration;

use app::{BackupHealth, ConnectionStatus, Dashboard, NeedsAction, Sales, TopItem, routes};
use leptos::prelude::*;

use crate::components::loaded::loaded;
use leptos_router::components::A;

use crate::{
    api,
    components::{
        charts::DailyBars,
        format::{money, relative},
        minifigs::{CollectedBar, cost_to_complete},
        orders::MarketBadge,
        stock_sync::StockSyncCard,
    },
    sse::use_live_events,
};

/// The dashboard page.
#[component]
pub fn DashboardPage() -> impl IntoView {
    let live = use_live_events();
    let data = RwSignal::new(None::<Result<Dashboard, String>>);
    let queued = StoredValue::new(false);
    let load = move || {
        leptos::task::spawn_local(async move {
            let fresh = api::get::<Dashboard>(routes::DASHBOARD).await;
            data.set(Some(fresh.map_err(|e| e.message)));
        });
    };
    let load_soon = move || {
        if !queued.get_value() {
            queued.set_value(true);
            set_timeout(
                move || {
                    queued.set_value(false);
                    load();
                },
                Duration::from_millis(1_000),
            );
        }
    };
    Effect::new(move |_| {
        live.resync.track();
        load();
    });
    Effect::new(move |first: Option<()>| {
        live.order.track();
        live.sync.track();
        live.minifig.track();
        live.connection.track();
        if first.is_some() {
            load_soon();
        }
    });
    Effect::new(move |first: Option<()>| {
        let finished = live
            .job
            .with(|j| j.as_ref().is_some_and(|j| j.progress.is_none()));
        if first.is_some() && finished {
            load_soon();
        }
    });
    view! {
        <div class="page-head">
            <h1>"Dashboard"</h1>
            <p class="muted">"What needs doing and how the shop is doing, updated as orders arrive."</p>
        </div>
        {loaded(data, "Loading…", |d| view! { <DashboardView d /> })}
    }
}

#[component]
fn DashboardView(d: Dashboard) -> impl IntoView {
    let connected = d.connections.iter().any(|c| c.configured);
    let n = d.needs_action;
    view! {
        {(!connected).then(|| view! {
            <div class="card banner" id="dashboard-connect">
                <p>"Connect BrickLink or BrickOwl in " <A href="/settings">"Settings"</A> " and your orders and sales appear here."</p>
            </div>
        })}
        {d.backups.stale.then(|| view! { <BackupWarning backups=d.backups /> })}
        <section class="action-cards" id="needs-action" aria-label="Needs action">
            <ActionCard label="To invoice" hint="new orders" count=n.to_invoice status=NeedsAction::TO_INVOICE />
            <ActionCard label="To pack" hint="paid or being picked" count=n.to_pack status=NeedsAction::TO_PACK />
            <ActionCard label="To ship" hint="packed" count=n.to_ship status=NeedsAction::TO_SHIP />
            <ActionCard label="On hold" hint="a problem to look at" count=n.on_hold status=NeedsAction::ON_HOLD />
        </section>
        <section id="sales" aria-label="Sales">
            {if d.sales.is_empty() {
                view! { <div class="card empty small-empty"><p class="muted">"No sales in the last 30 days yet."</p></div> }.into_any()
            } else {
                d.sales.into_iter().map(|s| view! { <SalesCard s /> }).collect_view().into_any()
            }}
        </section>
        <div class="dash-columns">
            <section class="card" id="top-items">
                <h2 class="section-title">"Best sellers, last 30 days"</h2>
                {if d.top_items.is_empty() {
                    view! { <p class="muted">"Items you sell show up here."</p> }.into_any()
                } else {
                    view! {
                        <table class="table compact">
                            <tbody>{d.top_items.into_iter().map(|item| view! { <TopRow item /> }).collect_view()}</tbody>
                        </table>
                    }.into_any()
                }}
            </section>
            <div class="dash-side">
                <A href="/minifigs" attr:class="card side-card" attr:id="minifig-stats">
                    <h2 class="section-title">"Partial minifigs"</h2>
                    <p>{format!("{} list{}, {} minifig{} ({} complete)",
                        d.minifigs.lists, if d.minifigs.lists == 1 { "" } else { "s" },
                        d.minifigs.totals.minifigs, if d.minifigs.totals.minifigs == 1 { "" } else { "s" },
                        d.minifigs.totals.complete)}</p>
                    <CollectedBar totals=d.minifigs.totals.clone() />
                    <p class="small">"To complete: " <strong>{cost_to_complete(&d.minifigs.totals)}</strong></p>
                </A>
                <section class="card side-card" id="connection-stats">
                    <h2 class="section-title">"Marketplaces"</h2>
                    {d.connections.into_iter().map(|c| {
                        let state = match c.status {
                            ConnectionStatus::Absent => "not connected".to_owned(),
                            ConnectionStatus::Pending => "checking keys".to_owned(),
                            ConnectionStatus::Invalid => "keys refused".to_owned(),
                            ConnectionStatus::Valid => c.last_sync_at.map_or_else(|| "connected, not synced yet".to_owned(), |at| format!("synced {}", relative(at))),
                        };
                        let calls = match c.usage.daily_budget {
                            Some(budget) => format!("{} of {budget} calls today", c.usage.calls_today),
                            None => format!("{} calls today", c.usage.calls_today),
                        };
                        view! {
                            <div class="side-line">
                                <MarketBadge marketplace=c.marketplace />
                                <span>{format!(" {}: {state}", c.marketplace.label())}</span>
                                {c.configured.then(|| view! { <span class="muted small">{format!(" · {calls}")}</span> })}
                            </div>
                        }
                    }).collect_view()}
                </section>
                <ConversationsCard counts=d.conversations.clone() />
                <StockSyncCard />
                <A href="/jobs" attr:class="card side-card" attr:id="job-stats">
                    <h2 class="section-title">"Background work"</h2>
                    <p>{format!("{} waiting · {} running · {} to retry", d.jobs.waiting, d.jobs.running, d.jobs.retrying)}</p>
                    {(d.jobs.dead > 0).then(|| view! {
                        <p class="notice notice-error small">{format!("{} failed job{}: open Jobs to retry or delete", d.jobs.dead, if d.jobs.dead == 1 { "" } else { "s" })}</p>
                    })}
                </A>
            </div>
        </div>
        <section class="card" id="activity">
            <h2 class="section-title">"Lately"</h2>
            {if d.activity.is_empty() {
                view! { <p class="muted">"New orders, status changes, messages and syncs appear here."</p> }.into_any()
            } else {
                view! {
                    <ul class="activity">
                        {d.activity.into_iter().map(|a| {
                            let link = a.order_id.clone().map(|id| routes::order(a.marketplace, &id).replacen("/api", "", 1));
                            view! {
                                <li>
                                    <MarketBadge marketplace=a.marketplace />
                                    {match link {
                                        Some(href) => view! { <A href=href>{a.text.clone()}</A> }.into_any(),
                                        None => view! { <span>{a.text.clone()}</span> }.into_any(),
                                    }}
                                    <span class="muted small">{format!(" · {}", relative(a.at))}</span>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn ActionCard(
    label: &'static str,
    hint: &'static str,
    count: u32,
    status: &'static str,
) -> impl IntoView {
    let href = format!("/orders?status={status}");
    let class = if count > 0 {
        "card action-card action-waiting"
    } else {
        "card action-card"
    };
    view! {
        <A href=href attr:class=class>
            <span class="action-count">{count}</span>
            <span class="action-label">{label}</span>
            <span class="muted small">{hint}</span>
        </A>
    }
}

#[component]
fn SalesCard(s: Sales) -> impl IntoView {
    let c = s.currency.clone();
    let period = |p: app::Period| {
        format!(
            "{} · {} order{}",
            money(p.total, &c),
            p.orders,
            if p.orders == 1 { "" } else { "s" }
        )
    };
    let label = format!(
        "{} sales per day in {} over 30 days",
        s.marketplace.label(),
        s.currency
    );
    let store = format!("{}-{}", s.marketplace.as_str(), s.currency);
    view! {
        <div class="card sales-card" data-store=store>
            <div class="sales-head">
                <h2><MarketBadge marketplace=s.marketplace />{format!(" {} · {}", s.marketplace.label(), s.currency)}</h2>
                <dl class="sales-figures">
                    <div><dt>"Today"</dt><dd>{period(s.today)}</dd></div>
                    <div><dt>"7 days"</dt><dd>{period(s.week)}</dd></div>
                    <div><dt>"30 days"</dt><dd>{period(s.month)}</dd></div>
                </dl>
            </div>
            <DailyBars days=s.daily currency=s.currency label />
        </div>
    }
}

#[component]
fn TopRow(item: TopItem) -> impl IntoView {
    let href = format!("/orders?q={}", item.item_no);
    view! {
        <tr>
            <td class="thumb-cell"><img class="thumb" src=item.image alt="" width="32" height="32" loading="lazy" /></td>
            <td>
                <A href=href><span class="mono small">{item.item_no}</span></A>
                <br />{item.name}
                <span class="muted small">{item.color_name.map(|c| format!(" · {c}")).unwrap_or_default()}</span>
            </td>
            <td class="num">{format!("{} pcs", item.quantity)}<br /><span class="muted small">{format!("{} orders", item.orders)}</span></td>
        </tr>
    }
}

/// Says that the newest backup is too old to rely on, and what to do about it.
#[component]
fn BackupWarning(backups: BackupHealth) -> impl IntoView {
    let age = backups.last_at.map_or_else(
        || "There is no backup yet".to_owned(),
        |at| format!("The newest backup was written {}", relative(at)),
    );
    let fix = if backups.scheduled {
        "The nightly backup did not run or failed: check the server's log and the free space of the backup folder."
    } else {
        "Backups by schedule are off: set backup_cron in the configuration (for example \"30 3 * * *\"), or run brickdesk backup."
    };
    view! {
        <div class="card banner notice-warn" id="backup-stale" role="status">
            <p><strong>{age}"."</strong>" Orders can be fetched again, but minifig lists, notes and settings live only here. "{fix}</p>
        </div>
    }
}

/// Buyers waiting for an answer and received orders without the seller's feedback.
#[component]
fn ConversationsCard(counts: app::ConversationCounts) -> impl IntoView {
    let link = |order: &app::OrderRef| {
        let href = format!("/orders/{}/{}", order.marketplace.as_str(), order.order_id);
        let shown = format!(" {}", order.order_id);
        let marketplace = order.marketplace;
        view! {
            <A href=href>
                <MarketBadge marketplace />{shown}
            </A>
            " "
        }
    };
    let quiet = counts.unanswered.is_empty() && counts.feedback_to_leave.is_empty();
    view! {
        <section class="card side-card" id="conversation-stats">
            <h2 class="section-title">"Messages and feedback"</h2>
            {quiet.then(|| view! { <p class="muted">"No buyer waits for an answer and every received order has your feedback."</p> })}
            {(!counts.unanswered.is_empty()).then(|| view! {
                <p><strong>{format!("{} unanswered message{}", counts.unanswered.len(), if counts.unanswered.len() == 1 { "" } else { "s" })}</strong></p>
                <p class="small">{counts.unanswered.iter().take(6).map(link).collect_view()}</p>
            })}
            {(!counts.feedback_to_leave.is_empty()).then(|| view! {
                <p><strong>{format!("{} buyer{} to rate", counts.feedback_to_leave.len(), if counts.feedback_to_leave.len() == 1 { "" } else { "s" })}</strong></p>
                <p class="small">{counts.feedback_to_leave.iter().take(6).map(link).collect_view()}</p>
            })}
        </section>
    }
}
