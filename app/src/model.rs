//! The shapes the server sends to the browser. They carry already-normalized values; the
//! browser never has to validate them again.

use chrono::{DateTime, Utc};
use roster_core::{ChangeKind, RunPhase, RunState, ServerType};

/// One definition with the engine's (`roster_core`), re-exported for the pages.
pub use roster_core::{AccountKind, AccountSource};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The signed-in admin, for the top bar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub email: String,
    pub organization_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminRow {
    pub id: Uuid,
    pub email: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainSummary {
    pub id: Uuid,
    /// Shown in Unicode; `ascii_name` is what is stored.
    pub name: String,
    pub ascii_name: String,
    pub server_type: ServerType,
    pub account_count: i64,
    pub last_synced_at: Option<DateTime<Utc>>,
    /// The domain's last scheduled sync failed or stopped at the Operations Limit.
    pub schedule_alert: Option<ScheduleAlert>,
}

/// A scheduled sync that needs an admin: it failed (after its retries) or stopped at the
/// Operations Limit, and no sync has ended since.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleAlert {
    pub run_id: Uuid,
    /// Stopped at the Operations Limit (otherwise: failed).
    pub limit_exceeded: bool,
    pub finished_at: Option<DateTime<Utc>>,
}

impl ScheduleAlert {
    /// From a run's status; `None` for a run that needs nothing.
    pub fn of(run_id: Uuid, status: RunState, finished_at: Option<DateTime<Utc>>) -> Option<Self> {
        match status {
            RunState::Failed | RunState::LimitExceeded => Some(ScheduleAlert {
                run_id,
                limit_exceeded: status == RunState::LimitExceeded,
                finished_at,
            }),
            _ => None,
        }
    }

    /// The badge's words.
    pub fn label(&self) -> &'static str {
        if self.limit_exceeded {
            "Scheduled sync stopped at the Operations Limit"
        } else {
            "Scheduled sync failed"
        }
    }

    /// What the admin can do about it.
    pub fn advice(&self) -> &'static str {
        if self.limit_exceeded {
            "Nothing was changed. Review the planned changes on the run's page and choose Apply these changes, or raise the Operations Limit; the next scheduled sync tries again."
        } else {
            "Nothing was changed. The run's page says what went wrong and what to do; after fixing it, run Manual Sync or wait for the next scheduled sync."
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainInfo {
    pub id: Uuid,
    pub name: String,
    pub ascii_name: String,
    pub server_type: ServerType,
    pub delivery_port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailServerRow {
    pub id: Uuid,
    pub host: String,
    pub priority: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRow {
    pub id: Uuid,
    pub address: String,
    pub kind: AccountKind,
    pub aliases: Vec<String>,
    pub source: AccountSource,
    /// `false` when the directory disabled the account (it still receives mail).
    pub enabled: bool,
    /// A list whose members include everyone in the organization (Google Workspace's
    /// `CUSTOMER` member).
    #[serde(default)]
    pub includes_everyone: bool,
    /// A user Google Workspace archived (Google still accepts its mail).
    #[serde(default)]
    pub archived: bool,
    pub updated_at: DateTime<Utc>,
}

/// One page of a domain's accounts, ordered by address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountsPage {
    pub rows: Vec<AccountRow>,
    /// How many accounts match the search, on all pages.
    pub total: i64,
    /// Pass as `after` for the next page.
    pub next_after: Option<String>,
    /// Pass as `before` for the previous page.
    pub prev_before: Option<String>,
}

/// The two settings forms of a sync page, as saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncSettings {
    pub auto_sync_enabled: bool,
    pub times_per_day: u8,
    pub notifications_enabled: bool,
    /// One address per line.
    pub notification_recipients: String,
    /// One pattern per line.
    pub exclude_patterns: String,
    pub account_add_limit: Option<u32>,
    pub account_delete_limit: Option<u32>,
    pub alias_add_limit: Option<u32>,
    pub alias_delete_limit: Option<u32>,
    pub total_limit: Option<u32>,
    /// The next scheduled sync; `None` while Automatic Synchronization is off.
    pub next_run_at: Option<DateTime<Utc>>,
    /// The domain's last scheduled sync failed or stopped at the Operations Limit.
    pub schedule_alert: Option<ScheduleAlert>,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            auto_sync_enabled: false,
            times_per_day: 1,
            notifications_enabled: false,
            notification_recipients: String::new(),
            exclude_patterns: String::new(),
            account_add_limit: None,
            account_delete_limit: None,
            alias_add_limit: None,
            alias_delete_limit: None,
            total_limit: None,
            next_run_at: None,
            schedule_alert: None,
        }
    }
}

/// The Microsoft 365 panel of a domain's Office 365 Sync page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MicrosoftPanel {
    /// Whether this installation has a Microsoft 365 app registration.
    pub configured: bool,
    pub connection: Option<MicrosoftConnection>,
}

/// A domain's connection to a Microsoft 365 tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MicrosoftConnection {
    pub tenant_id: String,
    pub tenant_name: String,
    /// The tenant's verified domains when permission was granted, default first.
    pub tenant_domains: Vec<String>,
    /// Whether this domain is one of them.
    pub domain_verified: bool,
    /// Who granted permission: the Microsoft account proven by its sign-in
    /// (`preferred_username`), or, for a connection made before Roster asked for that proof,
    /// the Roster admin who asked.
    pub granted_by: String,
    /// The sign-in's ID token held the Global Administrator role.
    pub granted_by_global_admin: bool,
    /// Whether `granted_by` was proven by a Microsoft sign-in of the tenant.
    pub granter_proven: bool,
    pub granted_at: DateTime<Utc>,
}

/// What the Google Workspace Sync page and its refusals say when Google is not set up here.
pub const GOOGLE_NOT_CONFIGURED: &str = "Google Workspace sync is not configured on this Roster installation, so permission can't be granted. Ask your Roster operator to set it up (a Google OAuth client and ROSTER_SECRET_KEY).";

/// The Google Workspace panel of a domain's Google Workspace Sync page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GooglePanel {
    /// Whether this installation has a Google OAuth client and a key to seal its grants.
    pub configured: bool,
    pub connection: Option<GoogleConnection>,
}

/// A domain's Google Workspace grant (never its token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoogleConnection {
    /// The Workspace's customer id.
    pub customer_id: String,
    /// The Workspace's primary domain.
    pub hosted_domain: String,
    /// The Google account that granted permission, proven by its ID token.
    pub granted_by: String,
    /// The Roster admin who asked for it.
    pub requested_by: String,
    pub granted_at: DateTime<Utc>,
    /// "Skip suspended users".
    pub skip_suspended: bool,
}

/// What Test Connection found: the first accounts as Roster would store them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionTestResult {
    pub accounts: Vec<SampleAccount>,
    /// Objects on the first page of users.
    pub users_read: u32,
    /// Objects on the first page of mail-enabled groups.
    pub groups_read: u32,
    /// Accounts in this domain among them.
    pub accounts_found: u32,
    /// Whether the directory holds more than those first pages.
    pub more_pages: bool,
    pub elapsed_ms: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleAccount {
    pub address: String,
    pub display_name: String,
    pub kind: AccountKind,
    pub aliases: Vec<String>,
    /// For distribution lists: how many members.
    pub members: u32,
}

/// Where a sync run is, for the live progress panel and the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunStatus {
    pub id: Uuid,
    pub status: RunState,
    /// While running: what it is doing.
    pub phase: Option<RunPhase>,
    pub test: bool,
    pub progress_done: i64,
    pub progress_total: Option<i64>,
    pub objects_read: i64,
    pub accounts_read: i64,
    /// The history's summary, once ended.
    pub summary: Option<String>,
    pub queued_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl RunStatus {
    pub fn is_active(&self) -> bool {
        self.status.is_active()
    }

    /// "Fetching users — 12,000 read", "Applying 1,240 changes", …
    pub fn phase_text(&self) -> String {
        let total = self.progress_total.unwrap_or(0);
        match (self.status, self.phase) {
            (RunState::Queued, _) => "Waiting to start…".to_owned(),
            (_, Some(RunPhase::FetchUsers)) => {
                format!("Fetching users — {} read", thousands(self.progress_done))
            }
            (_, Some(RunPhase::FetchGroups)) => format!(
                "Fetching distribution lists — {} read",
                thousands(self.progress_done)
            ),
            (_, Some(RunPhase::Plan)) => format!(
                "Comparing {} accounts with the current recipients",
                thousands(self.accounts_read)
            ),
            (_, Some(RunPhase::CheckLimits)) => "Checking the Operations Limit".to_owned(),
            (_, Some(RunPhase::Apply)) if total > 0 => {
                format!("Applying {} changes", thousands(total))
            }
            (_, Some(RunPhase::Apply)) => "Applying the changes".to_owned(),
            _ => self.summary.clone().unwrap_or_default(),
        }
    }

    /// How far the run is, 0–100, by phase: reading the directory is most of the time.
    pub fn percent(&self) -> u8 {
        let within = |from: f64, to: f64, done: i64, total: Option<i64>| match total {
            Some(t) if t > 0 => from + (to - from) * (done.min(t) as f64 / t as f64),
            // Unknown total: creep towards the end of the phase as objects arrive.
            _ => from + (to - from) * (1.0 - 1.0 / (1.0 + done as f64 / 2000.0)),
        };
        let p = match (self.status, self.phase) {
            (RunState::Queued, _) => 0.0,
            (_, Some(RunPhase::FetchUsers)) => within(2.0, 50.0, self.progress_done, None),
            (_, Some(RunPhase::FetchGroups)) => within(50.0, 70.0, self.progress_done, None),
            (_, Some(RunPhase::Plan)) => 75.0,
            (_, Some(RunPhase::CheckLimits)) => 80.0,
            (_, Some(RunPhase::Apply)) => {
                within(85.0, 99.0, self.progress_done, self.progress_total)
            }
            (status, _) if status != RunState::Running => 100.0,
            _ => 1.0,
        };
        p.clamp(0.0, 100.0) as u8
    }

    /// The outcome in a word, for the history and the run page.
    pub fn status_label(&self) -> &'static str {
        self.status.label(self.test)
    }
}

/// 12345 → "12,345" (counts from the database are `bigint`, never negative).
pub fn thousands(n: i64) -> String {
    roster_core::sync::thousands(u64::try_from(n).unwrap_or(0))
}

/// The sync part of a domain's sync page: the latest run, live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncOverview {
    /// Whether this installation can read the domain's kind of directory (Microsoft 365: an
    /// app registration; LDAP: `ROSTER_SECRET_KEY`).
    pub configured: bool,
    /// Whether the domain's connection is stored and usable.
    pub connected: bool,
    /// Why Manual Sync and Test Sync can't start (not configured, not connected), in the
    /// admin's words; `None` when they can.
    pub unavailable: Option<String>,
    /// Whether the domain's ownership is proven (DNS record or its tenant): syncs need it.
    pub ownership_verified: bool,
    pub latest: Option<RunStatus>,
}

/// One line of Sync History.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryRow {
    pub id: Uuid,
    pub queued_at: DateTime<Utc>,
    /// The admin's email; `None` for the schedule.
    pub requested_by: Option<String>,
    /// Which attempt of a scheduled sync (1 to [`roster_core::schedule::MAX_ATTEMPTS`]).
    pub attempt: i16,
    pub test: bool,
    pub status: RunState,
    pub summary: String,
}

impl HistoryRow {
    /// Synced By: the admin, or "Schedule" (with the attempt of a retry).
    pub fn synced_by(&self) -> String {
        synced_by(self.requested_by.as_deref(), self.attempt)
    }
}

/// "admin@example.com", "Schedule", or "Schedule, attempt 2 of 3".
pub fn synced_by(requested_by: Option<&str>, attempt: i16) -> String {
    match requested_by {
        Some(admin) => admin.to_owned(),
        None if attempt > 1 => format!(
            "Schedule, attempt {attempt} of {}",
            roster_core::schedule::MAX_ATTEMPTS
        ),
        None => "Schedule".to_owned(),
    }
}

/// A page of a list, numbered from 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paged<T> {
    pub rows: Vec<T>,
    pub page: u32,
    pub per_page: u32,
    pub total: i64,
}

impl<T> Paged<T> {
    pub fn pages(&self) -> u32 {
        let per = i64::from(self.per_page.max(1));
        u32::try_from((self.total + per - 1) / per)
            .unwrap_or(u32::MAX)
            .max(1)
    }
}

/// A run's page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunDetail {
    pub run: RunStatus,
    pub domain_id: Uuid,
    pub requested_by: Option<String>,
    /// Which attempt of a scheduled sync.
    pub attempt: i16,
    pub started_at: Option<DateTime<Utc>>,
    /// How the run read the directory (none for "Apply these changes" and older runs).
    pub read_kind: Option<roster_core::sync::ReadKind>,
    pub counts: Option<roster_core::sync::PlannedCounts>,
    /// "Email Accounts – Delete Limit: 150 planned, limit 100", …
    pub exceeded: Vec<String>,
    pub error: Option<String>,
    pub error_code: Option<String>,
    pub warnings: Vec<WarningRow>,
    pub warnings_total: i64,
    /// The run whose kept plan this one applied.
    pub applies_run_id: Option<Uuid>,
    /// The run that applied this one's kept plan (or is applying it).
    pub applied_by_run_id: Option<Uuid>,
    /// Whether "Apply these changes" is offered.
    pub can_apply: bool,
    /// The run's report email, when it gets one.
    pub report: Option<ReportEmail>,
}

/// How a run's report email went (`report_emails`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportEmail {
    /// `queued`, `sent` or `failed`.
    pub status: String,
    pub recipients: Vec<String>,
    pub attempts: i32,
    pub sent_at: Option<DateTime<Utc>>,
}

impl ReportEmail {
    /// What the run's page says about the report; `sent_at` formatted by the caller.
    pub fn sentence(&self, format_time: impl Fn(&DateTime<Utc>) -> String) -> String {
        let to = self.recipients.join(", ");
        match (self.status.as_str(), &self.sent_at) {
            ("sent", Some(at)) => format!("Report emailed to {to} at {}.", format_time(at)),
            ("failed", _) => format!(
                "The report could not be sent to {to}: the mail server did not take it after {} attempts. Check the notification addresses on the Office 365 Sync page; if they are right, ask your Roster operator to check Roster's outgoing mail settings (ROSTER_SMTP_URL).",
                self.attempts
            ),
            _ if self.attempts > 0 => format!("Report not sent yet: retrying (to {to})."),
            _ => format!("Report queued for {to}."),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarningRow {
    pub kind: String,
    pub address: String,
    pub message: String,
}

/// One planned (or applied) change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRow {
    pub kind: ChangeKind,
    pub address: String,
    pub item: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    /// For a rename (an `account_update` whose directory object's primary address changed):
    /// the new address; `address` is the old one.
    pub new_address: Option<String>,
}

impl ChangeRow {
    /// "Account renamed" for a rename, else the kind's label.
    pub fn label(&self) -> &'static str {
        self.kind.label_of(self.new_address.is_some())
    }

    /// The address, or "old → new" for a rename.
    pub fn address_text(&self) -> String {
        match &self.new_address {
            Some(new) => format!("{} → {new}", self.address),
            None => self.address.clone(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod report_email_tests {
    use super::ReportEmail;
    use chrono::{TimeZone, Utc};

    fn report(status: &str, attempts: i32) -> ReportEmail {
        ReportEmail {
            status: status.to_owned(),
            recipients: vec!["a@x.com".into(), "b@x.com".into()],
            attempts,
            sent_at: (status == "sent")
                .then(|| Utc.with_ymd_and_hms(2026, 12, 3, 4, 5, 0).unwrap()),
        }
    }

    #[test]
    fn the_run_page_says_how_the_report_went() {
        let fmt = |t: &chrono::DateTime<Utc>| t.format("%H:%M").to_string();
        assert_eq!(
            report("sent", 1).sentence(fmt),
            "Report emailed to a@x.com, b@x.com at 04:05."
        );
        assert_eq!(
            report("queued", 0).sentence(fmt),
            "Report queued for a@x.com, b@x.com."
        );
        assert_eq!(
            report("queued", 2).sentence(fmt),
            "Report not sent yet: retrying (to a@x.com, b@x.com)."
        );
        let failed = report("failed", 4).sentence(fmt);
        assert!(
            failed.starts_with("The report could not be sent to a@x.com, b@x.com"),
            "{failed}"
        );
        assert!(failed.contains("after 4 attempts"), "{failed}");
        assert!(failed.contains("ROSTER_SMTP_URL"), "{failed}");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::RunStatus;
    use chrono::Utc;
    use roster_core::{RunPhase, RunState};
    use uuid::Uuid;

    fn run(status: &str, phase: Option<&str>, done: i64, total: Option<i64>) -> RunStatus {
        RunStatus {
            id: Uuid::nil(),
            status: RunState::parse(status).unwrap(),
            phase: phase.map(|p| RunPhase::parse(p).unwrap()),
            test: false,
            progress_done: done,
            progress_total: total,
            objects_read: 0,
            accounts_read: 12_000,
            summary: Some("+1 account".to_owned()),
            queued_at: Utc::now(),
            finished_at: None,
        }
    }

    #[test]
    fn phases_are_told_with_their_counts() {
        assert_eq!(
            run("queued", None, 0, None).phase_text(),
            "Waiting to start…"
        );
        assert_eq!(
            run("running", Some("fetch_users"), 12_000, None).phase_text(),
            "Fetching users — 12,000 read"
        );
        assert_eq!(
            run("running", Some("fetch_groups"), 140, None).phase_text(),
            "Fetching distribution lists — 140 read"
        );
        assert_eq!(
            run("running", Some("apply"), 0, Some(1_240)).phase_text(),
            "Applying 1,240 changes"
        );
        assert_eq!(run("applied", None, 0, None).phase_text(), "+1 account");
    }

    #[test]
    fn the_bar_only_moves_forward_through_a_run() {
        let steps = [
            run("queued", None, 0, None),
            run("running", Some("fetch_users"), 0, None),
            run("running", Some("fetch_users"), 999, None),
            run("running", Some("fetch_users"), 100_000, None),
            run("running", Some("fetch_groups"), 10, None),
            run("running", Some("fetch_groups"), 5_000, None),
            run("running", Some("plan"), 0, None),
            run("running", Some("check_limits"), 0, None),
            run("running", Some("apply"), 0, Some(100)),
            run("running", Some("apply"), 100, Some(100)),
            run("applied", None, 100, Some(100)),
        ];
        let percents: Vec<u8> = steps.iter().map(RunStatus::percent).collect();
        assert!(percents.windows(2).all(|w| w[0] <= w[1]), "{percents:?}");
        assert_eq!((percents[0], percents[percents.len() - 1]), (0, 100));
        assert!(percents[3] < 50 && percents[5] < 70, "{percents:?}");
    }
}

/// How a domain's ownership is proven, if it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OwnershipProof {
    /// The TXT record was found at this time.
    Dns {
        verified_at: DateTime<Utc>,
    },
    /// The connected Microsoft 365 tenant lists the domain among its verified domains.
    Microsoft {
        tenant_name: String,
    },
    /// The connected Google Workspace (named by its primary domain) owns the domain.
    Google {
        workspace: String,
    },
    NotVerified,
}

/// A domain's ownership panel: the TXT record to publish and whether it is proven.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainOwnership {
    /// Where the record goes: the domain's apex (ASCII).
    pub record_name: String,
    /// `roster-verification=<token>`.
    pub record_value: String,
    pub proof: OwnershipProof,
}

impl DomainOwnership {
    pub fn verified(&self) -> bool {
        !matches!(self.proof, OwnershipProof::NotVerified)
    }
}

/// What the AD/LDAP Sync page and its refusals say when `ROSTER_SECRET_KEY` is unset.
pub const LDAP_NOT_CONFIGURED: &str = "LDAP sync is not configured on this Roster installation: it needs a key to keep directory passwords encrypted (ROSTER_SECRET_KEY). Ask your Roster operator to set it up.";

/// The AD/LDAP Sync page's connection section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LdapPanel {
    /// Whether this installation can keep LDAP passwords (`ROSTER_SECRET_KEY` is set).
    pub configured: bool,
    /// The saved settings (never the password), if any.
    pub saved: Option<LdapForm>,
}

/// Saved LDAP settings as the form shows them. A password is saved whenever this exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LdapForm {
    /// The preset last filled in (`active_directory`, …), or empty.
    pub preset: String,
    pub settings: roster_core::ldap::LdapSettingsInput,
    pub updated_at: DateTime<Utc>,
    /// The admin who saved them.
    pub updated_by: String,
}
