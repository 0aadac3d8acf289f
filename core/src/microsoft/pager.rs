//! A full read of a tenant, one Graph page at a time: users, then mail-enabled groups (each
//! with its transitive members); and the connection test (its lists' members in one `$batch`).

use std::sync::Arc;

use async_trait::async_trait;
use futures_util::stream::{self, StreamExt, TryStreamExt};

use super::batch;
use super::graph::{members_path, Inner};
use super::model::{GraphGroup, GraphMember, GraphPage, GraphUser};
use super::TenantId;
use crate::directory::{
    normalize, AccountKind, ConnectionTest, DirectoryError, DirectoryMember, DirectoryObject,
    DirectoryPage, DirectoryPager, DomainRules, CONNECTION_TEST_SAMPLE,
};

/// Where a read stands: the URL of the next page (verbatim from `@odata.nextLink`).
#[derive(Debug, Clone)]
enum Stage {
    Users(String),
    Groups(String),
    Done,
}

/// The pages of one full read of a tenant. After an error the same page is asked for again by
/// the next call, so a caller may retry; a page is never skipped.
pub struct MicrosoftPager {
    inner: Arc<Inner>,
    tenant: TenantId,
    stage: Stage,
}

impl std::fmt::Debug for MicrosoftPager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MicrosoftPager")
            .field("tenant", &self.tenant)
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}

impl MicrosoftPager {
    pub(crate) fn new(inner: Arc<Inner>, tenant: TenantId) -> MicrosoftPager {
        let stage = Stage::Users(inner.users_url());
        MicrosoftPager {
            inner,
            tenant,
            stage,
        }
    }

    /// The next page: users pages first, then groups pages with members; `None` at the end.
    pub async fn next_page(&mut self) -> Result<Option<DirectoryPage>, DirectoryError> {
        match self.stage.clone() {
            Stage::Users(url) => {
                let page: GraphPage<GraphUser> = self.inner.get_json(&self.tenant, &url).await?;
                self.stage = match page.next_link {
                    Some(next) => Stage::Users(next),
                    None => Stage::Groups(self.inner.groups_url()),
                };
                let objects = page.value.into_iter().map(GraphUser::into_object).collect();
                Ok(Some(DirectoryPage { objects }))
            }
            Stage::Groups(url) => {
                let page: GraphPage<GraphGroup> = self.inner.get_json(&self.tenant, &url).await?;
                let objects = with_members(
                    &self.inner,
                    &self.tenant,
                    page.value
                        .into_iter()
                        .map(GraphGroup::into_object)
                        .collect(),
                )
                .await?;
                self.stage = match page.next_link {
                    Some(next) => Stage::Groups(next),
                    None => Stage::Done,
                };
                Ok(Some(DirectoryPage { objects }))
            }
            Stage::Done => Ok(None),
        }
    }
}

#[async_trait]
impl DirectoryPager for MicrosoftPager {
    async fn next_page(&mut self) -> Result<Option<DirectoryPage>, DirectoryError> {
        MicrosoftPager::next_page(self).await
    }
}

/// Whether an object has any address at all (no address, no account in any domain).
fn has_address(object: &DirectoryObject) -> bool {
    object.mail.is_some()
        || object
            .proxy_addresses
            .iter()
            .any(|p| crate::directory::ProxyAddress::parse(p).is_some())
}

/// Reads the members of the mail-enabled groups with an address, a few groups at a time.
/// Groups deleted meanwhile (404) are left out.
async fn with_members(
    inner: &Inner,
    tenant: &TenantId,
    groups: Vec<DirectoryObject>,
) -> Result<Vec<DirectoryObject>, DirectoryError> {
    let concurrency = inner.config.member_concurrency.max(1);
    let read: Vec<Option<DirectoryObject>> = stream::iter(groups)
        .map(|mut group| async move {
            let wanted = matches!(
                group.kind,
                crate::directory::ObjectKind::Group {
                    mail_enabled: true,
                    ..
                }
            ) && has_address(&group);
            if !wanted {
                return Ok(Some(group));
            }
            Ok(members(inner, tenant, &group.external_id)
                .await?
                .map(|members| {
                    group.members = members;
                    group
                }))
        })
        .buffered(concurrency)
        .try_collect()
        .await?;
    Ok(read.into_iter().flatten().collect())
}

/// All transitive members of a group, page by page; `None` if the group is gone.
async fn members(
    inner: &Inner,
    tenant: &TenantId,
    group_id: &str,
) -> Result<Option<Vec<DirectoryMember>>, DirectoryError> {
    let mut url = inner.members_url(group_id);
    let mut members = Vec::new();
    loop {
        let page: GraphPage<GraphMember> = match inner.get_json(tenant, &url).await {
            Ok(page) => page,
            Err(DirectoryError::Graph(d)) if d.status == Some(404) => {
                tracing::info!(tenant = %tenant, group = group_id, "group deleted while reading; left out");
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        members.extend(page.value.into_iter().map(GraphMember::into_member));
        match page.next_link {
            Some(next) => url = next,
            None => return Ok(Some(members)),
        }
    }
}

/// Gets a token, reads the first page of users and of mail-enabled groups, and returns the
/// first accounts (users first) exactly as they would be stored, members included. The
/// members of the lists in the sample are read in one `$batch` (≤ 10 lists, ≤ 20 per batch);
/// a list deleted meanwhile (404) is left out and the next account takes its place.
pub(crate) async fn test_connection(
    inner: &Inner,
    tenant: &TenantId,
    rules: &DomainRules,
) -> Result<ConnectionTest, DirectoryError> {
    let users: GraphPage<GraphUser> = inner.get_json(tenant, &inner.users_url()).await?;
    let groups: GraphPage<GraphGroup> = inner.get_json(tenant, &inner.groups_url()).await?;
    let users_read = users.value.len();
    let groups_read = groups.value.len();
    let more_pages = users.next_link.is_some() || groups.next_link.is_some();
    let mut found: Vec<Found> = users
        .value
        .into_iter()
        .map(GraphUser::into_object)
        .chain(groups.value.into_iter().map(GraphGroup::into_object))
        .filter_map(|object| {
            let account = normalize(&object, rules)?;
            let members_known = account.kind != AccountKind::DistributionList;
            Some(Found {
                object,
                account,
                members_known,
                gone: false,
            })
        })
        .collect();
    // Until the first accounts still present all have their members: read the members of the
    // lists among them (once more only if a list was gone and another one moved up).
    loop {
        let unread: Vec<usize> = sample_of(&found)
            .filter(|&i| !found[i].members_known)
            .collect();
        if unread.is_empty() {
            break;
        }
        for (i, members) in unread
            .iter()
            .zip(lists_members(inner, tenant, &found, &unread).await?)
        {
            let entry = &mut found[*i];
            match members {
                Some(members) => {
                    entry.object.members = members;
                    // Members change no address or kind: the account is still there.
                    if let Some(account) = normalize(&entry.object, rules) {
                        entry.account = account;
                    }
                    entry.members_known = true;
                }
                None => entry.gone = true,
            }
        }
    }
    let sample = sample_of(&found)
        .map(|i| found[i].account.clone())
        .collect();
    let accounts_found = found.iter().filter(|f| !f.gone).count();
    Ok(ConnectionTest {
        sample,
        users_read,
        groups_read,
        accounts_found,
        more_pages,
    })
}

/// An object of the connection test's first pages that is an account of the domain.
struct Found {
    object: DirectoryObject,
    account: crate::directory::DirectoryAccount,
    /// A mailbox, or a list whose members have been read.
    members_known: bool,
    /// A list deleted since the groups page was read.
    gone: bool,
}

/// The indexes of the first accounts still present: the sample.
fn sample_of(found: &[Found]) -> impl Iterator<Item = usize> + '_ {
    (0..found.len())
        .filter(|&i| !found[i].gone)
        .take(CONNECTION_TEST_SAMPLE)
}

/// The transitive members of some lists of `found` (by index), their first pages in `$batch`
/// requests and any further page by its nextLink; `None` for a list that is gone (404). Any
/// other failure of a list fails the test, with the same errors as a single read.
async fn lists_members(
    inner: &Inner,
    tenant: &TenantId,
    found: &[Found],
    lists: &[usize],
) -> Result<Vec<Option<Vec<DirectoryMember>>>, DirectoryError> {
    let urls: Vec<String> = lists
        .iter()
        .map(|&i| members_path(&found[i].object.external_id))
        .collect();
    let pages = batch::get_all::<GraphPage<GraphMember>>(inner, tenant, &urls).await?;
    let mut read = Vec::with_capacity(lists.len());
    for (&i, page) in lists.iter().zip(pages) {
        let group_id = &found[i].object.external_id;
        let mut page = match page {
            Ok(page) => page,
            Err(DirectoryError::Graph(d)) if d.status == Some(404) => {
                tracing::info!(tenant = %tenant, group = %group_id, "group deleted while reading; left out");
                read.push(None);
                continue;
            }
            Err(e) => return Err(e),
        };
        let mut members = Vec::new();
        let mut gone = false;
        loop {
            members.extend(page.value.into_iter().map(GraphMember::into_member));
            let Some(next) = page.next_link else { break };
            page = match inner.get_json(tenant, &next).await {
                Ok(page) => page,
                Err(DirectoryError::Graph(d)) if d.status == Some(404) => {
                    gone = true;
                    break;
                }
                Err(e) => return Err(e),
            };
        }
        if gone {
            tracing::info!(tenant = %tenant, group = %group_id, "group deleted while reading; left out");
        }
        read.push((!gone).then_some(members));
    }
    Ok(read)
}
