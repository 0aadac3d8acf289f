//! Users Google Workspace archived (issue 12: Google still accepts their mail, unlike a
//! suspended user's) stay recipients — enabled, still list members — and are marked archived:
//! synced so, the mark cleared as one `account_update` that no add or delete limit stops and
//! that the history describes in words, shown by the Email Accounts list (an "Archived" badge)
//! and the account's page. The engine runs on a fixture directory (full rounds, as Google's
//! are, and change rounds that do not carry the mark) and a real Postgres.

#![allow(clippy::unwrap_used)]

use crate::list_everyone::Fixture;
use crate::sync_engine::{applied, rules, setup, Setup, DOMAIN};
use app::api::list_members::ListPage;
use app::model::{AccountsPage, ChangeRow, Paged};
use roster_core::account::{
    ARCHIVED_BADGE, ARCHIVED_BADGE_HINT, ARCHIVED_DETAILS, ARCHIVED_IN_GOOGLE, ARCHIVED_REMOVED,
};
use roster_core::directory::{ChangePage, Collection, MirrorKind, ObjectChange, ObjectPatch};
use roster_core::sync::PlannedCounts;
use roster_core::{ChangeKind, OperationLimit, OperationsLimits};
use sqlx::PgPool;
use uuid::Uuid;

fn at(local: &str) -> String {
    format!("{local}@{DOMAIN}")
}

/// A user as the Google round sends it: every property, `archived` included.
fn user(id: &str, name: &str, local: &str, archived: bool) -> ObjectChange {
    ObjectChange::Present {
        external_id: id.to_owned(),
        kind: MirrorKind::User,
        patch: ObjectPatch {
            display_name: Some(Some(name.to_owned())),
            mail: Some(Some(at(local))),
            proxy_addresses: Some(vec![format!("SMTP:{}", at(local))]),
            account_enabled: Some(true),
            guest: Some(false),
            mail_enabled: Some(true),
            security_enabled: Some(false),
            unified: Some(false),
            archived: Some(archived),
            ..ObjectPatch::default()
        },
        members_added: Vec::new(),
        members_removed: Vec::new(),
    }
}

fn group(id: &str, name: &str, local: &str, members: &[&str]) -> ObjectChange {
    ObjectChange::Present {
        external_id: id.to_owned(),
        kind: MirrorKind::Group,
        patch: ObjectPatch {
            display_name: Some(Some(name.to_owned())),
            mail: Some(Some(at(local))),
            proxy_addresses: Some(vec![format!("SMTP:{}", at(local))]),
            mail_enabled: Some(true),
            security_enabled: Some(false),
            unified: Some(false),
            includes_everyone: Some(false),
            ..ObjectPatch::default()
        },
        members_added: members.iter().map(|m| (*m).to_owned()).collect(),
        members_removed: Vec::new(),
    }
}

/// Ann (archived when `archived`), Bob, and "All staff" with both as members.
fn workspace(archived: bool) -> Fixture {
    Fixture {
        pages: vec![
            ChangePage {
                collection: Collection::Users,
                changes: vec![
                    user("u1", "Ann", "ann", archived),
                    user("u2", "Bob", "bob", false),
                ],
            },
            ChangePage {
                collection: Collection::Groups,
                changes: vec![group("g-all", "All staff", "all", &["u1", "u2"])],
            },
        ],
        delta: None,
    }
}

/// Each synced account's `(enabled, archived)`, by address.
async fn flags(s: &Setup) -> Vec<(String, bool, bool)> {
    sqlx::query_as(
        "select address, enabled, archived from accounts where domain_id = $1 order by address",
    )
    .bind(s.domain)
    .fetch_all(&s.app.pool)
    .await
    .unwrap()
}

/// Each list's member rows, by list address.
async fn member_rows(s: &Setup) -> Vec<(String, String)> {
    sqlx::query_as(
        r#"select a.address, m.member from list_members m join accounts a on a.id = m.account_id
           where a.domain_id = $1 order by 1, 2"#,
    )
    .bind(s.domain)
    .fetch_all(&s.app.pool)
    .await
    .unwrap()
}

async fn changes(s: &Setup, run: Uuid) -> Vec<ChangeRow> {
    let page: Paged<ChangeRow> = s
        .admin
        .ok(
            "list_run_changes",
            &[
                ("domain_id", &s.domain.to_string()),
                ("run_id", &run.to_string()),
                ("kind", ""),
                ("search", ""),
                ("page", "1"),
            ],
        )
        .await;
    page.rows
}

async fn account_id(s: &Setup, address: &str) -> Uuid {
    sqlx::query_scalar("select id from accounts where address = $1")
        .bind(address)
        .fetch_one(&s.app.pool)
        .await
        .unwrap()
}

async fn account_page(s: &Setup, address: &str) -> ListPage {
    let id = account_id(s, address).await;
    s.admin
        .ok(
            "get_list_members",
            &[
                ("domain_id", &s.domain.to_string()),
                ("account_id", &id.to_string()),
                ("page", "1"),
            ],
        )
        .await
}

async fn html(s: &Setup, path: &str) -> String {
    s.admin.get(path).await.text().await.unwrap()
}

/// No account or alias may be added or deleted at all.
fn no_adds_or_deletes() -> OperationsLimits {
    let zero = OperationLimit::new(Some(0)).unwrap();
    OperationsLimits {
        account_add: zero,
        account_delete: zero,
        alias_add: zero,
        alias_delete: zero,
        total: zero,
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn an_archived_user_is_kept_marked_and_follows_the_directory(pool: PgPool) {
    let s = setup(pool).await;

    // Synced archived: added like any account — enabled, still a member of its list — and
    // marked; its add says so.
    let (run, outcome) = s
        .sync_with(
            &workspace(true),
            &rules(),
            &OperationsLimits::default(),
            false,
        )
        .await;
    assert_eq!(applied(&outcome).accounts_added, 3);
    assert_eq!(
        flags(&s).await,
        vec![
            (at("all"), true, false),
            (at("ann"), true, true),
            (at("bob"), true, false),
        ]
    );
    assert_eq!(
        member_rows(&s).await,
        vec![(at("all"), at("ann")), (at("all"), at("bob"))]
    );
    let added: Vec<(String, Option<String>)> = changes(&s, run)
        .await
        .into_iter()
        .filter(|c| c.kind == ChangeKind::AccountAdd)
        .map(|c| (c.address, c.after))
        .collect();
    assert_eq!(
        added,
        vec![
            (at("all"), Some("All staff, distribution list".to_owned())),
            (
                at("ann"),
                Some(format!("Ann, mailbox, {ARCHIVED_IN_GOOGLE}"))
            ),
            (at("bob"), Some("Bob, mailbox".to_owned())),
        ]
    );

    // The Email Accounts list and the account's page show the mark.
    let list: AccountsPage = s
        .admin
        .ok("list_accounts", &[("domain_id", &s.domain.to_string())])
        .await;
    let archived: Vec<(&str, bool, bool)> = list
        .rows
        .iter()
        .map(|r| (r.address.as_str(), r.enabled, r.archived))
        .collect();
    assert_eq!(
        archived,
        vec![
            (at("all").as_str(), true, false),
            (at("ann").as_str(), true, true),
            (at("bob").as_str(), true, false),
        ]
    );
    let page = html(&s, &format!("/domains/{}/accounts", s.domain)).await;
    assert_eq!(page.matches("badge archived").count(), 1, "{page}");
    assert!(page.contains(ARCHIVED_BADGE), "{page}");
    assert!(page.contains(ARCHIVED_BADGE_HINT), "{page}");
    assert!(
        !page.contains("badge neutral"),
        "nobody is disabled: {page}"
    );
    let ann = account_page(&s, &at("ann")).await;
    assert!(ann.archived && ann.enabled);
    assert!(!account_page(&s, &at("bob")).await.archived);
    let details = html(
        &s,
        &format!(
            "/domains/{}/accounts/{}",
            s.domain,
            account_id(&s, &at("ann")).await
        ),
    )
    .await;
    assert!(details.contains(ARCHIVED_DETAILS), "{details}");
    let details = html(
        &s,
        &format!(
            "/domains/{}/accounts/{}",
            s.domain,
            account_id(&s, &at("bob")).await
        ),
    )
    .await;
    assert!(!details.contains(ARCHIVED_DETAILS));

    // The same directory again: nothing to do.
    let (_, outcome) = s
        .sync_with(
            &workspace(true),
            &rules(),
            &OperationsLimits::default(),
            false,
        )
        .await;
    assert_eq!(applied(&outcome), PlannedCounts::default());

    // Google no longer archives Ann: one account update, which no add or delete limit stops;
    // the history says it in words; the list's members stay as they are.
    let (run, outcome) = s
        .sync_with(&workspace(false), &rules(), &no_adds_or_deletes(), false)
        .await;
    assert_eq!(
        applied(&outcome),
        PlannedCounts {
            accounts_updated: 1,
            ..PlannedCounts::default()
        }
    );
    let rows: Vec<(ChangeKind, String, Option<String>, Option<String>)> = changes(&s, run)
        .await
        .into_iter()
        .map(|c| (c.kind, c.address, c.before, c.after))
        .collect();
    assert_eq!(
        rows,
        vec![(
            ChangeKind::AccountUpdate,
            at("ann"),
            Some(format!("Ann, mailbox, {ARCHIVED_IN_GOOGLE}")),
            Some(format!("Ann, mailbox, {ARCHIVED_REMOVED}")),
        )]
    );
    let (_, summary) = s.run_row(run).await;
    assert_eq!(summary.as_deref(), Some("1 account updated"));
    assert!(flags(&s)
        .await
        .iter()
        .all(|(_, on, archived)| *on && !archived));
    assert_eq!(member_rows(&s).await.len(), 2);
    assert!(!account_page(&s, &at("ann")).await.archived);

    // A rerun changes nothing.
    let (_, outcome) = s
        .sync_with(&workspace(false), &rules(), &no_adds_or_deletes(), false)
        .await;
    assert_eq!(applied(&outcome), PlannedCounts::default());

    // Archived again: one update back, the mark in the after text.
    let (run, outcome) = s
        .sync_with(&workspace(true), &rules(), &no_adds_or_deletes(), false)
        .await;
    assert_eq!(applied(&outcome).accounts_updated, 1);
    assert_eq!(
        changes(&s, run).await[0].after.as_deref(),
        Some(format!("Ann, mailbox, {ARCHIVED_IN_GOOGLE}").as_str())
    );
    assert!(account_page(&s, &at("ann")).await.archived);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_change_that_does_not_carry_the_mark_keeps_it(pool: PgPool) {
    let s = setup(pool).await;
    let none = OperationsLimits::default();
    // A full round with Ann archived, then change rounds that only rename her (as Microsoft
    // 365 or LDAP would say it: no `archived`).
    let rename = ObjectChange::Present {
        external_id: "u1".to_owned(),
        kind: MirrorKind::User,
        patch: ObjectPatch {
            display_name: Some(Some("Ann Smith".to_owned())),
            ..ObjectPatch::default()
        },
        members_added: Vec::new(),
        members_removed: Vec::new(),
    };
    let dir = Fixture {
        delta: Some(vec![ChangePage {
            collection: Collection::Users,
            changes: vec![rename],
        }]),
        ..workspace(true)
    };
    let (_, outcome) = s.sync_with(&dir, &rules(), &none, false).await;
    assert_eq!(applied(&outcome).accounts_added, 3);
    let (run, outcome) = s.sync_with(&dir, &rules(), &none, false).await;
    assert_eq!(applied(&outcome).accounts_updated, 1);
    let rows = changes(&s, run).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        rows[0].after.as_deref(),
        Some(format!("Ann Smith, mailbox, {ARCHIVED_IN_GOOGLE}").as_str())
    );
    assert!(account_page(&s, &at("ann")).await.archived);
}
