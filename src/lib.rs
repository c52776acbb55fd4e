//! vendorscope: audit the API keys a company hands to its third-party vendors.
//!
//! Data flows one way: load → source → probe / scan → facts → policies → run → reports.

pub mod cli;
pub mod commands;
pub mod crawl;
pub mod facts;
pub mod gate;
pub mod inventory;
pub mod report;
pub mod run;
pub mod secret;
pub mod yaml;
