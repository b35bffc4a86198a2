//! One order: buyer, shipment, totals, the items in their batches, and a status change with
//! tracking number that is written back to the marketplace in the background, its outcome shown
//! live.

use app::{
    JobId, JobState, JobView, Marketplace, OrderDetail, OrderFlow, OrderRef, OrderStatus, Queued,
    ShortLine, StatusChange, routes,
};
use leptos::{ev::SubmitEvent, prelude::*};
use leptos_router::{components::A, hooks::use_params_map};

use crate::components::loaded::loaded;
use crate::{
    api,
    components::{
        documents::DocumentLinks,
        format::{date_time, money, relative},
        messages::MessagesCard,
        orders::{MarketBadge, StatusChip},
    },
    sse::use_live_events,
};

/// The order page.
#[component]
pub fn OrderPage() -> impl IntoView {
    let params = use_params_map();
    let live = use_live_events();
    let key = move || {
        params.with(|p| {
            let marketplace = p.get("marketplace").and_then(|m| Marketplace::parse(&m));
            marketplace.zip(p.get("order_id"))
        })
    };
    let order = RwSignal::new(None::<Result<OrderDetail, String>>);
    // Owned here, not by the form: the order re-renders when it changes, the pending
    // change must survive that.
    let change = Change {
        waiting: RwSignal::new(None),
        outcome: RwSignal::new(None),
    };
    follow_change(change, key);
    let load = move || {
        let Some((marketplace, id)) = key() else {
            order.set(Some(Err("There is no such order.".into())));
            return;
        };
        leptos::task::spawn_local(async move {
            let fresh = api::get::<OrderDetail>(&routes::order(marketplace, &id)).await;
            order.set(Some(fresh.map_err(|e| e.message)));
        });
    };
    Effect::new(move |_| {
        live.resync.track();
        load();
    });
    Effect::new(move |_| {
        let Some(changed) = live.order.get() else {
            return;
        };
        if key().is_some_and(|(m, id)| m == changed.marketplace && id == changed.order_id) {
            load();
        }
    });

    view! {
        <p class="crumbs"><A href="/orders">"← Orders"</A></p>
        {loaded(order, "Loading the order…", move |detail| view! { <OrderView detail change /> })}
    }
}

/// A status change on its way to the marketplace.
#[derive(Clone, Copy)]
struct Change {
    waiting: RwSignal<Option<JobId>>,
    outcome: RwSignal<Option<Result<String, String>>>,
}

/// Follows the change's job and says how it ended.
fn follow_change(
    change: Change,
    key: impl Fn() -> Option<(Marketplace, String)> + Send + Sync + 'static,
) {
    let live = use_live_events();
    Effect::new(move |_| {
        let Some(job) = live.job.get() else { return };
        if change.waiting.get_untracked() != Some(job.id) {
            return;
        }
        if let Some((marketplace, _)) = key() {
            settle(change, marketplace, job.id, job.state);
        }
    });
}

/// Waits for the change's job `id`: reads its state once now, since the job may have ended
/// before this page heard of its id (its event then came first and was not for us), and
/// follows its events after that.
async fn watch(change: Change, marketplace: Marketplace, id: JobId) {
    change.waiting.set(Some(id));
    if let Ok(job) = api::get::<JobView>(&format!("/api/jobs/{id}")).await
        && change.waiting.get_untracked() == Some(id)
    {
        settle(change, marketplace, id, job.state);
    }
}

/// Says how the change's job `id` stands, once it has ended (or is retrying).
fn settle(change: Change, marketplace: Marketplace, id: JobId, state: JobState) {
    let Change { waiting, outcome } = change;
    match state {
        JobState::Succeeded => {
            waiting.set(None);
            outcome.set(Some(Ok(format!("{marketplace} has the new status."))));
        }
        JobState::Dead | JobState::Cancelled => {
            waiting.set(None);
            leptos::task::spawn_local(async move {
                let reason = api::get::<JobView>(&format!("/api/jobs/{id}"))
                    .await
                    .ok()
                    .and_then(|j| j.last_error)
                    .unwrap_or_else(|| "the marketplace refused it".into());
                outcome.set(Some(Err(format!(
                    "{marketplace} did not take the change: {reason}"
                ))));
            });
        }
        JobState::Retrying => outcome.set(Some(Ok(format!(
            "{marketplace} did not answer; brickdesk keeps trying."
        )))),
        _ => {}
    }
}

#[component]
fn OrderView(detail: OrderDetail, change: Change) -> impl IntoView {
    let s = detail.summary.clone();
    let currency = s.currency.clone();
    let lines = detail
        .lines
        .iter()
        .map(|line| {
            let currency = currency.clone();
            view! {
                <tr>
                    <td class="thumb-cell">
                        {line.image.clone().map(|src| view! { <img class="thumb" src=src alt="" loading="lazy" width="32" height="32" /> })}
                    </td>
                    <td class="mono">{line.item_no.clone()}</td>
                    <td>{line.name.clone()}<span class="muted small">{format!(" · {}", line.item_type.to_lowercase())}</span></td>
                    <td>{line.color_name.clone().unwrap_or_else(|| "—".into())}</td>
                    <td>{if line.new { "New" } else { "Used" }}</td>
                    <td class="num">{line.quantity}</td>
                    <td class="num">{money(line.unit_price, &currency)}</td>
                    <td class="num">{money(line.unit_price.times(line.quantity), &currency)}</td>
                    <td class="muted">{line.remarks.clone().unwrap_or_default()}</td>
                </tr>
            }
        })
        .collect_view();
    let batches = detail.lines.iter().map(|l| l.batch).max().unwrap_or(1);
    view! {
        <div class="page-head page-head-row">
            <div>
                <h1 id="order-title"><MarketBadge marketplace=s.marketplace />" "{format!("{} order #{}", s.marketplace, s.order_id)}</h1>
                <p class="muted">{format!("Placed {} by {} · {} says “{}” · synced {}", date_time(s.ordered_at), s.buyer, s.marketplace, s.marketplace_status, relative(detail.synced_at))}</p>
            </div>
            <span id="order-status"><StatusChip status=s.status /></span>
        </div>
        <DocumentLinks orders=vec![OrderRef { marketplace: s.marketplace, order_id: s.order_id.clone() }] />
        <div class="order-grid">
            <section class="card">
                <h2>"Buyer and shipping"</h2>
                <p><strong>{s.buyer.clone()}</strong></p>
                {detail.buyer_email.clone().map(|e| view! { <p><a href=format!("mailto:{e}")>{e.clone()}</a></p> })}
                <p>{detail.shipment.name.clone().unwrap_or_default()}</p>
                {detail.shipment.address.iter().map(|line| view! { <p class="address">{line.clone()}</p> }).collect_view()}
                <p>{detail.shipment.country.clone().unwrap_or_default()}</p>
                <p class="muted">{detail.shipment.method.clone().map(|m| format!("Shipping: {m}")).unwrap_or_default()}</p>
                <p id="order-tracking">{detail.shipment.tracking.clone().map(|t| format!("Tracking: {t}")).unwrap_or_default()}</p>
                {detail.remarks.clone().map(|r| view! { <p class="notice notice-info">{r}</p> })}
            </section>
            <section class="card">
                <h2>"Totals"</h2>
                <dl class="totals">
                    <div><dt>"Items"</dt><dd>{money(detail.subtotal, &currency)}</dd></div>
                    <div><dt>"Shipping"</dt><dd>{money(detail.shipping_cost, &currency)}</dd></div>
                    <div class="grand"><dt>"Total"</dt><dd>{money(s.total, &currency)}</dd></div>
                </dl>
                <p class="muted small">{format!("{} pieces in {} lots{}", s.items, s.lots, if batches > 1 { format!(", added in {batches} batches") } else { String::new() })}</p>
            </section>
            <StatusForm marketplace=s.marketplace order_id=s.order_id.clone() current=s.status change />
            <FlowCard marketplace=s.marketplace order_id=s.order_id.clone() buyer=s.buyer />
        </div>
        <MessagesCard marketplace=s.marketplace order_id=s.order_id />
        <section class="card table-card">
            {if detail.lines.is_empty() {
                view! { <div class="empty"><p class="muted">"The marketplace no longer lists this order's items (BrickLink removes them from archived orders)."</p></div> }.into_any()
            } else {
                view! {
                    <table class="table" id="order-lines">
                        <thead><tr><th></th><th>"Item"</th><th>"Name"</th><th>"Colour"</th><th>"Condition"</th><th class="num">"Qty"</th><th class="num">"Each"</th><th class="num">"Line"</th><th>"Location"</th></tr></thead>
                        <tbody>{lines}</tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn StatusForm(
    marketplace: Marketplace,
    order_id: String,
    current: OrderStatus,
    change: Change,
) -> impl IntoView {
    let choices = OrderStatus::settable(marketplace);
    let first = choices
        .iter()
        .copied()
        .find(|s| *s > current)
        .or(choices.first().copied());
    let status = RwSignal::new(first.map(|s| s.as_str().to_owned()).unwrap_or_default());
    let tracking = RwSignal::new(String::new());
    let Change { waiting, outcome } = change;

    let order_id = StoredValue::new(order_id);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let Some(chosen) = OrderStatus::parse(&status.get_untracked()) else {
            return;
        };
        let body = StatusChange {
            status: chosen,
            tracking: Some(tracking.get_untracked()).filter(|t| !t.trim().is_empty()),
        };
        outcome.set(None);
        let path = routes::order_status(marketplace, &order_id.get_value());
        leptos::task::spawn_local(async move {
            match api::put::<_, Queued>(&path, &body).await {
                Ok(queued) => match queued.job_ids.first().copied() {
                    Some(id) => watch(change, marketplace, id).await,
                    None => waiting.set(None),
                },
                Err(err) => outcome.set(Some(Err(err.message))),
            }
        });
    };
    let shipping = move || status.with(|s| s == OrderStatus::Shipped.as_str());

    view! {
        <form class="card" id="status-form" on:submit=submit>
            <h2>"Change status"</h2>
            <label class="field" for="status-select">
                <span class="field-label">"New status"</span>
                <select id="status-select" prop:value=move || status.get() on:change=move |ev| status.set(event_target_value(&ev))>
                    {choices.into_iter().map(|s| view! { <option value=s.as_str()>{s.label()}</option> }).collect_view()}
                </select>
            </label>
            <Show when=shipping>
                <label class="field" for="status-tracking">
                    <span class="field-label">"Tracking number"</span>
                    <input id="status-tracking" prop:value=move || tracking.get() on:input=move |ev| tracking.set(event_target_value(&ev)) />
                </label>
            </Show>
            <button type="submit" class="btn btn-primary" id="status-submit" disabled=move || waiting.with(Option::is_some)>
                {move || if waiting.with(Option::is_some) { format!("Sending to {marketplace}…") } else { format!("Update on {marketplace}") }}
            </button>
            {move || outcome.get().map(|o| match o {
                Ok(text) => view! { <p class="notice notice-success" role="status" id="status-outcome">{text}</p> }.into_any(),
                Err(text) => view! { <p class="notice notice-error" role="alert" id="status-outcome">{text}</p> }.into_any(),
            })}
        </form>
    }
}

/// Where the order is on its way out: picked on which list, and what was picked short with a
/// note to send the buyer (neither marketplace's API sends messages: copy it into theirs).
#[component]
fn FlowCard(marketplace: Marketplace, order_id: String, buyer: String) -> impl IntoView {
    let flow = RwSignal::new(None::<OrderFlow>);
    let path = routes::order_flow(marketplace, &order_id);
    leptos::task::spawn_local(async move {
        if let Ok(found) = api::get::<OrderFlow>(&path).await {
            flow.set(Some(found));
        }
    });
    move || {
        let found = flow.get()?;
        if found.picked_on.is_none() && found.short.is_empty() {
            return None;
        }
        let note = (!found.short.is_empty()).then(|| short_note(&buyer, &found.short));
        Some(view! {
            <section class="card" id="order-flow">
                <h2>"Picking"</h2>
                {found.picked_on.map(|list| view! {
                    <p>"Picked on "<A href=format!("/picking/{}", list.0)>{format!("pick list {}", list.0)}</A>
                    {found.picked_at.map(|at| format!(", {}", relative(at)))}</p>
                })}
                {(!found.short.is_empty()).then(|| view! {
                    <p class="notice notice-warn">"Picked short: "
                        {found.short.iter().map(|l| format!("{} ({}) {} of {}", l.name, l.item_no, l.found, l.ordered)).collect::<Vec<_>>().join("; ")}
                    </p>
                })}
                {note.map(|text| view! {
                    <label class="field">
                        <span class="field-label">{format!("A note to the buyer (send it through {marketplace}'s messages)")}</span>
                        <textarea id="short-note" rows="5" readonly=true>{text}</textarea>
                    </label>
                })}
            </section>
        })
    }
}

fn short_note(buyer: &str, short: &[ShortLine]) -> String {
    let lines: Vec<String> = short
        .iter()
        .map(|l| {
            let colour = l
                .color_name
                .as_deref()
                .map(|c| format!("{c} "))
                .unwrap_or_default();
            format!(
                "- {colour}{} ({}): {} of the {} you ordered",
                l.name, l.item_no, l.found, l.ordered
            )
        })
        .collect();
    format!(
        "Hello {buyer},\n\nwhile packing your order I could not find everything on the shelf:\n{}\n\nI will refund what is missing. Sorry for the trouble!",
        lines.join("\n")
    )
}
