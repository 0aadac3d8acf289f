//! The operator endpoints: `/healthz`, `/readyz` and `/metrics`, answered without a sign-in.

#![allow(clippy::unwrap_used)]

use crate::helpers::{connect_to_tenant, generated_tenant, spawn_app, spawn_app_with_microsoft};
use app::model::RunDetail;
use reqwest::StatusCode;
use roster_m365_emulator::FaultConfig;
use sqlx::PgPool;
use std::time::Duration;

#[sqlx::test(migrations = "../migrations")]
async fn healthz_and_readyz_answer_without_a_sign_in(pool: PgPool) {
    let app = spawn_app(pool).await;
    let anonymous = app.anonymous();
    let res = anonymous.get("/healthz").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.text().await.unwrap(), "ok\n");
    let res = anonymous.get("/readyz").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.text().await.unwrap(), "ready\n");
}

#[sqlx::test(migrations = "../migrations")]
async fn readyz_says_which_migration_is_missing(pool: PgPool) {
    let app = spawn_app(pool).await;
    let latest: i64 = sqlx::query_scalar("select max(version) from _sqlx_migrations")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    sqlx::query("delete from _sqlx_migrations where version = $1")
        .bind(latest)
        .execute(&app.pool)
        .await
        .unwrap();
    let res = app.anonymous().get("/readyz").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        res.text().await.unwrap(),
        format!("not ready: migrations not applied: {latest} (run roster-server migrate)\n")
    );
    // The process itself is fine.
    assert_eq!(
        app.anonymous().get("/healthz").await.status(),
        StatusCode::OK
    );

    sqlx::query("drop table _sqlx_migrations")
        .execute(&app.pool)
        .await
        .unwrap();
    let res = app.anonymous().get("/readyz").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        res.text().await.unwrap(),
        "not ready: database has no migrations applied (run roster-server migrate)\n"
    );
}

/// The value of a metric line `name{labels} value` (`name value` without labels).
fn value(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[sqlx::test(migrations = "../migrations")]
async fn metrics_count_runs_graph_requests_and_describe_every_series(pool: PgPool) {
    const DOMAIN: &str = "metrics.example";
    let (emu, tenant) = generated_tenant(40, 3, &[DOMAIN], 3).await;
    let app = spawn_app_with_microsoft(pool, emu.base_url()).await;
    let scrape = || async {
        let res = app.anonymous().get("/metrics").await;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"));
        res.text().await.unwrap()
    };
    // Counters are per process, and other tests of this process may have run syncs.
    let before = scrape().await;
    let started_before = value(&before, "roster_runs_started_total").unwrap();
    let applied_before = value(&before, "roster_runs_finished_total{outcome=\"applied\"}").unwrap();
    let throttled_before = value(&before, "roster_graph_throttled_total").unwrap();
    // Every third Graph request is throttled (and retried after 10 ms).
    emu.state().set_faults(FaultConfig {
        throttle_every: 3,
        retry_after: "0.01".into(),
        ..FaultConfig::default()
    });

    let admin = app.admin("Metrics").await;
    let domain = admin.create_domain(DOMAIN, "office365").await;
    connect_to_tenant(
        &app.pool,
        admin.organization_id,
        domain,
        DOMAIN,
        &tenant,
        &admin.email,
    )
    .await;
    let domain = domain.to_string();
    let run: uuid::Uuid = admin
        .ok("start_sync", &[("domain_id", &domain), ("mode", "manual")])
        .await;
    let mut ended = false;
    for _ in 0..300 {
        let detail: RunDetail = admin
            .ok(
                "get_sync_run",
                &[("domain_id", &domain), ("run_id", &run.to_string())],
            )
            .await;
        if !detail.run.is_active() {
            assert_eq!(detail.run.status.as_str(), "applied");
            ended = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ended, "the run ended");

    let after = scrape().await;
    assert!(value(&after, "roster_runs_started_total").unwrap() > started_before);
    assert!(
        value(&after, "roster_runs_finished_total{outcome=\"applied\"}").unwrap() > applied_before
    );
    assert!(value(&after, "roster_graph_requests_total{status=\"200\"}").unwrap() >= 3.0);
    assert!(value(&after, "roster_graph_requests_total{status=\"429\"}").unwrap() >= 1.0);
    assert!(value(&after, "roster_graph_throttled_total").unwrap() > throttled_before);
    assert!(value(&after, "roster_run_duration_seconds_count").unwrap() >= 1.0);
    assert!(after.contains("# TYPE roster_run_duration_seconds histogram"));
    assert!(after.contains("roster_run_duration_seconds_bucket{le=\"+Inf\"}"));
    assert_eq!(value(&after, "roster_queue_depth"), Some(0.0));
    for described in [
        "roster_runs_started_total",
        "roster_runs_finished_total",
        "roster_run_duration_seconds",
        "roster_runs_lease_expired_total",
        "roster_graph_requests_total",
        "roster_graph_throttled_total",
        "roster_google_throttled_total",
        "roster_queue_depth",
        "roster_scheduler_lag_seconds",
        "roster_scheduled_runs_total",
        "roster_emails_total",
    ] {
        assert!(
            after.contains(&format!("# HELP {described} ")),
            "{described} has no HELP line:\n{after}"
        );
    }
}
