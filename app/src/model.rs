//! The shapes the server sends to the browser. They carry already-normalized values; the
//! browser never has to validate them again.

use chrono::{DateTime, Utc};
use roster_core::ServerType;
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    Mailbox,
    DistributionList,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mailbox => "mailbox",
            Self::DistributionList => "distribution_list",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Self::Mailbox => "Mailbox",
            Self::DistributionList => "Distribution list",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "mailbox" => Some(Self::Mailbox),
            "distribution_list" => Some(Self::DistributionList),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountSource {
    Manual,
    Office365,
    GoogleWorkspace,
    Ldap,
}

impl AccountSource {
    pub fn label(self) -> &'static str {
        match self {
            Self::Manual => "Manual",
            Self::Office365 => "Office 365",
            Self::GoogleWorkspace => "Google Workspace",
            Self::Ldap => "AD/LDAP",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "manual" => Some(Self::Manual),
            "office365" => Some(Self::Office365),
            "google_workspace" => Some(Self::GoogleWorkspace),
            "ldap" => Some(Self::Ldap),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRow {
    pub id: Uuid,
    pub address: String,
    pub kind: AccountKind,
    pub aliases: Vec<String>,
    pub source: AccountSource,
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
    pub granted_by: String,
    pub granted_at: DateTime<Utc>,
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
