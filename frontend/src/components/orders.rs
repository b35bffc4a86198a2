//! Pieces the orders pages share: status chips, marketplace badges, and the banner that says
//! how fresh the data is when a marketplace cannot be reached.

use app::{BreakerState, ConnectionStatus, ConnectionView, Marketplace, OrderStatus};
use leptos::prelude::*;

use crate::components::format::relative;

/// A status chip coloured by what the seller has to do.
#[component]
pub fn StatusChip(status: OrderStatus) -> impl IntoView {
    let tone = match status {
        OrderStatus::OnHold => "chip chip-dead",
        s if s.needs_action() => "chip chip-action",
        OrderStatus::AwaitingPayment => "chip chip-retrying",
        OrderStatus::Shipped | OrderStatus::Received => "chip chip-running",
        OrderStatus::Completed => "chip chip-succeeded",
        _ => "chip",
    };
    view! { <span class=tone>{status.label()}</span> }
}

/// `BL` / `BO` in the marketplace's colour.
#[component]
pub fn MarketBadge(marketplace: Marketplace) -> impl IntoView {
    let (class, text) = match marketplace {
        Marketplace::BrickLink => ("market-badge market-bricklink small-badge", "BL"),
        Marketplace::BrickOwl => ("market-badge market-brickowl small-badge", "BO"),
    };
    view! { <span class=class title=marketplace.label()>{text}</span> }
}

/// Says plainly when a marketplace cannot be reached: the pages work from stored orders, this
/// says how fresh they are and when brickdesk tries again.
#[component]
pub fn FreshnessBanner(connections: Signal<Vec<ConnectionView>>) -> impl IntoView {
    move || {
        connections.with(|all| {
            let troubles: Vec<String> = all
                .iter()
                .filter(|c| c.configured)
                .filter_map(|c| {
                    let since = c
                        .last_sync_at
                        .map_or_else(|| "never synced".to_owned(), |at| format!("last synced {}", relative(at)));
                    if c.status == ConnectionStatus::Invalid {
                        Some(format!(
                            "{} refused the saved keys, so its orders are not updated ({since}). Fix the keys in Settings.",
                            c.marketplace
                        ))
                    } else if c.usage.breaker == BreakerState::Open {
                        let next = c.usage.retry_at.map(relative).unwrap_or_else(|| "soon".into());
                        Some(format!(
                            "{} is not answering. Showing the orders brickdesk has ({since}); it tries again {next}.",
                            c.marketplace
                        ))
                    } else {
                        None
                    }
                })
                .collect();
            (!troubles.is_empty()).then(|| {
                view! {
                    <div class="notice notice-error banner" role="status" id="freshness-banner">
                        {troubles.into_iter().map(|t| view! { <p>{t}</p> }).collect_view()}
                    </div>
                }
            })
        })
    }
}
