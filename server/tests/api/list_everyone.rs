//! A list whose members include everyone in the organization (Google Workspace's `CUSTOMER`
//! member, issue 12): kept as that meaning — the list account's `includes_everyone`, never one
//! member row per recipient —, reached through nested lists, changed as one `account_update`
//! of the list that the history describes in words, and shown by the list's page and the Email
//! Accounts list. The engine runs on a fixture directory (full rounds, as Google's are) and a
//! real Postgres.

#![allow(clippy::unwrap_used)]

use crate::sync_engine::{applied, rules, setup, Setup, DOMAIN};
use app::api::list_members::ListPage;
use app::model::{AccountsPage, ChangeRow, Paged};
use async_trait::async_trait;
use roster_core::account::{EVERYONE_LINE, EVERYONE_MEMBER, EVERYONE_REMOVED};
use roster_core::directory::{
    ChangePage, ChangePager, Collection, ConnectionTest, DirectoryError, MirrorKind, ObjectChange,
    ObjectPatch, ResumeState, VerifiedDomains,
};
use roster_core::sync::PlannedCounts;
use roster_core::{ChangeKind, Directory, DomainRules, OperationLimit, OperationsLimits};
use sqlx::PgPool;
use uuid::Uuid;

fn at(local: &str) -> String {
    format!("{local}@{DOMAIN}")
}

/// A directory from fixed pages: full rounds (like Google Workspace's), or — when `delta` is
/// set — it hands out a resume state and answers a round from it with those change pages.
pub(crate) struct Fixture {
    pub(crate) pages: Vec<ChangePage>,
    pub(crate) delta: Option<Vec<ChangePage>>,
}

struct FixturePager {
    pages: std::vec::IntoIter<ChangePage>,
    resumable: bool,
}

#[async_trait]
impl ChangePager for FixturePager {
    async fn next_page(&mut self) -> Result<Option<ChangePage>, DirectoryError> {
        Ok(self.pages.next())
    }

    fn resume_state(&self) -> Option<ResumeState> {
        self.resumable
            .then(|| ResumeState(serde_json::json!({ "fixture": "resume" })))
    }
}

#[async_trait]
impl Directory for Fixture {
    async fn test_connection(
        &self,
        _rules: &DomainRules,
    ) -> Result<ConnectionTest, DirectoryError> {
        panic!("not used by the engine")
    }

    fn identity(&self) -> String {
        "fixture-workspace".to_owned()
    }

    fn changes(&self, resume: Option<&ResumeState>) -> Box<dyn ChangePager> {
        let pages = match (resume, &self.delta) {
            (Some(_), Some(delta)) => delta.clone(),
            _ => self.pages.clone(),
        };
        Box::new(FixturePager {
            pages: pages.into_iter(),
            resumable: self.delta.is_some(),
        })
    }

    async fn verified_domains(&self) -> Result<Option<VerifiedDomains>, DirectoryError> {
        Ok(Some(VerifiedDomains {
            directory_name: "Fixture".to_owned(),
            domains: vec![DOMAIN.to_owned()],
        }))
    }
}

fn user(id: &str, name: &str, local: &str) -> ObjectChange {
    ObjectChange::Present {
        external_id: id.to_owned(),
        kind: MirrorKind::User,
        patch: ObjectPatch {
            display_name: Some(Some(name.to_owned())),
            mail: Some(Some(at(local))),
            proxy_addresses: Some(vec![format!("SMTP:{}", at(local))]),
            account_enabled: Some(true),
            guest: Some(false),
            ..ObjectPatch::default()
        },
        members_added: Vec::new(),
        members_removed: Vec::new(),
    }
}

/// A group as the Google round sends it: every property, its member ids, and whether it has
/// a `CUSTOMER` member.
fn group(id: &str, name: &str, local: &str, members: &[&str], everyone: bool) -> ObjectChange {
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
            includes_everyone: Some(everyone),
            ..ObjectPatch::default()
        },
        members_added: members.iter().map(|m| (*m).to_owned()).collect(),
        members_removed: Vec::new(),
    }
}

/// Ann and Bob; "All staff" (Ann and, when `all`, everyone); "Outer", which nests All staff;
/// "Plain" (Bob and, when `plain`, everyone).
fn workspace(all: bool, plain: bool) -> Fixture {
    Fixture {
        pages: vec![
            ChangePage {
                collection: Collection::Users,
                changes: vec![user("u1", "Ann", "ann"), user("u2", "Bob", "bob")],
            },
            ChangePage {
                collection: Collection::Groups,
                changes: vec![
                    group("g-all", "All staff", "all", &["u1"], all),
                    group("g-outer", "Outer", "outer", &["g-all"], false),
                    group("g-plain", "Plain", "plain", &["u2"], plain),
                ],
            },
        ],
        delta: None,
    }
}

/// The same Workspace read in change rounds: after a full round, each round says only `delta`.
fn changing(delta: Vec<ObjectChange>) -> Fixture {
    Fixture {
        delta: Some(vec![ChangePage {
            collection: Collection::Groups,
            changes: delta,
        }]),
        ..workspace(false, false)
    }
}

/// A change of group `id` carrying only `patch` (no member changes).
fn group_patch(id: &str, patch: ObjectPatch) -> ObjectChange {
    ObjectChange::Present {
        external_id: id.to_owned(),
        kind: MirrorKind::Group,
        patch,
        members_added: Vec::new(),
        members_removed: Vec::new(),
    }
}

/// Each synced account's `includes_everyone`, by address.
async fn flags(s: &Setup) -> Vec<(String, bool)> {
    sqlx::query_as(
        "select address, includes_everyone from accounts where domain_id = $1 order by address",
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

async fn list_page(s: &Setup, address: &str) -> ListPage {
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
async fn a_list_with_everyone_keeps_that_meaning_and_follows_the_directory(pool: PgPool) {
    let s = setup(pool).await;

    // Synced with All staff including everyone: Outer, which nests it, includes everyone too.
    let (run, outcome) = s
        .sync_with(
            &workspace(true, false),
            &rules(),
            &OperationsLimits::default(),
            false,
        )
        .await;
    assert_eq!(applied(&outcome).accounts_added, 5);
    assert_eq!(
        flags(&s).await,
        vec![
            (at("all"), true),
            (at("ann"), false),
            (at("bob"), false),
            (at("outer"), true),
            (at("plain"), false),
        ]
    );
    // Never exploded: the lists keep their own members only.
    assert_eq!(
        member_rows(&s).await,
        vec![
            (at("all"), at("ann")),
            (at("outer"), at("ann")),
            (at("plain"), at("bob")),
        ]
    );
    let added: Vec<(String, Option<String>)> = changes(&s, run)
        .await
        .into_iter()
        .filter(|c| c.kind == ChangeKind::AccountAdd)
        .map(|c| (c.address, c.after))
        .collect();
    assert!(
        added.contains(&(
            at("all"),
            Some(format!("All staff, distribution list, {EVERYONE_MEMBER}"))
        )),
        "{added:?}"
    );
    assert!(
        added.contains(&(at("plain"), Some("Plain, distribution list".to_owned()))),
        "{added:?}"
    );

    // The list's page and the Email Accounts list show it.
    let page = list_page(&s, &at("all")).await;
    assert!(page.includes_everyone);
    assert_eq!(page.members.rows, vec![at("ann")]);
    assert!(!list_page(&s, &at("plain")).await.includes_everyone);
    let html = s
        .admin
        .get(&format!(
            "/domains/{}/accounts/{}",
            s.domain,
            account_id(&s, &at("all")).await
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(EVERYONE_LINE), "{html}");
    let html = s
        .admin
        .get(&format!(
            "/domains/{}/accounts/{}",
            s.domain,
            account_id(&s, &at("plain")).await
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains(EVERYONE_LINE));
    let list: AccountsPage = s
        .admin
        .ok("list_accounts", &[("domain_id", &s.domain.to_string())])
        .await;
    let everyone: Vec<&str> = list
        .rows
        .iter()
        .filter(|r| r.includes_everyone)
        .map(|r| r.address.as_str())
        .collect();
    assert_eq!(everyone, vec![at("all").as_str(), at("outer").as_str()]);

    // The same directory again: nothing to do.
    let (_, outcome) = s
        .sync_with(
            &workspace(true, false),
            &rules(),
            &OperationsLimits::default(),
            false,
        )
        .await;
    assert_eq!(applied(&outcome), PlannedCounts::default());

    // Everyone leaves All staff (and so Outer) and joins Plain: one account update per list,
    // which no add or delete limit stops; the member rows stay as they are.
    let (run, outcome) = s
        .sync_with(
            &workspace(false, true),
            &rules(),
            &no_adds_or_deletes(),
            false,
        )
        .await;
    assert_eq!(
        applied(&outcome),
        PlannedCounts {
            accounts_updated: 3,
            ..PlannedCounts::default()
        }
    );
    assert_eq!(
        flags(&s).await,
        vec![
            (at("all"), false),
            (at("ann"), false),
            (at("bob"), false),
            (at("outer"), false),
            (at("plain"), true),
        ]
    );
    assert_eq!(member_rows(&s).await.len(), 3);
    let updates: Vec<(ChangeKind, String, Option<String>, Option<String>)> = changes(&s, run)
        .await
        .into_iter()
        .map(|c| (c.kind, c.address, c.before, c.after))
        .collect();
    assert_eq!(
        updates,
        vec![
            (
                ChangeKind::AccountUpdate,
                at("all"),
                Some(format!("All staff, distribution list, {EVERYONE_MEMBER}")),
                Some(format!("All staff, distribution list, {EVERYONE_REMOVED}")),
            ),
            (
                ChangeKind::AccountUpdate,
                at("outer"),
                Some(format!("Outer, distribution list, {EVERYONE_MEMBER}")),
                Some(format!("Outer, distribution list, {EVERYONE_REMOVED}")),
            ),
            (
                ChangeKind::AccountUpdate,
                at("plain"),
                Some("Plain, distribution list".to_owned()),
                Some(format!("Plain, distribution list, {EVERYONE_MEMBER}")),
            ),
        ]
    );
    assert!(!list_page(&s, &at("all")).await.includes_everyone);
    assert!(list_page(&s, &at("plain")).await.includes_everyone);

    // Gone everywhere: Plain's flag goes too.
    let (_, outcome) = s
        .sync_with(
            &workspace(false, false),
            &rules(),
            &OperationsLimits::default(),
            false,
        )
        .await;
    assert_eq!(applied(&outcome).accounts_updated, 1);
    assert!(flags(&s).await.iter().all(|(_, everyone)| !everyone));
}

#[sqlx::test(migrations = "../migrations")]
async fn in_a_change_round_the_flag_marks_its_list_and_the_lists_that_nest_it(pool: PgPool) {
    let s = setup(pool).await;
    let none = OperationsLimits::default();
    let (_, outcome) = s.sync_with(&changing(vec![]), &rules(), &none, false).await;
    assert_eq!(applied(&outcome).accounts_added, 5);
    assert!(flags(&s).await.iter().all(|(_, everyone)| !everyone));

    // Only All staff's flag changes: it and Outer, which nests it, are planned and updated.
    let set = changing(vec![group_patch(
        "g-all",
        ObjectPatch {
            includes_everyone: Some(true),
            ..ObjectPatch::default()
        },
    )]);
    let (run, outcome) = s.sync_with(&set, &rules(), &none, false).await;
    let read_kind: Option<String> =
        sqlx::query_scalar("select read_kind from sync_runs where id = $1")
            .bind(run)
            .fetch_one(&s.app.pool)
            .await
            .unwrap();
    assert_eq!(read_kind.as_deref(), Some("changes"));
    assert_eq!(
        applied(&outcome),
        PlannedCounts {
            accounts_updated: 2,
            ..PlannedCounts::default()
        }
    );
    let updated: Vec<String> = changes(&s, run)
        .await
        .into_iter()
        .map(|c| c.address)
        .collect();
    assert_eq!(updated, vec![at("all"), at("outer")]);
    assert_eq!(
        flags(&s).await,
        vec![
            (at("all"), true),
            (at("ann"), false),
            (at("bob"), false),
            (at("outer"), true),
            (at("plain"), false),
        ]
    );

    // A change that does not carry the flag (a new name) keeps it.
    let renamed = changing(vec![group_patch(
        "g-all",
        ObjectPatch {
            display_name: Some(Some("Everybody".into())),
            ..ObjectPatch::default()
        },
    )]);
    let (run, outcome) = s.sync_with(&renamed, &rules(), &none, false).await;
    assert_eq!(applied(&outcome).accounts_updated, 1);
    let after: Vec<Option<String>> = changes(&s, run)
        .await
        .into_iter()
        .map(|c| c.after)
        .collect();
    assert_eq!(
        after,
        vec![Some(format!(
            "Everybody, distribution list, {EVERYONE_MEMBER}"
        ))]
    );
    assert!(list_page(&s, &at("all")).await.includes_everyone);

    // Cleared: both lists lose it.
    let cleared = changing(vec![group_patch(
        "g-all",
        ObjectPatch {
            includes_everyone: Some(false),
            ..ObjectPatch::default()
        },
    )]);
    let (_, outcome) = s.sync_with(&cleared, &rules(), &none, false).await;
    assert_eq!(applied(&outcome).accounts_updated, 2);
    assert!(flags(&s).await.iter().all(|(_, everyone)| !everyone));
}
