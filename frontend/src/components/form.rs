//! Form pieces: labelled fields and the notices under a form.

use leptos::prelude::*;

/// A labelled text input bound to a signal.
#[component]
pub fn Field(
    /// Visible label.
    label: &'static str,
    /// Element id (also its `name`), used by tests and the label.
    id: &'static str,
    /// The value, two-way.
    value: RwSignal<String>,
    /// Input type.
    #[prop(default = "text")]
    kind: &'static str,
    /// Browser autofill hint.
    #[prop(optional)]
    autocomplete: Option<&'static str>,
    /// Help under the field.
    #[prop(optional)]
    hint: Option<&'static str>,
) -> impl IntoView {
    view! {
        <label class="field" for=id>
            <span class="field-label">{label}</span>
            <input
                id=id
                name=id
                type=kind
                autocomplete=autocomplete
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            />
            {hint.map(|hint| view! { <span class="field-hint">{hint}</span> })}
        </label>
    }
}

/// A red notice with `role="alert"` while `message` is set.
#[component]
pub fn ErrorNotice(message: RwSignal<Option<String>>) -> impl IntoView {
    view! {
        <Show when=move || message.with(Option::is_some)>
            <p class="notice notice-error" role="alert">{move || message.get()}</p>
        </Show>
    }
}

/// A green notice while `message` is set.
#[component]
pub fn SuccessNotice(message: RwSignal<Option<String>>) -> impl IntoView {
    view! {
        <Show when=move || message.with(Option::is_some)>
            <p class="notice notice-success" role="status">{move || message.get()}</p>
        </Show>
    }
}

/// The brickdesk mark and name.
#[component]
pub fn Brand() -> impl IntoView {
    view! {
        <span class="brand">
            <span class="brand-mark" aria-hidden="true"></span>
            "brickdesk"
        </span>
    }
}
