//! brickdesk's web UI: a Leptos client-side app. Trunk builds it to wasm; the server embeds it.

mod api;
mod app;
mod components;
mod pages;
mod session;
mod sse;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
