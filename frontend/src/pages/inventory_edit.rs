//! Changing lots from the Inventory page: the editor under a lot's row, the bar that changes a
//! selection at once (with its preview and the guard rails' confirmation), and the audit log
//! with undo. Every change is saved at once and applied to the marketplaces in the background;
//! the rows show what is still on its way and what a marketplace refused.

use std::collections::BTreeSet;

use app::{
    AtZero, BulkAnswer, BulkOperation, BulkPreview, BulkRequest, ChangeList, EditQueued, ErrorCode,
    JobId, JobView, LinkRequest, Lot, LotChange, LotEdit, LotId, LotList, LotQueryParams,
    Marketplace, Money, PendingChange, SideState, UndoRequest, routes,
};
use leptos::prelude::*;

use crate::{
    api,
    components::{
        format::{count, date_time, relative},
        loaded::loaded,
        pager::Pager,
    },
    sse::use_live_events,
};

/// A price as a person types it: at least two decimals, more only when the price has them.
pub fn price_text(price: Money) -> String {
    let wire = price.to_wire();
    let trimmed = wire.trim_end_matches('0');
    match trimmed.split_once('.') {
        Some((_, decimals)) if decimals.len() < 2 => {
            format!("{trimmed}{}", "0".repeat(2 - decimals.len()))
        }
        _ => trimmed.to_owned(),
    }
}

/// What the page says after an edit was saved.
fn saved_text(queued: &EditQueued) -> String {
    match queued.changes {
        0 => "Nothing to change: the lots already have these values.".to_owned(),
        1 => "Saved. brickdesk is applying the change on your marketplaces.".to_owned(),
        n => format!(
            "Saved {} changes. brickdesk is applying them on your marketplaces.",
            count(n as u64)
        ),
    }
}

/// The chips of a lot's changes on their way or refused.
#[component]
pub fn PendingChips(pending: Vec<PendingChange>) -> impl IntoView {
    let waiting = pending.iter().any(|p| p.state != SideState::Failed);
    let failed: Vec<String> = pending
        .into_iter()
        .filter(|p| p.state == SideState::Failed)
        .map(|p| format!("{}: {}", p.marketplace.label(), p.error.unwrap_or_default()))
        .collect();
    view! {
        {waiting.then(|| view! { " " <span class="chip chip-running lot-pending">"applying…"</span> })}
        {(!failed.is_empty()).then(|| view! {
            " " <span class="chip chip-dead lot-failed" title=failed.join("\n")>"not applied"</span>
        })}
    }
}

/// The editor under a lot's row: quantity, price, location, description, stockroom.
#[component]
pub fn LotEditor(
    lot: Lot,
    columns: usize,
    #[prop(into)] done: Callback<Option<String>>,
) -> impl IntoView {
    let id = lot.id;
    let quantity = RwSignal::new(lot.quantity.to_string());
    let price = RwSignal::new(price_text(lot.unit_price));
    let remarks = RwSignal::new(lot.remarks.clone());
    let description = RwSignal::new(lot.description.clone());
    let stockroom = RwSignal::new(lot.stockroom);
    let at_zero = RwSignal::new("stockroom".to_owned());
    let error = RwSignal::new(None::<String>);
    let confirming = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let on_bricklink = lot.bricklink.is_some();
    let linked = on_bricklink && lot.brickowl.is_some();
    let original = StoredValue::new(lot);
    let build = move |confirm: bool| -> Result<LotEdit, String> {
        let original = original.get_value();
        let mut edit = LotEdit {
            confirm,
            ..LotEdit::default()
        };
        let typed: i64 = quantity
            .get_untracked()
            .trim()
            .parse()
            .map_err(|_| "The quantity is a whole number, like 12.".to_owned())?;
        if typed != original.quantity {
            edit.quantity = Some(typed);
        }
        let typed = Money::parse(&price.get_untracked())
            .map_err(|_| "The price is a number, like 0.25.".to_owned())?;
        if typed != original.unit_price {
            edit.unit_price = Some(typed);
        }
        let typed = remarks.get_untracked().trim().to_owned();
        if typed != original.remarks {
            edit.remarks = Some(typed);
        }
        let typed = description.get_untracked().trim().to_owned();
        if typed != original.description {
            edit.description = Some(typed);
        }
        if stockroom.get_untracked() != original.stockroom {
            edit.stockroom = Some(stockroom.get_untracked());
        }
        if edit.quantity == Some(0) {
            edit.at_zero = Some(match at_zero.get_untracked().as_str() {
                "delete" => AtZero::Delete,
                _ => AtZero::Stockroom,
            });
        }
        Ok(edit)
    };
    let save = move |confirm: bool| {
        let edit = match build(confirm) {
            Ok(edit) => edit,
            Err(message) => {
                error.set(Some(message));
                return;
            }
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            match api::put::<_, EditQueued>(&routes::inventory_lot(id), &edit).await {
                Ok(queued) => done.run(Some(saved_text(&queued))),
                Err(err) => {
                    confirming.set(err.code == Some(ErrorCode::NeedsConfirmation));
                    error.set(Some(err.message));
                }
            }
            busy.set(false);
        });
    };
    let zero = move || on_bricklink && quantity.with(|q| q.trim() == "0") && !stockroom.get();
    view! {
        <tr class="lot-editor-row">
            <td colspan=columns.to_string()>
                <form class="lot-editor" on:submit=move |ev| { ev.prevent_default(); save(false); }>
                    <label class="field"><span class="field-label">"Quantity"</span>
                        <input type="number" min="0" step="1" name="quantity" inputmode="numeric"
                            prop:value=move || quantity.get() on:input=move |ev| quantity.set(event_target_value(&ev)) />
                    </label>
                    <label class="field"><span class="field-label">"Price"</span>
                        <input type="text" name="price" inputmode="decimal"
                            prop:value=move || price.get() on:input=move |ev| price.set(event_target_value(&ev)) />
                    </label>
                    <label class="field"><span class="field-label">"Location"</span>
                        <input type="text" name="remarks" maxlength="255"
                            prop:value=move || remarks.get() on:input=move |ev| remarks.set(event_target_value(&ev)) />
                    </label>
                    <label class="field field-wide"><span class="field-label">"Description"</span>
                        <input type="text" name="description" maxlength="255"
                            prop:value=move || description.get() on:input=move |ev| description.set(event_target_value(&ev)) />
                    </label>
                    <label class="field checkbox">
                        <input type="checkbox" name="stockroom" prop:checked=move || stockroom.get()
                            on:change=move |ev| stockroom.set(event_target_checked(&ev)) />
                        "In the stockroom"
                    </label>
                    {move || zero().then(|| view! {
                        <label class="field"><span class="field-label">"At 0 on BrickLink"</span>
                            <select name="at_zero" on:change=move |ev| at_zero.set(event_target_value(&ev))>
                                <option value="stockroom">"Move to the stockroom"</option>
                                <option value="delete">"Delete the lot"</option>
                            </select>
                        </label>
                    })}
                    <div class="lot-editor-actions">
                        <button type="submit" class="btn btn-primary" name="save" disabled=move || busy.get()>"Save"</button>
                        <button type="button" class="btn" on:click=move |_| done.run(None)>"Cancel"</button>
                        {linked.then(|| view! {
                            <button type="button" class="btn" name="unlink" title="BrickLink's and BrickOwl's lots become two lots"
                                on:click=move |_| leptos::task::spawn_local(async move { done.run(Some(unlink(id).await)); })>"Unlink"</button>
                        })}
                    </div>
                    {move || error.get().map(|message| view! {
                        <p class="notice notice-error lot-editor-error" role="alert">
                            {message}
                            {confirming.get().then(|| view! {
                                " " <button type="button" class="btn" name="confirm" on:click=move |_| save(true)>"Apply anyway"</button>
                            })}
                        </p>
                    })}
                </form>
            </td>
        </tr>
    }
}

/// The operations the bulk bar offers, and what their value means.
const OPERATIONS: [(&str, &str); 7] = [
    ("add_quantity", "Add or take pieces (±)"),
    ("set_quantity", "Set quantity to"),
    ("percent_price", "Change price by %"),
    ("set_price", "Set price to"),
    ("set_remarks", "Set location to"),
    ("stockroom", "Move to stockroom (yes/no)"),
    ("guide_price", "Price to BrickLink's sold average"),
];

fn operation(kind: &str, value: &str) -> Result<BulkOperation, String> {
    let whole = || {
        value
            .trim()
            .trim_start_matches('+')
            .parse::<i64>()
            .map_err(|_| "Type a whole number, like 5 or -2.".to_owned())
    };
    Ok(match kind {
        "add_quantity" => BulkOperation::AddQuantity(whole()?),
        "set_quantity" => BulkOperation::SetQuantity(whole()?),
        "percent_price" => BulkOperation::PercentPrice(whole()?),
        "set_price" => BulkOperation::SetPrice(
            Money::parse(value).map_err(|_| "Type a price, like 0.25.".to_owned())?,
        ),
        "set_remarks" => BulkOperation::SetRemarks(value.trim().to_owned()),
        "guide_price" => BulkOperation::GuidePrice,
        _ => BulkOperation::SetStockroom(!matches!(
            value.trim().to_lowercase().as_str(),
            "no" | "n" | "0" | "false"
        )),
    })
}

/// The bar over the table while lots are selected.
#[component]
pub fn BulkBar(
    selected: RwSignal<BTreeSet<LotId>>,
    #[prop(into)] done: Callback<String>,
) -> impl IntoView {
    let kind = RwSignal::new(OPERATIONS[0].0.to_owned());
    let value = RwSignal::new(String::new());
    let at_zero = RwSignal::new("stockroom".to_owned());
    let preview = RwSignal::new(None::<BulkPreview>);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    // The price guide jobs a preview waits for, and a count that asks for the preview again.
    let reading = RwSignal::new(Vec::<JobId>::new());
    let again = RwSignal::new(0u64);
    let live = use_live_events();
    let request = move |preview_only: bool, confirm: bool| -> Result<BulkRequest, String> {
        Ok(BulkRequest {
            ids: Some(selected.get_untracked().into_iter().collect()),
            filter: None,
            operation: operation(&kind.get_untracked(), &value.get_untracked())?,
            at_zero: Some(if at_zero.get_untracked() == "delete" {
                AtZero::Delete
            } else {
                AtZero::Stockroom
            }),
            preview: preview_only,
            confirm,
        })
    };
    let send = move |preview_only: bool, confirm: bool| {
        let body = match request(preview_only, confirm) {
            Ok(body) => body,
            Err(message) => {
                error.set(Some(message));
                return;
            }
        };
        error.set(None);
        busy.set(true);
        leptos::task::spawn_local(async move {
            match api::post::<_, BulkAnswer>(routes::INVENTORY_BULK, &body).await {
                Ok(BulkAnswer::Preview(found)) => {
                    let jobs = found.job_ids.clone();
                    preview.set(Some(found));
                    // Price guides being read: preview again once they are, reading the jobs'
                    // state now too, so an end that came first is not missed.
                    reading.set(jobs.clone());
                    let mut ended = 0;
                    for id in &jobs {
                        if let Ok(job) = api::get::<JobView>(&format!("/api/jobs/{id}")).await
                            && job.state.is_terminal()
                        {
                            ended += 1;
                        }
                    }
                    if !jobs.is_empty() && ended == jobs.len() {
                        reading.set(Vec::new());
                        again.update(|n| *n += 1);
                    }
                }
                Ok(BulkAnswer::Queued(queued)) => {
                    preview.set(None);
                    selected.set(BTreeSet::new());
                    done.run(saved_text(&queued));
                }
                Err(err) => error.set(Some(err.message)),
            }
            busy.set(false);
        });
    };
    Effect::new(move |_| {
        if again.get() > 0 {
            send(true, false);
        }
    });
    Effect::new(move |_| {
        let Some(job) = live.job.get() else { return };
        if job.state.is_terminal() && reading.with_untracked(|ids| ids.contains(&job.id)) {
            reading.update(|ids| ids.retain(|id| *id != job.id));
            if reading.with_untracked(Vec::is_empty) {
                again.update(|n| *n += 1);
            }
        }
    });
    view! {
        <div class="card bulk-bar" id="inventory-bulk">
            <form class="inline-form" on:submit=move |ev| { ev.prevent_default(); send(true, false); }>
                <strong>{move || format!("{} selected", count(selected.with(BTreeSet::len) as u64))}</strong>
                <select name="operation" aria-label="Change" on:change=move |ev| { kind.set(event_target_value(&ev)); preview.set(None); }>
                    {OPERATIONS.iter().map(|(value, label)| view! { <option value=*value>{*label}</option> }).collect_view()}
                </select>
                <input type="text" name="value" aria-label="Value" placeholder="Value"
                    prop:value=move || value.get() on:input=move |ev| { value.set(event_target_value(&ev)); preview.set(None); } />
                <button type="submit" class="btn" name="preview" disabled=move || busy.get()>"Preview"</button>
                <button type="button" class="btn" on:click=move |_| { selected.set(BTreeSet::new()); preview.set(None); }>"Clear"</button>
            </form>
            {move || error.get().map(|message| view! { <p class="notice notice-error" role="alert">{message}</p> })}
            {move || preview.get().map(|found| {
                let guarded = !found.confirm_reasons.is_empty();
                let reasons = found.confirm_reasons.clone();
                let lines = found.lines.iter().map(|line| {
                    let (before, after) = (&line.before, &line.after);
                    view! {
                        <tr>
                            <td><span class="mono small">{line.item.no.clone()}</span><br />{line.item.name.clone()}</td>
                            <td class="num">{format!("{} → {}", before.quantity, after.quantity)}</td>
                            <td class="num" title=line.note.clone().unwrap_or_default()>{format!("{} → {}", price_text(before.unit_price), price_text(after.unit_price))}</td>
                            <td class="mono hide-narrow">{if before.remarks == after.remarks { before.remarks.clone() } else { format!("{} → {}", before.remarks, after.remarks) }}</td>
                        </tr>
                    }
                }).collect_view();
                let more = found.lots.saturating_sub(found.lines.len());
                view! {
                    <div class="bulk-preview" id="inventory-preview">
                        <p>{format!("This changes {} of your {} lots.", count(found.lots as u64), count(found.store_lots as u64))}</p>
                        {found.lines.iter().find_map(|l| l.note.clone()).map(|note| view! { <p class="muted small">{format!("Prices from: {note} (each lot's own guide; hover a price).")}</p> })}
                        {reasons.into_iter().map(|r| view! { <p class="notice notice-warn">{r}</p> }).collect_view()}
                        {(found.reaching_zero > 0).then(|| view! {
                            <label class="field">{format!("{} lots reach 0 on BrickLink:", found.reaching_zero)}
                                <select name="at_zero" on:change=move |ev| at_zero.set(event_target_value(&ev))>
                                    <option value="stockroom">"Move them to the stockroom"</option>
                                    <option value="delete">"Delete them"</option>
                                </select>
                            </label>
                        })}
                        <div class="table-scroll">
                            <table class="table">
                                <thead><tr><th>"Item"</th><th class="num">"Qty"</th><th class="num">"Price"</th><th class="hide-narrow">"Location"</th></tr></thead>
                                <tbody>{lines}</tbody>
                            </table>
                        </div>
                        {(more > 0).then(|| view! { <p class="muted">{format!("…and {} more.", count(more as u64))}</p> })}
                        <button class="btn btn-primary" name="apply" disabled=move || busy.get() || found.lots == 0
                            on:click=move |_| send(false, guarded)>
                            {if guarded { "Confirm and apply" } else { "Apply" }}
                        </button>
                    </div>
                }
            })}
        </div>
    }
}

/// What a change did, in words.
fn change_words(change: &LotChange) -> String {
    let (before, after) = (&change.before, &change.after);
    let mut parts = Vec::new();
    let delta = change.quantity_change();
    if delta != 0 {
        parts.push(format!(
            "quantity {} → {} ({delta:+})",
            before.quantity, after.quantity
        ));
    }
    if before.unit_price != after.unit_price {
        parts.push(format!(
            "price {} → {}",
            price_text(before.unit_price),
            price_text(after.unit_price)
        ));
    }
    if before.remarks != after.remarks {
        parts.push(format!(
            "location “{}” → “{}”",
            before.remarks, after.remarks
        ));
    }
    if before.description != after.description {
        parts.push("description".to_owned());
    }
    if before.stockroom != after.stockroom {
        parts.push(
            if after.stockroom {
                "to the stockroom"
            } else {
                "out of the stockroom"
            }
            .to_owned(),
        );
    }
    match change.at_zero {
        Some(AtZero::Delete) => parts.push("deleted on BrickLink at 0".to_owned()),
        Some(AtZero::Stockroom) | None => {}
    }
    parts.join(", ")
}

fn side_chip(marketplace: Marketplace, state: SideState, error: Option<String>) -> impl IntoView {
    let (class, text) = match state {
        SideState::Waiting | SideState::Sending => ("chip chip-running", "applying"),
        SideState::Applied => ("chip chip-succeeded", "applied"),
        SideState::Failed => ("chip chip-dead", "failed"),
    };
    view! {
        <span class=class title=error.unwrap_or_default()>{format!("{} {text}", marketplace.label())}</span>" "
    }
}

/// The audit log: every change, newest first, with undo.
#[component]
pub fn ChangeLog(refresh: RwSignal<u64>, #[prop(into)] done: Callback<String>) -> impl IntoView {
    let log = RwSignal::new(None::<Result<ChangeList, String>>);
    let page = RwSignal::new(1usize);
    Effect::new(move |_| {
        refresh.track();
        let query = format!("page={}&per_page=50", page.get());
        leptos::task::spawn_local(async move {
            let fresh =
                api::get::<ChangeList>(&format!("{}?{query}", routes::INVENTORY_CHANGES)).await;
            log.set(Some(fresh.map_err(|e| e.message)));
        });
    });
    let undo = move |id, whole_edit: bool| {
        leptos::task::spawn_local(async move {
            let asked = UndoRequest { whole_edit };
            match api::post::<_, EditQueued>(&routes::inventory_change_undo(id), &asked).await {
                Ok(queued) => done.run(format!("Undoing. {}", saved_text(&queued))),
                Err(err) => done.run(err.message),
            }
            refresh.update(|n| *n += 1);
        });
    };
    view! {
        <section class="card table-card" id="inventory-changes">
            {loaded(log, "Loading changes…", move |found| if found.changes.is_empty() {
                view! {
                    <div class="empty">
                        <h2>"No changes yet"</h2>
                        <p class="muted">"Edit a lot (its Edit button) or select lots and change them at once: every change shows up here, with who made it and how each marketplace took it, and can be undone."</p>
                    </div>
                }.into_any()
            } else {
                let (shown, total, at) = (found.changes.len(), found.total, found.page);
                let rows = found.changes.into_iter().map(|change| {
                    let id = change.id;
                    let words = change_words(&change);
                    let undone = change.undone_by.is_some();
                    let by_sale = change.cause.is_some();
                    let bulk = change.edit_size > 1;
                    let size = change.edit_size;
                    let (when, ago) = (date_time(change.at), relative(change.at));
                    let sides = change.sides.iter().map(|s| side_chip(s.marketplace, s.state, s.error.clone())).collect_view();
                    view! {
                        <tr data-change=id.0.to_string()>
                            <td class="small hide-narrow"><span title=when>{ago}</span><br />{change.by.clone()}</td>
                            <td><span class="mono small">{change.item.no.clone()}</span>" "{change.item.name.clone()}<br /><span class="small">{words}</span>
                                {change.undo_of.map(|_| view! { " " <span class="chip">"undo"</span> })}
                                {change.cause.as_ref().map(|cause| view! { <br /><span class="chip chip-sale">{cause.describe()}</span> })}</td>
                            <td>{sides}</td>
                            <td class="cell-actions">
                                {if undone {
                                    view! { <span class="muted small">"undone"</span> }.into_any()
                                } else if by_sale {
                                    view! { <span class="muted small">"a sale"</span> }.into_any()
                                } else {
                                    view! {
                                        <button class="btn btn-small" name="undo" on:click=move |_| undo(id, false)>"Undo"</button>
                                        {bulk.then(|| view! {
                                            " " <button class="btn btn-small" name="undo-edit" on:click=move |_| undo(id, true)>{format!("Undo all {size}")}</button>
                                        })}
                                    }.into_any()
                                }}
                            </td>
                        </tr>
                    }
                }).collect_view();
                view! {
                    <table class="table">
                        <thead><tr><th class="hide-narrow">"When"</th><th>"Change"</th><th>"Marketplaces"</th><th></th></tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                    <Pager id="changes-count" page=at per_page=50 shown total go=move |to| page.set(to) />
                }.into_any()
            })}
        </section>
    }
}

/// Under a BrickOwl-only lot: the BrickLink-only lots of the same item, each with "Link to
/// this" (the same bricks on both marketplaces become one lot).
#[component]
pub fn LinkPanel(
    /// The BrickOwl-only lot.
    owl: LotId,
    /// Its item number.
    no: String,
    columns: usize,
    #[prop(into)] done: Callback<Option<String>>,
) -> impl IntoView {
    let found = RwSignal::new(None::<Result<LotList, String>>);
    let error = RwSignal::new(None::<String>);
    let heading = format!("BrickLink lots of {no} that BrickOwl does not hold yet:");
    let query = LotQueryParams {
        q: Some(no),
        marketplace: Some(Marketplace::BrickLink),
        linked: Some(false),
        per_page: Some(20),
        ..LotQueryParams::default()
    }
    .to_query_string();
    leptos::task::spawn_local(async move {
        let answer = api::get::<LotList>(&format!("{}?{query}", routes::INVENTORY)).await;
        found.set(Some(answer.map_err(|e| e.message)));
    });
    let link = move |bricklink: LotId| {
        leptos::task::spawn_local(async move {
            let asked = LinkRequest { brickowl: owl };
            match api::post::<_, Lot>(&routes::inventory_link(bricklink), &asked).await {
                Ok(_) => done.run(Some(
                    "Linked: the lot is now one lot on both marketplaces.".to_owned(),
                )),
                Err(err) => error.set(Some(err.message)),
            }
        });
    };
    view! {
        <tr class="lot-editor-row">
            <td colspan=columns.to_string()>
                <div class="link-panel">
                    <p class="muted">{heading}</p>
                    {move || match found.get() {
                        None => view! { <p class="muted">"Looking…"</p> }.into_any(),
                        Some(Err(message)) => view! { <p class="notice notice-error">{message}</p> }.into_any(),
                        Some(Ok(list)) if list.lots.is_empty() => view! {
                            <p class="muted">"None: this lot is on BrickOwl only. List it on BrickLink first, or leave it as it is."</p>
                        }.into_any(),
                        Some(Ok(list)) => list.lots.into_iter().map(|candidate| {
                            let id = candidate.id;
                            view! {
                                <div class="link-candidate">
                                    <span>
                                        <span class="mono small">{candidate.item.no.clone()}</span>" "
                                        {format!("{} · {} · {} pcs · {}", candidate.color_name.clone().unwrap_or_default(),
                                            if candidate.condition == app::Condition::New { "New" } else { "Used" },
                                            candidate.quantity, candidate.remarks)}
                                    </span>
                                    <button class="btn btn-small" name="link-to" on:click=move |_| link(id)>"Link to this"</button>
                                </div>
                            }
                        }).collect_view().into_any(),
                    }}
                    {move || error.get().map(|message| view! { <p class="notice notice-error" role="alert">{message}</p> })}
                    <button type="button" class="btn" on:click=move |_| done.run(None)>"Close"</button>
                </div>
            </td>
        </tr>
    }
}

/// Splits a linked lot; what to tell the seller.
pub async fn unlink(id: LotId) -> String {
    match api::post::<_, Vec<Lot>>(&routes::inventory_unlink(id), &serde_json::json!({})).await {
        Ok(_) => {
            "Unlinked: BrickLink's and BrickOwl's lots are two lots now, and stay apart.".to_owned()
        }
        Err(err) => err.message,
    }
}
