//! Manual Sync, Test Sync and Apply these changes through the server functions, run by the real
//! apalis worker against the Microsoft 365 emulator; the live progress stream, the history, a
//! run's changes and its CSV.

#![allow(clippy::unwrap_used)]

use crate::helpers::{
    connect_to_tenant, generated_tenant, spawn_app_with_microsoft, Admin, TestApp,
};
use app::error::AppError;
use app::model::{ChangeRow, HistoryRow, Paged, RunDetail, SyncOverview};
use reqwest::StatusCode;
use roster_core::RunState;
use roster_m365_emulator::{FaultConfig, RunningEmulator};
use sqlx::PgPool;
use std::time::Duration;
use uuid::Uuid;

const DOMAIN: &str = "fabrikam.example";

async fn tenant(users: usize, groups: usize) -> (RunningEmulator, String) {
    generated_tenant(users, groups, &[DOMAIN], 11).await
}

struct Setup {
    _emu: RunningEmulator,
    app: TestApp,
    admin: Admin,
    domain: String,
}

/// An organization with the domain connected to the emulator's tenant (the consent flow
/// itself is tested in `microsoft.rs`).
async fn setup(pool: PgPool, users: usize) -> Setup {
    let (emu, tenant_id) = tenant(users, 8).await;
    let app = spawn_app_with_microsoft(pool, emu.base_url()).await;
    let admin = app.admin("Fabrikam").await;
    let domain = admin.create_domain(DOMAIN, "office365").await;
    connect_to_tenant(
        &app.pool,
        admin.organization_id,
        domain,
        DOMAIN,
        &tenant_id,
        &admin.email,
    )
    .await;
    Setup {
        _emu: emu,
        app,
        admin,
        domain: domain.to_string(),
    }
}

impl Setup {
    async fn start(&self, mode: &str) -> Result<Uuid, (StatusCode, AppError)> {
        self.admin
            .call("start_sync", &[("domain_id", &self.domain), ("mode", mode)])
            .await
    }

    /// Waits until the domain's latest run has ended; returns its page.
    async fn finished(&self, run: Uuid) -> RunDetail {
        for _ in 0..600 {
            let detail: RunDetail = self
                .admin
                .ok(
                    "get_sync_run",
                    &[("domain_id", &self.domain), ("run_id", &run.to_string())],
                )
                .await;
            if !detail.run.is_active() {
                return detail;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("run {run} did not finish in a minute");
    }

    async fn accounts(&self) -> i64 {
        sqlx::query_scalar!(r#"select count(*) as "n!" from accounts where source = 'office365'"#)
            .fetch_one(&self.app.pool)
            .await
            .unwrap()
    }

    async fn changes(&self, run: Uuid, kind: &str, search: &str) -> Paged<ChangeRow> {
        self.admin
            .ok(
                "list_run_changes",
                &[
                    ("domain_id", &self.domain),
                    ("run_id", &run.to_string()),
                    ("kind", kind),
                    ("search", search),
                    ("page", "1"),
                ],
            )
            .await
    }
}

/// Reads the progress stream until an event shows an ended run; returns every event's data.
async fn read_events(mut res: reqwest::Response) -> Vec<String> {
    let mut buffer = String::new();
    let mut events = Vec::new();
    while let Ok(Some(chunk)) = res.chunk().await {
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            if let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: ")) {
                events.push(data.to_owned());
                if data.contains("\"status\":\"applied\"") {
                    return events;
                }
            }
        }
    }
    events
}

#[sqlx::test(migrations = "../migrations")]
async fn manual_sync_runs_in_the_worker_streams_progress_and_is_in_the_history(pool: PgPool) {
    let s = setup(pool, 400).await;
    // Slow enough that the stream has something to show between the start and the end.
    s._emu.state().set_faults(FaultConfig {
        latency_ms: 300,
        ..FaultConfig::default()
    });

    // The live stream, opened before the run: its first event is "no run yet".
    let stream = s
        .admin
        .client
        .get(format!(
            "{}/domains/{}/sync/events",
            s.app.address, s.domain
        ))
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert!(stream.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let events = tokio::spawn(read_events(stream));

    // Two clicks at once start one run.
    let (a, b) = tokio::join!(s.start("manual"), s.start("manual"));
    let run = match (a, b) {
        (Ok(run), Err((StatusCode::CONFLICT, AppError::Conflict(m))))
        | (Err((StatusCode::CONFLICT, AppError::Conflict(m))), Ok(run)) => {
            assert!(m.contains("already queued or running"), "{m}");
            run
        }
        other => panic!("expected one run and one refusal, got {other:?}"),
    };
    let detail = s.finished(run).await;
    assert_eq!(detail.run.status, RunState::Applied, "{detail:?}");
    let counts = detail.counts.unwrap();
    assert!(counts.accounts_added > 200, "{counts:?}");
    assert_eq!(
        s.accounts().await,
        i64::try_from(counts.accounts_added).unwrap()
    );
    assert_eq!(detail.requested_by.as_deref(), Some(s.admin.email.as_str()));

    // The stream showed the run going through its phases, then its end.
    let events = tokio::time::timeout(Duration::from_secs(30), events)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(events.first().map(String::as_str), Some("null"));
    assert!(
        events
            .iter()
            .any(|e| e.contains("\"phase\":\"fetch_users\"")),
        "{events:?}"
    );
    assert!(events.last().unwrap().contains("\"status\":\"applied\""));

    let overview: SyncOverview = s
        .admin
        .ok("get_sync_overview", &[("domain_id", &s.domain)])
        .await;
    assert!(overview.connected);
    assert_eq!(overview.latest.unwrap().id, run);

    let history: Paged<HistoryRow> = s
        .admin
        .ok(
            "list_sync_history",
            &[("domain_id", &s.domain), ("page", "1")],
        )
        .await;
    assert_eq!(history.total, 1);
    let row = &history.rows[0];
    assert_eq!((row.id, row.test), (run, false));
    assert_eq!(row.requested_by.as_deref(), Some(s.admin.email.as_str()));
    assert!(
        row.summary
            .starts_with(&format!("+{} accounts", counts.accounts_added)),
        "{}",
        row.summary
    );

    // The changes: filtered by kind and by address, and all of them as CSV.
    let adds = s.changes(run, "account_add", "").await;
    assert_eq!(adds.total, i64::try_from(counts.accounts_added).unwrap());
    let first = adds.rows[0].address.clone();
    let found = s.changes(run, "", &first).await;
    assert!(
        found.total >= 1
            && found.rows.iter().all(|c| c.address.contains(&first)
                || c.item.as_deref().is_some_and(|i| i.contains(&first)))
    );
    let all = s.changes(run, "", "").await;
    let csv = s
        .admin
        .get(&format!(
            "/domains/{}/sync/runs/{run}/changes.csv",
            s.domain
        ))
        .await;
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(csv.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let body = csv.text().await.unwrap();
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines[0], "kind,address,item,before,after,new_address");
    assert_eq!(i64::try_from(lines.len()).unwrap() - 1, all.total);
    assert!(lines
        .iter()
        .any(|l| l.starts_with(&format!("Account added,{first},"))));

    // A synced distribution list's page lists its members.
    let (list, members): (Uuid, i64) = sqlx::query_as(
        r#"select a.id, count(*) from accounts a join list_members m on m.account_id = a.id
           where a.kind = 'distribution_list' group by a.id order by count(*) desc limit 1"#,
    )
    .fetch_one(&s.app.pool)
    .await
    .unwrap();
    let page: app::api::list_members::ListPage = s
        .admin
        .ok(
            "get_list_members",
            &[
                ("domain_id", &s.domain),
                ("account_id", &list.to_string()),
                ("page", "1"),
            ],
        )
        .await;
    assert_eq!(page.members.total, members);
    assert_eq!(
        page.members.rows.len(),
        usize::try_from(members.min(100)).unwrap()
    );
    assert_eq!(page.source, app::model::AccountSource::Office365);

    // Nobody else sees any of it.
    let other = s.app.admin("Other").await;
    assert_eq!(
        other
            .get(&format!(
                "/domains/{}/sync/runs/{run}/changes.csv",
                s.domain
            ))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        other
            .get(&format!("/domains/{}/sync/events", s.domain))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert!(matches!(
        other
            .call::<RunDetail>(
                "get_sync_run",
                &[("domain_id", &s.domain), ("run_id", &run.to_string())]
            )
            .await,
        Err((StatusCode::NOT_FOUND, _))
    ));
    assert_eq!(
        s.app
            .anonymous()
            .get(&format!(
                "/domains/{}/sync/runs/{run}/changes.csv",
                s.domain
            ))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn test_sync_lists_the_changes_and_applies_none(pool: PgPool) {
    let s = setup(pool, 150).await;
    let run = s.start("test").await.unwrap();
    let detail = s.finished(run).await;
    assert_eq!(detail.run.status, RunState::Planned);
    assert!(detail.run.test);
    assert!(detail.counts.unwrap().accounts_added > 75);
    assert_eq!(s.accounts().await, 0);
    assert!(s.changes(run, "account_add", "").await.total > 75);
    assert!(
        !detail.can_apply,
        "a Test Sync's plan is not applied from its page"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_plan_kept_at_the_limit_is_applied_once_and_refused_after_a_change(pool: PgPool) {
    let s = setup(pool, 120).await;
    let limits = |add: &str| {
        vec![
            ("domain_id", s.domain.clone()),
            ("account_add_limit", add.to_owned()),
            ("account_delete_limit", String::new()),
            ("alias_add_limit", String::new()),
            ("alias_delete_limit", String::new()),
            ("total_limit", String::new()),
        ]
    };
    let admin = &s.admin;
    let save = |form: Vec<(&'static str, String)>| async move {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let _: () = admin.ok("save_operation_limits", &form).await;
    };
    save(limits("10")).await;

    // Stopped by the limit: nothing applied, the plan kept.
    let kept = s.start("manual").await.unwrap();
    let detail = s.finished(kept).await;
    assert_eq!(detail.run.status, RunState::LimitExceeded);
    assert!(
        detail.exceeded[0].starts_with("Email Accounts – Add Limit:"),
        "{:?}",
        detail.exceeded
    );
    assert!(detail.can_apply);
    assert_eq!(s.accounts().await, 0);
    let planned = detail.counts.unwrap().accounts_added;

    // Applied once, as a run of its own.
    let applied: Uuid = s
        .admin
        .ok(
            "apply_kept_plan",
            &[("domain_id", &s.domain), ("run_id", &kept.to_string())],
        )
        .await;
    let done = s.finished(applied).await;
    assert_eq!(done.run.status, RunState::Applied, "{done:?}");
    assert_eq!(done.applies_run_id, Some(kept));
    assert_eq!(s.accounts().await, i64::try_from(planned).unwrap());
    assert_eq!(
        s.changes(applied, "account_add", "").await.total,
        i64::try_from(planned).unwrap()
    );
    let again = s
        .admin
        .call::<Uuid>(
            "apply_kept_plan",
            &[("domain_id", &s.domain), ("run_id", &kept.to_string())],
        )
        .await;
    assert!(
        matches!(again, Err((StatusCode::CONFLICT, AppError::Conflict(_)))),
        "{again:?}"
    );
    let kept_page: RunDetail = s
        .admin
        .ok(
            "get_sync_run",
            &[("domain_id", &s.domain), ("run_id", &kept.to_string())],
        )
        .await;
    assert_eq!(kept_page.applied_by_run_id, Some(applied));
    assert!(!kept_page.can_apply);

    // A second kept plan (made against an emptied domain), then the recipients change (a
    // normal run, with the limit lifted, syncs them): applying that plan now is refused and
    // changes nothing.
    sqlx::query!("delete from accounts where source = 'office365'")
        .execute(&s.app.pool)
        .await
        .unwrap();
    let second = s.start("manual").await.unwrap();
    assert_eq!(s.finished(second).await.run.status, RunState::LimitExceeded);
    save(limits("")).await;
    let normal = s.start("manual").await.unwrap();
    assert_eq!(s.finished(normal).await.run.status, RunState::Applied);
    let before = s.accounts().await;
    let refused: Uuid = s
        .admin
        .ok(
            "apply_kept_plan",
            &[("domain_id", &s.domain), ("run_id", &second.to_string())],
        )
        .await;
    let refused = s.finished(refused).await;
    assert_eq!(refused.run.status, RunState::Failed);
    assert!(
        refused
            .error
            .as_deref()
            .unwrap()
            .contains("recipients changed since the plan was made"),
        "{refused:?}"
    );
    assert_eq!(s.accounts().await, before);
    assert_eq!(s.changes(refused.run.id, "", "").await.total, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_run_left_running_by_a_dead_worker_ends_failed_with_nothing_changed(pool: PgPool) {
    let s = setup(pool, 50).await;
    let org = s.admin.organization_id;
    let domain: Uuid = s.domain.parse().unwrap();
    // What a worker that died mid-run leaves: the run `running`, its job given back by apalis.
    let mut tx = s.app.pool.begin().await.unwrap();
    let run = sqlx::query_scalar!(
        r#"insert into sync_runs (organization_id, domain_id, source, trigger, requested_by, status, phase, started_at)
           values ($1, $2, 'office365', 'manual', 'a@b.example', 'running', 'fetch_users', now())
           returning id"#,
        org,
        domain
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    roster_server::worker::push(
        &mut tx,
        roster_server::sync::RunRef {
            organization_id: org,
            run_id: run,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let detail = s.finished(run).await;
    assert_eq!(detail.run.status, RunState::Failed);
    assert!(detail
        .error
        .unwrap()
        .contains("Roster stopped while this sync was running"));
    assert_eq!(s.accounts().await, 0);
    // The domain is free for the next run.
    let next = s.start("manual").await.unwrap();
    assert_eq!(s.finished(next).await.run.status, RunState::Applied);
}

#[sqlx::test(migrations = "../migrations")]
async fn sync_needs_a_connection_and_valid_input(pool: PgPool) {
    let s = setup(pool, 10).await;
    let bad = s.start("everything").await;
    assert!(
        matches!(
            bad,
            Err((StatusCode::UNPROCESSABLE_ENTITY, AppError::Invalid(_)))
        ),
        "{bad:?}"
    );
    sqlx::query!("delete from microsoft_connections")
        .execute(&s.app.pool)
        .await
        .unwrap();
    let unconnected = s.start("manual").await;
    assert!(
        matches!(
            unconnected,
            Err((StatusCode::CONFLICT, AppError::NotConnected))
        ),
        "{unconnected:?}"
    );
    let count = sqlx::query_scalar!(r#"select count(*) as "n!" from sync_runs"#)
        .fetch_one(&s.app.pool)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_run_whose_job_is_gone_is_ended_so_the_domain_can_sync_again(pool: PgPool) {
    let s = setup(pool, 20).await;
    let org = s.admin.organization_id;
    let domain: Uuid = s.domain.parse().unwrap();
    // A run queued long ago whose job apalis gave up on (or that lost it).
    let run = sqlx::query_scalar!(
        r#"insert into sync_runs (organization_id, domain_id, source, trigger, requested_by)
           values ($1, $2, 'office365', 'manual', 'a@b.example') returning id"#,
        org,
        domain
    )
    .fetch_one(&s.app.pool)
    .await
    .unwrap();
    // Not yet: it might still be on its way.
    assert_eq!(
        roster_server::sync::sweep_orphans(&s.app.pool)
            .await
            .unwrap(),
        0
    );
    assert!(matches!(
        s.start("manual").await,
        Err((StatusCode::CONFLICT, _))
    ));
    sqlx::query!(
        "update sync_runs set queued_at = now() - interval '10 minutes' where id = $1",
        run
    )
    .execute(&s.app.pool)
    .await
    .unwrap();
    assert_eq!(
        roster_server::sync::sweep_orphans(&s.app.pool)
            .await
            .unwrap(),
        1
    );
    let detail = s.finished(run).await;
    assert_eq!(detail.run.status, RunState::Failed);
    assert!(detail.error.unwrap().contains("lost by Roster's job queue"));
    let next = s.start("manual").await.unwrap();
    assert_eq!(s.finished(next).await.run.status, RunState::Applied);
}

#[sqlx::test(migrations = "../migrations")]
async fn an_internal_error_ends_the_run_with_a_reference_and_changes_nothing(pool: PgPool) {
    let s = setup(pool, 20).await;
    // The worker can't read the domain's settings.
    sqlx::query("alter table sync_settings rename to sync_settings_away")
        .execute(&s.app.pool)
        .await
        .unwrap();
    let run = s.start("manual").await.unwrap();
    let detail = s.finished(run).await;
    sqlx::query("alter table sync_settings_away rename to sync_settings")
        .execute(&s.app.pool)
        .await
        .unwrap();
    assert_eq!(detail.run.status, RunState::Failed);
    let error = detail.error.unwrap();
    assert!(
        error.starts_with("Something went wrong inside Roster (reference "),
        "{error}"
    );
    assert!(
        !error.contains("sync_settings"),
        "raw SQL errors stay in the log: {error}"
    );
    assert_eq!(s.accounts().await, 0);
    let next = s.start("manual").await.unwrap();
    assert_eq!(s.finished(next).await.run.status, RunState::Applied);
}

/// Installs a trigger that, as the worker records `phase`, ends the run as failed — what the
/// orphan sweep or an operator does behind the worker's back.
async fn end_runs_behind_the_workers_back_at(pool: &PgPool, phase: &str) {
    sqlx::query(
        r#"create or replace function end_run_elsewhere() returns trigger language plpgsql as $$
           begin
               new.status := 'failed'; new.phase := null; new.finished_at := now();
               new.error := 'Ended by an operator.'; new.summary := 'Failed: Ended by an operator.';
               return new;
           end $$"#,
    )
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("drop trigger if exists end_run_elsewhere on sync_runs")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "create trigger end_run_elsewhere before update on sync_runs for each row
         when (new.status = 'running' and new.phase = '{phase}') execute function end_run_elsewhere()"
    )))
    .execute(pool)
    .await
    .unwrap();
}

#[sqlx::test(migrations = "../migrations")]
async fn apply_these_changes_is_refused_cleanly_when_the_tenant_or_an_address_changed(
    pool: PgPool,
) {
    let s = setup(pool, 60).await;
    let form = [
        ("domain_id", s.domain.as_str()),
        ("account_add_limit", "5"),
        ("account_delete_limit", ""),
        ("alias_add_limit", ""),
        ("alias_delete_limit", ""),
        ("total_limit", ""),
    ];
    let _: () = s.admin.ok("save_operation_limits", &form).await;
    let kept = s.start("manual").await.unwrap();
    assert_eq!(s.finished(kept).await.run.status, RunState::LimitExceeded);
    let apply = || async {
        let run: Uuid = s
            .admin
            .ok(
                "apply_kept_plan",
                &[("domain_id", &s.domain), ("run_id", &kept.to_string())],
            )
            .await;
        s.finished(run).await
    };

    // The domain moved to another tenant, and the organization connected it there: that tenant
    // lists the domain (so the run's ownership check passes), but the kept plan was read from
    // the first tenant: refused, nothing applied or kept.
    let tenant: String = sqlx::query_scalar("select tenant_id from microsoft_connections")
        .fetch_one(&s.app.pool)
        .await
        .unwrap();
    let state = s._emu.state();
    let moved = {
        let mut dir = state.directory_mut();
        let first = dir.resolve_mut(&tenant).unwrap();
        let at = first.domains.iter().position(|d| d.name == DOMAIN).unwrap();
        first.domains.remove(at)
    };
    let other = state
        .generate_tenant(&roster_m365_emulator::GenerateSpec {
            users: 2,
            groups: 0,
            // Another first domain, so its initial (onmicrosoft) domain differs too.
            domains: vec!["northwind.example".to_owned(), DOMAIN.to_owned()],
            seed: 99,
            consented: true,
            ..Default::default()
        })
        .unwrap()
        .id;
    sqlx::query("update microsoft_connections set tenant_id = $1")
        .bind(&other)
        .execute(&s.app.pool)
        .await
        .unwrap();
    let refused = apply().await;
    assert_eq!(refused.run.status, RunState::Failed);
    let error = refused.error.unwrap();
    assert!(
        error.contains("now connected to another Microsoft 365 tenant"),
        "{error}"
    );
    assert_eq!(s.accounts().await, 0);
    assert_eq!(s.changes(refused.run.id, "", "").await.total, 0);
    // Back to the first tenant.
    {
        let mut dir = state.directory_mut();
        dir.remove(&other);
        dir.resolve_mut(&tenant).unwrap().domains.push(moved);
    }
    sqlx::query("update microsoft_connections set tenant_id = $1")
        .bind(&tenant)
        .execute(&s.app.pool)
        .await
        .unwrap();

    // An address the plan adds is now a manual account's (the synced recipients, which the
    // fingerprint covers, did not change): refused with the recipients message, not an
    // internal error; the manual account stays, nothing of the plan is applied or kept.
    let taken = s.changes(kept, "account_add", "").await.rows[0]
        .address
        .clone();
    let local = taken.split('@').next().unwrap().to_owned();
    let _: app::model::AccountRow = s
        .admin
        .ok(
            "add_account",
            &[
                ("domain_id", s.domain.as_str()),
                ("local_part", local.as_str()),
                ("kind", "mailbox"),
            ],
        )
        .await;
    let refused = apply().await;
    assert_eq!(refused.run.status, RunState::Failed);
    let error = refused.error.unwrap();
    assert!(
        error.contains("recipients changed since the plan was made"),
        "{error}"
    );
    assert_eq!(s.accounts().await, 0);
    assert_eq!(s.changes(refused.run.id, "", "").await.total, 0);
    let manual: String = sqlx::query_scalar("select source from accounts where address = $1")
        .bind(&taken)
        .fetch_one(&s.app.pool)
        .await
        .unwrap();
    assert_eq!(manual, "manual");
    sqlx::query("delete from accounts where address = $1")
        .bind(&taken)
        .execute(&s.app.pool)
        .await
        .unwrap();

    // The applying run is ended behind the worker's back as it starts to apply: nothing
    // applied, nothing kept, and it stays failed as it was ended.
    end_runs_behind_the_workers_back_at(&s.app.pool, "apply").await;
    let ended = apply().await;
    assert_eq!(ended.run.status, RunState::Failed);
    assert_eq!(ended.error.as_deref(), Some("Ended by an operator."));
    assert_eq!(s.accounts().await, 0);
    assert_eq!(s.changes(ended.run.id, "", "").await.total, 0);
    sqlx::query("drop trigger end_run_elsewhere on sync_runs")
        .execute(&s.app.pool)
        .await
        .unwrap();

    // And with all of that undone, the plan applies.
    let applied = apply().await;
    assert_eq!(applied.run.status, RunState::Applied, "{applied:?}");
    assert!(s.accounts().await > 5);
}

#[sqlx::test(migrations = "../migrations")]
async fn an_unreadable_operations_limit_fails_the_run_and_changes_nothing(pool: PgPool) {
    let s = setup(pool, 20).await;
    // A value the form can never save (the column's check would refuse it too): read as "no
    // limit", it would let the run apply everything.
    sqlx::query("alter table sync_settings drop constraint sync_settings_total_limit_check")
        .execute(&s.app.pool)
        .await
        .unwrap();
    sqlx::query(
        r#"insert into sync_settings (organization_id, domain_id, total_limit) values ($1, $2, -1)
           on conflict (organization_id, domain_id) do update set total_limit = -1"#,
    )
    .bind(s.admin.organization_id)
    .bind(s.domain.parse::<Uuid>().unwrap())
    .execute(&s.app.pool)
    .await
    .unwrap();
    let run = s.start("manual").await.unwrap();
    let detail = s.finished(run).await;
    assert_eq!(detail.run.status, RunState::Failed);
    let error = detail.error.unwrap();
    assert!(
        error.starts_with("The Operations Limit setting can't be used (Total Operations – Limit: "),
        "{error}"
    );
    assert!(error.contains("(reference "), "{error}");
    assert_eq!(s.accounts().await, 0);
}
