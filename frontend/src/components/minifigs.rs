//! Pieces of the minifig pages: the collected-parts bar, cost to complete, colour swatches.

use app::Totals;
use leptos::prelude::*;

use super::format::money;

/// A bar of collected against needed parts, with the numbers beside it.
#[component]
pub fn CollectedBar(#[prop(into)] totals: Signal<Totals>) -> impl IntoView {
    let totals = totals.get_untracked();
    let percent = totals.percent_collected();
    let label = if totals.parts_needed == 0 && percent == 100 {
        "nothing missing".to_owned()
    } else if totals.parts_needed == 0 {
        "parts not in yet".to_owned()
    } else {
        format!(
            "{} of {} parts collected",
            totals.parts_collected, totals.parts_needed
        )
    };
    view! {
        <div class="collected">
            <div class="meter" role="progressbar" aria-valuemin="0" aria-valuemax="100"
                aria-valuenow=percent.to_string() aria-label="Parts collected">
                <div class=if percent == 100 { "meter-fill meter-done" } else { "meter-fill" }
                    style=format!("width: {percent}%")></div>
            </div>
            <span class="small muted">{label}</span>
        </div>
    }
}

/// "$4.20", with how many pieces have no price (yet, or because nothing sold).
pub fn cost_to_complete(totals: &Totals) -> String {
    let unpriced = match totals.unpriced {
        0 => String::new(),
        1 => "1 piece without a price".to_owned(),
        n => format!("{n} pieces without a price"),
    };
    match &totals.currency {
        None if totals.unpriced > 0 => unpriced,
        currency => {
            let amount = money(totals.cost_to_complete, currency.as_deref().unwrap_or(""));
            if unpriced.is_empty() {
                amount
            } else {
                format!("{amount} + {unpriced}")
            }
        }
    }
}

/// A small square in the part's colour.
#[component]
pub fn Swatch(code: Option<String>, name: Option<String>) -> impl IntoView {
    let title = name.unwrap_or_default();
    let style = code
        .map(|c| format!("background: #{c}"))
        .unwrap_or_else(|| {
            "background: repeating-linear-gradient(45deg,#ddd,#ddd 3px,#fff 3px,#fff 6px)".into()
        });
    view! { <span class="swatch" style=style title=title></span> }
}
