//! Inventory: the stores' lots as brickdesk last read them from BrickLink and BrickOwl (a
//! BrickOwl lot that names its BrickLink lot is one lot), with search as you type, filters,
//! sorts and pages; "Read my stores" reads them again in the background with its progress
//! shown live. Lots are changed here too (one in its row's editor, a selection in the bulk
//! bar), and the Changes tab is the audit log with undo ([`super::inventory_edit`]).

use std::{collections::BTreeSet, time::Duration};

use app::{
    Condition, JobState, JobView, LotId, LotList, LotQueryParams, LotSort, Marketplace, Queued,
    jobs::kinds, routes,
};
use leptos::prelude::*;
use leptos_router::components::A;

use super::inventory_edit::{BulkBar, ChangeLog, LinkPanel, LotEditor, PendingChips, price_text};
use crate::{
    api,
    components::{
        format::count, loaded::loaded, orders::MarketBadge, pager::Pager,
        stock_sync::StockSyncPanel,
    },
    sse::use_live_events,
};

/// What the table shows and who is being changed: shared by its rows.
#[derive(Clone, Copy)]
struct Editing {
    /// The lot whose editor is open.
    open: RwSignal<Option<LotId>>,
    /// The BrickOwl-only lot whose link panel is open.
    linking: RwSignal<Option<LotId>>,
    selected: RwSignal<BTreeSet<LotId>>,
    /// Ends an edit: closes the editor, says what happened, reads the lots again.
    done: Callback<Option<String>>,
}

/// What the filters ask for.
#[derive(Clone, PartialEq)]
struct Filters {
    q: String,
    item_type: String,
    condition: String,
    location: String,
    /// `""`, `"true"` (on both marketplaces) or `"false"` (on one: needs linking).
    linked: String,
    sort: LotSort,
    descending: bool,
    page: usize,
}

impl Filters {
    fn query(&self) -> String {
        let text = |value: &String| Some(value.trim().to_owned()).filter(|v| !v.is_empty());
        LotQueryParams {
            q: text(&self.q),
            item_type: text(&self.item_type),
            condition: match self.condition.as_str() {
                "new" => Some(Condition::New),
                "used" => Some(Condition::Used),
                _ => None,
            },
            location: text(&self.location),
            linked: match self.linked.as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            sort: Some(self.sort),
            order: Some(if self.descending { "desc" } else { "asc" }.to_owned()),
            page: Some(self.page),
            per_page: Some(100),
            ..LotQueryParams::default()
        }
        .to_query_string()
    }

    fn narrowed(&self) -> bool {
        [
            &self.q,
            &self.item_type,
            &self.condition,
            &self.location,
            &self.linked,
        ]
        .iter()
        .any(|v| !v.trim().is_empty())
    }
}

/// The Inventory page.
#[component]
pub fn InventoryPage() -> impl IntoView {
    let live = use_live_events();
    let filters = RwSignal::new(Filters {
        q: String::new(),
        item_type: String::new(),
        condition: String::new(),
        location: String::new(),
        linked: String::new(),
        sort: LotSort::Location,
        descending: false,
        page: 1,
    });
    let list = RwSignal::new(None::<Result<LotList, String>>);
    let reading = RwSignal::new(None::<String>);
    let notice = RwSignal::new(None::<(bool, String)>);
    let typed = StoredValue::new(0u64);
    let showing_changes = RwSignal::new(false);
    let changes_seen = RwSignal::new(0u64);
    let load = move || {
        let query = filters.get_untracked().query();
        leptos::task::spawn_local(async move {
            let fresh = api::get::<LotList>(&format!("{}?{query}", routes::INVENTORY)).await;
            list.set(Some(fresh.map_err(|e| e.message)));
        });
    };
    let (open, linking, selected) = (
        RwSignal::new(None),
        RwSignal::new(None),
        RwSignal::new(BTreeSet::new()),
    );
    let editing = Editing {
        open,
        linking,
        selected,
        done: Callback::new(move |said: Option<String>| {
            open.set(None);
            linking.set(None);
            if let Some(said) = said {
                notice.set(Some((false, said)));
                changes_seen.update(|n| *n += 1);
            }
            load();
        }),
    };
    Effect::new(move |_| {
        filters.track();
        live.resync.track();
        load();
    });
    // Changes being applied: the rows and the log follow them (not while an editor is open,
    // so nothing typed is lost).
    Effect::new(move |_| {
        let Some(job) = live.job.get() else { return };
        if job.kind != kinds::APPLY_LOT_CHANGES {
            return;
        }
        changes_seen.update(|n| *n += 1);
        if editing.open.get_untracked().is_none() && editing.linking.get_untracked().is_none() {
            load();
        }
    });
    let ended = move |job: &JobView| {
        reading.set(None);
        notice.set(Some(match job.state {
            JobState::Succeeded => (false, read_summary(job)),
            _ => (
                true,
                job.last_error
                    .clone()
                    .unwrap_or_else(|| "Reading the store failed.".into()),
            ),
        }));
        load();
    };
    Effect::new(move |_| {
        let Some(job) = live.job.get() else { return };
        if job.kind != kinds::IMPORT_INVENTORY {
            return;
        }
        match job.state {
            state if state.is_terminal() => {
                // The event says it ended; the job says what the read found.
                let id = job.id;
                leptos::task::spawn_local(async move {
                    if let Ok(view) = api::get::<JobView>(&format!("/api/jobs/{id}")).await {
                        ended(&view);
                    }
                });
            }
            _ => reading.set(Some(job.progress.as_ref().map_or_else(
                || "Reading your stores…".to_owned(),
                |p| format!("Reading your stores: {}", p.message),
            ))),
        }
    });
    let read_now = move |_| {
        notice.set(None);
        leptos::task::spawn_local(async move {
            match api::post::<_, Queued>(routes::INVENTORY_IMPORT, &serde_json::json!({})).await {
                Ok(queued) => {
                    reading.set(Some("Reading your stores…".into()));
                    // The job may have ended before this answer came: read it once, so the
                    // page never waits for an event it missed.
                    for id in queued.job_ids {
                        if let Ok(job) = api::get::<JobView>(&format!("/api/jobs/{id}")).await
                            && job.state.is_terminal()
                        {
                            ended(&job);
                        }
                    }
                }
                Err(err) => notice.set(Some((true, err.message))),
            }
        });
    };
    let on_search = move |ev| {
        let value = event_target_value(&ev);
        typed.update_value(|n| *n += 1);
        let mine = typed.get_value();
        set_timeout(
            move || {
                if typed.get_value() == mine {
                    filters.update(|f| {
                        f.q.clone_from(&value);
                        f.page = 1;
                    });
                }
            },
            Duration::from_millis(250),
        );
    };

    view! {
        <div class="page-head page-head-row">
            <div>
                <h1>"Inventory"</h1>
                <p class="muted">"Your BrickLink and BrickOwl lots in one list; a BrickOwl lot that names its BrickLink lot is shown once. Change a lot (Edit) or select several: brickdesk saves the change at once and applies it on every marketplace holding the lot."</p>
            </div>
            <button class="btn btn-primary" id="inventory-read" on:click=read_now disabled=move || reading.with(Option::is_some)>
                {move || if reading.with(Option::is_some) { "Reading…" } else { "Read my stores" }}
            </button>
        </div>
        {move || reading.get().map(|message| view! {
            <div class="card sync-card" id="inventory-progress">
                <div class="sync-line"><span>{message}</span></div>
                <div class="meter" role="progressbar"><div class="meter-fill meter-busy" style="width: 35%"></div></div>
            </div>
        })}
        {move || notice.get().map(|(error, text)| view! {
            <p class=if error { "notice notice-error" } else { "notice notice-success" } role="status" id="inventory-notice">{text}</p>
        })}
        <StockSyncPanel />
        <div class="tabs" role="tablist">
            <button class="tab" role="tab" id="inventory-tab-lots" aria-selected=move || (!showing_changes.get()).to_string()
                on:click=move |_| showing_changes.set(false)>"Lots"</button>
            <button class="tab" role="tab" id="inventory-tab-changes" aria-selected=move || showing_changes.get().to_string()
                on:click=move |_| showing_changes.set(true)>"Changes"</button>
        </div>
        <Show when=move || showing_changes.get()>
            <ChangeLog refresh=changes_seen done=move |said: String| { notice.set(Some((false, said))); load(); } />
        </Show>
        <div class="filters card" class:hidden=move || showing_changes.get()>
            <input type="search" id="inventory-search" placeholder="Search item number, name or location…"
                aria-label="Search lots" on:input=on_search />
            <select id="inventory-type" aria-label="Type"
                on:change=move |ev| filters.update(|f| { f.item_type = event_target_value(&ev); f.page = 1; })>
                <option value="">"Any type"</option>
                <option value="PART">"Parts"</option>
                <option value="MINIFIG">"Minifigures"</option>
                <option value="SET">"Sets"</option>
            </select>
            <select id="inventory-condition" aria-label="Condition"
                on:change=move |ev| filters.update(|f| { f.condition = event_target_value(&ev); f.page = 1; })>
                <option value="">"New and used"</option>
                <option value="new">"New"</option>
                <option value="used">"Used"</option>
            </select>
            <select id="inventory-linked" aria-label="Marketplaces"
                on:change=move |ev| filters.update(|f| { f.linked = event_target_value(&ev); f.page = 1; })>
                <option value="">"Both marketplaces"</option>
                <option value="true">"Linked (on both)"</option>
                <option value="false">"Needs linking (on one)"</option>
            </select>
            <input type="text" id="inventory-location" placeholder="Location starts with…" aria-label="Location"
                on:change=move |ev| filters.update(|f| { f.location = event_target_value(&ev); f.page = 1; }) />
            <select id="inventory-sort" aria-label="Sort"
                on:change=move |ev| {
                    let value = event_target_value(&ev);
                    filters.update(|f| {
                        (f.sort, f.descending) = match value.as_str() {
                            "item" => (LotSort::Item, false),
                            "quantity" => (LotSort::Quantity, true),
                            "price" => (LotSort::Price, true),
                            _ => (LotSort::Location, false),
                        };
                        f.page = 1;
                    });
                }>
                <option value="location">"By location"</option>
                <option value="item">"By item"</option>
                <option value="quantity">"Most pieces"</option>
                <option value="price">"Highest price"</option>
            </select>
        </div>
        <Show when=move || !showing_changes.get() && editing.selected.with(|s| !s.is_empty())>
            <BulkBar selected=editing.selected done=move |said: String| editing.done.run(Some(said)) />
        </Show>
        <section class="card table-card" class:hidden=move || showing_changes.get()>
            {loaded(list, "Loading lots…", move |found| if found.lots.is_empty() {
                view! { <EmptyInventory narrowed=filters.with(Filters::narrowed) /> }.into_any()
            } else {
                view! { <LotTable found filters editing /> }.into_any()
            })}
        </section>
    }
}

fn read_summary(job: &JobView) -> String {
    let Some(result) = job.result.as_ref() else {
        return "Stores read.".into();
    };
    let parts: Vec<String> = [("bricklink", "BrickLink"), ("brickowl", "BrickOwl")]
        .into_iter()
        .filter_map(|(key, name)| {
            let diff = result.get(key)?;
            let n = |field: &str| count(diff[field].as_u64().unwrap_or(0));
            Some(format!(
                "{name}: {} new, {} changed, {} gone, {} as before",
                n("added"),
                n("changed"),
                n("removed"),
                n("unchanged")
            ))
        })
        .collect();
    format!("Stores read. {}.", parts.join("; "))
}

#[component]
fn EmptyInventory(narrowed: bool) -> impl IntoView {
    let (title, text) = if narrowed {
        (
            "No lots match",
            "Try fewer words, another type or condition, or a shorter location.",
        )
    } else {
        (
            "No lots yet",
            "Connect BrickLink or BrickOwl in Settings, then “Read my stores” brings in every lot, in stock and in stockrooms.",
        )
    };
    view! {
        <div class="empty" id="inventory-empty">
            <h2>{title}</h2>
            <p class="muted">{text}</p>
            {(!narrowed).then(|| view! { <A href="/settings" attr:class="btn">"Go to Settings"</A> })}
        </div>
    }
}

/// Columns of the lots table (the editor row spans them).
const COLUMNS: usize = 9;

#[component]
fn LotTable(found: LotList, filters: RwSignal<Filters>, editing: Editing) -> impl IntoView {
    let (page, per_page, shown, total) =
        (found.page, found.per_page, found.lots.len(), found.total);
    let on_page: Vec<LotId> = found.lots.iter().map(|l| l.id).collect();
    let all_ids = on_page.clone();
    let all_selected = move || {
        editing
            .selected
            .with(|s| !all_ids.is_empty() && all_ids.iter().all(|id| s.contains(id)))
    };
    let rows = found
        .lots
        .into_iter()
        .map(|lot| {
            let id = lot.id;
            let picture = routes::image(&lot.item.item_type, &lot.item.no, lot.color_id);
            let condition = match lot.condition {
                Condition::New => "New",
                Condition::Used => "Used",
            };
            let editor_lot = lot.clone();
            let link_no = lot.item.no.clone();
            let owl_only = lot.bricklink.is_none() && lot.brickowl.is_some();
            view! {
                <tr data-lot=id.0.to_string() class:row-selected=move || editing.selected.with(|s| s.contains(&id))>
                    <td class="select-cell">
                        <input type="checkbox" aria-label="Select this lot" name="select"
                            prop:checked=move || editing.selected.with(|s| s.contains(&id))
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                editing.selected.update(|s| if on { s.insert(id); } else { s.remove(&id); });
                            } />
                    </td>
                    <td class="thumb-cell hide-narrow"><img class="thumb" src=picture alt="" width="32" height="32" loading="lazy" /></td>
                    <td>
                        <span class="mono small">{lot.item.no.clone()}</span>" "
                        {lot.bricklink.is_some().then(|| view! { <MarketBadge marketplace=Marketplace::BrickLink /> })}
                        {lot.brickowl.is_some().then(|| view! { <MarketBadge marketplace=Marketplace::BrickOwl /> })}
                        <PendingChips pending=lot.pending.clone() />
                        <br />{lot.item.name.clone()}
                        <span class="show-narrow muted small">{format!("{condition} · {} · {}", lot.color_name.clone().unwrap_or_default(), lot.remarks)}</span>
                    </td>
                    <td class="hide-narrow">{lot.color_name.clone().unwrap_or_default()}</td>
                    <td class="hide-narrow">{condition}</td>
                    <td class="mono hide-narrow">{lot.remarks.clone()}{lot.stockroom.then(|| view! { " " <span class="chip">"stockroom"</span> })}</td>
                    <td class="num lot-quantity">{count(u64::try_from(lot.quantity).unwrap_or(0))}</td>
                    <td class="num lot-price">{price_text(lot.unit_price)}
                        {(!lot.tier_prices.is_empty()).then(|| {
                            let tiers = lot.tier_prices.iter()
                                .map(|t| format!("{}+ at {}", t.quantity, price_text(t.price)))
                                .collect::<Vec<_>>()
                                .join(", ");
                            view! { <br /><span class="chip lot-tiers" title=format!("Tier prices: {tiers}")>"tiers"</span> }
                        })}
                    </td>
                    <td class="cell-actions">
                        {owl_only.then(|| view! {
                            <button class="btn btn-small" name="link" title="Link to the same lot on BrickLink"
                                on:click=move |_| editing.linking.update(|open| *open = if *open == Some(id) { None } else { Some(id) })>"Link"</button>
                            " "
                        })}
                        <button class="btn btn-small" name="edit" aria-expanded=move || (editing.open.get() == Some(id)).to_string()
                            on:click=move |_| editing.open.update(|open| *open = if *open == Some(id) { None } else { Some(id) })>"Edit"</button>
                    </td>
                </tr>
                {move || (editing.open.get() == Some(id)).then(|| view! {
                    <LotEditor lot=editor_lot.clone() columns=COLUMNS done=editing.done />
                })}
                {move || (editing.linking.get() == Some(id)).then(|| view! {
                    <LinkPanel owl=id no=link_no.clone() columns=COLUMNS done=editing.done />
                })}
            }
        })
        .collect_view();
    view! {
        <div class="table-scroll">
            <table class="table" id="inventory-table">
                <thead><tr>
                    <th class="select-cell">
                        <input type="checkbox" aria-label="Select every lot on this page" name="select-page"
                            prop:checked=all_selected
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                editing.selected.update(|s| for id in &on_page {
                                    if on { s.insert(*id); } else { s.remove(id); }
                                });
                            } />
                    </th>
                    <th class="hide-narrow"></th><th>"Item"</th><th class="hide-narrow">"Colour"</th><th class="hide-narrow">"Cond."</th><th class="hide-narrow">"Location"</th><th class="num">"Qty"</th><th class="num">"Price"</th><th></th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        <Pager id="inventory-count" page per_page shown total go=move |to| filters.update(|f| f.page = to) />
    }
}
