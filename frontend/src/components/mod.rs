//! Building blocks shared by pages.

pub mod charts;
pub mod connections;
pub mod documents;
pub mod form;
pub mod format;
pub mod loaded;
pub mod messages;
pub mod minifigs;
pub mod orders;
pub mod pager;
pub mod search;
pub mod shell;
pub mod stock_sync;
