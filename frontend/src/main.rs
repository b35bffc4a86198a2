//! brickdesk's web UI: a Leptos client-side app. `scripts/ui.sh` builds it to wasm (a first
//! part, and a part per page fetched when the page is first opened); the server embeds it.

mod api;
mod app;
mod components;
mod pages;
mod session;
mod sse;

fn main() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        say_it_stopped();
    }));
    leptos::mount::mount_to_body(app::App);
}

/// After a panic the app no longer runs: say so on the page, with a way back. A page whose
/// part could not be fetched (brickdesk was upgraded since this tab loaded, or the connection
/// dropped) ends here too.
fn say_it_stopped() {
    let body = web_sys::window()
        .and_then(|window| window.document())
        .and_then(|document| document.query_selector("body").ok().flatten());
    if let Some(body) = body {
        let _ = body.insert_adjacent_html(
            "afterbegin",
            "<div class=\"notice notice-error app-stopped\" role=\"alert\" id=\"app-stopped\">\
             <strong>brickdesk stopped working in this tab.</strong> This happens when brickdesk \
             was updated, or the connection dropped, while a page was opening. Nothing you saved \
             is lost. <a href=\"\" rel=\"external\">Reload the page</a></div>",
        );
    }
}
