//! vendorscope: audit the API keys a company hands to its third-party vendors.
//!
//! Data flows one way: load → source → probe / scan → facts → policies → run → reports.

pub mod audit;
pub mod cli;
pub mod commands;
pub mod config;
pub mod crawl;
pub mod demo;
pub mod diag;
pub mod emulator;
pub mod emulators;
pub mod exposure;
pub mod facts;
#[doc(hidden)]
pub mod fuzz;
pub mod gate;
pub mod guard;
pub mod http;
pub mod inventory;
pub mod pii;
pub mod policy;
pub mod progress;
pub mod report;
pub mod run;
pub mod secret;
pub mod shard;
#[cfg(test)]
mod testing;
pub mod vendors;
pub mod yaml;
