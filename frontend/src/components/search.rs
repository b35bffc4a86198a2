//! The search box in the header: `/` focuses it from anywhere, results appear as you type
//! (orders, buyers, items, minifigs, lists; ranked and cached by the server), Enter opens the
//! first, arrow keys move, Escape closes.

use std::time::Duration;

use app::{Hit, HitKind, SearchResults, routes};
use leptos::{ev, html, prelude::*};
use leptos_router::hooks::use_navigate;

use crate::api;

fn kind_label(kind: HitKind) -> &'static str {
    match kind {
        HitKind::Order => "Order",
        HitKind::Buyer => "Buyer",
        HitKind::Item => "Item",
        HitKind::Minifig => "Minifig",
        HitKind::List => "List",
    }
}

/// The header's search box.
#[component]
pub fn SearchBox() -> impl IntoView {
    let input = NodeRef::<html::Input>::new();
    let text = RwSignal::new(String::new());
    let hits = RwSignal::new(None::<Result<Vec<Hit>, String>>);
    let open = RwSignal::new(false);
    let selected = RwSignal::new(0usize);
    let asked = StoredValue::new(0u64);
    let navigate = StoredValue::new_local(use_navigate());

    // `/` anywhere outside a field focuses the box.
    let focus = window_event_listener(ev::keydown, move |event| {
        if event.key() != "/" || event.ctrl_key() || event.meta_key() || event.alt_key() {
            return;
        }
        let typing = document()
            .active_element()
            .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"));
        if typing {
            return;
        }
        if let Some(field) = input.get_untracked() {
            event.prevent_default();
            let _ = field.focus();
        }
    });
    on_cleanup(move || focus.remove());

    let ask = move |query: String| {
        asked.update_value(|n| *n += 1);
        let mine = asked.get_value();
        set_timeout(
            move || {
                if asked.get_value() != mine {
                    return;
                }
                if query.trim().is_empty() {
                    hits.set(None);
                    return;
                }
                leptos::task::spawn_local(async move {
                    let path = format!(
                        "{}?q={}",
                        routes::SEARCH,
                        js_sys::encode_uri_component(&query)
                    );
                    let answer = api::get::<SearchResults>(&path).await;
                    if asked.get_value() == mine {
                        selected.set(0);
                        hits.set(Some(answer.map(|r| r.hits).map_err(|e| e.message)));
                    }
                });
            },
            Duration::from_millis(120),
        );
    };
    let go = move |href: String| {
        open.set(false);
        text.set(String::new());
        hits.set(None);
        if let Some(field) = input.get_untracked() {
            let _ = field.blur();
        }
        navigate.with_value(|navigate| navigate(&href, Default::default()));
    };
    let on_key = {
        move |event: ev::KeyboardEvent| {
            let count = hits.with(|h| h.as_ref().and_then(|r| r.as_ref().ok()).map_or(0, Vec::len));
            match event.key().as_str() {
                "Escape" => {
                    open.set(false);
                    if let Some(field) = input.get_untracked() {
                        let _ = field.blur();
                    }
                }
                "ArrowDown" if count > 0 => {
                    event.prevent_default();
                    selected.update(|s| *s = (*s + 1) % count);
                }
                "ArrowUp" if count > 0 => {
                    event.prevent_default();
                    selected.update(|s| *s = (*s + count - 1) % count);
                }
                "Enter" => {
                    event.prevent_default();
                    let href = hits.with(|h| {
                        h.as_ref()
                            .and_then(|r| r.as_ref().ok())
                            .and_then(|all| all.get(selected.get_untracked()))
                            .map(|hit| hit.href.clone())
                    });
                    if let Some(href) = href {
                        go(href);
                    }
                }
                _ => {}
            }
        }
    };
    view! {
        <div class="search" role="search">
            <input
                node_ref=input
                id="global-search"
                type="search"
                autocomplete="off"
                placeholder="Search orders, buyers, parts, minifigs  ( / )"
                aria-label="Search"
                prop:value=move || text.get()
                on:input=move |event| {
                    let value = event_target_value(&event);
                    text.set(value.clone());
                    open.set(true);
                    ask(value);
                }
                on:focus=move |_| open.set(true)
                on:blur=move |_| set_timeout(move || open.set(false), Duration::from_millis(200))
                on:keydown=on_key
            />
            <Show when=move || open.get() && hits.with(Option::is_some)>
                <div class="search-results" id="search-results" role="listbox">
                    {move || match hits.get() {
                        Some(Ok(found)) if found.is_empty() => view! {
                            <p class="muted small pad">{format!("Nothing matches \u{201c}{}\u{201d}.", text.get_untracked())}</p>
                        }.into_any(),
                        Some(Ok(found)) => found.into_iter().enumerate().map(|(i, hit)| {
                            let href = hit.href.clone();
                            view! {
                                <button type="button" class="search-hit" role="option"
                                    aria-selected=move || (selected.get() == i).to_string()
                                    on:mousedown=move |event| { event.prevent_default(); go(href.clone()); }>
                                    <span class="hit-kind">{kind_label(hit.kind)}</span>
                                    <span class="hit-title">{hit.title}</span>
                                    <span class="muted small">{hit.detail}</span>
                                </button>
                            }
                        }).collect_view().into_any(),
                        Some(Err(message)) => view! { <p class="notice notice-error small">{message}</p> }.into_any(),
                        None => ().into_any(),
                    }}
                </div>
            </Show>
        </div>
    }
}
