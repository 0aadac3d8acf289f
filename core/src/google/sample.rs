//! Test Connection: check that the Workspace owns the domain, read the first page of users and
//! of groups, and show the first accounts as Roster would store them — the lists with their
//! direct members' addresses (first page of members; nested groups are expanded by a run, not
//! here).

use super::api::{Inner, USERS_PAGE, USER_FIELDS};
use super::config::RefreshToken;
use super::domains::workspace_domains;
use super::model::{GroupsPage, MemberRef, UsersPage};
use super::round::members;
use crate::directory::{
    normalize, ConnectionTest, DirectoryAccount, DirectoryError, DirectoryMember, DomainRules,
    MemberKind, MirrorObject, ObjectChange, CONNECTION_TEST_SAMPLE,
};
use crate::EmailAddress;

pub(crate) async fn test_connection(
    inner: &Inner,
    refresh: &RefreshToken,
    rules: &DomainRules,
    skip_suspended: bool,
) -> Result<ConnectionTest, DirectoryError> {
    let result = test(inner, refresh, rules, skip_suspended).await;
    if let Err(error) = &result {
        tracing::info!(%error, detail = ?error.google(), "Google Test Connection failed");
    }
    result
}

/// The mirror object a change describes.
fn mirrored(change: &ObjectChange) -> Option<MirrorObject> {
    let ObjectChange::Present {
        external_id,
        kind,
        patch,
        ..
    } = change
    else {
        return None;
    };
    let mut object = MirrorObject::new(external_id.clone(), *kind);
    object.apply(patch);
    Some(object)
}

async fn test(
    inner: &Inner,
    refresh: &RefreshToken,
    rules: &DomainRules,
    skip_suspended: bool,
) -> Result<ConnectionTest, DirectoryError> {
    workspace_domains(inner, refresh)
        .await?
        .check_owns(&rules.domain)?;
    let users: UsersPage = inner
        .get_json(refresh, &inner.users_url(None, USERS_PAGE, USER_FIELDS))
        .await?;
    let groups: GroupsPage = inner.get_json(refresh, &inner.groups_url(None)).await?;
    let more_pages = users.next_page_token.is_some() || groups.next_page_token.is_some();
    let users_read = users.users.len();
    let groups_read = groups.groups.len();

    let mut accounts: Vec<DirectoryAccount> = users
        .users
        .into_iter()
        .filter(|u| !(skip_suspended && u.suspended))
        .filter_map(|u| mirrored(&u.into_change()))
        .filter_map(|o| normalize(&o.to_object(Vec::new()), rules))
        .collect();
    let users_found = accounts.len();
    let mut lists = Vec::new();
    for group in groups.groups {
        if let Some(o) = mirrored(&group.clone().into_change(Vec::new(), false)) {
            if normalize(&o.to_object(Vec::new()), rules).is_some() {
                lists.push((group.id.clone(), o));
            }
        }
    }
    let accounts_found = users_found + lists.len();
    // Only the lists that make it into the sample have their members read.
    let room = CONNECTION_TEST_SAMPLE.saturating_sub(users_found);
    for (id, object) in lists.into_iter().take(room) {
        let Some(found) = members(inner, refresh, &id, Some(1)).await? else {
            continue;
        };
        let direct: Vec<DirectoryMember> = found
            .iter()
            .filter(|m| !matches!(m.reference(), MemberRef::Everyone))
            .filter(|m| {
                !m.kind
                    .as_deref()
                    .is_some_and(|k| k.eq_ignore_ascii_case("GROUP"))
            })
            .filter_map(|m| {
                let address = EmailAddress::parse(m.email.as_deref()?.trim()).ok()?;
                Some(DirectoryMember {
                    external_id: m.id.clone().unwrap_or_default(),
                    kind: MemberKind::User,
                    address: Some(address),
                })
            })
            .collect();
        let mut object = object;
        // A CUSTOMER member on the first page: the sample shows the list as the sync would.
        object.includes_everyone = found
            .iter()
            .any(|m| matches!(m.reference(), MemberRef::Everyone));
        if let Some(account) = normalize(&object.to_object(direct), rules) {
            accounts.push(account);
        }
    }
    accounts.truncate(CONNECTION_TEST_SAMPLE);
    Ok(ConnectionTest {
        sample: accounts,
        users_read,
        groups_read,
        accounts_found,
        more_pages,
    })
}
