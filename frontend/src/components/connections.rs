//! The marketplace connection cards on the Settings page: paste keys, watch the check turn
//! them valid or refused live, copy or renew the webhook URL, see today's API calls against
//! the allowance, disconnect.

use app::{
    BreakerState, BrickLinkKeys, BrickOwlKeys, ConnectionStatus, ConnectionView, Marketplace,
    routes,
};
use leptos::{ev::SubmitEvent, prelude::*};

use crate::{
    api,
    components::{
        form::{ErrorNotice, Field, SuccessNotice},
        format::{count, relative},
    },
    sse::use_live_events,
};

/// Both marketplaces, kept live.
#[component]
pub fn Connections() -> impl IntoView {
    let live = use_live_events();
    let views = RwSignal::new(None::<Result<Vec<ConnectionView>, String>>);
    let load = move || {
        leptos::task::spawn_local(async move {
            let list = api::get::<Vec<ConnectionView>>(routes::CONNECTIONS).await;
            views.set(Some(list.map_err(|e| e.message)));
        });
    };
    Effect::new(move |_| {
        live.resync.track();
        load();
    });
    Effect::new(move |_| {
        if let Some(update) = live.connection.get() {
            apply(views, update);
        }
    });
    let card = move |marketplace: Marketplace| {
        let view = Signal::derive(move || {
            views.with(|list| {
                list.as_ref()
                    .and_then(|l| l.as_ref().ok())
                    .and_then(|l| l.iter().find(|v| v.marketplace == marketplace).cloned())
            })
        });
        view! { <ConnectionCard marketplace view set=move |v: ConnectionView| apply(views, v) /> }
    };

    view! {
        <section class="connections" aria-labelledby="connections-title">
            <h2 id="connections-title" class="section-title">"Marketplaces"</h2>
            {move || views.with(|list| match list {
                Some(Err(message)) => Some(view! { <p class="notice notice-error" role="alert">{message.clone()}</p> }.into_any()),
                _ => None,
            })}
            <div class="connection-grid">
                {card(Marketplace::BrickLink)}
                {card(Marketplace::BrickOwl)}
            </div>
        </section>
    }
}

/// Puts `fresh` in place unless the page already shows something newer: the check's event
/// can arrive before the answer to the save that queued it.
fn apply(views: RwSignal<Option<Result<Vec<ConnectionView>, String>>>, fresh: ConnectionView) {
    views.update(|list| {
        if let Some(Ok(list)) = list
            && let Some(slot) = list.iter_mut().find(|v| v.marketplace == fresh.marketplace)
            && fresh.supersedes(slot)
        {
            *slot = fresh;
        }
    });
}

fn status_chip(status: ConnectionStatus) -> (&'static str, &'static str) {
    match status {
        ConnectionStatus::Absent => ("chip", "Not connected"),
        ConnectionStatus::Pending => ("chip chip-running", "Checking…"),
        ConnectionStatus::Valid => ("chip chip-succeeded", "Connected"),
        ConnectionStatus::Invalid => ("chip chip-dead", "Keys refused"),
    }
}

#[component]
fn ConnectionCard(
    marketplace: Marketplace,
    view: Signal<Option<ConnectionView>>,
    #[prop(into)] set: Callback<ConnectionView>,
) -> impl IntoView {
    let editing = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let notice = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let id = marketplace.as_str();
    let status = move || view.with(|v| v.as_ref().map_or(ConnectionStatus::Absent, |v| v.status));
    let configured = move || view.with(|v| v.as_ref().is_some_and(|v| v.configured));
    let show_form = move || editing.get() || !configured() || status() == ConnectionStatus::Invalid;

    let saved = move |result: Result<ConnectionView, api::ApiError>| {
        busy.set(false);
        match result {
            Ok(fresh) => {
                editing.set(false);
                error.set(None);
                set.run(fresh);
            }
            Err(err) => error.set(Some(err.message)),
        }
    };
    let rotate = move |_| {
        let question = "Make a new webhook URL? The old one stops working at once, so paste the new one into the marketplace right after.";
        if !window().confirm_with_message(question).unwrap_or(false) {
            return;
        }
        leptos::task::spawn_local(async move {
            let result = api::post::<_, ConnectionView>(
                &routes::connection_rotate_webhook(marketplace),
                &(),
            )
            .await;
            match result {
                Ok(fresh) => {
                    notice.set(Some(
                        "New webhook URL made. Paste it into the marketplace.".into(),
                    ));
                    set.run(fresh);
                }
                Err(err) => error.set(Some(err.message)),
            }
        });
    };
    let disconnect = move |_| {
        let question = format!(
            "Disconnect {marketplace}? brickdesk forgets the keys and stops syncing; orders already here stay."
        );
        if !window().confirm_with_message(&question).unwrap_or(false) {
            return;
        }
        leptos::task::spawn_local(async move {
            match api::delete(&routes::connection(marketplace)).await {
                Ok(()) => {
                    notice.set(Some(format!("{marketplace} is disconnected.")));
                    if let Ok(list) = api::get::<Vec<ConnectionView>>(routes::CONNECTIONS).await
                        && let Some(fresh) = list.into_iter().find(|v| v.marketplace == marketplace)
                    {
                        set.run(fresh);
                    }
                }
                Err(err) => error.set(Some(err.message)),
            }
        });
    };
    let copy = move |_| {
        let Some(url) = view.with_untracked(|v| v.as_ref().and_then(|v| v.webhook_url.clone()))
        else {
            return;
        };
        let promise = window().navigator().clipboard().write_text(&url);
        leptos::task::spawn_local(async move {
            let copied = wasm_bindgen_futures::JsFuture::from(promise).await.is_ok();
            notice.set(Some(if copied {
                "Webhook URL copied.".into()
            } else {
                "Select the URL and copy it by hand; this browser did not allow copying.".into()
            }));
        });
    };

    view! {
        <article class="card connection-card" id=format!("connection-{id}") data-status=move || status_chip(status()).1>
            <header class="connection-head">
                <span class=format!("market-badge market-{id}") aria-hidden="true">{badge(marketplace)}</span>
                <h3>{marketplace.label()}</h3>
                <span class=move || status_chip(status()).0 id=format!("{id}-status")>{move || status_chip(status()).1}</span>
            </header>
            <p class="connection-message" id=format!("{id}-message")>
                {move || view.with(|v| v.as_ref().and_then(|v| v.message.clone()).unwrap_or_else(|| intro(marketplace).into()))}
            </p>
            {move || view.with(|v| v.as_ref().and_then(|v| v.checked_at).map(|at| view! {
                <p class="muted small">"Last checked " {relative(at)}</p>
            }))}
            <Show when=move || configured()>
                <Usage view />
                <WebhookUrl marketplace view copy rotate />
            </Show>
            <Show when=show_form>
                {match marketplace {
                    Marketplace::BrickLink => view! { <BrickLinkForm busy error on_saved=saved /> }.into_any(),
                    Marketplace::BrickOwl => view! { <BrickOwlForm busy error on_saved=saved /> }.into_any(),
                }}
            </Show>
            <ErrorNotice message=error />
            <SuccessNotice message=notice />
            <Show when=configured>
                <div class="connection-actions">
                    {move || if show_form() {
                        editing.get().then(|| view! {
                            <button class="btn" id=format!("{id}-cancel") on:click=move |_| editing.set(false)>"Keep the saved keys"</button>
                        }.into_any())
                    } else {
                        Some(view! {
                            <button class="btn" id=format!("{id}-change") on:click=move |_| editing.set(true)>"Change keys"</button>
                        }.into_any())
                    }}
                    <button class="btn btn-danger" id=format!("{id}-disconnect") on:click=disconnect>"Disconnect"</button>
                </div>
            </Show>
        </article>
    }
}

fn badge(marketplace: Marketplace) -> &'static str {
    match marketplace {
        Marketplace::BrickLink => "BL",
        Marketplace::BrickOwl => "BO",
    }
}

fn intro(marketplace: Marketplace) -> &'static str {
    match marketplace {
        Marketplace::BrickLink => {
            "Paste the four values from BrickLink's API registration page (My Store → API). brickdesk saves them at once and checks them in the background."
        }
        Marketplace::BrickOwl => {
            "Paste an API key from your BrickOwl account (My Account → API Keys), with order permissions. brickdesk saves it at once and checks it in the background."
        }
    }
}

#[component]
fn Usage(view: Signal<Option<ConnectionView>>) -> impl IntoView {
    move || {
        view.with(|v| {
            let usage = v.as_ref()?.usage.clone();
            let text = match (usage.daily_budget, usage.per_minute) {
                (Some(budget), _) => format!("{} of {} API calls used today", count(usage.calls_today.into()), count(budget.into())),
                (None, Some(per_minute)) => format!("{} today · at most {per_minute} a minute", calls(usage.calls_today)),
                (None, None) => format!("{} today", calls(usage.calls_today)),
            };
            let percent = usage
                .daily_budget
                .map(|b| (f64::from(usage.calls_today) / f64::from(b.max(1)) * 100.0).min(100.0));
            let paused = (usage.breaker == BreakerState::Open).then(|| {
                let when = usage.retry_at.map(relative).unwrap_or_default();
                view! { <p class="notice notice-error small">"Paused after repeated failures; next try " {when} "."</p> }
            });
            Some(view! {
                <div class="usage">
                    <div class="usage-text small">{text}</div>
                    {percent.map(|p| view! {
                        <div class="meter" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow=format!("{p:.0}")>
                            <div class="meter-fill" class:meter-high=move || { p > 80.0 } style=format!("width: {p:.1}%")></div>
                        </div>
                    })}
                    {paused}
                </div>
            })
        })
    }
}

fn calls(n: u32) -> String {
    if n == 1 {
        "1 API call".into()
    } else {
        format!("{} API calls", count(n.into()))
    }
}

#[component]
fn WebhookUrl(
    marketplace: Marketplace,
    view: Signal<Option<ConnectionView>>,
    copy: impl Fn(leptos::ev::MouseEvent) + 'static,
    rotate: impl Fn(leptos::ev::MouseEvent) + 'static,
) -> impl IntoView {
    let id = marketplace.as_str();
    let where_to = match marketplace {
        Marketplace::BrickLink => {
            "Paste it as the callback URL on BrickLink's API registration page, so new orders arrive at once."
        }
        Marketplace::BrickOwl => {
            "BrickOwl notifies this address about new orders; brickdesk also checks every few minutes."
        }
    };
    view! {
        <div class="webhook">
            <label class="field-label" for=format!("{id}-webhook")>"Webhook URL"</label>
            <div class="copy-row">
                <input id=format!("{id}-webhook") class="mono" readonly
                    prop:value=move || view.with(|v| v.as_ref().and_then(|v| v.webhook_url.clone()).unwrap_or_default())
                    on:focus=move |ev| {
                        use wasm_bindgen::JsCast as _;
                        if let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) {
                            input.select();
                        }
                    } />
                <button class="btn" id=format!("{id}-copy") on:click=copy>"Copy"</button>
                <button class="btn" id=format!("{id}-rotate") on:click=rotate title="Make a new URL; the old one stops working">"New URL"</button>
            </div>
            <span class="field-hint">{where_to}</span>
        </div>
    }
}

#[component]
fn BrickLinkForm(
    busy: RwSignal<bool>,
    error: RwSignal<Option<String>>,
    on_saved: impl Fn(Result<ConnectionView, api::ApiError>) + Copy + 'static,
) -> impl IntoView {
    let consumer_key = RwSignal::new(String::new());
    let consumer_secret = RwSignal::new(String::new());
    let token_value = RwSignal::new(String::new());
    let token_secret = RwSignal::new(String::new());
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let keys = BrickLinkKeys {
            consumer_key: consumer_key.get_untracked(),
            consumer_secret: consumer_secret.get_untracked(),
            token_value: token_value.get_untracked(),
            token_secret: token_secret.get_untracked(),
        };
        let keys = match keys.parse() {
            Ok(keys) => keys,
            Err(invalid) => return error.set(Some(invalid.message)),
        };
        error.set(None);
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result =
                api::put::<_, ConnectionView>(&routes::connection(Marketplace::BrickLink), &keys)
                    .await;
            if result.is_ok() {
                for field in [consumer_key, consumer_secret, token_value, token_secret] {
                    field.set(String::new());
                }
            }
            on_saved(result);
        });
    };
    view! {
        <form class="connection-form" id="bricklink-form" on:submit=submit novalidate autocomplete="off">
            <div class="two-columns">
                <Field label="Consumer key" id="bricklink-consumer-key" value=consumer_key autocomplete="off" />
                <Field label="Consumer secret" id="bricklink-consumer-secret" value=consumer_secret kind="password" autocomplete="off" />
                <Field label="Token value" id="bricklink-token-value" value=token_value autocomplete="off" />
                <Field label="Token secret" id="bricklink-token-secret" value=token_secret kind="password" autocomplete="off" />
            </div>
            <button type="submit" class="btn btn-primary" id="bricklink-save" disabled=move || busy.get()>
                {move || if busy.get() { "Saving…" } else { "Save and check" }}
            </button>
        </form>
    }
}

#[component]
fn BrickOwlForm(
    busy: RwSignal<bool>,
    error: RwSignal<Option<String>>,
    on_saved: impl Fn(Result<ConnectionView, api::ApiError>) + Copy + 'static,
) -> impl IntoView {
    let api_key = RwSignal::new(String::new());
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let keys = match (BrickOwlKeys {
            api_key: api_key.get_untracked(),
        })
        .parse()
        {
            Ok(keys) => keys,
            Err(invalid) => return error.set(Some(invalid.message)),
        };
        error.set(None);
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result =
                api::put::<_, ConnectionView>(&routes::connection(Marketplace::BrickOwl), &keys)
                    .await;
            if result.is_ok() {
                api_key.set(String::new());
            }
            on_saved(result);
        });
    };
    view! {
        <form class="connection-form" id="brickowl-form" on:submit=submit novalidate autocomplete="off">
            <Field label="API key" id="brickowl-api-key" value=api_key kind="password" autocomplete="off" />
            <button type="submit" class="btn btn-primary" id="brickowl-save" disabled=move || busy.get()>
                {move || if busy.get() { "Saving…" } else { "Save and check" }}
            </button>
        </form>
    }
}
