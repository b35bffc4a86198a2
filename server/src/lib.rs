//! brickdesk's server: configuration, the sled store, accounts and sessions, the HTTP API and
//! the embedded web UI. `main.rs` only parses the command line and calls into here.

pub mod auth;
pub mod backup;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod connections;
pub mod control;
pub mod demo;
pub mod doctor;
pub mod documents;
pub mod error;
pub mod events;
pub mod http;
pub mod jobs;
pub mod marketplace;
pub mod picking;
pub mod pictures;
pub mod push_gate;
pub mod queue;
pub mod scheduler;
pub mod search;
pub mod services;
pub mod setup_code;
pub mod sim;
pub mod startup;
pub mod state;
pub mod stock_sync;
pub mod store;
pub mod telemetry;
pub mod version;

pub use config::Config;
pub use startup::Application;
