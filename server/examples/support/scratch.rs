//! A scratch database for a benchmark: created on the server of `DATABASE_URL`, handed to
//! `run`, dropped afterwards whatever `run` returned.

use anyhow::{Context, Result};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};
use std::future::Future;
use std::str::FromStr;

pub async fn with_scratch_database<F, Fut>(prefix: &str, run: F) -> Result<()>
where
    F: FnOnce(PgConnectOptions) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let base = std::env::var("DATABASE_URL").context("set DATABASE_URL to a Postgres server")?;
    let admin_options = PgConnectOptions::from_str(&base)?;
    let db = format!("{prefix}_{}", std::process::id());
    let mut admin_conn = admin_options.connect().await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("create database {db}")))
        .execute(&mut admin_conn)
        .await?;
    let result = run(admin_options.clone().database(&db)).await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "drop database {db} with (force)"
    )))
    .execute(&mut admin_conn)
    .await?;
    admin_conn.close().await?;
    result
}
