//! Server functions, grouped by use case. Each one authenticates, authorizes by
//! organization, calls into `roster_core` for parsing, runs its SQL, and maps failures to
//! `AppError`. Every endpoint name is explicit, so URLs are stable (`/api/<name>`).

pub mod accounts;
pub mod admins;
pub mod auth;
pub mod connection;
pub mod domains;
pub mod google;
pub mod ldap;
pub mod list_members;
pub mod mail_servers;
pub mod microsoft;
pub mod ownership;
pub mod remove_admin;
pub mod sync_runs;
pub mod sync_settings;
