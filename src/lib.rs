//! tally: a self-hosted human-labelling server.
//!
//! Layout: `domain` holds plain types and rules, `store` all SQL, `web` the HTTP layer,
//! `quality` the statistics engine, `formats` the export file formats, `dataset` the
//! export runs that make dataset versions, `cli` the command line. `app` builds the router that
//! the binary and every test use.

pub mod auth;
pub mod cli;
pub mod config;
pub mod dataset;
pub mod demo;
pub mod domain;
pub mod error;
pub mod export_cli;
pub mod formats;
pub mod import_cli;
pub mod offline_report;
pub mod quality;
pub mod store;
pub mod web;
pub mod webhooks;

pub use config::Config;
pub use error::{AppError, Result};
pub use store::Store;
pub use web::{app, AppState};
