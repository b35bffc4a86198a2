//! Packing slips and invoices in the UI: links that open them (printable page or PDF) for one
//! order or many, and the template form in Settings.

use app::{DocumentKind, DocumentTemplate, OrderRef, Paper, routes};
use leptos::{ev::SubmitEvent, prelude::*};

use crate::{
    api,
    components::form::{ErrorNotice, SuccessNotice},
};

/// "Packing slip · PDF · Invoice · PDF" for `orders`, each opening in a new tab.
#[component]
pub fn DocumentLinks(orders: Vec<OrderRef>) -> impl IntoView {
    let many = orders.len() > 1;
    let link = move |kind: DocumentKind, pdf: bool| routes::documents(kind, &orders, pdf);
    let slips = if many {
        "Packing slips"
    } else {
        "Packing slip"
    };
    let invoices = if many { "Invoices" } else { "Invoice" };
    view! {
        <p class="document-links">
            <a class="btn btn-small" target="_blank" rel="noopener" id="packing-slip-link"
                href=link(DocumentKind::PackingSlip, false)>{slips}</a>
            <a class="btn btn-small" target="_blank" rel="noopener"
                href=link(DocumentKind::PackingSlip, true)>"PDF"</a>
            <a class="btn btn-small" target="_blank" rel="noopener" id="invoice-link"
                href=link(DocumentKind::Invoice, false)>{invoices}</a>
            <a class="btn btn-small" target="_blank" rel="noopener"
                href=link(DocumentKind::Invoice, true)>"PDF"</a>
        </p>
    }
}

/// The template packing slips and invoices are made from.
#[component]
pub fn TemplateForm() -> impl IntoView {
    let template = RwSignal::new(DocumentTemplate::default());
    let error = RwSignal::new(None::<String>);
    let saved = RwSignal::new(None::<String>);
    leptos::task::spawn_local(async move {
        match api::get::<DocumentTemplate>(routes::DOCUMENT_TEMPLATE).await {
            Ok(found) => template.set(found),
            Err(e) => error.set(Some(e.message)),
        }
    });
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        saved.set(None);
        leptos::task::spawn_local(async move {
            let body = template.get_untracked();
            match api::put::<_, DocumentTemplate>(routes::DOCUMENT_TEMPLATE, &body).await {
                Ok(_) => saved.set(Some("Saved: slips and invoices use it from now on.".into())),
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    let text = move |read: fn(&DocumentTemplate) -> String| move || template.with(read);
    let pick_logo = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        let Some(file) = input.files().and_then(|files| files.get(0)) else {
            return;
        };
        if file.size() > 256.0 * 1024.0 {
            error.set(Some(
                "The logo is over 256 KB; choose a smaller PNG.".into(),
            ));
            return;
        }
        let Ok(reader) = web_sys::FileReader::new() else {
            return;
        };
        let read = reader.clone();
        let loaded = wasm_bindgen::closure::Closure::once_into_js(move || {
            if let Some(url) = read.result().ok().and_then(|r| r.as_string()) {
                template.update(|t| t.logo = Some(url));
            }
        });
        reader.set_onload(Some(wasm_bindgen::JsCast::unchecked_ref(&loaded)));
        let _ = reader.read_as_data_url(&file);
    };
    view! {
        <form class="card form" id="template-form" on:submit=submit>
            <h2>"Packing slips and invoices"</h2>
            <label class="field">
                <span class="field-label">"Shop name"</span>
                <input name="shop_name" prop:value=text(|t| t.shop_name.clone())
                    on:input=move |ev| template.update(|t| t.shop_name = event_target_value(&ev)) />
            </label>
            <div class="field">
                <span class="field-label">"Logo (PNG, at most 256 KB)"</span>
                {move || template.with(|t| t.logo.clone()).map(|src| view! {
                    <img class="logo-preview" src=src alt="Your logo" />
                    <button class="btn btn-small" type="button" on:click=move |_| template.update(|t| t.logo = None)>"Remove logo"</button>
                })}
                <input type="file" name="logo" accept="image/png" on:change=pick_logo />
            </div>
            <label class="field">
                <span class="field-label">"Your address"</span>
                <textarea name="address" rows="3" prop:value=text(|t| t.address.clone())
                    on:input=move |ev| template.update(|t| t.address = event_target_value(&ev))></textarea>
            </label>
            <label class="field">
                <span class="field-label">"Footer (thanks, returns, VAT number)"</span>
                <textarea name="footer" rows="2" prop:value=text(|t| t.footer.clone())
                    on:input=move |ev| template.update(|t| t.footer = event_target_value(&ev))></textarea>
            </label>
            <label class="field">
                <span class="field-label">"Paper"</span>
                <select name="paper" on:change=move |ev| template.update(|t| t.paper = if event_target_value(&ev) == "letter" { Paper::Letter } else { Paper::A4 })>
                    <option value="a4" selected=move || template.with(|t| t.paper == Paper::A4)>"A4"</option>
                    <option value="letter" selected=move || template.with(|t| t.paper == Paper::Letter)>"US Letter"</option>
                </select>
            </label>
            <fieldset class="field checks">
                <legend class="field-label">"Columns"</legend>
                <label class="field checkbox"><input type="checkbox" prop:checked=move || template.with(|t| t.show_location)
                    on:change=move |ev| template.update(|t| t.show_location = event_target_checked(&ev)) />"Location (packing slips)"</label>
                <label class="field checkbox"><input type="checkbox" prop:checked=move || template.with(|t| t.show_color)
                    on:change=move |ev| template.update(|t| t.show_color = event_target_checked(&ev)) />"Colour"</label>
                <label class="field checkbox"><input type="checkbox" prop:checked=move || template.with(|t| t.show_condition)
                    on:change=move |ev| template.update(|t| t.show_condition = event_target_checked(&ev)) />"Condition"</label>
            </fieldset>
            <div class="inline-form">
                <label class="field">
                    <span class="field-label">"Invoice prefix"</span>
                    <input name="invoice_prefix" prop:value=text(|t| t.invoice_prefix.clone())
                        on:input=move |ev| template.update(|t| t.invoice_prefix = event_target_value(&ev)) />
                </label>
                <label class="field">
                    <span class="field-label">"First number"</span>
                    <input name="invoice_first" type="number" min="1" prop:value=text(|t| t.invoice_first.to_string())
                        on:input=move |ev| if let Ok(n) = event_target_value(&ev).parse() { template.update(|t| t.invoice_first = n) } />
                </label>
                <label class="field">
                    <span class="field-label">"Digits"</span>
                    <input name="invoice_digits" type="number" min="1" max="12" prop:value=text(|t| t.invoice_digits.to_string())
                        on:input=move |ev| if let Ok(n) = event_target_value(&ev).parse() { template.update(|t| t.invoice_digits = n) } />
                </label>
            </div>
            <p class="muted small">{move || template.with(|t| format!("The next invoice is numbered like {}; an order keeps its number.", t.invoice_number(t.invoice_first)))}</p>
            <button class="btn btn-primary" type="submit">"Save"</button>
            <ErrorNotice message=error />
            <SuccessNotice message=saved />
        </form>
    }
}
