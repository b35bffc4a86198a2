//! brickdesk end to end: the real server over HTTP, and the release build in Chromium.

#![allow(clippy::unwrap_used)] // helpers here are test code too

mod accounts;
mod backup;
mod browser_connections;
mod browser_dashboard;
mod browser_inventory;
mod browser_jobs;
mod browser_minifigs;
mod browser_orders;
mod browser_picking;
mod browser_ui;
mod connections;
mod dashboard;
mod documents;
mod events;
mod fulfilment;
mod http_surface;
mod images;
mod import;
mod inventory;
mod inventory_edits;
mod jobs;
mod messages;
mod minifigs;
mod orders;
mod payments;
mod security;
mod security_floods;
mod stock_sync;
mod users;
