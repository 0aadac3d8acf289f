#![allow(clippy::unwrap_used)]

use crate::helpers::{fields, spawn_app, unique_domain, Admin};
use app::model::{AccountKind, AccountRow, AccountsPage, DomainSummary};
use sqlx::PgPool;

async fn page(admin: &Admin, domain: &str, extra: &[(&str, &str)]) -> AccountsPage {
    let mut form = vec![("domain_id", domain)];
    form.extend_from_slice(extra);
    admin.ok("list_accounts", &form).await
}

#[sqlx::test(migrations = "../migrations")]
async fn accounts_with_aliases_are_added_and_addresses_are_unique(pool: PgPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin("Acme").await;
    let name = unique_domain("acc");
    let id = admin.create_domain(&name, "on_premise").await.to_string();

    let row: AccountRow = admin
        .ok(
            "add_account",
            &[
                ("domain_id", &id),
                ("local_part", "Alice"),
                ("kind", "mailbox"),
                ("aliases", &format!("ali\nAL@{name}, ali")),
            ],
        )
        .await;
    assert_eq!(row.address, format!("alice@{name}"));
    assert_eq!(
        row.aliases,
        vec![format!("ali@{name}"), format!("al@{name}")]
    );

    // The same address again, an alias equal to an address, an alias equal to an alias.
    let errors = admin
        .invalid(
            "add_account",
            &[
                ("domain_id", &id),
                ("local_part", "alice"),
                ("kind", "mailbox"),
            ],
        )
        .await;
    assert_eq!(fields(&errors), vec!["local_part"]);
    assert!(errors[0].message.contains("Already in use"), "{errors:?}");
    let errors = admin
        .invalid(
            "add_account",
            &[
                ("domain_id", &id),
                ("local_part", "bob"),
                ("kind", "mailbox"),
                ("aliases", "alice"),
            ],
        )
        .await;
    assert_eq!(fields(&errors), vec!["aliases"]);
    let errors = admin
        .invalid(
            "add_account",
            &[
                ("domain_id", &id),
                ("local_part", "ali"),
                ("kind", "mailbox"),
            ],
        )
        .await;
    assert_eq!(fields(&errors), vec!["local_part"]);
    // Aliases stay in the account's domain; the address itself is not an alias.
    let errors = admin
        .invalid(
            "add_account",
            &[
                ("domain_id", &id),
                ("local_part", "bob"),
                ("kind", "mailbox"),
                ("aliases", "bob@elsewhere.example"),
            ],
        )
        .await;
    assert!(errors[0].message.contains("own domain"), "{errors:?}");
    let errors = admin
        .invalid(
            "add_account",
            &[
                ("domain_id", &id),
                ("local_part", "bob"),
                ("kind", "mailbox"),
                ("aliases", "bob"),
            ],
        )
        .await;
    assert_eq!(fields(&errors), vec!["aliases"]);
    let errors = admin
        .invalid(
            "add_account",
            &[
                ("domain_id", &id),
                ("local_part", "bad local"),
                ("kind", "mailbox"),
            ],
        )
        .await;
    assert_eq!(fields(&errors), vec!["local_part"]);

    let listed = page(&admin, &id, &[]).await;
    assert_eq!(listed.total, 1, "nothing stored by the refused attempts");

    let domains: Vec<DomainSummary> = admin.ok("list_domains", &[]).await;
    assert_eq!(domains[0].account_count, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn the_database_refuses_a_duplicate_address_even_without_the_check(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let admin = app.admin("Acme").await;
    let name = unique_domain("db");
    let id = admin.create_domain(&name, "on_premise").await.to_string();
    let row: AccountRow = admin
        .ok(
            "add_account",
            &[("domain_id", &id), ("local_part", "x"), ("kind", "mailbox")],
        )
        .await;
    let res = sqlx::query("insert into addresses (address, organization_id, account_id, is_primary) values ($1, $2, $3, false)")
        .bind(format!("x@{name}"))
        .bind(admin.organization_id)
        .bind(row.id)
        .execute(&pool)
        .await;
    let err = res.unwrap_err();
    assert_eq!(
        err.as_database_error().unwrap().constraint(),
        Some("addresses_pkey")
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn aliases_are_added_and_removed_kind_changed_and_accounts_deleted(pool: PgPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin("Acme").await;
    let name = unique_domain("edit");
    let id = admin.create_domain(&name, "on_premise").await.to_string();
    let row: AccountRow = admin
        .ok(
            "add_account",
            &[
                ("domain_id", &id),
                ("local_part", "team"),
                ("kind", "mailbox"),
            ],
        )
        .await;
    let account = row.id.to_string();

    admin
        .ok::<()>(
            "add_alias",
            &[
                ("domain_id", &id),
                ("account_id", &account),
                ("alias", "crew"),
            ],
        )
        .await;
    let errors = admin
        .invalid(
            "add_alias",
            &[
                ("domain_id", &id),
                ("account_id", &account),
                ("alias", "team"),
            ],
        )
        .await;
    assert_eq!(fields(&errors), vec!["alias"]);
    admin
        .ok::<()>(
            "set_account_kind",
            &[
                ("domain_id", &id),
                ("account_id", &account),
                ("kind", "distribution_list"),
            ],
        )
        .await;

    let listed = page(&admin, &id, &[]).await;
    assert_eq!(listed.rows[0].aliases, vec![format!("crew@{name}")]);
    assert_eq!(listed.rows[0].kind, AccountKind::DistributionList);

    admin
        .ok::<()>(
            "remove_alias",
            &[
                ("domain_id", &id),
                ("account_id", &account),
                ("alias", &format!("crew@{name}")),
            ],
        )
        .await;
    assert!(page(&admin, &id, &[]).await.rows[0].aliases.is_empty());
    // The freed alias can be used again.
    admin
        .ok::<AccountRow>(
            "add_account",
            &[
                ("domain_id", &id),
                ("local_part", "crew"),
                ("kind", "mailbox"),
            ],
        )
        .await;

    admin
        .ok::<()>(
            "delete_account",
            &[("domain_id", &id), ("account_id", &account)],
        )
        .await;
    let listed = page(&admin, &id, &[]).await;
    assert_eq!(listed.total, 1);
    assert_eq!(listed.rows[0].address, format!("crew@{name}"));
    // Its address is free again.
    admin
        .ok::<AccountRow>(
            "add_account",
            &[
                ("domain_id", &id),
                ("local_part", "team"),
                ("kind", "mailbox"),
            ],
        )
        .await;
}

#[sqlx::test(migrations = "../migrations")]
async fn synced_accounts_are_read_only(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let admin = app.admin("Acme").await;
    let name = unique_domain("sync");
    let id = admin.create_domain(&name, "office365").await;
    let account: uuid::Uuid = sqlx::query_scalar(
        "with a as (insert into accounts (organization_id, domain_id, address, kind, source) values ($1, $2, $3, 'mailbox', 'office365') returning id)
         insert into addresses (address, organization_id, account_id, is_primary) select $3, $1, id, true from a returning account_id",
    )
    .bind(admin.organization_id)
    .bind(id)
    .bind(format!("synced@{name}"))
    .fetch_one(&pool)
    .await
    .unwrap();
    let (id, account) = (id.to_string(), account.to_string());
    for (fn_name, form) in [
        (
            "delete_account",
            vec![("domain_id", id.as_str()), ("account_id", account.as_str())],
        ),
        (
            "add_alias",
            vec![
                ("domain_id", id.as_str()),
                ("account_id", account.as_str()),
                ("alias", "other"),
            ],
        ),
        (
            "set_account_kind",
            vec![
                ("domain_id", id.as_str()),
                ("account_id", account.as_str()),
                ("kind", "distribution_list"),
            ],
        ),
    ] {
        let errors = admin.invalid(fn_name, &form).await;
        assert!(
            errors[0].message.contains("directory"),
            "{fn_name}: {errors:?}"
        );
    }
    let listed = page(&admin, &id, &[]).await;
    assert_eq!(listed.total, 1);
    assert_eq!(listed.rows[0].source, app::model::AccountSource::Office365);
}

#[sqlx::test(migrations = "../migrations")]
async fn accounts_are_paged_by_address_and_searchable_by_alias(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let admin = app.admin("Acme").await;
    let name = unique_domain("page");
    let domain = admin.create_domain(&name, "on_premise").await;
    // 120 accounts, set-based, the way a sync will write them.
    sqlx::query(
        "with a as (
            insert into accounts (organization_id, domain_id, address, kind, source)
            select $1, $2, format('user%s@%s', lpad(n::text, 3, '0'), $3), 'mailbox', 'manual'
            from generate_series(1, 120) n returning id, address)
         insert into addresses (address, organization_id, account_id, is_primary) select address, $1, id, true from a",
    )
    .bind(admin.organization_id)
    .bind(domain)
    .bind(&name)
    .execute(&pool)
    .await
    .unwrap();
    let id = domain.to_string();
    let first = page(&admin, &id, &[]).await;
    assert_eq!(first.total, 120);
    assert_eq!(first.rows.len(), 50);
    assert_eq!(first.rows[0].address, format!("user001@{name}"));
    assert!(first.prev_before.is_none());
    let after = first.next_after.clone().unwrap();
    let second = page(&admin, &id, &[("after", &after)]).await;
    assert_eq!(second.rows[0].address, format!("user051@{name}"));
    let third = page(
        &admin,
        &id,
        &[("after", &second.next_after.clone().unwrap())],
    )
    .await;
    assert_eq!(third.rows.len(), 20);
    assert!(third.next_after.is_none());
    let back = page(
        &admin,
        &id,
        &[("before", &third.prev_before.clone().unwrap())],
    )
    .await;
    assert_eq!(back.rows, second.rows);
    let back = page(
        &admin,
        &id,
        &[("before", &back.prev_before.clone().unwrap())],
    )
    .await;
    assert_eq!(back.rows, first.rows);
    assert!(back.prev_before.is_none());

    let account = first.rows[3].id.to_string();
    admin
        .ok::<()>(
            "add_alias",
            &[
                ("domain_id", &id),
                ("account_id", &account),
                ("alias", "Zebra"),
            ],
        )
        .await;
    let found = page(&admin, &id, &[("search", "ZEBRA")]).await;
    assert_eq!(found.total, 1);
    assert_eq!(found.rows[0].address, format!("user004@{name}"));
    let found = page(&admin, &id, &[("search", "user11")]).await;
    assert_eq!(found.total, 10, "user110..user119");
}
