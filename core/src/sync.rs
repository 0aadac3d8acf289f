//! The pure rules of a sync run, apart from any storage: what a plan adds up to, whether it fits
//! the domain's Operations Limit, how the history sums it up, and the guard that keeps an empty
//! answer from a directory from deleting every recipient.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::limits::{LimitKind, OperationsLimits};
pub use crate::run::ReadKind;

/// How many changes of each kind a plan holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PlannedCounts {
    pub accounts_added: u64,
    pub accounts_deleted: u64,
    /// Accounts whose display name, kind or enabled flag (disabled in the directory, or
    /// enabled again) changes, their primary address kept. Neither an add nor a delete: no
    /// Operations Limit counts them.
    pub accounts_updated: u64,
    /// Accounts (directory objects) whose primary address changes — and maybe their display
    /// name or kind with it. Apart from `accounts_updated`; neither an add nor a delete, so no
    /// Operations Limit counts them. Absent from counts stored before renames existed.
    #[serde(default)]
    pub accounts_renamed: u64,
    pub aliases_added: u64,
    pub aliases_deleted: u64,
    /// Distribution lists whose members change.
    pub lists_changed: u64,
    pub members_added: u64,
    pub members_removed: u64,
}

impl PlannedCounts {
    /// The operations the "Total Operations" limit counts: account and alias adds and deletes
    /// (not renames or other account changes, not list members).
    pub fn total_operations(&self) -> u64 {
        self.accounts_added + self.accounts_deleted + self.aliases_added + self.aliases_deleted
    }

    /// Every change the plan holds (the rows an apply writes or deletes, lists counted by
    /// member).
    pub fn total_changes(&self) -> u64 {
        self.total_operations()
            + self.accounts_updated
            + self.accounts_renamed
            + self.members_added
            + self.members_removed
    }

    /// Each count with the label admins read, in the order the run's page and the report
    /// email list them.
    pub fn labelled(&self) -> [(&'static str, u64); 9] {
        [
            ("Email accounts added", self.accounts_added),
            ("Email accounts deleted", self.accounts_deleted),
            ("Email accounts renamed", self.accounts_renamed),
            ("Email accounts changed", self.accounts_updated),
            ("Aliases added", self.aliases_added),
            ("Aliases deleted", self.aliases_deleted),
            ("Distribution lists changed", self.lists_changed),
            ("List members added", self.members_added),
            ("List members removed", self.members_removed),
        ]
    }

    /// What `kind` of limit is measured against.
    pub fn planned(&self, kind: LimitKind) -> u64 {
        match kind {
            LimitKind::AccountAdd => self.accounts_added,
            LimitKind::AccountDelete => self.accounts_deleted,
            LimitKind::AliasAdd => self.aliases_added,
            LimitKind::AliasDelete => self.aliases_deleted,
            LimitKind::Total => self.total_operations(),
        }
    }

    /// Whether the plan changes anything at all.
    pub fn is_empty(&self) -> bool {
        *self == PlannedCounts::default()
    }
}

/// One limit a plan goes beyond.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LimitExceeded {
    pub kind: LimitKind,
    pub planned: u64,
    pub limit: u32,
}

impl fmt::Display for LimitExceeded {
    /// "Email Accounts – Delete Limit: 150 planned, limit 100"
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} planned, limit {}",
            self.kind.label(),
            thousands(self.planned),
            thousands(u64::from(self.limit))
        )
    }
}

/// Every limit the plan exceeds, in the settings' order; empty when it may be applied.
pub fn exceeded_limits(counts: &PlannedCounts, limits: &OperationsLimits) -> Vec<LimitExceeded> {
    LimitKind::ALL
        .into_iter()
        .filter_map(|kind| {
            let limit = limits.get(kind);
            let planned = counts.planned(kind);
            limit.is_exceeded_by(planned).then(|| LimitExceeded {
                kind,
                planned,
                limit: limit.get().unwrap_or_default(),
            })
        })
        .collect()
}

/// The history's Summary of a plan: "+12 accounts, −3 accounts, 1 account renamed,
/// 2 accounts updated, +20 aliases, −1 alias, 2 lists changed", or "No changes".
pub fn summary(counts: &PlannedCounts) -> String {
    let mut parts = Vec::new();
    let mut push = |n: u64, text: String| {
        if n > 0 {
            parts.push(text);
        }
    };
    let plural = |n: u64, one: &str, many: &str| {
        format!("{} {}", thousands(n), if n == 1 { one } else { many })
    };
    push(
        counts.accounts_added,
        format!("+{}", plural(counts.accounts_added, "account", "accounts")),
    );
    push(
        counts.accounts_deleted,
        format!(
            "−{}",
            plural(counts.accounts_deleted, "account", "accounts")
        ),
    );
    push(
        counts.accounts_renamed,
        format!(
            "{} renamed",
            plural(counts.accounts_renamed, "account", "accounts")
        ),
    );
    push(
        counts.accounts_updated,
        format!(
            "{} updated",
            plural(counts.accounts_updated, "account", "accounts")
        ),
    );
    push(
        counts.aliases_added,
        format!("+{}", plural(counts.aliases_added, "alias", "aliases")),
    );
    push(
        counts.aliases_deleted,
        format!("−{}", plural(counts.aliases_deleted, "alias", "aliases")),
    );
    push(
        counts.lists_changed,
        format!("{} changed", plural(counts.lists_changed, "list", "lists")),
    );
    if parts.is_empty() {
        "No changes".to_owned()
    } else {
        parts.join(", ")
    }
}

/// Why a run refuses to plan at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SyncRefusal {
    /// The directory answered, but with nothing for a domain that has synced accounts: far more
    /// likely a wrong filter, a removed domain or a permission problem than a real emptying.
    #[error("The directory returned no recipients for this domain, which has {synced} synced account(s). Nothing was deleted: check the domain's directory connection (its sync page: Test Connection shows what Roster reads) and the domain, then sync again.")]
    EmptyDirectory { synced: u64 },
}

/// Refuses a run whose complete read found no account in the domain while the domain has
/// synced accounts.
pub fn check_not_emptied(accounts_read: u64, synced_now: u64) -> Result<(), SyncRefusal> {
    if accounts_read == 0 && synced_now > 0 {
        Err(SyncRefusal::EmptyDirectory { synced: synced_now })
    } else {
        Ok(())
    }
}

/// 12,345
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::limits::OperationLimit;
    use proptest::prelude::*;

    fn limit(n: u32) -> OperationLimit {
        OperationLimit::new(Some(n)).unwrap()
    }

    #[test]
    fn the_brief_s_example_of_an_exceeded_limit() {
        let counts = PlannedCounts {
            accounts_deleted: 150,
            ..PlannedCounts::default()
        };
        let limits = OperationsLimits {
            account_delete: limit(100),
            ..OperationsLimits::default()
        };
        let exceeded = exceeded_limits(&counts, &limits);
        assert_eq!(exceeded.len(), 1);
        assert_eq!(
            exceeded[0].to_string(),
            "Email Accounts – Delete Limit: 150 planned, limit 100"
        );
    }

    #[test]
    fn each_limit_trips_on_its_own_count_and_the_total_on_the_sum() {
        let counts = PlannedCounts {
            accounts_added: 3,
            accounts_deleted: 2,
            accounts_updated: 50,
            accounts_renamed: 70,
            aliases_added: 4,
            aliases_deleted: 1,
            lists_changed: 9,
            members_added: 100,
            members_removed: 100,
        };
        assert_eq!(counts.total_operations(), 10);
        for kind in LimitKind::ALL {
            let planned = counts.planned(kind);
            let mut limits = OperationsLimits::default();
            let set = |l: &mut OperationsLimits, v| match kind {
                LimitKind::AccountAdd => l.account_add = v,
                LimitKind::AccountDelete => l.account_delete = v,
                LimitKind::AliasAdd => l.alias_add = v,
                LimitKind::AliasDelete => l.alias_delete = v,
                LimitKind::Total => l.total = v,
            };
            // Exactly at the limit is allowed; one below it is not.
            set(&mut limits, limit(u32::try_from(planned).unwrap()));
            assert!(exceeded_limits(&counts, &limits).is_empty(), "{kind:?}");
            set(&mut limits, limit(u32::try_from(planned - 1).unwrap()));
            let exceeded = exceeded_limits(&counts, &limits);
            assert_eq!(exceeded.len(), 1, "{kind:?}");
            assert_eq!(exceeded[0].kind, kind);
            assert_eq!(exceeded[0].planned, planned);
        }
    }

    #[test]
    fn a_zero_limit_forbids_any_such_change_and_no_limit_allows_all() {
        let counts = PlannedCounts {
            aliases_added: 1,
            ..PlannedCounts::default()
        };
        let limits = OperationsLimits {
            alias_add: limit(0),
            ..OperationsLimits::default()
        };
        assert_eq!(exceeded_limits(&counts, &limits).len(), 1);
        let huge = PlannedCounts {
            accounts_added: 5_000_000,
            ..PlannedCounts::default()
        };
        assert!(exceeded_limits(&huge, &OperationsLimits::default()).is_empty());
    }

    #[test]
    fn summaries() {
        let counts = PlannedCounts {
            accounts_added: 12,
            accounts_deleted: 3,
            aliases_added: 20,
            aliases_deleted: 1,
            lists_changed: 2,
            ..PlannedCounts::default()
        };
        assert_eq!(
            summary(&counts),
            "+12 accounts, −3 accounts, +20 aliases, −1 alias, 2 lists changed"
        );
        assert_eq!(summary(&PlannedCounts::default()), "No changes");
        let one = PlannedCounts {
            accounts_added: 1,
            accounts_updated: 1,
            lists_changed: 1,
            ..PlannedCounts::default()
        };
        assert_eq!(
            summary(&one),
            "+1 account, 1 account updated, 1 list changed"
        );
        let big = PlannedCounts {
            accounts_added: 100_000,
            ..PlannedCounts::default()
        };
        assert_eq!(summary(&big), "+100,000 accounts");
    }

    #[test]
    fn a_rename_is_neither_an_add_nor_a_delete() {
        let renamed = PlannedCounts {
            accounts_renamed: 3,
            ..PlannedCounts::default()
        };
        // Not an operation any limit counts, however strict…
        assert_eq!(renamed.total_operations(), 0);
        let zero = OperationsLimits {
            account_add: limit(0),
            account_delete: limit(0),
            alias_add: limit(0),
            alias_delete: limit(0),
            total: limit(0),
        };
        assert!(exceeded_limits(&renamed, &zero).is_empty());
        // …but a change all the same: applied, summed up and listed on its own.
        assert!(!renamed.is_empty());
        assert_eq!(renamed.total_changes(), 3);
        assert_eq!(summary(&renamed), "3 accounts renamed");
        let labelled = renamed.labelled();
        assert!(labelled.contains(&("Email accounts renamed", 3)));
        assert!(labelled.contains(&("Email accounts changed", 0)));
        assert!(labelled.contains(&("Email accounts added", 0)));
        assert!(labelled.contains(&("Email accounts deleted", 0)));
        // Apart from other account changes: each is counted once.
        let both = PlannedCounts {
            accounts_renamed: 1,
            accounts_updated: 2,
            ..PlannedCounts::default()
        };
        assert_eq!(both.total_changes(), 3);
        assert_eq!(summary(&both), "1 account renamed, 2 accounts updated");
    }

    #[test]
    fn counts_stored_before_renames_existed_still_read() {
        let old = serde_json::json!({
            "accounts_added": 1, "accounts_deleted": 2, "accounts_updated": 3,
            "aliases_added": 4, "aliases_deleted": 5, "lists_changed": 6,
            "members_added": 7, "members_removed": 8
        });
        let counts: PlannedCounts = serde_json::from_value(old).unwrap();
        assert_eq!(counts.accounts_renamed, 0);
        assert_eq!(counts.accounts_updated, 3);
        assert_eq!(counts.total_changes(), 1 + 2 + 3 + 4 + 5 + 7 + 8);
        let back: PlannedCounts =
            serde_json::from_value(serde_json::to_value(counts).unwrap()).unwrap();
        assert_eq!(back, counts);
    }

    #[test]
    fn an_empty_answer_for_a_synced_domain_is_refused() {
        assert!(
            check_not_emptied(0, 0).is_ok(),
            "a first sync of an empty domain"
        );
        assert!(check_not_emptied(10, 500).is_ok());
        let refusal = check_not_emptied(0, 500).unwrap_err();
        assert_eq!(refusal, SyncRefusal::EmptyDirectory { synced: 500 });
        assert!(refusal.to_string().contains("Nothing was deleted"));
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    proptest! {
        #[test]
        fn a_plan_within_every_limit_is_never_refused(
            a in 0u64..2_000, d in 0u64..2_000, aa in 0u64..2_000, ad in 0u64..2_000,
            slack in 0u32..10,
        ) {
            let counts = PlannedCounts {
                accounts_added: a, accounts_deleted: d, aliases_added: aa, aliases_deleted: ad,
                ..PlannedCounts::default()
            };
            let at = |n: u64| limit(u32::try_from(n).unwrap() + slack);
            let limits = OperationsLimits {
                account_add: at(a), account_delete: at(d), alias_add: at(aa), alias_delete: at(ad),
                total: at(counts.total_operations()),
            };
            prop_assert!(exceeded_limits(&counts, &limits).is_empty());
            prop_assert!(!summary(&counts).is_empty());
            prop_assert_eq!(summary(&counts) == "No changes", counts.is_empty());
        }
    }
}
