//! Directory connectors: reading a customer's recipients (mailboxes, aliases, distribution
//! lists with their members) from the directory they live in.
//!
//! Every connector (Microsoft 365 now, LDAP and Google Workspace later) sits behind the small
//! [`Directory`] trait: it can test its connection, and it hands out the directory one
//! [`DirectoryPage`] at a time through a [`DirectoryPager`], so a tenant of 100,000 users is
//! never held in memory at once. Pages hold source-neutral [`DirectoryObject`]s; the pure
//! functions of [`normalize`] turn them into the [`DirectoryAccount`]s Roster stores for one
//! customer domain.

pub mod delta;
mod error;
pub mod jwks;
pub mod normalize;

pub use delta::{
    ChangePage, ChangePager, Collection, MirrorKind, MirrorObject, ObjectChange, ObjectPatch,
    ResumeState,
};
pub use error::{AdBindReason, DirectoryError, GoogleDetail, LdapDetail, MicrosoftDetail};
pub use jwks::IdTokenProblem;
pub use normalize::{normalize, normalize_page, primary_address, ProxyAddress};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use crate::AccountKind;

use crate::{DisplayName, DomainName, EmailAddress, ExcludePatterns};

/// How many accounts a connection test shows.
pub const CONNECTION_TEST_SAMPLE: usize = 10;

/// A connector to one customer's directory (a Microsoft 365 tenant, an LDAP server, …).
#[async_trait]
pub trait Directory: Send + Sync {
    /// Signs in and reads the first page of users and of groups; returns the first
    /// [`CONNECTION_TEST_SAMPLE`] accounts exactly as Roster would store them under `rules`.
    async fn test_connection(&self, rules: &DomainRules) -> Result<ConnectionTest, DirectoryError>;

    /// Which directory this is (for Microsoft 365, the tenant id). A domain whose directory is
    /// another one than last time is read from scratch.
    fn identity(&self) -> String;

    /// Starts a change round: what changed since `resume`, or everything (a full round) with
    /// `None`. Nothing is requested until the first [`ChangePager::next_page`].
    fn changes(&self, resume: Option<&ResumeState>) -> Box<dyn ChangePager>;

    /// Checked before every run: the domains this directory itself proves are its
    /// customer's, read now (Microsoft 365: the tenant's verified domains). `None`, the
    /// default: the directory proves no domain (an LDAP server), so the domain's DNS record
    /// must.
    async fn verified_domains(&self) -> Result<Option<VerifiedDomains>, DirectoryError> {
        Ok(None)
    }
}

/// What a directory says of the domains it holds: see [`Directory::verified_domains`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedDomains {
    /// The directory's name for admins (the tenant's display name).
    pub directory_name: String,
    /// Its verified domains, in its order.
    pub domains: Vec<String>,
}

impl VerifiedDomains {
    pub fn lists(&self, domain: &DomainName) -> bool {
        self.domains.iter().any(|d| d == domain.as_str())
    }
}

/// The pages of one full read of a directory, in order, with each list's members already
/// expanded by the directory — a reader apart from the engine's change rounds and mirror
/// (the Microsoft connector's `transitiveMembers` read), which tests use to check them.
#[async_trait]
pub trait DirectoryPager: Send {
    /// The next page, or `None` when the directory has been read to the end.
    async fn next_page(&mut self) -> Result<Option<DirectoryPage>, DirectoryError>;
}

/// Which of Roster's domains the accounts are for, and which addresses never to sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainRules {
    pub domain: DomainName,
    pub exclude: ExcludePatterns,
}

impl DomainRules {
    pub fn new(domain: DomainName) -> DomainRules {
        DomainRules {
            domain,
            exclude: ExcludePatterns::new(),
        }
    }

    pub fn with_exclude(mut self, exclude: ExcludePatterns) -> DomainRules {
        self.exclude = exclude;
        self
    }
}

/// One page of directory objects as the directory sent them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectoryPage {
    pub objects: Vec<DirectoryObject>,
}

/// A recipient object of a directory, in a source-neutral form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryObject {
    /// The directory's id for the object (Entra object id, LDAP objectGUID, …).
    pub external_id: String,
    pub kind: ObjectKind,
    pub display_name: Option<String>,
    /// The object's main mail address, if any.
    pub mail: Option<String>,
    /// Exchange-style addresses: `SMTP:` primary, `smtp:` secondary, and other types
    /// (`X500:`, `SIP:`, …) that are not mail addresses.
    pub proxy_addresses: Vec<String>,
    /// For groups: members, nested groups flattened; empty for other objects.
    pub members: Vec<DirectoryMember>,
}

/// What kind of object a [`DirectoryObject`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    /// A user: a person's, shared or room mailbox, or a user without mailbox.
    ///
    /// `archived`: Google Workspace archived it (Google still accepts its mail); `false` for
    /// other directories.
    User {
        account_enabled: bool,
        guest: bool,
        archived: bool,
    },
    /// A group: distribution list, mail-enabled security group, Microsoft 365 group, or a
    /// security group without mail.
    ///
    /// `includes_everyone`: its members include everyone in the directory (Google Workspace's
    /// `CUSTOMER` member), directly or through a nested group — kept as that meaning, not as
    /// one member per recipient.
    Group {
        mail_enabled: bool,
        security_enabled: bool,
        unified: bool,
        includes_everyone: bool,
    },
    /// An external contact (orgContact).
    Contact,
}

/// A member of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryMember {
    pub external_id: String,
    pub kind: MemberKind,
    /// The member's primary address (any domain), if it has one.
    pub address: Option<EmailAddress>,
}

/// What kind of object a group member is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemberKind {
    User,
    Group,
    Contact,
    /// A device, service principal or other object that receives no mail.
    Other,
}

/// A recipient as Roster stores it for one domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryAccount {
    /// The directory's id for the object.
    pub external_id: String,
    /// The address in the domain (the primary one when that is in the domain).
    pub address: EmailAddress,
    /// Other addresses in the domain, sorted, without duplicates or excluded ones.
    pub aliases: Vec<EmailAddress>,
    pub kind: AccountKind,
    pub display_name: DisplayName,
    /// Whether the directory has the account enabled: `false` for a disabled user (Microsoft
    /// 365 `accountEnabled: false`, AD `userAccountControl` bit 2), whose mailbox — often a
    /// shared or room mailbox — still receives mail, so it stays a recipient. Lists: `true`.
    pub enabled: bool,
    /// For distribution lists: whether the members include everyone in the organization
    /// (Google Workspace's `CUSTOMER` member, at any depth) besides [`Self::members`]. Stored
    /// as a property of the list account (`accounts.includes_everyone`); `false` otherwise.
    #[serde(default)]
    pub includes_everyone: bool,
    /// For mailboxes: whether Google Workspace archived the user (Google still accepts its
    /// mail, so it stays a recipient, marked; `accounts.archived`); `false` otherwise.
    #[serde(default)]
    pub archived: bool,
    /// For distribution lists: the addresses of the members (nested lists flattened; users
    /// and contacts with an address, in any domain), sorted and without duplicates.
    pub members: Vec<EmailAddress>,
}

/// What a connection test found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionTest {
    /// The first accounts (at most [`CONNECTION_TEST_SAMPLE`]), users first, then groups.
    pub sample: Vec<DirectoryAccount>,
    /// Objects on the first page of users.
    pub users_read: usize,
    /// Objects on the first page of mail-enabled groups.
    pub groups_read: usize,
    /// Accounts in the domain among those objects.
    pub accounts_found: usize,
    /// Whether the directory has more pages than the ones read.
    pub more_pages: bool,
}

impl ConnectionTest {
    /// All objects the pages held.
    pub fn objects_read(&self) -> usize {
        self.users_read + self.groups_read
    }
}

/// Reads every page of `pager` and normalizes it under `rules`: the accounts of a full read,
/// in directory order. Only the accounts are kept, never the pages.
pub async fn collect_accounts(
    pager: &mut dyn DirectoryPager,
    rules: &DomainRules,
) -> Result<Vec<DirectoryAccount>, DirectoryError> {
    let mut accounts = Vec::new();
    while let Some(page) = pager.next_page().await? {
        accounts.extend(normalize_page(&page, rules));
    }
    Ok(accounts)
}
