//! What an account is and where it comes from (`accounts.kind`, `accounts.source`): one
//! definition for the directory connectors, the engine, the server functions and the pages.

use crate::macros::sql_enum;
use crate::run::SyncSource;

sql_enum! {
    /// What an account is in Roster (`accounts.kind`).
    pub enum AccountKind as "account kind" {
        /// A user's mailbox (personal, shared or room).
        Mailbox = "mailbox",
        /// A distribution list, mail-enabled security group or Microsoft 365 group.
        DistributionList = "distribution_list",
    }
}

impl AccountKind {
    pub fn label(self) -> &'static str {
        match self {
            AccountKind::Mailbox => "Mailbox",
            AccountKind::DistributionList => "Distribution list",
        }
    }
}

sql_enum! {
    /// Who keeps an account (`accounts.source`): an admin by hand, or a directory's sync.
    pub enum AccountSource as "account source" {
        Manual = "manual",
        Office365 = "office365",
        GoogleWorkspace = "google_workspace",
        Ldap = "ldap",
    }
}

impl AccountSource {
    pub fn label(self) -> &'static str {
        match self {
            AccountSource::Manual => "Manual",
            AccountSource::Office365 => "Office 365",
            AccountSource::GoogleWorkspace => "Google Workspace",
            AccountSource::Ldap => "AD/LDAP",
        }
    }

    /// The directory that keeps the account; `None` for a manual one.
    pub fn synced(self) -> Option<SyncSource> {
        match self {
            AccountSource::Manual => None,
            AccountSource::Office365 => Some(SyncSource::Office365),
            AccountSource::GoogleWorkspace => Some(SyncSource::GoogleWorkspace),
            AccountSource::Ldap => Some(SyncSource::Ldap),
        }
    }
}

impl From<SyncSource> for AccountSource {
    fn from(source: SyncSource) -> AccountSource {
        match source {
            SyncSource::Office365 => AccountSource::Office365,
            SyncSource::GoogleWorkspace => AccountSource::GoogleWorkspace,
            SyncSource::Ldap => AccountSource::Ldap,
        }
    }
}

/// A disabled directory account, in the words of a change's before/after text (the run page,
/// its CSV export and the report email all show that text): "Bob, mailbox, disabled in the
/// directory".
pub const DISABLED_IN_DIRECTORY: &str = "disabled in the directory";
/// An account the directory enabled again, in a change's after text.
pub const ENABLED_AGAIN: &str = "enabled again";
/// The Email Accounts list's badge on a disabled account, and what it means.
pub const DISABLED_BADGE: &str = "Disabled";
pub const DISABLED_BADGE_HINT: &str = "disabled in the directory; still receives mail";
/// The account page's sentence for a disabled account.
pub const DISABLED_DETAILS: &str = "Disabled in your directory. Roster still accepts its mail (a disabled shared mailbox still receives mail).";

/// A list whose members include everyone in the organization (Google Workspace's `CUSTOMER`
/// member), in the words of a change's before/after text: "All staff, distribution list,
/// members: everyone in the organization".
pub const EVERYONE_MEMBER: &str = "members: everyone in the organization";
/// A list whose members no longer include everyone in the organization, in a change's after
/// text.
pub const EVERYONE_REMOVED: &str = "members: everyone in the organization removed";
/// The list page's line above its member rows when the list includes everyone.
pub const EVERYONE_LINE: &str = "Everyone in the organization (all recipients of this domain)";
/// The Email Accounts list's word beside such a list, and what it means.
pub const EVERYONE_BADGE: &str = "Everyone";
pub const EVERYONE_BADGE_HINT: &str = "its members include everyone in the organization";

/// A user Google Workspace archived (Google still accepts its mail, unlike a suspended one's),
/// in the words of a change's before/after text: "Bob, mailbox, archived in Google Workspace".
pub const ARCHIVED_IN_GOOGLE: &str = "archived in Google Workspace";
/// An account Google Workspace no longer archives, in a change's after text.
pub const ARCHIVED_REMOVED: &str = "no longer archived in Google Workspace";
/// The Email Accounts list's badge on an archived account, and what it means.
pub const ARCHIVED_BADGE: &str = "Archived";
pub const ARCHIVED_BADGE_HINT: &str = "Archived in Google Workspace: still receives mail";
/// The account page's sentence for an archived account.
pub const ARCHIVED_DETAILS: &str =
    "Archived in Google Workspace. Roster still accepts its mail (Google still receives mail for archived users).";
