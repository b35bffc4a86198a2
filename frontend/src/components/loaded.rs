//! The load / error / data pattern of every page in one place: a line saying what is loading
//! while the first answer is on its way, the error in words when it failed, and the page's
//! own view once the data is there.

use leptos::prelude::*;

/// What a page has of its data: nothing yet, the error in words, or the data.
pub type Loading<T> = Option<Result<T, String>>;

/// Shows `data`: `loading` until it arrives, the error as an alert, else `show` of it.
pub fn loaded<T, V>(
    data: impl Into<Signal<Loading<T>>>,
    loading: &'static str,
    show: impl Fn(T) -> V + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let data = data.into();
    move || match data.get() {
        None => view! { <div class="empty"><p class="muted">{loading}</p></div> }.into_any(),
        Some(Err(message)) => {
            view! { <p class="notice notice-error" role="alert">{message}</p> }.into_any()
        }
        Some(Ok(value)) => show(value).into_any(),
    }
}
