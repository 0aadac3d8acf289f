//! The words of a sync run — its status, phase, trigger, source and the kinds of change it
//! plans — each with its SQL text in one place. The engine, the server functions and the
//! pages share them (the browser build too: nothing here needs the `connectors` feature).
//!
//! The columns keep their text (`sync_runs.status` …, with `check (… in (…))` constraints
//! where the database has one): queries bind `as_str()` and parse what they read, so a value
//! the database holds and Roster does not know is an [`UnknownValue`], never a guess.

use crate::macros::sql_enum;

/// A stored word Roster does not know (a row written by a newer version, or by hand).
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[error("unknown {what} {value:?} in the database")]
pub struct UnknownValue {
    /// What the word is: "sync run status", "change kind", …
    pub what: &'static str,
    pub value: String,
}

sql_enum! {
    /// Where a run is, or how it ended (`sync_runs.status`).
    pub enum RunState as "sync run status" {
        /// Waiting for a worker.
        Queued = "queued",
        Running = "running",
        /// A Test Sync's plan: nothing applied.
        Planned = "planned",
        Applied = "applied",
        /// The plan went beyond the Operations Limit: nothing applied, the plan kept.
        LimitExceeded = "limit_exceeded",
        Failed = "failed",
        /// A scheduled slot that came while the domain's previous run was still going.
        Skipped = "skipped",
    }
}

impl RunState {
    /// Queued or running: the one run a domain may have going (`sync_runs_one_active`).
    pub fn is_active(self) -> bool {
        matches!(self, RunState::Queued | RunState::Running)
    }

    /// The outcome in a word, for the history and the run page. A Test Sync's run is
    /// "Planned" whatever it ended as, unless it stopped or failed.
    pub fn label(self, test: bool) -> &'static str {
        match self {
            RunState::Queued => "Queued",
            RunState::Running => "Running",
            RunState::Planned => "Planned (Test Sync)",
            RunState::Applied if test => "Planned (Test Sync)",
            RunState::Applied => "Applied",
            RunState::LimitExceeded => "Limit exceeded",
            RunState::Failed => "Failed",
            RunState::Skipped => "Skipped",
        }
    }
}

sql_enum! {
    /// What a running run is doing (`sync_runs.phase`; none once it ended).
    pub enum RunPhase as "sync run phase" {
        /// Reading the directory's users (the first phase of every read).
        FetchUsers = "fetch_users",
        /// Reading its lists and contacts.
        FetchGroups = "fetch_groups",
        /// Comparing the directory with the current recipients.
        Plan = "plan",
        CheckLimits = "check_limits",
        Apply = "apply",
    }
}

sql_enum! {
    /// How a run read the directory (`sync_runs.read_kind`).
    pub enum ReadKind as "sync run read kind" {
        /// Everything: the first sync, a lost resume point, a new tenant, or the weekly full read.
        Full = "full",
        /// Only what changed since the last applied sync.
        Changes = "changes",
    }
}

impl ReadKind {
    /// For the run page.
    pub fn describe(self) -> &'static str {
        match self {
            ReadKind::Full => "The whole directory",
            ReadKind::Changes => "Only what changed since the last sync",
        }
    }
}

sql_enum! {
    /// What started a run (`sync_runs.trigger`).
    pub enum RunTrigger as "sync run trigger" {
        /// An admin (Manual Sync, Test Sync, Apply these changes), named in `requested_by`.
        Manual = "manual",
        /// Automatic Synchronization.
        Schedule = "schedule",
    }
}

sql_enum! {
    /// The directory a run reads, and so the accounts it owns (`sync_runs.source`, and the
    /// synced values of `accounts.source`).
    pub enum SyncSource as "sync source" {
        Office365 = "office365",
        GoogleWorkspace = "google_workspace",
        Ldap = "ldap",
    }
}

impl SyncSource {
    /// The directory's name for admins.
    pub fn label(self) -> &'static str {
        crate::AccountSource::from(self).label()
    }
}

sql_enum! {
    /// One change a run plans (`sync_run_changes.kind`). A rename is an `AccountUpdate` with a
    /// new primary address.
    pub enum ChangeKind as "change kind" {
        AccountAdd = "account_add",
        AccountDelete = "account_delete",
        AccountUpdate = "account_update",
        AliasAdd = "alias_add",
        AliasDelete = "alias_delete",
        MemberAdd = "member_add",
        MemberRemove = "member_remove",
    }
}

/// The label of an `account_update` that changes the account's primary address.
pub const RENAMED_LABEL: &str = "Account renamed";

impl ChangeKind {
    /// "Account added", … (the run page's and the report's words; [`ChangeKind::ALL`] is the
    /// order the run page lists them in).
    pub fn label(self) -> &'static str {
        match self {
            ChangeKind::AccountAdd => "Account added",
            ChangeKind::AccountDelete => "Account deleted",
            ChangeKind::AccountUpdate => "Account changed",
            ChangeKind::AliasAdd => "Alias added",
            ChangeKind::AliasDelete => "Alias deleted",
            ChangeKind::MemberAdd => "List member added",
            ChangeKind::MemberRemove => "List member removed",
        }
    }

    /// [`ChangeKind::label`], or [`RENAMED_LABEL`] for an account update that renames.
    pub fn label_of(self, renamed: bool) -> &'static str {
        if renamed && self == ChangeKind::AccountUpdate {
            RENAMED_LABEL
        } else {
            self.label()
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Every value round-trips through its SQL text and through serde (the wire format is
    /// the SQL text), and nothing else parses.
    fn round_trips<T>(all: &[T])
    where
        T: Copy + Eq + std::fmt::Debug + serde::Serialize + serde::de::DeserializeOwned,
        T: SqlText,
    {
        for &value in all {
            let text = value.text();
            assert_eq!(T::from_text(text).unwrap(), value);
            assert_eq!(serde_json::to_value(value).unwrap(), text);
            assert_eq!(
                serde_json::from_value::<T>(serde_json::json!(text)).unwrap(),
                value
            );
        }
        for wrong in [
            "",
            "Queued",
            " applied",
            "office 365",
            "account-add",
            "other",
        ] {
            assert!(T::from_text(wrong).is_err(), "{wrong:?}");
        }
    }

    trait SqlText: Sized {
        fn text(self) -> &'static str;
        fn from_text(text: &str) -> Result<Self, UnknownValue>;
    }

    macro_rules! sql_text {
        ($($type:ty),+) => {$(
            impl SqlText for $type {
                fn text(self) -> &'static str {
                    self.as_str()
                }
                fn from_text(text: &str) -> Result<Self, UnknownValue> {
                    <$type>::parse(text)
                }
            }
        )+};
    }
    sql_text!(
        RunState,
        RunPhase,
        RunTrigger,
        SyncSource,
        ChangeKind,
        ReadKind,
        crate::AccountKind,
        crate::AccountSource
    );

    /// The values of a `check (column in (…))` constraint, as the migrations write them.
    fn each_parses<T: SqlText + std::fmt::Debug>(check: &[&str], all: &[T]) {
        for text in check {
            assert!(T::from_text(text).is_ok(), "{text:?}");
        }
        assert_eq!(check.len(), all.len(), "{all:?} against {check:?}");
    }

    #[test]
    fn run_states_are_the_status_check() {
        round_trips(RunState::ALL);
        // 20261203000010_schedule.sql: sync_runs_status_check
        each_parses(
            &[
                "queued",
                "running",
                "planned",
                "applied",
                "limit_exceeded",
                "failed",
                "skipped",
            ],
            RunState::ALL,
        );
        let active: Vec<_> = RunState::ALL.iter().filter(|s| s.is_active()).collect();
        assert_eq!(active, [&RunState::Queued, &RunState::Running]);
    }

    #[test]
    fn run_phases_are_the_ones_the_engine_writes() {
        round_trips(RunPhase::ALL);
        // No constraint on the column: the engine writes these.
        each_parses(
            &[
                "fetch_users",
                "fetch_groups",
                "plan",
                "check_limits",
                "apply",
            ],
            RunPhase::ALL,
        );
        assert_eq!(
            RunPhase::parse("report").unwrap_err().to_string(),
            "unknown sync run phase \"report\" in the database"
        );
    }

    #[test]
    fn triggers_and_sources_are_their_checks() {
        round_trips(RunTrigger::ALL);
        // 20261128000003_sync_runs.sql: sync_runs_trigger_check, sync_runs_source_check
        each_parses(&["manual", "schedule"], RunTrigger::ALL);
        round_trips(SyncSource::ALL);
        each_parses(&["office365", "google_workspace", "ldap"], SyncSource::ALL);
        round_trips(ReadKind::ALL);
        // 20261203000014_directory_mirror.sql: sync_runs_read_kind_check
        each_parses(&["full", "changes"], ReadKind::ALL);
    }

    #[test]
    fn change_kinds_are_the_kind_check() {
        round_trips(ChangeKind::ALL);
        // 20261128000003_sync_runs.sql: sync_run_changes_kind_check
        each_parses(
            &[
                "account_add",
                "account_delete",
                "account_update",
                "alias_add",
                "alias_delete",
                "member_add",
                "member_remove",
            ],
            ChangeKind::ALL,
        );
        assert_eq!(ChangeKind::AccountUpdate.label_of(true), "Account renamed");
        assert_eq!(ChangeKind::AccountUpdate.label_of(false), "Account changed");
        assert_eq!(ChangeKind::AliasAdd.label_of(true), "Alias added");
    }

    #[test]
    fn account_kinds_and_sources_are_their_checks() {
        use crate::{AccountKind, AccountSource};
        round_trips(AccountKind::ALL);
        // 20261128000001_foundation.sql: accounts_kind_check, accounts_source_check
        each_parses(&["mailbox", "distribution_list"], AccountKind::ALL);
        round_trips(AccountSource::ALL);
        each_parses(
            &["manual", "office365", "google_workspace", "ldap"],
            AccountSource::ALL,
        );
        // A run's source is one of the synced account sources, with the same text.
        for &source in SyncSource::ALL {
            let account = AccountSource::from(source);
            assert_eq!(account.as_str(), source.as_str());
            assert_eq!(account.synced(), Some(source));
        }
        assert_eq!(AccountSource::Manual.synced(), None);
    }

    #[test]
    fn labels() {
        assert_eq!(RunState::Applied.label(true), "Planned (Test Sync)");
        assert_eq!(RunState::Applied.label(false), "Applied");
        assert_eq!(RunState::LimitExceeded.label(false), "Limit exceeded");
        assert_eq!(SyncSource::Ldap.label(), "AD/LDAP");
        assert_eq!(
            crate::AccountKind::DistributionList.label(),
            "Distribution list"
        );
    }
}
