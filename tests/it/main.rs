//! Integration tests: the real server over a fresh database, on SQLite always and on
//! PostgreSQL when TALLY_TEST_POSTGRES_URL is set.

mod harness;

mod admin_pages;
mod audit;
mod auth;
mod authz;
mod big_projects;
mod caches;
mod cli;
mod concurrency;
mod credentials;
mod datasets;
mod demo;
mod editing;
mod export;
mod feedback;
mod fuzz_harness;
mod gate;
mod health;
mod import;
mod import_checks;
mod kinds;
mod labelling;
mod media;
mod monitoring;
mod openapi;
mod pace;
mod pages;
mod people;
mod policies;
mod project_edits;
mod projects;
mod qualification;
mod report;
mod review;
mod security;
mod user_links;
mod webhooks;
