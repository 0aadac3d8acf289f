//! Reading what changed: a connector reports the objects of a directory as *changes* — an
//! object is present (with the properties sent) or removed, and a group's direct members were
//! added or removed — either since a [`ResumeState`] it handed out before, or from scratch (a
//! *full round*, where every present object is reported once, members included).
//!
//! Roster keeps a mirror of each domain's directory as last read ([`MirrorObject`]s and direct
//! memberships): a change round is applied to it, and accounts are planned from it. Properties a
//! change does not carry keep their mirrored value (Graph sends "at least the changed
//! properties" of an updated object), so an [`ObjectPatch`] has an `Option` per property.
//!
//! A group's members may include *everyone in the directory* (Google Workspace's `CUSTOMER`
//! member): that is not a member id but a property of the group,
//! [`ObjectPatch::includes_everyone`], kept as that meaning all the way to the list's account
//! — never exploded into one member per recipient.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{
    primary_address, DirectoryError, DirectoryMember, DirectoryObject, MemberKind, ObjectKind,
};
use crate::EmailAddress;

/// Where a connector's last read ended, to resume from: opaque to the engine (for Microsoft,
/// the `@odata.deltaLink` of each collection). Never logged: it holds the connector's links.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumeState(pub serde_json::Value);

impl std::fmt::Debug for ResumeState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResumeState(..)")
    }
}

/// The pages of one change round, in order.
#[async_trait]
pub trait ChangePager: Send {
    /// The next page of changes, or `None` at the end of the round. An error whose
    /// [`DirectoryError::is_sync_state_lost`] holds means the resume state is no longer
    /// accepted: read again from scratch.
    async fn next_page(&mut self) -> Result<Option<ChangePage>, DirectoryError>;

    /// Once the round is read to the end: where the next round resumes. `None` when the
    /// connector cannot resume (every round is a full round).
    fn resume_state(&self) -> Option<ResumeState>;
}

/// Which collection of a directory a page belongs to (for progress: users first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    Users,
    Groups,
    Contacts,
}

/// One page of a change round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangePage {
    pub collection: Collection,
    pub changes: Vec<ObjectChange>,
}

/// What a round says of one object. The same object may appear more than once in a round
/// (a group whose members span pages): apply them in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectChange {
    /// The object is in the directory: these properties (all of them in a full round) and
    /// these changes of its direct members (all its members, as added, in a full round).
    Present {
        external_id: String,
        kind: MirrorKind,
        patch: ObjectPatch,
        members_added: Vec<String>,
        members_removed: Vec<String>,
    },
    /// The object left the directory (deleted, or out of the connector's scope).
    Removed { external_id: String },
}

/// The kinds of object a mirror holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MirrorKind {
    User,
    Group,
    Contact,
}

impl MirrorKind {
    /// Its text in SQL (`directory_objects.kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            MirrorKind::User => "user",
            MirrorKind::Group => "group",
            MirrorKind::Contact => "contact",
        }
    }

    pub fn parse(text: &str) -> Option<MirrorKind> {
        match text {
            "user" => Some(MirrorKind::User),
            "group" => Some(MirrorKind::Group),
            "contact" => Some(MirrorKind::Contact),
            _ => None,
        }
    }

    /// What a group member of this kind is.
    pub fn member_kind(self) -> MemberKind {
        match self {
            MirrorKind::User => MemberKind::User,
            MirrorKind::Group => MemberKind::Group,
            MirrorKind::Contact => MemberKind::Contact,
        }
    }
}

/// The properties a change carries; `None` = not sent (keep the mirrored value), while
/// `Some(None)` = sent empty (clear it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectPatch {
    pub display_name: Option<Option<String>>,
    pub mail: Option<Option<String>>,
    pub proxy_addresses: Option<Vec<String>>,
    pub account_enabled: Option<bool>,
    pub guest: Option<bool>,
    pub mail_enabled: Option<bool>,
    pub security_enabled: Option<bool>,
    pub unified: Option<bool>,
    /// For a group: whether its members include everyone in the directory (Google's
    /// `CUSTOMER` member, "all users in a domain"), besides its member ids. Connectors that
    /// have no such member never send it (`None`: the mirror keeps `false`).
    pub includes_everyone: Option<bool>,
    /// For a user: whether Google Workspace archived it (Google still accepts its mail, so it
    /// stays a recipient, marked). Microsoft 365 and LDAP never send it (`None`: the mirror
    /// keeps `false`).
    pub archived: Option<bool>,
}

/// An object as the mirror holds it: what normalization needs, source-neutral.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MirrorObject {
    pub external_id: String,
    pub kind: MirrorKind,
    pub display_name: Option<String>,
    pub mail: Option<String>,
    pub proxy_addresses: Vec<String>,
    pub account_enabled: bool,
    pub guest: bool,
    pub mail_enabled: bool,
    pub security_enabled: bool,
    pub unified: bool,
    /// A group whose members include everyone in the directory (see
    /// [`ObjectPatch::includes_everyone`]).
    pub includes_everyone: bool,
    /// A user Google Workspace archived (see [`ObjectPatch::archived`]).
    #[serde(default)]
    pub archived: bool,
}

impl MirrorObject {
    /// An object first seen: Graph's defaults for what the change did not say.
    pub fn new(external_id: String, kind: MirrorKind) -> MirrorObject {
        MirrorObject {
            external_id,
            kind,
            display_name: None,
            mail: None,
            proxy_addresses: Vec::new(),
            account_enabled: true,
            guest: false,
            mail_enabled: false,
            security_enabled: false,
            unified: false,
            includes_everyone: false,
            archived: false,
        }
    }

    /// Takes the properties the patch carries; keeps the others.
    pub fn apply(&mut self, patch: &ObjectPatch) {
        if let Some(v) = &patch.display_name {
            self.display_name.clone_from(v);
        }
        if let Some(v) = &patch.mail {
            self.mail.clone_from(v);
        }
        if let Some(v) = &patch.proxy_addresses {
            self.proxy_addresses.clone_from(v);
        }
        let flags = [
            (&mut self.account_enabled, patch.account_enabled),
            (&mut self.guest, patch.guest),
            (&mut self.mail_enabled, patch.mail_enabled),
            (&mut self.security_enabled, patch.security_enabled),
            (&mut self.unified, patch.unified),
            (&mut self.includes_everyone, patch.includes_everyone),
            (&mut self.archived, patch.archived),
        ];
        for (field, value) in flags {
            if let Some(v) = value {
                *field = v;
            }
        }
    }

    /// Its primary address in any domain (how it appears in the member lists of groups).
    pub fn primary_address(&self) -> Option<EmailAddress> {
        primary_address(self.mail.as_deref(), &self.proxy_addresses)
    }

    /// Whether it can become an account of some domain (a user that is not a guest, or a
    /// mail-enabled group) — the only objects a plan normalizes.
    pub fn may_be_account(&self) -> bool {
        match self.kind {
            MirrorKind::User => !self.guest,
            MirrorKind::Group => self.mail_enabled,
            MirrorKind::Contact => false,
        }
    }

    /// The directory object it stands for, with the given (flattened) members.
    pub fn to_object(&self, members: Vec<DirectoryMember>) -> DirectoryObject {
        let kind = match self.kind {
            MirrorKind::User => ObjectKind::User {
                account_enabled: self.account_enabled,
                guest: self.guest,
                archived: self.archived,
            },
            MirrorKind::Group => ObjectKind::Group {
                mail_enabled: self.mail_enabled,
                security_enabled: self.security_enabled,
                unified: self.unified,
                includes_everyone: self.includes_everyone,
            },
            MirrorKind::Contact => ObjectKind::Contact,
        };
        DirectoryObject {
            external_id: self.external_id.clone(),
            kind,
            display_name: self.display_name.clone(),
            mail: self.mail.clone(),
            proxy_addresses: self.proxy_addresses.clone(),
            members,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_changes_only_what_it_carries() {
        let mut o = MirrorObject::new("u1".into(), MirrorKind::User);
        o.apply(&ObjectPatch {
            display_name: Some(Some("Ann".into())),
            mail: Some(Some("ann@contoso.com".into())),
            proxy_addresses: Some(vec![
                "SMTP:ann@contoso.com".into(),
                "smtp:a@contoso.com".into(),
            ]),
            account_enabled: Some(false),
            ..ObjectPatch::default()
        });
        // A later change that only renames: the addresses stay.
        o.apply(&ObjectPatch {
            display_name: Some(Some("Ann B".into())),
            ..ObjectPatch::default()
        });
        assert_eq!(o.display_name.as_deref(), Some("Ann B"));
        assert_eq!(o.proxy_addresses.len(), 2);
        assert!(!o.account_enabled);
        assert_eq!(o.primary_address().unwrap().as_str(), "ann@contoso.com");
        // Sent empty: cleared.
        o.apply(&ObjectPatch {
            mail: Some(None),
            proxy_addresses: Some(vec![]),
            ..ObjectPatch::default()
        });
        assert_eq!(o.mail, None);
        assert_eq!(o.primary_address(), None);
    }

    #[test]
    fn only_members_and_lists_may_be_accounts() {
        let mut user = MirrorObject::new("u".into(), MirrorKind::User);
        assert!(user.may_be_account());
        user.guest = true;
        assert!(!user.may_be_account());
        let mut group = MirrorObject::new("g".into(), MirrorKind::Group);
        assert!(!group.may_be_account());
        group.mail_enabled = true;
        assert!(group.may_be_account());
        assert!(!MirrorObject::new("c".into(), MirrorKind::Contact).may_be_account());
        assert!(
            !group.includes_everyone,
            "no group includes everyone by default"
        );
        for kind in [MirrorKind::User, MirrorKind::Group, MirrorKind::Contact] {
            assert_eq!(MirrorKind::parse(kind.as_str()), Some(kind));
        }
    }

    #[test]
    fn everyone_is_a_property_of_the_group_kept_until_a_change_says_otherwise() {
        let mut g = MirrorObject::new("g".into(), MirrorKind::Group);
        g.apply(&ObjectPatch {
            mail_enabled: Some(true),
            includes_everyone: Some(true),
            ..ObjectPatch::default()
        });
        assert!(g.includes_everyone);
        // A change that does not carry it (Microsoft 365, LDAP) keeps it.
        g.apply(&ObjectPatch {
            display_name: Some(Some("All".into())),
            ..ObjectPatch::default()
        });
        assert!(g.includes_everyone);
        match g.to_object(Vec::new()).kind {
            ObjectKind::Group {
                includes_everyone, ..
            } => assert!(includes_everyone),
            other => panic!("{other:?}"),
        }
        g.apply(&ObjectPatch {
            includes_everyone: Some(false),
            ..ObjectPatch::default()
        });
        assert!(!g.includes_everyone);
    }

    #[test]
    fn archived_is_a_property_of_the_user_kept_until_a_change_says_otherwise() {
        let mut u = MirrorObject::new("u".into(), MirrorKind::User);
        assert!(!u.archived, "no user is archived by default");
        u.apply(&ObjectPatch {
            mail: Some(Some("bob@contoso.com".into())),
            archived: Some(true),
            ..ObjectPatch::default()
        });
        assert!(u.archived);
        // A change that does not carry it (Microsoft 365, LDAP) keeps it.
        u.apply(&ObjectPatch {
            display_name: Some(Some("Bob".into())),
            ..ObjectPatch::default()
        });
        assert!(u.archived);
        match u.to_object(Vec::new()).kind {
            ObjectKind::User {
                archived,
                account_enabled,
                ..
            } => assert!(archived && account_enabled, "archived, still enabled"),
            other => panic!("{other:?}"),
        }
        u.apply(&ObjectPatch {
            archived: Some(false),
            ..ObjectPatch::default()
        });
        assert!(!u.archived);
    }
}
