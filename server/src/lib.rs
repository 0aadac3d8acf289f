//! The Roster server: configuration, the Postgres pool and migrations, the HTTP app with its
//! Leptos routes and server functions, graceful shutdown, and the operator commands.

#![recursion_limit = "256"]
pub mod config;
pub mod limits;
pub mod operator;
pub mod ops;
pub mod progress;
pub mod report;
pub mod schedule;
pub mod security;
pub mod startup;
pub mod sync;
pub mod telemetry;
pub mod worker;
