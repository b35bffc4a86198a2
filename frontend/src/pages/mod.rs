//! One file per page.

pub mod dashboard;
pub mod inventory;
pub mod inventory_edit;
pub mod jobs;
pub mod login;
pub mod minifig_list;
pub mod minifigs;
pub mod not_found;
pub mod order;
pub mod orders;
pub mod picking;
pub mod settings;
pub mod setup;
