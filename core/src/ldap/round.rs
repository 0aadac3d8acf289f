//! A full change round of an LDAP directory (LDAP has no change feed Roster can rely on, so
//! every round is full and [`ChangePager::resume_state`] is `None`).
//!
//! The round runs in a task of its own that hands pages over a small channel, so it reads as
//! one straight function: per base DN one paged search (RFC 2696) streamed into pages of
//! users; lists are held back (with their members' DNs) until every entry is read, their big
//! `member` attributes completed with range retrieval (`member;range=1500-*`, AD's way past
//! its MaxValRange of 1500); member DNs not found by the search are looked up one by one
//! (contacts, entries outside the filter or the base DNs) and sent as contacts; then the
//! lists, with their direct members as ids — nested lists are members like any other, the
//! engine flattens them and stops at cycles.
//!
//! Only what member resolution needs stays in memory: DN → id of every entry, and the lists.
//!
//! Failover: when the serving server fails mid-read (connection lost, or no answer in time),
//! the round starts again from the start on the next server of the list; pages already sent
//! are sent again, which changes nothing in the mirror. When no later server of the list can
//! be used, the round fails with the mid-read failure (the later servers' errors are logged).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use futures_util::stream::{self, StreamExt};
use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::Scope;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::connect::{connect_first, Inner, Session};
use super::entry::{entry_object, normalize_dn, EntryObject, RawEntry};
use super::errors::{classify, classify_result, Step};
use crate::directory::{
    ChangePage, ChangePager, Collection, DirectoryError, LdapDetail, ObjectChange, ResumeState,
};

/// Lists per page (each carries all its members).
const LISTS_PER_PAGE: usize = 50;
/// Member lookups in flight at once.
const LOOKUP_CONCURRENCY: usize = 8;
/// Most range requests for one list (1500 values each: 15 million members).
const MAX_RANGE_REQUESTS: usize = 10_000;

/// What the round's task sends.
enum Message {
    Page(ChangePage),
    Failed(DirectoryError),
    /// The round was read to the end.
    Done,
}

/// The pager of one full round; the read starts with the first [`ChangePager::next_page`].
pub(crate) struct LdapChanges {
    inner: Arc<Inner>,
    rx: Option<mpsc::Receiver<Message>>,
    task: Option<JoinHandle<()>>,
    finished: bool,
}

impl LdapChanges {
    pub fn new(inner: Arc<Inner>) -> LdapChanges {
        LdapChanges {
            inner,
            rx: None,
            task: None,
            finished: false,
        }
    }
}

impl Drop for LdapChanges {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

#[async_trait]
impl ChangePager for LdapChanges {
    async fn next_page(&mut self) -> Result<Option<ChangePage>, DirectoryError> {
        if self.finished {
            return Ok(None);
        }
        if self.rx.is_none() {
            let (tx, rx) = mpsc::channel(2);
            self.task = Some(tokio::spawn(run(self.inner.clone(), tx)));
            self.rx = Some(rx);
        }
        let message = match self.rx.as_mut() {
            Some(rx) => rx.recv().await,
            None => None,
        };
        match message {
            Some(Message::Page(page)) => Ok(Some(page)),
            Some(Message::Done) => {
                self.finished = true;
                Ok(None)
            }
            Some(Message::Failed(error)) => {
                self.finished = true;
                Err(error)
            }
            // The task ended without saying so (it panicked): never report a complete round.
            None => {
                self.finished = true;
                let server = self.inner.settings.servers.join(", ");
                Err(DirectoryError::LdapConnectionLost {
                    host: server.clone(),
                    detail: Box::new(
                        LdapDetail::new(server).with_message("the read stopped unexpectedly"),
                    ),
                })
            }
        }
    }

    fn resume_state(&self) -> Option<ResumeState> {
        None
    }
}

/// Why a read stopped early.
enum Stop {
    Failed(DirectoryError),
    /// Nobody reads the pages any more.
    Abandoned,
}

impl From<DirectoryError> for Stop {
    fn from(e: DirectoryError) -> Stop {
        Stop::Failed(e)
    }
}

/// Whether a failure mid-read belongs to the server rather than the settings: then the next
/// server may complete the round.
fn server_failed(error: &DirectoryError) -> bool {
    matches!(
        error,
        DirectoryError::LdapConnectionLost { .. } | DirectoryError::LdapTimedOut { .. }
    )
}

/// The round's task: connect, read, and on a server failure start over on the next server.
async fn run(inner: Arc<Inner>, tx: mpsc::Sender<Message>) {
    let started = std::time::Instant::now();
    let mut start = 0;
    let last = inner.settings.servers.len().saturating_sub(1);
    // The failure of the server that served last, once one failed mid-read.
    let mut mid_run: Option<DirectoryError> = None;
    loop {
        let mut session = match connect_first(&inner, start).await {
            Ok(s) => s,
            Err(e) => {
                // No next server could take over: the round failed where it failed.
                let e = match mid_run {
                    Some(first) => {
                        tracing::warn!(error = %e, detail = ?e.ldap(),
                            "no further LDAP server could take the round over");
                        first
                    }
                    None => e,
                };
                let _ = tx.send(Message::Failed(e)).await;
                return;
            }
        };
        match read(&inner, &mut session, &tx).await {
            Ok(()) => {
                tracing::info!(server = %session.host, elapsed_ms = started.elapsed().as_millis() as u64,
                    "LDAP round read");
                let _ = session.ldap.unbind().await;
                let _ = tx.send(Message::Done).await;
                return;
            }
            Err(Stop::Abandoned) => return,
            Err(Stop::Failed(e)) if server_failed(&e) && session.index < last => {
                tracing::warn!(server = %session.host, error = %e, detail = ?e.ldap(),
                    "LDAP server failed mid-read; starting the round again on the next server");
                start = session.index + 1;
                mid_run = Some(e);
            }
            Err(Stop::Failed(e)) => {
                tracing::warn!(server = %session.host, error = %e, detail = ?e.ldap(),
                    "LDAP round failed");
                let _ = tx.send(Message::Failed(e)).await;
                return;
            }
        }
    }
}

/// A list held until every entry is read.
struct PendingList {
    dn: String,
    object: EntryObject,
    /// Member DNs, normalized.
    members: BTreeSet<String>,
    /// Where range retrieval goes on, if the server cut the members.
    next_range: Option<u64>,
}

impl PendingList {
    fn add_members<'a>(&mut self, dns: impl IntoIterator<Item = &'a str>) {
        self.members.extend(dns.into_iter().map(normalize_dn));
    }
}

/// The attributes every search asks for.
pub(crate) fn search_attributes(inner: &Inner) -> Vec<String> {
    let a = &inner.settings.attributes;
    let mut names: Vec<String> = vec![a.email.clone()];
    names.extend(a.aliases.iter().cloned());
    names.push(a.list_attribute.clone());
    for fixed in [
        "objectClass",
        "displayName",
        "cn",
        "objectGUID",
        "entryUUID",
        "userAccountControl",
        "member",
    ] {
        names.push(fixed.to_owned());
    }
    names.push(format!(
        "member;range=0-{}",
        inner.tuning.member_range.saturating_sub(1)
    ));
    let mut seen = HashSet::new();
    names.retain(|n| seen.insert(n.to_ascii_lowercase()));
    names
}

/// Sends a page; `Abandoned` when the pager is gone.
async fn send(
    tx: &mpsc::Sender<Message>,
    collection: Collection,
    changes: Vec<ObjectChange>,
) -> Result<(), Stop> {
    if changes.is_empty() {
        return Ok(());
    }
    tx.send(Message::Page(ChangePage {
        collection,
        changes,
    }))
    .await
    .map_err(|_| Stop::Abandoned)
}

fn present(object: EntryObject, members: Vec<String>) -> ObjectChange {
    ObjectChange::Present {
        external_id: object.external_id,
        kind: object.kind,
        patch: object.patch,
        members_added: members,
        members_removed: Vec::new(),
    }
}

/// Reads the whole directory from one server into pages.
async fn read(
    inner: &Inner,
    session: &mut Session,
    tx: &mpsc::Sender<Message>,
) -> Result<(), Stop> {
    let settings = &inner.settings;
    let page_size = usize::try_from(inner.tuning.page_size.max(1)).unwrap_or(500);
    let attributes = search_attributes(inner);
    // DN (normalized) → external id of every entry read.
    let mut ids: HashMap<String, String> = HashMap::new();
    let mut emitted: HashSet<String> = HashSet::new();
    let mut lists: Vec<PendingList> = Vec::new();
    let mut users: Vec<ObjectChange> = Vec::new();

    for base_dn in &settings.base_dns {
        let step = Step::Search {
            base_dn: base_dn.clone(),
        };
        let adapters: Vec<Box<dyn Adapter<'_, String, Vec<String>>>> = vec![
            Box::new(EntriesOnly::new()),
            Box::new(PagedResults::new(inner.tuning.page_size)),
        ];
        let mut search = session
            .ldap
            .with_timeout(inner.tuning.operation_timeout)
            .streaming_search_with(
                adapters,
                base_dn,
                Scope::Subtree,
                &super::filter::compact_filter(settings.effective_filter()),
                attributes.clone(),
            )
            .await
            .map_err(|e| classify(&e, &step, &session.target(inner)))?;
        loop {
            let next = search.next().await;
            let entry = match next {
                Ok(Some(entry)) => entry,
                Ok(None) => break,
                Err(e) => return Err(classify(&e, &step, &session.target(inner)).into()),
            };
            let Some(raw) = RawEntry::parse(entry.0) else {
                tracing::warn!(%base_dn, "LDAP entry skipped: it could not be decoded");
                continue;
            };
            let object = entry_object(&raw, &settings.attributes, false);
            ids.insert(normalize_dn(&raw.dn), object.external_id.clone());
            // The same entry under two overlapping base DNs: once.
            if !emitted.insert(object.external_id.clone()) {
                continue;
            }
            if object.patch.mail_enabled == Some(true) {
                let mut list = PendingList {
                    dn: raw.dn.clone(),
                    object,
                    members: BTreeSet::new(),
                    next_range: None,
                };
                // A ranged answer is the authoritative one (AD then sends `member` empty;
                // Samba sends it whole as well): read it, and the rest by ranges.
                match raw.member_range() {
                    Some((span, values)) => {
                        list.add_members(values);
                        list.next_range = span.end.map(|end| end + 1);
                    }
                    None => list.add_members(raw.texts("member")),
                }
                lists.push(list);
            } else {
                users.push(present(object, Vec::new()));
                if users.len() >= page_size {
                    send(tx, Collection::Users, std::mem::take(&mut users)).await?;
                }
            }
        }
        let done = search.finish().await;
        if done.rc != 0 {
            return Err(classify_result(&done, &step, &session.target(inner)).into());
        }
    }
    send(tx, Collection::Users, std::mem::take(&mut users)).await?;

    for list in lists.iter_mut() {
        complete_range(inner, session, list).await?;
    }

    // Members the search did not return: contacts, or entries outside the filter.
    let unknown: Vec<String> = {
        let mut unknown = HashSet::new();
        for list in &lists {
            for dn in &list.members {
                if !ids.contains_key(dn) {
                    unknown.insert(dn.clone());
                }
            }
        }
        unknown.into_iter().collect()
    };
    // A member looked up is never a list here: its own members are not read.
    let target_attributes: Vec<String> = attributes
        .iter()
        .filter(|a| !a.to_ascii_lowercase().starts_with("member"))
        .cloned()
        .collect();
    let looked_up: Vec<Result<Option<(String, EntryObject)>, DirectoryError>> =
        stream::iter(unknown)
            .map(|dn| {
                let mut ldap = session.ldap.clone();
                let attrs = target_attributes.clone();
                let target = session.target(inner);
                async move {
                    let step = Step::Search {
                        base_dn: dn.clone(),
                    };
                    let found = ldap
                        .with_timeout(inner.tuning.operation_timeout)
                        .search(&dn, Scope::Base, "(objectClass=*)", attrs)
                        .await
                        .map_err(|e| classify(&e, &step, &target))?;
                    match found.1.rc {
                        0 => {}
                        // Gone, or not readable by Roster's account: not a member Roster knows.
                        32 | 50 => {
                            tracing::debug!(member = %dn, rc = found.1.rc, "list member not found; skipped");
                            return Ok(None);
                        }
                        _ => return Err(classify_result(&found.1, &step, &target)),
                    }
                    let object = found
                        .0
                        .into_iter()
                        .find_map(|e| RawEntry::parse(e.0))
                        .map(|raw| entry_object(&raw, &inner.settings.attributes, true));
                    Ok(object.map(|o| (dn, o)))
                }
            })
            .buffer_unordered(LOOKUP_CONCURRENCY)
            .collect()
            .await;
    let mut contacts = Vec::new();
    for result in looked_up {
        let Some((dn, object)) = result? else {
            continue;
        };
        ids.insert(dn, object.external_id.clone());
        if emitted.insert(object.external_id.clone()) {
            contacts.push(present(object, Vec::new()));
            if contacts.len() >= page_size {
                send(tx, Collection::Contacts, std::mem::take(&mut contacts)).await?;
            }
        }
    }
    send(tx, Collection::Contacts, contacts).await?;

    let mut page = Vec::new();
    for list in lists {
        let mut member_ids: Vec<String> = Vec::with_capacity(list.members.len());
        let mut seen = HashSet::new();
        for dn in &list.members {
            if let Some(id) = ids.get(dn) {
                if seen.insert(id.as_str()) {
                    member_ids.push(id.clone());
                }
            }
        }
        page.push(present(list.object, member_ids));
        if page.len() >= LISTS_PER_PAGE {
            send(tx, Collection::Groups, std::mem::take(&mut page)).await?;
        }
    }
    send(tx, Collection::Groups, page).await?;
    Ok(())
}

/// Reads the rest of a list's members with `member;range=<next>-*` until the server's answer
/// ends in `-*` (AD sends at most MaxValRange values per answer).
async fn complete_range(
    inner: &Inner,
    session: &mut Session,
    list: &mut PendingList,
) -> Result<(), DirectoryError> {
    let mut requests = 0;
    while let Some(start) = list.next_range.take() {
        requests += 1;
        if requests > MAX_RANGE_REQUESTS {
            tracing::warn!(list = %list.dn, "LDAP range retrieval stopped: too many ranges");
            return Ok(());
        }
        let step = Step::Search {
            base_dn: list.dn.clone(),
        };
        let attribute = format!("member;range={start}-*");
        let found = session
            .ldap
            .with_timeout(inner.tuning.operation_timeout)
            .search(&list.dn, Scope::Base, "(objectClass=*)", vec![attribute])
            .await
            .map_err(|e| classify(&e, &step, &session.target(inner)))?;
        if found.1.rc != 0 {
            return Err(classify_result(&found.1, &step, &session.target(inner)));
        }
        let Some(raw) = found.0.into_iter().find_map(|e| RawEntry::parse(e.0)) else {
            return Ok(());
        };
        let next = next_range(&raw, start);
        if let Some((_, values)) = raw.member_range() {
            list.add_members(values);
        }
        list.next_range = next;
    }
    Ok(())
}

/// Where the next range request starts after an answer to `…;range=<asked>-*`: `None` when
/// the answer ends in `-*` or makes no progress (a server that ignores ranges).
pub(crate) fn next_range(answer: &RawEntry, asked: u64) -> Option<u64> {
    let (span, _) = answer.member_range()?;
    match span.end {
        Some(end) if span.start == asked && end >= asked => Some(end + 1),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ldap::{LdapPassword, LdapSettingsInput};

    #[test]
    fn searches_ask_for_every_attribute_the_objects_need_once() {
        let settings = LdapSettingsInput {
            servers: "dc1.example.com".into(),
            security: "ldaps".into(),
            verify_certificate: true,
            bind_user: "roster@example.com".into(),
            base_dns: "dc=example,dc=com".into(),
            alias_attributes: "proxyAddresses, mailLocalAddress, cn".into(),
            list_value: "group".into(),
            ..LdapSettingsInput::default()
        }
        .parse()
        .unwrap();
        let inner = Inner {
            settings,
            password: LdapPassword::new("x".into()).unwrap(),
            tuning: super::super::connect::Tuning {
                member_range: 1000,
                ..Default::default()
            },
        };
        assert_eq!(
            search_attributes(&inner),
            [
                "mail",
                "proxyAddresses",
                "mailLocalAddress",
                "cn",
                "objectClass",
                "displayName",
                "objectGUID",
                "entryUUID",
                "userAccountControl",
                "member",
                "member;range=0-999"
            ]
        );
    }

    fn answer(attr: &str, values: &[&str]) -> RawEntry {
        RawEntry {
            dn: "cn=g".into(),
            attrs: vec![(
                attr.into(),
                values.iter().map(|v| v.as_bytes().to_vec()).collect(),
            )],
        }
    }

    #[test]
    fn range_retrieval_goes_on_until_the_star() {
        assert_eq!(
            next_range(&answer("member;range=1500-2999", &["cn=a"]), 1500),
            Some(3000)
        );
        assert_eq!(
            next_range(&answer("member;range=1500-*", &["cn=a"]), 1500),
            None
        );
        // No progress, or an answer to another question: stop.
        assert_eq!(
            next_range(&answer("member;range=0-1499", &["cn=a"]), 1500),
            None
        );
        assert_eq!(next_range(&answer("member", &["cn=a"]), 1500), None);
    }

    #[test]
    fn lists_keep_each_member_once() {
        let mut list = PendingList {
            dn: "cn=g".into(),
            object: EntryObject {
                external_id: "g".into(),
                kind: crate::directory::MirrorKind::Group,
                patch: Default::default(),
            },
            members: BTreeSet::new(),
            next_range: None,
        };
        list.add_members(["CN=A,DC=X", "cn=a, dc=x", "cn=b,dc=x"]);
        assert_eq!(
            list.members.iter().collect::<Vec<_>>(),
            ["cn=a,dc=x", "cn=b,dc=x"]
        );
    }
}
