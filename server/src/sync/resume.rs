//! Where a domain's next read starts (`directory_sync_state`), and what its plan covers.
//!
//! A change round resumes from the state saved by the last *applied* run; it is saved in the
//! apply's own transaction, so the mirror's resume point and the recipients move together. A
//! Test Sync, a failed or a limit-stopped run saves nothing: the next run reads their changes
//! again. A full round is read when there is no saved state, when the domain's directory is
//! another one (a new tenant), and once a week in any case; a plan covers every mirrored
//! object after a full round or when the rules it was made under (domain, Exclude Records)
//! changed.

use super::RunSpec;
use anyhow::{Context, Result};
use roster_core::directory::ResumeState;
use roster_core::DomainRules;
use sqlx::PgPool;

/// A full round at least this often, whatever the saved state (Graph keeps a delta token
/// for about seven days).
pub const FULL_ROUND_EVERY_DAYS: i32 = 7;

/// How a run reads and plans.
#[derive(Debug, Clone)]
pub struct Start {
    /// Resume from here; `None` reads a full round.
    pub resume: Option<ResumeState>,
    /// Plan every mirrored object, not only the changed ones.
    pub plan_all: bool,
}

/// The text the rules fingerprint is an md5 of.
fn rules_text(rules: &DomainRules) -> String {
    format!("{}\n{}", rules.domain, rules.exclude.to_lines())
}

/// Decides how `spec`'s run reads the directory `directory` (its identity).
pub async fn start(
    pool: &PgPool,
    spec: &RunSpec,
    directory: &str,
    rules: &DomainRules,
) -> Result<Start> {
    let saved = sqlx::query!(
        r#"select resume, directory = $3 as "same_directory!",
                  full_round_at > now() - make_interval(days => $4) as "recent!",
                  rules_fingerprint = md5($5) as "same_rules!"
           from directory_sync_state where organization_id = $1 and domain_id = $2"#,
        spec.run.organization_id,
        spec.domain_id,
        directory,
        FULL_ROUND_EVERY_DAYS,
        rules_text(rules)
    )
    .fetch_optional(pool)
    .await
    .context("loading where the last read ended")?;
    Ok(match saved {
        Some(s) if s.same_directory && s.recent => Start {
            resume: Some(ResumeState(s.resume)),
            plan_all: !s.same_rules,
        },
        _ => Start {
            resume: None,
            plan_all: true,
        },
    })
}

/// What an applied run saves for the next one.
#[derive(Debug)]
pub struct Save {
    pub directory: String,
    pub resume: ResumeState,
    pub rules: DomainRules,
    /// The run read a full round.
    pub full: bool,
}

/// Saves where the next read resumes, inside the apply's transaction.
pub async fn save(conn: &mut sqlx::PgConnection, spec: &RunSpec, save: &Save) -> Result<()> {
    sqlx::query!(
        r#"insert into directory_sync_state
               (organization_id, domain_id, directory, resume, rules_fingerprint, full_round_at, saved_at)
           values ($1, $2, $3, $4, md5($5), now(), now())
           on conflict (organization_id, domain_id) do update set
               directory = excluded.directory, resume = excluded.resume,
               rules_fingerprint = excluded.rules_fingerprint, saved_at = now(),
               full_round_at = case when $6 then now() else directory_sync_state.full_round_at end"#,
        spec.run.organization_id,
        spec.domain_id,
        save.directory,
        save.resume.0,
        rules_text(&save.rules),
        save.full
    )
    .execute(&mut *conn)
    .await
    .context("saving where the next read resumes")?;
    Ok(())
}
