//! A full change round of a Workspace. Google's Directory API has no change feed Roster uses
//! (push channels need a public endpoint), so every round is full and
//! [`ChangePager::resume_state`] is `None`.
//!
//! Order: users, one page of changes per `users.list` page (500); then every group
//! (`groups.list`, 200 a page) with its direct members (`members.list`, 200 a page: the first
//! page of many groups in one batch request, `batch.rs`; further pages with plain GETs, a few
//! groups at a time), held back until all are read; then the members that are neither a user
//! nor a group of the Workspace (external addresses, groups of other Workspaces) as contacts;
//! then the groups, each with its direct members as ids — nested groups are members like any
//! other: the engine flattens them and stops at cycles. A group deleted while the round reads
//! it (404 on its members) is left out. A `CUSTOMER` member (everyone in the Workspace: no
//! address, the customer id as its id) is no member id: the group's change says
//! [`ObjectPatch::includes_everyone`], and the engine keeps that meaning for the list (and the
//! lists that nest it) instead of one member per recipient.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use futures_util::stream::{self, StreamExt, TryStreamExt};

use super::api::{Inner, USERS_PAGE, USER_FIELDS};
use super::config::RefreshToken;
use super::model::{GoogleGroup, GoogleMember, GroupsPage, MemberRef, MembersPage, UsersPage};
use crate::directory::{
    ChangePage, ChangePager, Collection, DirectoryError, MirrorKind, ObjectChange, ObjectPatch,
    ResumeState,
};

/// Groups per page of changes (each carries all its members' ids).
const GROUPS_PER_PAGE: usize = 50;
/// Contacts per page of changes.
const CONTACTS_PER_PAGE: usize = 500;

enum Stage {
    Users(Option<String>),
    Groups(Option<String>),
    Contacts,
    Lists,
    Done,
}

/// A group read with its direct members.
pub(crate) struct HeldGroup {
    pub group: GoogleGroup,
    pub members: Vec<GoogleMember>,
}

/// The pager of one full round; nothing is requested until the first
/// [`ChangePager::next_page`]. After an error the round is over (the engine starts a new one).
pub struct GoogleChanges {
    inner: Arc<Inner>,
    refresh: RefreshToken,
    stage: Stage,
    /// Ids of every user read.
    users: HashSet<String>,
    held: Vec<HeldGroup>,
    /// Members, once resolved: those of each held group, in order.
    member_ids: Vec<GroupMembers>,
    contacts: Vec<ObjectChange>,
    /// Leave suspended users out (their ids are not users of the round, so a group's
    /// suspended member is left out too).
    skip_suspended: bool,
}

impl GoogleChanges {
    pub(crate) fn new(inner: Arc<Inner>, refresh: RefreshToken) -> GoogleChanges {
        GoogleChanges {
            inner,
            refresh,
            stage: Stage::Users(None),
            users: HashSet::new(),
            held: Vec::new(),
            member_ids: Vec::new(),
            contacts: Vec::new(),
            skip_suspended: false,
        }
    }

    pub(crate) fn skipping_suspended(mut self, skip: bool) -> GoogleChanges {
        self.skip_suspended = skip;
        self
    }

    async fn step(&mut self) -> Result<Option<ChangePage>, DirectoryError> {
        loop {
            match std::mem::replace(&mut self.stage, Stage::Done) {
                Stage::Users(token) => {
                    let url = self
                        .inner
                        .users_url(token.as_deref(), USERS_PAGE, USER_FIELDS);
                    let page: UsersPage = self.inner.get_json(&self.refresh, &url).await?;
                    self.stage = match page.next_page_token.filter(|t| !t.is_empty()) {
                        Some(next) => Stage::Users(Some(next)),
                        None => Stage::Groups(None),
                    };
                    let skip = self.skip_suspended;
                    let users = page.users.into_iter().filter(|u| !(skip && u.suspended));
                    let changes: Vec<ObjectChange> = users
                        .map(|u| {
                            self.users.insert(u.id.clone());
                            u.into_change()
                        })
                        .collect();
                    if !changes.is_empty() {
                        return Ok(Some(ChangePage {
                            collection: Collection::Users,
                            changes,
                        }));
                    }
                }
                Stage::Groups(token) => {
                    let url = self.inner.groups_url(token.as_deref());
                    let page: GroupsPage = self.inner.get_json(&self.refresh, &url).await?;
                    let read = with_members(&self.inner, &self.refresh, page.groups).await?;
                    self.held.extend(read);
                    self.stage = match page.next_page_token.filter(|t| !t.is_empty()) {
                        Some(next) => Stage::Groups(Some(next)),
                        None => {
                            let (ids, contacts) = resolve_members(&self.users, &self.held);
                            self.member_ids = ids;
                            self.contacts = contacts;
                            Stage::Contacts
                        }
                    };
                }
                Stage::Contacts => {
                    if self.contacts.is_empty() {
                        self.stage = Stage::Lists;
                        continue;
                    }
                    let take = self.contacts.len().min(CONTACTS_PER_PAGE);
                    let changes: Vec<ObjectChange> = self.contacts.drain(..take).collect();
                    self.stage = Stage::Contacts;
                    return Ok(Some(ChangePage {
                        collection: Collection::Contacts,
                        changes,
                    }));
                }
                Stage::Lists => {
                    if self.held.is_empty() {
                        self.stage = Stage::Done;
                        continue;
                    }
                    let take = self.held.len().min(GROUPS_PER_PAGE);
                    let changes: Vec<ObjectChange> = self
                        .held
                        .drain(..take)
                        .zip(self.member_ids.drain(..take))
                        .map(|(held, m)| held.group.into_change(m.ids, m.everyone))
                        .collect();
                    self.stage = Stage::Lists;
                    return Ok(Some(ChangePage {
                        collection: Collection::Groups,
                        changes,
                    }));
                }
                Stage::Done => return Ok(None),
            }
        }
    }
}

#[async_trait]
impl ChangePager for GoogleChanges {
    async fn next_page(&mut self) -> Result<Option<ChangePage>, DirectoryError> {
        let result = self.step().await;
        if let Err(error) = &result {
            tracing::warn!(%error, detail = ?error.google(), "Google Workspace round failed");
            self.stage = Stage::Done;
        }
        result
    }

    fn resume_state(&self) -> Option<ResumeState> {
        None
    }
}

/// Reads the direct members of each group; a group deleted meanwhile (404) is left out. The
/// first page of every group comes through batch requests ([`GoogleConfig::member_batch`]
/// groups each, a few at a time); the groups with more pages go on with plain GETs, a few
/// groups at a time. With batching off, or a single group, each group is read with GETs alone.
///
/// [`GoogleConfig::member_batch`]: super::config::GoogleConfig::member_batch
pub(crate) async fn with_members(
    inner: &Inner,
    refresh: &RefreshToken,
    groups: Vec<GoogleGroup>,
) -> Result<Vec<HeldGroup>, DirectoryError> {
    let concurrency = inner.config.member_concurrency.max(1);
    if inner.config.member_batch < 2 || groups.len() < 2 {
        let read: Vec<Option<HeldGroup>> = stream::iter(groups)
            .map(|group| async move {
                Ok::<_, DirectoryError>(
                    members(inner, refresh, &group.id, None)
                        .await?
                        .map(|members| HeldGroup { group, members }),
                )
            })
            .buffered(concurrency)
            .try_collect()
            .await?;
        return Ok(read.into_iter().flatten().collect());
    }
    let urls: Vec<_> = groups
        .iter()
        .map(|g| inner.members_url(&g.id, None))
        .collect();
    let firsts = inner.get_json_batch::<MembersPage>(refresh, &urls).await?;
    let read: Vec<Option<HeldGroup>> = stream::iter(groups.into_iter().zip(firsts))
        .map(|(group, first)| async move {
            let Some(first) = present(&group.id, first)? else {
                return Ok(None);
            };
            Ok::<_, DirectoryError>(
                members_after(inner, refresh, &group.id, first, None)
                    .await?
                    .map(|members| HeldGroup { group, members }),
            )
        })
        .buffered(concurrency)
        .try_collect()
        .await?;
    Ok(read.into_iter().flatten().collect())
}

/// A page of a group's members, or `None` when the group is gone (404).
fn present(
    group_id: &str,
    page: Result<MembersPage, DirectoryError>,
) -> Result<Option<MembersPage>, DirectoryError> {
    match page {
        Ok(page) => Ok(Some(page)),
        Err(DirectoryError::GoogleApi(d)) if d.status == Some(404) => {
            tracing::info!(group = group_id, "group deleted while reading; left out");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// A group's direct members, page by page (at most `limit` pages); `None` if the group is gone.
pub(crate) async fn members(
    inner: &Inner,
    refresh: &RefreshToken,
    group_id: &str,
    limit: Option<usize>,
) -> Result<Option<Vec<GoogleMember>>, DirectoryError> {
    let url = inner.members_url(group_id, None);
    let Some(first) = present(group_id, inner.get_json(refresh, &url).await)? else {
        return Ok(None);
    };
    members_after(inner, refresh, group_id, first, limit).await
}

/// A group's members from its first page on, following `nextPageToken` (at most `limit`
/// pages in all); `None` if the group is gone.
async fn members_after(
    inner: &Inner,
    refresh: &RefreshToken,
    group_id: &str,
    first: MembersPage,
    limit: Option<usize>,
) -> Result<Option<Vec<GoogleMember>>, DirectoryError> {
    let mut members = first.members;
    let mut token = first.next_page_token;
    let mut pages = 1;
    loop {
        let next = match token.filter(|t| !t.is_empty()) {
            Some(next) if limit.is_none_or(|l| pages < l) => next,
            _ => return Ok(Some(members)),
        };
        let url = inner.members_url(group_id, Some(&next));
        let Some(page) = present(group_id, inner.get_json(refresh, &url).await)? else {
            return Ok(None);
        };
        members.extend(page.members);
        token = page.next_page_token;
        pages += 1;
    }
}

/// What a group's change says of its direct members.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct GroupMembers {
    /// The members' ids, each once, in order.
    pub ids: Vec<String>,
    /// It has a `CUSTOMER` member: everyone in the Workspace.
    pub everyone: bool,
}

/// Each held group's members (ids each once, in order, and whether everyone in the Workspace
/// is one), and the members that are neither a user nor a group of the Workspace but have an
/// address, as contacts (each once).
pub(crate) fn resolve_members(
    users: &HashSet<String>,
    held: &[HeldGroup],
) -> (Vec<GroupMembers>, Vec<ObjectChange>) {
    let groups: HashSet<&str> = held.iter().map(|h| h.group.id.as_str()).collect();
    let mut contacts: HashMap<String, ObjectChange> = HashMap::new();
    let mut contact_order: Vec<String> = Vec::new();
    let mut ids = Vec::with_capacity(held.len());
    for h in held {
        let mut seen = HashSet::new();
        let mut list = Vec::new();
        let mut everyone = false;
        for member in &h.members {
            let id = match member.reference() {
                MemberRef::Everyone => {
                    // Kept as its meaning, a property of the group: never a member id (its id
                    // is the customer id) nor one member per recipient.
                    everyone = true;
                    continue;
                }
                MemberRef::Object(id) => id,
                MemberRef::Unknown => match address_of(member) {
                    Some(address) => format!("email:{}", address.to_ascii_lowercase()),
                    None => continue,
                },
            };
            let known = users.contains(&id) || groups.contains(id.as_str());
            if !known {
                let Some(address) = address_of(member) else {
                    tracing::debug!(group = %h.group.id, member = %id, "member with no address outside the Workspace; left out");
                    continue;
                };
                if !contacts.contains_key(&id) {
                    contact_order.push(id.clone());
                    contacts.insert(id.clone(), contact(&id, address));
                }
            }
            if seen.insert(id.clone()) {
                list.push(id);
            }
        }
        ids.push(GroupMembers {
            ids: list,
            everyone,
        });
    }
    let contacts = contact_order
        .into_iter()
        .filter_map(|id| contacts.remove(&id))
        .collect();
    (ids, contacts)
}

fn address_of(member: &GoogleMember) -> Option<&str> {
    member
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
}

/// A member from outside the Workspace: a contact with its address (a list's member in any
/// domain, never an account itself).
fn contact(id: &str, address: &str) -> ObjectChange {
    ObjectChange::Present {
        external_id: id.to_owned(),
        kind: MirrorKind::Contact,
        patch: ObjectPatch {
            display_name: Some(None),
            mail: Some(Some(address.to_owned())),
            proxy_addresses: Some(vec![format!("SMTP:{address}")]),
            ..ObjectPatch::default()
        },
        members_added: Vec::new(),
        members_removed: Vec::new(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn member(id: Option<&str>, email: Option<&str>, kind: &str) -> GoogleMember {
        GoogleMember {
            id: id.map(String::from),
            email: email.map(String::from),
            kind: Some(kind.into()),
        }
    }

    fn group(id: &str, members: Vec<GoogleMember>) -> HeldGroup {
        HeldGroup {
            group: GoogleGroup {
                id: id.into(),
                email: Some(format!("{id}@example.com")),
                ..GoogleGroup::default()
            },
            members,
        }
    }

    #[test]
    fn members_become_ids_outsiders_contacts_and_everyone_a_flag_of_the_group() {
        let users: HashSet<String> = ["u1".to_string(), "u2".to_string()].into();
        let held = vec![
            group(
                "g1",
                vec![
                    member(Some("u1"), Some("ann@example.com"), "USER"),
                    member(Some("g2"), Some("g2@example.com"), "GROUP"),
                    member(Some("x9"), Some("Partner@Other.example"), "USER"),
                    member(Some("C03ly86ew"), None, "CUSTOMER"),
                    member(Some("u1"), Some("ann@example.com"), "USER"),
                    member(None, Some("nobody@other.example"), "USER"),
                    member(None, None, "USER"),
                    member(Some("x8"), None, "USER"),
                ],
            ),
            // A cycle: g2 contains g1. The engine stops at it; here it is one more member.
            group(
                "g2",
                vec![
                    member(Some("g1"), Some("g1@example.com"), "GROUP"),
                    member(Some("x9"), Some("partner@other.example"), "USER"),
                ],
            ),
        ];
        let (ids, contacts) = resolve_members(&users, &held);
        assert_eq!(
            ids[0].ids,
            ["u1", "g2", "x9", "email:nobody@other.example"],
            "the CUSTOMER member is no member id"
        );
        assert!(ids[0].everyone, "g1 has a CUSTOMER member");
        assert_eq!(ids[1].ids, ["g1", "x9"]);
        assert!(
            !ids[1].everyone,
            "g2 itself has none (the engine follows nesting)"
        );
        let contact_ids: Vec<&str> = contacts
            .iter()
            .map(|c| match c {
                ObjectChange::Present {
                    external_id, kind, ..
                } => {
                    assert_eq!(*kind, MirrorKind::Contact);
                    external_id.as_str()
                }
                ObjectChange::Removed { .. } => panic!(),
            })
            .collect();
        assert_eq!(contact_ids, ["x9", "email:nobody@other.example"]);
    }

    #[test]
    fn a_customer_member_is_recognized_by_its_type_alone() {
        let users: HashSet<String> = ["u1".to_string()].into();
        let held = vec![
            // Only everyone: no member ids, no contact for the customer id.
            group("all", vec![member(Some("C03ly86ew"), None, "CUSTOMER")]),
            // The type in another case, and an id missing: still everyone.
            group(
                "staff",
                vec![
                    member(Some("u1"), Some("ann@example.com"), "USER"),
                    member(None, None, "customer"),
                ],
            ),
            group(
                "plain",
                vec![member(Some("u1"), Some("ann@example.com"), "USER")],
            ),
        ];
        let (ids, contacts) = resolve_members(&users, &held);
        assert_eq!(
            ids,
            vec![
                GroupMembers {
                    ids: vec![],
                    everyone: true
                },
                GroupMembers {
                    ids: vec!["u1".into()],
                    everyone: true
                },
                GroupMembers {
                    ids: vec!["u1".into()],
                    everyone: false
                },
            ]
        );
        assert!(contacts.is_empty());
        // The group's change carries it.
        let change = held[0]
            .group
            .clone()
            .into_change(ids[0].ids.clone(), ids[0].everyone);
        let ObjectChange::Present {
            patch,
            members_added,
            ..
        } = change
        else {
            panic!()
        };
        assert_eq!(patch.includes_everyone, Some(true));
        assert!(members_added.is_empty());
    }
}
