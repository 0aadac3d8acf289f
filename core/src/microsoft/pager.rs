//! A full read of a tenant, one Graph page at a time: users, then mail-enabled groups (each
//! with its transitive members); and the connection test.

use std::sync::Arc;

use async_trait::async_trait;
use futures_util::stream::{self, StreamExt, TryStreamExt};

use super::graph::Inner;
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
/// first accounts (users first) exactly as they would be stored, members included.
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
    let objects = users
        .value
        .into_iter()
        .map(GraphUser::into_object)
        .chain(groups.value.into_iter().map(GraphGroup::into_object));
    let mut sample = Vec::new();
    let mut accounts_found = 0;
    for mut object in objects {
        let Some(mut account) = normalize(&object, rules) else {
            continue;
        };
        accounts_found += 1;
        if sample.len() >= CONNECTION_TEST_SAMPLE {
            continue;
        }
        if account.kind == AccountKind::DistributionList {
            let Some(members) = members(inner, tenant, &object.external_id).await? else {
                accounts_found -= 1;
                continue;
            };
            object.members = members;
            match normalize(&object, rules) {
                Some(with_members) => account = with_members,
                None => continue,
            }
        }
        sample.push(account);
    }
    Ok(ConnectionTest {
        sample,
        users_read,
        groups_read,
        accounts_found,
        more_pages,
    })
}
