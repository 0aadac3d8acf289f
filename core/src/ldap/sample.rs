//! Test Connection: connect and bind as a run would, check every base DN exists, read one page
//! of the search and show its first accounts as Roster would store them (members counted by
//! the run, not here).

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::Scope;

use super::connect::{connect_first, Inner};
use super::entry::{entry_object, RawEntry};
use super::errors::{classify, classify_result, Step};
use super::round::search_attributes;
use crate::directory::{
    normalize, ConnectionTest, DirectoryAccount, DirectoryError, DomainRules, MirrorKind,
    MirrorObject, CONNECTION_TEST_SAMPLE,
};

pub(crate) async fn test_connection(
    inner: &Inner,
    rules: &DomainRules,
) -> Result<ConnectionTest, DirectoryError> {
    let result = test(inner, rules).await;
    if let Err(error) = &result {
        tracing::info!(%error, detail = ?error.ldap(), "LDAP Test Connection failed");
    }
    result
}

async fn test(inner: &Inner, rules: &DomainRules) -> Result<ConnectionTest, DirectoryError> {
    let mut session = connect_first(inner, 0).await?;
    let target = session.target(inner);
    let (host, port, user) = (target.host.to_owned(), target.port, target.user.to_owned());
    let target = super::errors::Target {
        host: &host,
        port,
        user: &user,
    };
    // Every base DN exists (a later one would otherwise fail only the run).
    for base_dn in &inner.settings.base_dns {
        let step = Step::Search {
            base_dn: base_dn.clone(),
        };
        let found = session
            .ldap
            .with_timeout(inner.tuning.operation_timeout)
            .search(base_dn, Scope::Base, "(objectClass=*)", vec!["1.1"])
            .await
            .map_err(|e| classify(&e, &step, &target))?;
        if found.1.rc != 0 {
            return Err(classify_result(&found.1, &step, &target));
        }
    }
    let page = usize::try_from(inner.tuning.page_size.max(1)).unwrap_or(500);
    let base_dn = inner.settings.base_dns.first().cloned().unwrap_or_default();
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
            &base_dn,
            Scope::Subtree,
            &super::filter::compact_filter(inner.settings.effective_filter()),
            search_attributes(inner),
        )
        .await
        .map_err(|e| classify(&e, &step, &target))?;
    let mut objects = Vec::new();
    let mut more_pages = inner.settings.base_dns.len() > 1;
    loop {
        match search.next().await {
            Ok(Some(entry)) => {
                if objects.len() == page {
                    more_pages = true;
                    // The next page is already on its way: tell the server to stop sending it.
                    let handle = search.ldap_handle();
                    let id = handle.last_id();
                    let _ = handle.abandon(id).await;
                    break;
                }
                if let Some(raw) = RawEntry::parse(entry.0) {
                    objects.push(entry_object(&raw, &inner.settings.attributes, false));
                }
            }
            Ok(None) => {
                let done = search.finish().await;
                if done.rc != 0 {
                    return Err(classify_result(&done, &step, &target));
                }
                break;
            }
            Err(e) => return Err(classify(&e, &step, &target)),
        }
    }
    drop(search);
    let _ = session.ldap.unbind().await;

    let users_read = objects
        .iter()
        .filter(|o| o.kind == MirrorKind::User)
        .count();
    let groups_read = objects.len() - users_read;
    let accounts: Vec<(MirrorKind, DirectoryAccount)> = objects
        .into_iter()
        .filter_map(|o| {
            let mut mirror = MirrorObject::new(o.external_id, o.kind);
            mirror.apply(&o.patch);
            normalize(&mirror.to_object(Vec::new()), rules).map(|a| (o.kind, a))
        })
        .collect();
    let accounts_found = accounts.len();
    let (users, groups): (Vec<_>, Vec<_>) = accounts
        .into_iter()
        .partition(|(kind, _)| *kind == MirrorKind::User);
    let sample = users
        .into_iter()
        .chain(groups)
        .map(|(_, a)| a)
        .take(CONNECTION_TEST_SAMPLE)
        .collect();
    Ok(ConnectionTest {
        sample,
        users_read,
        groups_read,
        accounts_found,
        more_pages,
    })
}
