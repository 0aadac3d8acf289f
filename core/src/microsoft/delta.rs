//! Change rounds through Graph's delta queries: `users/delta`, `groups/delta` (direct members
//! inline as `members@delta`) and `contacts/delta` (contacts can be list members), each paged
//! with `@odata.nextLink` until its `@odata.deltaLink`, which the next round resumes from.
//! A full round lists users and contacts plainly (see [`MicrosoftChanges`]).
//!
//! Graph sends an updated object with "at least the changed properties": a property missing
//! from the JSON is reported as not sent, one sent as `null` as cleared. A removed object
//! comes as `{"id": …, "@removed": {…}}`, a removed member likewise inside `members@delta`.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use futures_util::stream::{FuturesUnordered, StreamExt};
use serde::{Deserialize, Deserializer};

use super::graph::Inner;
use super::TenantId;
use crate::directory::{
    ChangePage, ChangePager, Collection, DirectoryError, MirrorKind, ObjectChange, ObjectPatch,
    ResumeState,
};

/// Users: exactly what normalization uses.
const USER_SELECT: &str =
    "id,displayName,mail,userPrincipalName,proxyAddresses,accountEnabled,userType";
/// Groups, with their direct members inline (delta only).
const GROUP_SELECT: &str =
    "id,displayName,mail,proxyAddresses,groupTypes,mailEnabled,securityEnabled,members";
/// Contacts (members of lists).
const CONTACT_SELECT: &str = "id,displayName,mail,proxyAddresses";
/// The largest page of a plain listing (a delta page holds what Graph chooses, ~100).
const LIST_PAGE: u32 = 999;

/// Where a round resumes, per collection: the `@odata.deltaLink`s of the last round.
#[derive(Debug, Clone, Default, serde::Serialize, Deserialize)]
struct Links {
    users: Option<String>,
    groups: Option<String>,
    contacts: Option<String>,
}

impl Links {
    fn slot(&mut self, collection: Collection) -> &mut Option<String> {
        match collection {
            Collection::Users => &mut self.users,
            Collection::Groups => &mut self.groups,
            Collection::Contacts => &mut self.contacts,
        }
    }
}

/// One step of a round.
#[derive(Debug, Clone)]
enum Step {
    /// `…/delta?$deltatoken=latest`: no objects, only a delta link from now on — taken before
    /// a plain listing, so changes made while it is read come again in the next round.
    Latest(Collection),
    /// A plain listing (`$top=999`), at this page.
    List(Collection, String),
    /// A delta query, at this page (a full round without a link, or the changes since it).
    Delta(Collection, String),
}

/// A change round over the three collections, read side by side: each collection is a chain
/// of requests (a page's next link is only known once it came), and the three chains each
/// have one request in flight, so the round costs its longest chain, not the sum.
///
/// A full round lists users and contacts with the largest pages Graph gives (999, against
/// ~100 for a delta page) after taking their delta links with `$deltatoken=latest`, and reads
/// groups through `groups/delta`, whose pages carry the direct members inline (no request per
/// group). A change round follows the three delta links.
pub struct MicrosoftChanges {
    inner: Arc<Inner>,
    tenant: TenantId,
    /// The steps left, per chain.
    chains: Vec<VecDeque<Step>>,
    /// Whether a chain's first step is being fetched.
    busy: Vec<bool>,
    in_flight: FuturesUnordered<Fetch>,
    /// The delta links of this round, as they come.
    done: Links,
}

/// A request in flight: its chain and its answer.
type Fetch = Pin<Box<dyn Future<Output = (usize, Result<DeltaPage, DirectoryError>)> + Send>>;

impl MicrosoftChanges {
    pub(crate) fn new(
        inner: Arc<Inner>,
        tenant: TenantId,
        resume: Option<&ResumeState>,
    ) -> MicrosoftChanges {
        let links: Option<Links> = resume.and_then(|r| serde_json::from_value(r.0.clone()).ok());
        let base = inner.graph_base.clone();
        let delta = |path: &str, select: &str| format!("{base}/v1.0/{path}/delta?$select={select}");
        let list = |path: &str, select: &str| {
            format!("{base}/v1.0/{path}?$select={select}&$top={LIST_PAGE}")
        };
        let chains = match links {
            Some(Links {
                users: Some(users),
                groups: Some(groups),
                contacts: Some(contacts),
            }) => vec![
                VecDeque::from([Step::Delta(Collection::Users, users)]),
                VecDeque::from([Step::Delta(Collection::Groups, groups)]),
                VecDeque::from([Step::Delta(Collection::Contacts, contacts)]),
            ],
            _ => vec![
                VecDeque::from([
                    Step::Latest(Collection::Users),
                    Step::List(Collection::Users, list("users", USER_SELECT)),
                ]),
                VecDeque::from([Step::Delta(
                    Collection::Groups,
                    delta("groups", GROUP_SELECT),
                )]),
                VecDeque::from([
                    Step::Latest(Collection::Contacts),
                    Step::List(Collection::Contacts, list("contacts", CONTACT_SELECT)),
                ]),
            ],
        };
        MicrosoftChanges {
            inner,
            tenant,
            busy: vec![false; chains.len()],
            chains,
            in_flight: FuturesUnordered::new(),
            done: Links::default(),
        }
    }

    fn latest_url(&self, collection: Collection) -> String {
        let (path, select) = match collection {
            Collection::Users => ("users", USER_SELECT),
            Collection::Groups => ("groups", GROUP_SELECT),
            Collection::Contacts => ("contacts", CONTACT_SELECT),
        };
        format!(
            "{}/v1.0/{path}/delta?$select={select}&$deltatoken=latest",
            self.inner.graph_base
        )
    }

    /// Sends the next request of every chain that has none in flight.
    fn start_fetches(&mut self) {
        for (i, steps) in self.chains.iter().enumerate() {
            let Some(step) = steps.front() else {
                continue;
            };
            if self.busy[i] {
                continue;
            }
            let url = match step {
                Step::Latest(collection) => self.latest_url(*collection),
                Step::List(_, url) | Step::Delta(_, url) => url.clone(),
            };
            let (inner, tenant) = (self.inner.clone(), self.tenant.clone());
            self.in_flight.push(Box::pin(async move {
                (i, inner.get_json::<DeltaPage>(&tenant, &url).await)
            }));
            self.busy[i] = true;
        }
    }
}

impl std::fmt::Debug for MicrosoftChanges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MicrosoftChanges")
            .field("tenant", &self.tenant)
            .field("in_flight", &self.in_flight.len())
            .finish_non_exhaustive()
    }
}

fn kind_of(collection: Collection) -> MirrorKind {
    match collection {
        Collection::Users => MirrorKind::User,
        Collection::Groups => MirrorKind::Group,
        Collection::Contacts => MirrorKind::Contact,
    }
}

#[async_trait]
impl ChangePager for MicrosoftChanges {
    /// The next page of whichever chain answers first. After an error, the failed request is
    /// the one sent again by the next call.
    async fn next_page(&mut self) -> Result<Option<ChangePage>, DirectoryError> {
        loop {
            self.start_fetches();
            let Some((i, answer)) = self.in_flight.next().await else {
                return Ok(None);
            };
            self.busy[i] = false;
            let page = answer?;
            let Some(step) = self.chains[i].pop_front() else {
                continue;
            };
            match step {
                Step::Latest(collection) => {
                    let link = page
                        .delta_link
                        .ok_or_else(|| DirectoryError::InvalidResponse {
                            reason: "Graph gave no delta link for $deltatoken=latest.".into(),
                        })?;
                    *self.done.slot(collection) = Some(link);
                }
                Step::List(collection, _) | Step::Delta(collection, _) => {
                    let delta = matches!(step, Step::Delta(..));
                    let kind = kind_of(collection);
                    let changes = page
                        .value
                        .into_iter()
                        .map(|i| i.into_change(kind))
                        .collect();
                    match (page.next_link, page.delta_link) {
                        (Some(next), _) => {
                            let again = if delta {
                                Step::Delta(collection, next)
                            } else {
                                Step::List(collection, next)
                            };
                            self.chains[i].push_front(again);
                        }
                        (None, Some(link)) if delta => *self.done.slot(collection) = Some(link),
                        (None, None) if !delta => {}
                        (None, _) => {
                            return Err(DirectoryError::InvalidResponse {
                                reason: "the last page of a Graph delta query had no delta link."
                                    .into(),
                            })
                        }
                    }
                    return Ok(Some(ChangePage {
                        collection,
                        changes,
                    }));
                }
            }
        }
    }

    fn resume_state(&self) -> Option<ResumeState> {
        let Links {
            users: Some(_),
            groups: Some(_),
            contacts: Some(_),
        } = &self.done
        else {
            return None;
        };
        serde_json::to_value(&self.done).ok().map(ResumeState)
    }
}

#[derive(Debug, Deserialize)]
struct DeltaPage {
    #[serde(default)]
    value: Vec<DeltaItem>,
    #[serde(rename = "@odata.nextLink", default)]
    next_link: Option<String>,
    #[serde(rename = "@odata.deltaLink", default)]
    delta_link: Option<String>,
}

/// `Some(value)` when the property was sent (even as `null`), `None` when it was not.
fn sent<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// An object of a delta page, users', groups' and contacts' properties together.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeltaItem {
    id: String,
    #[serde(rename = "@removed", default)]
    removed: Option<serde::de::IgnoredAny>,
    #[serde(default, deserialize_with = "sent")]
    display_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "sent")]
    mail: Option<Option<String>>,
    #[serde(default, deserialize_with = "sent")]
    proxy_addresses: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "sent")]
    user_principal_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "sent")]
    user_type: Option<Option<String>>,
    #[serde(default, deserialize_with = "sent")]
    account_enabled: Option<Option<bool>>,
    #[serde(default, deserialize_with = "sent")]
    mail_enabled: Option<Option<bool>>,
    #[serde(default, deserialize_with = "sent")]
    security_enabled: Option<Option<bool>>,
    #[serde(default, deserialize_with = "sent")]
    group_types: Option<Option<Vec<String>>>,
    #[serde(rename = "members@delta", default)]
    members: Vec<DeltaMember>,
}

#[derive(Debug, Deserialize)]
struct DeltaMember {
    id: String,
    #[serde(rename = "@removed", default)]
    removed: Option<serde::de::IgnoredAny>,
}

impl DeltaItem {
    fn into_change(self, kind: MirrorKind) -> ObjectChange {
        if self.removed.is_some() {
            return ObjectChange::Removed {
                external_id: self.id,
            };
        }
        // A guest by its type; without one, by a guest's UPN (`…#EXT#@…`).
        let guest = match (&self.user_type, &self.user_principal_name) {
            (Some(t), _) => Some(
                t.as_deref()
                    .is_some_and(|t| t.eq_ignore_ascii_case("Guest")),
            ),
            (None, Some(upn)) => Some(upn.as_deref().is_some_and(|u| u.contains("#EXT#"))),
            (None, None) => None,
        };
        let patch = ObjectPatch {
            display_name: self.display_name,
            mail: self.mail,
            proxy_addresses: self.proxy_addresses.map(Option::unwrap_or_default),
            account_enabled: self.account_enabled.map(|v| v.unwrap_or(true)),
            guest: guest.filter(|_| kind == MirrorKind::User),
            mail_enabled: self.mail_enabled.map(Option::unwrap_or_default),
            security_enabled: self.security_enabled.map(Option::unwrap_or_default),
            unified: self.group_types.map(|types| {
                types
                    .unwrap_or_default()
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case("Unified"))
            }),
            // Graph has no "everyone in the organization" member.
            includes_everyone: None,
            // Nor archived users (Google Workspace's).
            archived: None,
        };
        let (removed, added): (Vec<DeltaMember>, Vec<DeltaMember>) =
            self.members.into_iter().partition(|m| m.removed.is_some());
        ObjectChange::Present {
            external_id: self.id,
            kind,
            patch,
            members_added: added.into_iter().map(|m| m.id).collect(),
            members_removed: removed.into_iter().map(|m| m.id).collect(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn delta_items_tell_sent_from_not_sent() {
        let page: DeltaPage = serde_json::from_str(
            r##"{"value":[
                {"id":"u1","displayName":"Ann","mail":null,"proxyAddresses":["SMTP:ann@contoso.com"],"userType":"Member","accountEnabled":true},
                {"id":"u2","displayName":"Bob"},
                {"id":"u3","@removed":{"reason":"deleted"}},
                {"id":"g1","mailEnabled":true,"groupTypes":["Unified"],
                 "members@delta":[{"@odata.type":"#microsoft.graph.user","id":"u1"},
                                  {"@odata.type":"#microsoft.graph.user","id":"u3","@removed":{"reason":"deleted"}}]}
            ],"@odata.deltaLink":"https://graph.microsoft.com/v1.0/users/delta?$deltatoken=x"}"##,
        )
        .unwrap();
        let mut changes: Vec<ObjectChange> = page
            .value
            .into_iter()
            .map(|i| i.into_change(MirrorKind::User))
            .collect();
        let ObjectChange::Present { patch, .. } = &changes[0] else {
            panic!("u1 is present")
        };
        assert_eq!(patch.mail, Some(None));
        assert_eq!(patch.guest, Some(false));
        let ObjectChange::Present { patch, .. } = &changes[1] else {
            panic!("u2 is present")
        };
        assert_eq!(patch.mail, None, "not sent");
        assert_eq!(patch.proxy_addresses, None);
        assert_eq!(patch.guest, None);
        assert_eq!(
            changes[2],
            ObjectChange::Removed {
                external_id: "u3".into()
            }
        );
        let ObjectChange::Present {
            patch,
            members_added,
            members_removed,
            ..
        } = changes.remove(3)
        else {
            panic!("g1 is present")
        };
        assert_eq!(patch.unified, Some(true));
        assert_eq!(patch.mail_enabled, Some(true));
        assert_eq!(members_added, vec!["u1"]);
        assert_eq!(members_removed, vec!["u3"]);
    }
}
