//! Charts drawn as SVG by brickdesk itself: no chart library, nothing fetched.

use app::{Day, Money};
use leptos::prelude::*;

use super::format::money;

const WIDTH: f64 = 1000.0;
const HEIGHT: f64 = 170.0;
const LEFT: f64 = 72.0;
const BOTTOM: f64 = 20.0;
const TOP: f64 = 8.0;

/// A round number of money at or above `max`, for the top of the axis.
fn nice_ceiling(max: i64) -> i64 {
    if max <= 0 {
        return Money::SCALE;
    }
    let mut step = Money::SCALE;
    while step * 10 <= max {
        step *= 10;
    }
    for factor in [1, 2, 5, 10] {
        if step * factor >= max {
            return step * factor;
        }
    }
    step * 10
}

/// Daily sales as bars, each with a tooltip; the axis in `currency`.
#[component]
pub fn DailyBars(days: Vec<Day>, currency: String, label: String) -> impl IntoView {
    let top = nice_ceiling(days.iter().map(|d| d.total.0).max().unwrap_or(0));
    let count = days.len().max(1) as f64;
    let slot = (WIDTH - LEFT) / count;
    let plot = HEIGHT - BOTTOM - TOP;
    let first = days.first().map(|d| d.date.clone()).unwrap_or_default();
    let last = days.last().map(|d| d.date.clone()).unwrap_or_default();
    let bars = days
        .into_iter()
        .enumerate()
        .map(|(i, day)| {
            let h = (day.total.0 as f64 / top as f64 * plot).max(if day.orders > 0 { 1.5 } else { 0.0 });
            let x = LEFT + i as f64 * slot + slot * 0.15;
            let y = TOP + plot - h;
            let tip = format!(
                "{}: {} in {} order{}",
                day.date,
                money(day.total, &currency),
                day.orders,
                if day.orders == 1 { "" } else { "s" }
            );
            view! {
                <rect class="bar" x=format!("{x:.1}") y=format!("{y:.1}") width=format!("{:.1}", slot * 0.7)
                    height=format!("{h:.1}") rx="2"><title>{tip}</title></rect>
            }
        })
        .collect_view();
    let grid = [0.0, 0.5, 1.0]
        .into_iter()
        .map(move |f| {
            let y = TOP + plot - f * plot;
            let value = money(Money((top as f64 * f) as i64), &currency);
            view! {
                <line class="grid" x1=LEFT.to_string() x2=WIDTH.to_string() y1=format!("{y:.1}") y2=format!("{y:.1}") />
                <text class="axis" x=(LEFT - 6.0).to_string() y=format!("{:.1}", y + 4.0) text-anchor="end">{value}</text>
            }
        })
        .collect_view();
    view! {
        <svg class="chart" viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=label>
            {grid}
            {bars}
            <text class="axis" x=LEFT.to_string() y=(HEIGHT - 4.0).to_string()>{first}</text>
            <text class="axis" x=WIDTH.to_string() y=(HEIGHT - 4.0).to_string() text-anchor="end">{last}</text>
        </svg>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_tops_are_round() {
        assert_eq!(nice_ceiling(0), Money::SCALE);
        assert_eq!(nice_ceiling(3 * Money::SCALE), 5 * Money::SCALE);
        assert_eq!(nice_ceiling(120 * Money::SCALE), 200 * Money::SCALE);
        assert_eq!(nice_ceiling(1_000 * Money::SCALE), 1_000 * Money::SCALE);
    }
}
