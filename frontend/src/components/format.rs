//! Small display helpers: relative times and state labels in words.

use app::{JobState, Money};
use time::OffsetDateTime;

/// "just now", "42 s ago", "in 5 min", "3 h ago", "2 days ago".
pub fn relative(at: OffsetDateTime) -> String {
    let now_ms = js_sys::Date::now();
    let at_ms = (at.unix_timestamp_nanos() / 1_000_000) as f64;
    let secs = ((now_ms - at_ms) / 1000.0).round() as i64;
    let (amount, future) = (secs.unsigned_abs(), secs < 0);
    let span = match amount {
        0..=4 => return "just now".to_owned(),
        5..=59 => format!("{amount} s"),
        60..=3599 => format!("{} min", amount / 60),
        3600..=86_399 => format!("{} h", amount / 3600),
        _ => format!("{} days", amount / 86_400),
    };
    if future {
        format!("in {span}")
    } else {
        format!("{span} ago")
    }
}

/// Milliseconds between two times, as "850 ms" or "3.2 s".
pub fn duration(from: OffsetDateTime, to: OffsetDateTime) -> String {
    let ms = (to - from).whole_milliseconds();
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

/// A state in a seller's words.
pub fn state_label(state: JobState) -> &'static str {
    match state {
        JobState::Scheduled => "Scheduled",
        JobState::Ready => "Waiting",
        JobState::Running => "Running",
        JobState::Succeeded => "Done",
        JobState::Retrying => "Will retry",
        JobState::Dead => "Failed",
        JobState::Cancelled => "Cancelled",
    }
}

/// A job kind in words: `sync_order` → "Sync order".
pub fn kind_label(kind: &str) -> String {
    let words = kind.replace(['_', '.'], " ");
    let mut chars = words.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

/// An amount with its currency: `$13.72`, `€8.81`, `£2.50`, `CAD 15.14`.
pub fn money(amount: Money, currency: &str) -> String {
    amount.with_currency(currency)
}

/// A date as people read it: `29 Nov 2026, 14:05` (UTC).
pub fn date_time(at: OffsetDateTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS[usize::from(u8::from(at.month())) - 1];
    format!(
        "{} {month} {}, {:02}:{:02}",
        at.day(),
        at.year(),
        at.hour(),
        at.minute()
    )
}

/// A count with thousands separated: 1,234,567.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
