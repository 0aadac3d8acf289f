//! Black-box tests of the server functions: each test gets a fresh database (`#[sqlx::test]`)
//! and its own running server on a random port, and talks to it over HTTP like the browser.

mod abuse;
mod accounts;
mod archived_accounts;
mod auth;
mod delta_sync;
mod disabled_accounts;
mod domains;
mod google;
mod helpers;
mod instances;
mod isolation;
mod ldap;
mod ldap_sync;
mod leases;
mod list_everyone;
mod microsoft;
mod no_js_forms;
mod operator;
mod ops;
mod ownership;
mod pages;
mod report_emails;
mod schedule;
mod security;
mod settings;
mod sync_engine;
mod sync_identity;
mod sync_runs;
