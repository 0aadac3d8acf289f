//! Recipient rows written, from Postgres's own counters (`pg_stat_user_tables`).
//!
//! Backends report their counts to the statistics system asynchronously (when idle, at most
//! once a second, and when they exit). The benchmark reads them after the server process has
//! stopped, and waits until two readings a second apart agree, so nothing is still in flight.

use anyhow::{bail, Result};
use sqlx::PgPool;
use std::time::{Duration, Instant};

/// Inserted, updated and deleted rows of the recipient tables, summed.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Written {
    pub inserted: i64,
    pub updated: i64,
    pub deleted: i64,
}

impl Written {
    pub fn total(&self) -> i64 {
        self.inserted + self.updated + self.deleted
    }

    pub fn since(&self, before: &Written) -> Written {
        Written {
            inserted: self.inserted - before.inserted,
            updated: self.updated - before.updated,
            deleted: self.deleted - before.deleted,
        }
    }
}

pub const RECIPIENT_TABLES: [&str; 3] = ["accounts", "addresses", "list_members"];

async fn read(pool: &PgPool) -> Result<Written> {
    let mut conn = pool.acquire().await?;
    // A fresh view, not the snapshot cached by an earlier read of this session.
    sqlx::query("select pg_stat_clear_snapshot()")
        .execute(&mut *conn)
        .await?;
    let (inserted, updated, deleted): (i64, i64, i64) = sqlx::query_as(
        "select coalesce(sum(n_tup_ins), 0)::bigint, coalesce(sum(n_tup_upd), 0)::bigint,
                coalesce(sum(n_tup_del), 0)::bigint
         from pg_stat_user_tables where schemaname = 'public' and relname = any($1)",
    )
    .bind(&RECIPIENT_TABLES[..])
    .fetch_one(&mut *conn)
    .await?;
    Ok(Written {
        inserted,
        updated,
        deleted,
    })
}

/// The counters once they are settled: equal over three readings a second apart.
pub async fn settled(pool: &PgPool) -> Result<Written> {
    let started = Instant::now();
    let mut last = read(pool).await?;
    let mut same = 0;
    while same < 2 {
        if started.elapsed() > Duration::from_secs(60) {
            bail!("the table statistics kept changing for a minute");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = read(pool).await?;
        same = if now == last { same + 1 } else { 0 };
        last = now;
    }
    Ok(last)
}
