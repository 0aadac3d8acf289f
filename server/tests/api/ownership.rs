//! Domain ownership: Verify ownership against a real DNS server (the emulator's, over UDP/TCP),
//! syncs refused until ownership is proven, and the check at the start of every Office 365
//! run that the tenant still lists the domain as verified.

#![allow(clippy::unwrap_used)]

use crate::helpers::{
    spawn_app_with_emulator_dns, unique_domain, Admin, TestApp, MS_CLIENT_ID, MS_SECRET,
};
use app::error::AppError;
use app::model::{DomainOwnership, OwnershipProof, RunDetail, SyncOverview};
use reqwest::StatusCode;
use roster_core::RunState;
use roster_m365_emulator::{spawn, EmulatorConfig, GenerateSpec, RunningEmulator};
use sqlx::PgPool;
use std::time::Duration;
use uuid::Uuid;

/// An emulator with a generated tenant verified for `domains`, and its DNS server.
async fn emulator(domains: &[&str]) -> (RunningEmulator, String) {
    let emu = spawn(
        EmulatorConfig::new(MS_CLIENT_ID, MS_SECRET)
            .with_dns()
            .with_generated(GenerateSpec {
                users: 12,
                groups: 2,
                domains: domains.iter().map(|d| (*d).to_owned()).collect(),
                seed: 5,
                consented: true,
                ..GenerateSpec::default()
            }),
    )
    .await
    .unwrap();
    let id = emu.state().summaries()[0].id.clone();
    (emu, id)
}

async fn ownership(admin: &Admin, domain: &str) -> DomainOwnership {
    admin
        .ok("get_domain_ownership", &[("domain_id", domain)])
        .await
}

async fn verify(admin: &Admin, domain: &str) -> Result<DomainOwnership, (StatusCode, AppError)> {
    admin
        .call("verify_domain_ownership", &[("domain_id", domain)])
        .await
}

async fn verified_at(app: &TestApp, domain: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    sqlx::query_scalar!(
        "select ownership_verified_at from domains where id = $1",
        domain.parse::<Uuid>().unwrap()
    )
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

fn refusal(result: Result<DomainOwnership, (StatusCode, AppError)>) -> String {
    match result {
        Err((StatusCode::CONFLICT, AppError::OwnershipNotVerified(message))) => message,
        other => panic!("expected an ownership refusal, got {other:?}"),
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn verify_ownership_follows_the_domains_txt_record(pool: PgPool) {
    let (emu, _) = emulator(&["tenant-owned.example"]).await;
    let app = spawn_app_with_emulator_dns(pool, &emu).await;
    let admin = app.admin("Owner").await;
    let name = unique_domain("owned");
    let domain = admin.create_domain(&name, "on_premise").await.to_string();

    let shown = ownership(&admin, &domain).await;
    assert_eq!(shown.proof, OwnershipProof::NotVerified);
    assert_eq!(shown.record_name, name);
    let token = shown
        .record_value
        .strip_prefix("roster-verification=")
        .unwrap()
        .to_owned();
    assert_eq!(token.len(), 32);

    // The name does not exist in DNS yet.
    let nx = refusal(verify(&admin, &domain).await);
    assert!(nx.contains("does not exist"), "{nx}");
    // It exists, with other TXT records only.
    emu.state().dns().set_txt(&name, vec!["v=spf1 -all".into()]);
    let missing = refusal(verify(&admin, &domain).await);
    assert!(missing.contains("No TXT record"), "{missing}");
    // Another domain's code.
    emu.state().dns().set_txt(
        &name,
        vec![
            "v=spf1 -all".into(),
            "roster-verification=0123456789abcdef0123456789abcdef".into(),
        ],
    );
    let wrong = refusal(verify(&admin, &domain).await);
    assert!(wrong.contains("another verification code"), "{wrong}");
    assert_eq!(
        verified_at(&app, &domain).await,
        None,
        "a failed check changes nothing"
    );
    assert_eq!(
        ownership(&admin, &domain).await.proof,
        OwnershipProof::NotVerified
    );

    // The right record.
    emu.state().dns().set_txt(
        &name,
        vec!["v=spf1 -all".into(), format!("roster-verification={token}")],
    );
    let proven = verify(&admin, &domain).await.unwrap();
    let at = verified_at(&app, &domain).await.expect("recorded");
    assert_eq!(proven.proof, OwnershipProof::Dns { verified_at: at });
    assert_eq!(ownership(&admin, &domain).await, proven);

    // A later failed check keeps the earlier proof.
    emu.state().dns().remove(&name);
    refusal(verify(&admin, &domain).await);
    assert_eq!(verified_at(&app, &domain).await, Some(at));
}

#[sqlx::test(migrations = "../migrations")]
async fn verify_ownership_says_when_the_resolver_is_unreachable(pool: PgPool) {
    let (emu, _) = emulator(&["tenant-owned.example"]).await;
    let app = spawn_app_with_emulator_dns(pool, &emu).await;
    let admin = app.admin("Owner").await;
    let domain = admin
        .create_domain(&unique_domain("owned"), "on_premise")
        .await
        .to_string();
    // The DNS server goes away: the emulator (and its DNS server) stop.
    emu.shutdown().await.unwrap();
    let message = refusal(verify(&admin, &domain).await);
    assert!(
        message.contains("could not reach its DNS resolver"),
        "{message}"
    );
    assert_eq!(verified_at(&app, &domain).await, None);
}

struct Connected {
    emu: RunningEmulator,
    tenant: String,
    app: TestApp,
    admin: Admin,
    name: String,
    domain: String,
}

/// An Office 365 domain connected to a tenant that lists it (or not) as verified.
async fn connected(pool: PgPool, verified_in_tenant: bool) -> Connected {
    let name = unique_domain("fabrikam");
    let tenant_domains: Vec<&str> = if verified_in_tenant {
        vec![name.as_str(), "fabrikam-other.example"]
    } else {
        vec!["fabrikam-other.example"]
    };
    let (emu, tenant) = emulator(&tenant_domains).await;
    let app = spawn_app_with_emulator_dns(pool, &emu).await;
    let admin = app.admin("Fabrikam").await;
    let domain = admin.create_domain(&name, "office365").await;
    // As the consent callback stores it (the consent flow itself is tested in microsoft.rs).
    sqlx::query!(
        r#"insert into microsoft_connections (organization_id, domain_id, tenant_id, tenant_name,
               tenant_domains, domain_verified, granted_by_email)
           values ($1, $2, $3, 'Fabrikam', $4, $5, $6)"#,
        admin.organization_id,
        domain,
        tenant,
        &tenant_domains
            .iter()
            .map(|d| (*d).to_owned())
            .collect::<Vec<_>>(),
        verified_in_tenant,
        admin.email
    )
    .execute(&app.pool)
    .await
    .unwrap();
    Connected {
        emu,
        tenant,
        app,
        admin,
        name,
        domain: domain.to_string(),
    }
}

impl Connected {
    async fn start(&self, mode: &str) -> Result<Uuid, (StatusCode, AppError)> {
        self.admin
            .call("start_sync", &[("domain_id", &self.domain), ("mode", mode)])
            .await
    }

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

    async fn accounts(&self) -> Vec<String> {
        sqlx::query_scalar!(
            r#"select a.address as "address!" from addresses a where a.organization_id = $1 order by 1"#,
            self.admin.organization_id
        )
        .fetch_all(&self.app.pool)
        .await
        .unwrap()
    }

    async fn runs(&self) -> i64 {
        sqlx::query_scalar!(r#"select count(*) as "n!" from sync_runs"#)
            .fetch_one(&self.app.pool)
            .await
            .unwrap()
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn an_unverified_domain_is_not_synced_until_its_ownership_is_proven(pool: PgPool) {
    // Connected, but the tenant does not list the domain, and no DNS proof either.
    let c = connected(pool, false).await;
    let overview: SyncOverview = c
        .admin
        .ok("get_sync_overview", &[("domain_id", &c.domain)])
        .await;
    assert!(overview.connected && !overview.ownership_verified);
    for mode in ["manual", "test"] {
        match c.start(mode).await {
            Err((StatusCode::CONFLICT, AppError::OwnershipNotVerified(message))) => {
                assert!(message.starts_with("Ownership not verified"), "{message}")
            }
            other => panic!("{mode}: expected a refusal, got {other:?}"),
        }
    }
    assert_eq!(c.runs().await, 0, "nothing was queued");

    // Proven by DNS, a run is queued — and the run's own check still refuses, since the
    // tenant does not list the domain: an Office 365 domain syncs only from its own tenant.
    let token = ownership(&c.admin, &c.domain).await.record_value;
    c.emu.state().dns().set_txt(&c.name, vec![token]);
    verify(&c.admin, &c.domain).await.unwrap();
    let run = c.start("test").await.unwrap();
    let detail = c.finished(run).await;
    assert_eq!(detail.run.status, RunState::Failed);
    assert!(
        detail
            .run
            .summary
            .as_deref()
            .unwrap_or_default()
            .contains("is not a verified domain of the Microsoft 365 tenant"),
        "{:?}",
        detail.run.summary
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_run_of_a_domain_the_tenant_no_longer_lists_fails_and_changes_nothing(pool: PgPool) {
    let c = connected(pool, true).await;
    let first = c.start("manual").await.unwrap();
    assert_eq!(c.finished(first).await.run.status, RunState::Applied);
    let before = c.accounts().await;
    assert!(!before.is_empty());

    // The tenant's admin removes the domain (the emulator's control API, over HTTP).
    let res = reqwest::Client::new()
        .delete(format!(
            "{}/_emulator/tenants/{}/domains/{}",
            c.emu.base_url(),
            c.tenant,
            c.name
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // A user leaves too: a run that went on would delete their addresses.
    let gone = c.emu.state().directory().tenants[&c.tenant]
        .users
        .keys()
        .next()
        .unwrap()
        .clone();
    c.emu
        .state()
        .directory_mut()
        .tenants
        .get_mut(&c.tenant)
        .unwrap()
        .users
        .remove(&gone);

    // Still marked verified from consent time, so the run is queued; its start refuses it.
    let run = c.start("manual").await.unwrap();
    let detail = c.finished(run).await;
    assert_eq!(detail.run.status, RunState::Failed);
    let summary = detail.run.summary.clone().unwrap_or_default();
    assert!(
        summary.contains(&format!(
            "{} is not a verified domain of the Microsoft 365 tenant",
            c.name
        )) && summary.contains("Nothing was changed"),
        "{summary}"
    );
    assert_eq!(c.accounts().await, before, "nothing changed");
    // The connection now shows what Microsoft said, so the next sync is refused up front.
    let stored = sqlx::query!("select domain_verified, tenant_domains from microsoft_connections")
        .fetch_one(&c.app.pool)
        .await
        .unwrap();
    assert!(!stored.domain_verified);
    assert!(!stored.tenant_domains.contains(&c.name));
    assert!(matches!(
        c.start("manual").await,
        Err((StatusCode::CONFLICT, AppError::OwnershipNotVerified(_)))
    ));
}
