//! A domain's email accounts: the paginated list, and the manual accounts an admin edits.
//! Synced accounts belong to their directory and are read-only here.

use crate::error::AppError;
use crate::model::{AccountRow, AccountsPage};
use leptos::prelude::*;
use uuid::Uuid;

/// Accounts on one page of the list.
pub const PAGE_SIZE: i64 = 50;

#[cfg(feature = "ssr")]
mod ssr {
    use crate::error::AppError;
    use crate::ssr::OrInternal;
    use roster_core::{AccountSource, DomainName, EmailAddress, LocalPart};
    use sqlx::PgPool;
    use uuid::Uuid;

    /// An address in `domain`, typed either as a local part or as a whole address.
    pub fn address_in_domain(
        input: &str,
        domain: &DomainName,
        field: &str,
    ) -> Result<EmailAddress, AppError> {
        let input = input.trim();
        if input.contains('@') {
            let address = EmailAddress::parse(input).map_err(|e| AppError::invalid(field, e))?;
            if address.domain() != domain.as_str() {
                return Err(AppError::invalid(
                    field,
                    format!(
                        "{} is not in {}; aliases must be in the account's own domain.",
                        address.to_unicode(),
                        domain.to_unicode()
                    ),
                ));
            }
            Ok(address)
        } else {
            let local = LocalPart::parse(input).map_err(|e| AppError::invalid(field, e))?;
            EmailAddress::from_parts(&local, domain).map_err(|e| AppError::invalid(field, e))
        }
    }

    /// Refuses addresses already used anywhere in the service, naming them.
    pub async fn ensure_unused(
        pool: &PgPool,
        addresses: &[String],
        field: &str,
    ) -> Result<(), AppError> {
        let taken = sqlx::query_scalar!(
            "select address from addresses where address = any($1) order by address",
            addresses
        )
        .fetch_all(pool)
        .await
        .or_internal("checking whether addresses are in use")?;
        if taken.is_empty() {
            Ok(())
        } else {
            Err(AppError::invalid(
                field,
                format!(
                    "Already in use by an account or alias: {}. Each address can belong to only one recipient.",
                    taken.join(", ")
                ),
            ))
        }
    }

    pub const ADDRESS_TAKEN: &[(&str, &str, &str)] = &[
        (
            "addresses_pkey",
            "address",
            "This address is already in use by an account or alias.",
        ),
        (
            "accounts_address_key",
            "address",
            "This address is already in use by an account or alias.",
        ),
    ];

    /// A manual account of the domain, or why it can't be edited.
    pub async fn editable_account(
        pool: &PgPool,
        organization_id: Uuid,
        domain_id: Uuid,
        account_id: Uuid,
    ) -> Result<String, AppError> {
        let row = sqlx::query!(
            "select address, source from accounts where organization_id = $1 and domain_id = $2 and id = $3",
            organization_id,
            domain_id,
            account_id
        )
        .fetch_optional(pool)
        .await
        .or_internal("loading an account")?
        .ok_or(AppError::NotFound)?;
        if AccountSource::parse(&row.source).or_internal("reading an account")?
            != AccountSource::Manual
        {
            return Err(AppError::invalid(
                "",
                "This account is kept in step with your directory and can't be changed here; change it in the directory and it will follow at the next sync.",
            ));
        }
        Ok(row.address)
    }

    pub fn domain_name(ascii: &str) -> Result<DomainName, AppError> {
        DomainName::parse(ascii).or_internal("reading a stored domain name")
    }
}

#[server(endpoint = "list_accounts")]
pub async fn list_accounts(
    domain_id: Uuid,
    #[server(default)] search: String,
    #[server(default)] after: Option<String>,
    #[server(default)] before: Option<String>,
) -> Result<AccountsPage, AppError> {
    use crate::api::domains::ssr::load_domain;
    use crate::api::mail_servers::like_escape;
    use crate::model::{AccountKind, AccountSource};
    use crate::ssr::{auth::require_admin, respond::respond, OrInternal};
    use std::collections::HashMap;
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        let pool = req.state.pool.clone();
        load_domain(&pool, admin.organization_id, domain_id).await?;
        let org = admin.organization_id;
        let search = search.trim().to_lowercase();
        let pattern = format!("%{}%", like_escape(&search));
        let backwards = before.is_some() && after.is_none();

        // Keyset pagination by address: each page is one index range scan, at any depth.
        let mut rows = if backwards {
            sqlx::query!(
                r#"select a.id, a.address, a.kind, a.source, a.enabled, a.includes_everyone, a.archived, a.updated_at
                   from accounts a
                   where a.organization_id = $1 and a.domain_id = $2
                     and ($3 = '' or a.id in (
                         select x.account_id from addresses x
                         where x.organization_id = $1 and x.address like $4))
                     and a.address < $5
                   order by a.address desc
                   limit $6"#,
                org,
                domain_id,
                search,
                pattern,
                before.clone().unwrap_or_default(),
                PAGE_SIZE + 1
            )
            .fetch_all(&pool)
            .await
            .or_internal("listing accounts")?
            .into_iter()
            .map(|r| (r.id, r.address, r.kind, r.source, r.enabled, r.includes_everyone, r.archived, r.updated_at))
            .collect::<Vec<_>>()
        } else {
            sqlx::query!(
                r#"select a.id, a.address, a.kind, a.source, a.enabled, a.includes_everyone, a.archived, a.updated_at
                   from accounts a
                   where a.organization_id = $1 and a.domain_id = $2
                     and ($3 = '' or a.id in (
                         select x.account_id from addresses x
                         where x.organization_id = $1 and x.address like $4))
                     and ($5::text is null or a.address > $5)
                   order by a.address
                   limit $6"#,
                org,
                domain_id,
                search,
                pattern,
                after.clone(),
                PAGE_SIZE + 1
            )
            .fetch_all(&pool)
            .await
            .or_internal("listing accounts")?
            .into_iter()
            .map(|r| (r.id, r.address, r.kind, r.source, r.enabled, r.includes_everyone, r.archived, r.updated_at))
            .collect::<Vec<_>>()
        };
        let more = rows.len() as i64 > PAGE_SIZE;
        rows.truncate(PAGE_SIZE as usize);
        if backwards {
            rows.reverse();
        }

        let total = sqlx::query_scalar!(
            r#"select count(*) as "count!" from accounts a
               where a.organization_id = $1 and a.domain_id = $2
                 and ($3 = '' or a.id in (
                     select x.account_id from addresses x
                     where x.organization_id = $1 and x.address like $4))"#,
            org,
            domain_id,
            search,
            pattern
        )
        .fetch_one(&pool)
        .await
        .or_internal("counting accounts")?;

        let ids: Vec<Uuid> = rows.iter().map(|r| r.0).collect();
        let mut aliases: HashMap<Uuid, Vec<String>> = HashMap::new();
        for alias in sqlx::query!(
            r#"select account_id, address from addresses
               where organization_id = $1 and account_id = any($2) and not is_primary
               order by address"#,
            org,
            &ids
        )
        .fetch_all(&pool)
        .await
        .or_internal("listing aliases")?
        {
            aliases
                .entry(alias.account_id)
                .or_default()
                .push(alias.address);
        }

        let (next_after, prev_before) = match (backwards, rows.first(), rows.last()) {
            (_, None, _) | (_, _, None) => (None, None),
            (false, Some(first), Some(last)) => (
                more.then(|| last.1.clone()),
                after.is_some().then(|| first.1.clone()),
            ),
            (true, Some(first), Some(last)) => {
                (Some(last.1.clone()), more.then(|| first.1.clone()))
            }
        };
        let rows = rows
            .into_iter()
            .map(|(id, address, kind, source, enabled, includes_everyone, archived, updated_at)| {
                Ok(AccountRow {
                    aliases: aliases.remove(&id).unwrap_or_default(),
                    id,
                    address,
                    kind: AccountKind::parse(&kind).or_internal("reading an account")?,
                    source: AccountSource::parse(&source).or_internal("reading an account")?,
                    enabled,
                    includes_everyone,
                    archived,
                    updated_at,
                })
            })
            .collect::<Result<Vec<_>, AppError>>()?;
        Ok(AccountsPage {
            rows,
            total,
            next_after,
            prev_before,
        })
    })
    .await
}

/// Adds a manual account: a local part in this domain, its kind, and optional aliases (one
/// per line or comma separated, as local parts or whole addresses in this domain).
#[server(endpoint = "add_account")]
pub async fn add_account(
    domain_id: Uuid,
    local_part: String,
    kind: String,
    #[server(default)] aliases: String,
) -> Result<AccountRow, AppError> {
    use crate::api::domains::ssr::load_domain;
    use crate::model::{AccountKind, AccountSource};
    use crate::ssr::{auth::require_admin, db::map_db_error, respond::respond, OrInternal};
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        let pool = req.state.pool.clone();
        let domain = load_domain(&pool, admin.organization_id, domain_id).await?;
        let domain_name = ssr::domain_name(&domain.ascii_name)?;
        let address = ssr::address_in_domain(&local_part, &domain_name, "local_part")?;
        let kind = AccountKind::parse(&kind)
            .map_err(|_| AppError::invalid("kind", "Choose Mailbox or Distribution list."))?;
        let mut alias_list: Vec<String> = Vec::new();
        for entry in aliases.split(['\n', ',', ';']).map(str::trim).filter(|s| !s.is_empty()) {
            let alias = ssr::address_in_domain(entry, &domain_name, "aliases")?;
            if alias == address {
                return Err(AppError::invalid(
                    "aliases",
                    format!("{} is the account's own address, not an alias.", alias.as_str()),
                ));
            }
            if !alias_list.iter().any(|a| a == alias.as_str()) {
                alias_list.push(alias.as_str().to_owned());
            }
        }
        ssr::ensure_unused(&pool, &[address.as_str().to_owned()], "local_part").await?;
        ssr::ensure_unused(&pool, &alias_list, "aliases").await?;

        let mut tx = pool.begin().await.or_internal("starting a transaction")?;
        let row = sqlx::query!(
            r#"insert into accounts (organization_id, domain_id, address, kind, source)
               values ($1, $2, $3, $4, 'manual') returning id, updated_at"#,
            admin.organization_id,
            domain_id,
            address.as_str(),
            kind.as_str()
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| map_db_error(e, "adding an account", ssr::ADDRESS_TAKEN))?;
        let mut all = vec![address.as_str().to_owned()];
        all.extend(alias_list.iter().cloned());
        let primary: Vec<bool> = all.iter().enumerate().map(|(i, _)| i == 0).collect();
        sqlx::query!(
            r#"insert into addresses (address, organization_id, account_id, is_primary)
               select address, $2, $3, is_primary from unnest($1::text[], $4::bool[]) as t(address, is_primary)"#,
            &all,
            admin.organization_id,
            row.id,
            &primary
        )
        .execute(&mut *tx)
        .await
        .map_err(|e| map_db_error(e, "adding an account's addresses", ssr::ADDRESS_TAKEN))?;
        tx.commit()
            .await
            .map_err(|e| map_db_error(e, "committing a new account", ssr::ADDRESS_TAKEN))?;
        tracing::info!(organization_id = %admin.organization_id, %domain_id, account_id = %row.id, "manual account added");
        Ok(AccountRow {
            id: row.id,
            address: address.as_str().to_owned(),
            kind,
            aliases: alias_list,
            source: AccountSource::Manual,
            enabled: true,
            includes_everyone: false,
            archived: false,
            updated_at: row.updated_at,
        })
    })
    .await
}

#[server(endpoint = "add_alias")]
pub async fn add_alias(domain_id: Uuid, account_id: Uuid, alias: String) -> Result<(), AppError> {
    use crate::api::domains::ssr::load_domain;
    use crate::ssr::{auth::require_admin, db::map_db_error, respond::respond};
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        let pool = req.state.pool.clone();
        let domain = load_domain(&pool, admin.organization_id, domain_id).await?;
        ssr::editable_account(&pool, admin.organization_id, domain_id, account_id).await?;
        let alias = ssr::address_in_domain(&alias, &ssr::domain_name(&domain.ascii_name)?, "alias")?;
        ssr::ensure_unused(&pool, &[alias.as_str().to_owned()], "alias").await?;
        sqlx::query!(
            "insert into addresses (address, organization_id, account_id, is_primary) values ($1, $2, $3, false)",
            alias.as_str(),
            admin.organization_id,
            account_id
        )
        .execute(&pool)
        .await
        .map_err(|e| {
            map_db_error(
                e,
                "adding an alias",
                &[("addresses_pkey", "alias", "This address is already in use by an account or alias.")],
            )
        })?;
        Ok(())
    })
    .await
}

#[server(endpoint = "remove_alias")]
pub async fn remove_alias(
    domain_id: Uuid,
    account_id: Uuid,
    alias: String,
) -> Result<(), AppError> {
    use crate::ssr::{auth::require_admin, respond::respond, OrInternal};
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        let pool = req.state.pool.clone();
        ssr::editable_account(&pool, admin.organization_id, domain_id, account_id).await?;
        let removed = sqlx::query!(
            "delete from addresses where organization_id = $1 and account_id = $2 and address = $3 and not is_primary",
            admin.organization_id,
            account_id,
            alias.trim().to_lowercase()
        )
        .execute(&pool)
        .await
        .or_internal("removing an alias")?;
        if removed.rows_affected() == 0 {
            return Err(AppError::NotFound);
        }
        Ok(())
    })
    .await
}

#[server(endpoint = "set_account_kind")]
pub async fn set_account_kind(
    domain_id: Uuid,
    account_id: Uuid,
    kind: String,
) -> Result<(), AppError> {
    use crate::model::AccountKind;
    use crate::ssr::{auth::require_admin, respond::respond, OrInternal};
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        let pool = req.state.pool.clone();
        ssr::editable_account(&pool, admin.organization_id, domain_id, account_id).await?;
        let kind = AccountKind::parse(&kind)
            .map_err(|_| AppError::invalid("kind", "Choose Mailbox or Distribution list."))?;
        sqlx::query!(
            "update accounts set kind = $4 where organization_id = $1 and domain_id = $2 and id = $3",
            admin.organization_id,
            domain_id,
            account_id,
            kind.as_str()
        )
        .execute(&pool)
        .await
        .or_internal("changing an account's kind")?;
        Ok(())
    })
    .await
}

#[server(endpoint = "delete_account")]
pub async fn delete_account(domain_id: Uuid, account_id: Uuid) -> Result<(), AppError> {
    use crate::ssr::{auth::require_admin, respond::respond, OrInternal};
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        let pool = req.state.pool.clone();
        let address =
            ssr::editable_account(&pool, admin.organization_id, domain_id, account_id).await?;
        let mut tx = pool.begin().await.or_internal("starting a transaction")?;
        sqlx::query!(
            "delete from addresses where organization_id = $1 and account_id = $2",
            admin.organization_id,
            account_id
        )
        .execute(&mut *tx)
        .await
        .or_internal("deleting an account's addresses")?;
        sqlx::query!(
            "delete from accounts where organization_id = $1 and domain_id = $2 and id = $3",
            admin.organization_id,
            domain_id,
            account_id
        )
        .execute(&mut *tx)
        .await
        .or_internal("deleting an account")?;
        tx.commit().await.or_internal("committing an account's deletion")?;
        tracing::info!(organization_id = %admin.organization_id, %domain_id, %account_id, %address, "manual account deleted");
        Ok(())
    })
    .await
}
