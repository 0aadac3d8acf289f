//! A distribution list's page: the list and its members (synced lists get them from the
//! directory, nested lists flattened), a page at a time.

use crate::error::AppError;
use crate::model::{AccountKind, AccountSource, Paged};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const MEMBERS_PER_PAGE: u32 = 100;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListPage {
    pub address: String,
    pub display_name: Option<String>,
    pub kind: AccountKind,
    pub source: AccountSource,
    /// `false` when the directory disabled the account (it still receives mail).
    pub enabled: bool,
    /// A list whose members include everyone in the organization (Google Workspace's
    /// `CUSTOMER` member), besides its member rows.
    pub includes_everyone: bool,
    /// A user Google Workspace archived (Google still accepts its mail).
    pub archived: bool,
    pub aliases: Vec<String>,
    pub members: Paged<String>,
}

#[server(endpoint = "get_list_members")]
pub async fn get_list_members(
    domain_id: Uuid,
    account_id: Uuid,
    page: u32,
) -> Result<ListPage, AppError> {
    use crate::ssr::{auth::require_admin, respond::respond, OrInternal};
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        let pool = req.state.pool.clone();
        let org = admin.organization_id;
        let row = sqlx::query!(
            r#"select a.address, a.display_name, a.kind, a.source, a.enabled, a.includes_everyone, a.archived,
                      coalesce(array(select ad.address from addresses ad
                                     where ad.organization_id = a.organization_id
                                       and ad.account_id = a.id and not ad.is_primary
                                     order by ad.address), '{}') as "aliases!",
                      (select count(*) from list_members m
                       where m.organization_id = a.organization_id and m.account_id = a.id) as "members!"
               from accounts a where a.organization_id = $1 and a.domain_id = $2 and a.id = $3"#,
            org,
            domain_id,
            account_id
        )
        .fetch_optional(&pool)
        .await
        .or_internal("loading a list")?
        .ok_or(AppError::NotFound)?;
        let page = page.max(1);
        let members = sqlx::query_scalar!(
            r#"select member from list_members where organization_id = $1 and account_id = $2
               order by member limit $3 offset $4"#,
            org,
            account_id,
            i64::from(MEMBERS_PER_PAGE),
            i64::from(page - 1) * i64::from(MEMBERS_PER_PAGE)
        )
        .fetch_all(&pool)
        .await
        .or_internal("listing a list's members")?;
        Ok(ListPage {
            address: row.address,
            display_name: row.display_name,
            kind: AccountKind::parse(&row.kind).or_internal("reading an account")?,
            source: AccountSource::parse(&row.source).or_internal("reading an account")?,
            enabled: row.enabled,
            includes_everyone: row.includes_everyone,
            archived: row.archived,
            aliases: row.aliases,
            members: Paged {
                rows: members,
                page,
                per_page: MEMBERS_PER_PAGE,
                total: row.members,
            },
        })
    })
    .await
}
