//! What the LDAP integration tests share: the test servers' environment (printed by
//! `./dev ldap-test-servers`, see server/tests/ldap/README.md), settings for them, a small
//! in-memory mirror that applies a round's pages and expands lists like the engine, and a TCP
//! proxy that cuts the connection after a number of bytes.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use roster_core::directory::{
    normalize, Collection, DirectoryAccount, DirectoryMember, DomainRules, MirrorKind,
    MirrorObject, ObjectChange,
};
use roster_core::ldap::{LdapDirectory, LdapPassword, LdapSettings, LdapSettingsInput};
use roster_core::{DirectoryError, DomainName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A variable of the test servers' environment; a clear failure when it is missing.
pub fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set. Start the LDAP test servers with `./dev ldap-test-servers` and \
             export the variables it prints (see server/tests/ldap/README.md)."
        )
    })
}

pub fn env_port(name: &str) -> u16 {
    env(name)
        .parse()
        .unwrap_or_else(|_| panic!("{name} is not a port number"))
}

/// The CA of the test servers' certificates, as PEM (the variable holds a file path, or PEM).
pub fn ca_pem(var: &str) -> String {
    let value = env(var);
    if value.contains("-----BEGIN CERTIFICATE-----") {
        return value;
    }
    std::fs::read_to_string(&value).unwrap_or_else(|e| panic!("{var}={value}: {e}"))
}

pub fn rules(domain: &str) -> DomainRules {
    DomainRules::new(DomainName::parse(domain).unwrap())
}

/// Settings as the form would send them.
pub fn settings(input: LdapSettingsInput) -> LdapSettings {
    input
        .parse()
        .unwrap_or_else(|e| panic!("test settings do not parse: {e:?}"))
}

pub fn directory(input: LdapSettingsInput, password: &str) -> LdapDirectory {
    LdapDirectory::new(
        settings(input),
        LdapPassword::new(password.to_owned()).unwrap(),
    )
    .with_connect_timeout(Duration::from_secs(5))
    .with_operation_timeout(Duration::from_secs(30))
}

/// The slapd test server, OpenLDAP preset with the AD attributes of the test schema.
pub fn slapd_input(security: &str) -> LdapSettingsInput {
    let port = match security {
        "ldaps" => env("ROSTER_TEST_SLAPD_LDAPS_PORT"),
        _ => env("ROSTER_TEST_SLAPD_PORT"),
    };
    LdapSettingsInput {
        servers: "localhost".into(),
        security: security.into(),
        port,
        verify_certificate: true,
        ca_pem: ca_pem("ROSTER_TEST_LDAP_CA"),
        bind_user: env("ROSTER_TEST_SLAPD_BIND_DN"),
        base_dns: env("ROSTER_TEST_SLAPD_BASE_DN"),
        filter: "(&(mail=*)(|(objectClass=inetOrgPerson)(objectClass=groupOfNames)))".into(),
        email_attribute: "mail".into(),
        alias_attributes: "proxyAddresses".into(),
        list_attribute: "objectClass".into(),
        list_value: "groupOfNames".into(),
    }
}

pub fn slapd_password() -> String {
    env("ROSTER_TEST_SLAPD_PASSWORD")
}

/// The Samba AD DC test server, Active Directory preset with the test filter.
pub fn samba_input(security: &str) -> LdapSettingsInput {
    let port = match security {
        "ldaps" => env("ROSTER_TEST_SAMBA_LDAPS_PORT"),
        _ => env("ROSTER_TEST_SAMBA_PORT"),
    };
    LdapSettingsInput {
        servers: "127.0.0.1".into(),
        security: security.into(),
        port,
        verify_certificate: true,
        ca_pem: ca_pem("ROSTER_TEST_SAMBA_CA"),
        bind_user: env("ROSTER_TEST_SAMBA_USER"),
        base_dns: env("ROSTER_TEST_SAMBA_BASE_DN"),
        filter: env("ROSTER_TEST_SAMBA_FILTER"),
        email_attribute: "mail".into(),
        alias_attributes: "proxyAddresses".into(),
        list_attribute: "objectClass".into(),
        list_value: "group".into(),
    }
}

pub fn samba_password() -> String {
    env("ROSTER_TEST_SAMBA_PASSWORD")
}

/// A domain's directory as the engine's mirror holds it after a round.
#[derive(Debug, Default)]
pub struct Mirror {
    pub objects: HashMap<String, MirrorObject>,
    pub members: HashMap<String, BTreeSet<String>>,
    /// Pages per collection, in the order they came.
    pub pages: Vec<(Collection, usize)>,
}

impl Mirror {
    /// One full round of `directory`, applied; and how long it took.
    pub async fn read(directory: &LdapDirectory) -> Result<(Mirror, Duration), DirectoryError> {
        use roster_core::Directory;
        let started = Instant::now();
        let mut pager = directory.changes(None);
        let mut mirror = Mirror::default();
        while let Some(page) = pager.next_page().await? {
            mirror.pages.push((page.collection, page.changes.len()));
            for change in page.changes {
                let ObjectChange::Present {
                    external_id,
                    kind,
                    patch,
                    members_added,
                    members_removed,
                } = change
                else {
                    panic!("a full round reports only present objects: {change:?}");
                };
                assert!(members_removed.is_empty());
                let object = mirror
                    .objects
                    .entry(external_id.clone())
                    .or_insert_with(|| MirrorObject::new(external_id.clone(), kind));
                object.kind = kind;
                object.apply(&patch);
                mirror
                    .members
                    .entry(external_id)
                    .or_default()
                    .extend(members_added);
            }
        }
        assert!(
            pager.resume_state().is_none(),
            "LDAP rounds are always full"
        );
        Ok((mirror, started.elapsed()))
    }

    /// Users and contacts with an address reachable from a list, through nested lists,
    /// stopping at cycles (as the engine's recursive query does).
    fn expand(&self, root: &str) -> Vec<DirectoryMember> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![root.to_owned()];
        let mut out = Vec::new();
        while let Some(id) = stack.pop() {
            for member in self.members.get(&id).into_iter().flatten() {
                if !seen.insert(member.clone()) {
                    continue;
                }
                stack.push(member.clone());
                let Some(object) = self.objects.get(member) else {
                    continue;
                };
                if matches!(object.kind, MirrorKind::User | MirrorKind::Contact) {
                    if let Some(address) = object.primary_address() {
                        out.push(DirectoryMember {
                            external_id: member.clone(),
                            kind: object.kind.member_kind(),
                            address: Some(address),
                        });
                    }
                }
            }
        }
        out
    }

    /// The accounts of `domain`, keyed by address.
    pub fn accounts(&self, domain: &str) -> BTreeMap<String, DirectoryAccount> {
        let rules = rules(domain);
        self.objects
            .values()
            .filter(|o| o.may_be_account())
            .filter_map(|o| {
                let members = match o.kind {
                    MirrorKind::Group => self.expand(&o.external_id),
                    _ => Vec::new(),
                };
                normalize(&o.to_object(members), &rules)
            })
            .map(|a| (a.address.as_str().to_owned(), a))
            .collect()
    }

    pub fn by_address(&self, address: &str) -> &MirrorObject {
        self.objects
            .values()
            .find(|o| o.primary_address().is_some_and(|a| a.as_str() == address))
            .unwrap_or_else(|| panic!("no object with the address {address}"))
    }
}

/// One line per account: `address kind [aliases] members: n (first ones)`.
pub fn summary(account: &DirectoryAccount) -> String {
    let aliases: Vec<&str> = account.aliases.iter().map(|a| a.as_str()).collect();
    let members: Vec<&str> = account.members.iter().map(|a| a.as_str()).collect();
    format!(
        "{} {:?} aliases={:?} members={:?}",
        account.address.as_str(),
        account.kind,
        aliases,
        members
    )
}

/// A TCP proxy on `listen` that forwards to `upstream` and cuts every connection once it has
/// sent `cut_after` bytes from the server to the client. Runs until the test ends.
pub async fn cutting_proxy(listen: TcpListener, upstream: std::net::SocketAddr, cut_after: usize) {
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listen.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let Ok(mut server) = TcpStream::connect(upstream).await else {
                    return;
                };
                let (mut client_read, mut client_write) = client.split();
                let (mut server_read, mut server_write) = server.split();
                let up = tokio::io::copy(&mut client_read, &mut server_write);
                let down = async {
                    let mut sent = 0usize;
                    let mut buffer = vec![0u8; 4096];
                    loop {
                        let n = server_read.read(&mut buffer).await.unwrap_or(0);
                        if n == 0 {
                            break;
                        }
                        let n = n.min(cut_after - sent);
                        if client_write.write_all(&buffer[..n]).await.is_err() {
                            break;
                        }
                        sent += n;
                        if sent >= cut_after {
                            break;
                        }
                    }
                };
                // Whichever side ends first ends the connection, both ways.
                tokio::select! {
                    _ = up => {}
                    _ = down => {}
                }
            });
        }
    });
}

/// A listener on a loopback address other than the servers' (127.0.0.3 and up) at `port`.
pub async fn listener_beside(port: u16) -> (TcpListener, String) {
    for last in 3..=40u8 {
        let host = format!("127.0.0.{last}");
        if let Ok(listener) = TcpListener::bind((host.as_str(), port)).await {
            return (listener, host);
        }
    }
    panic!("no free loopback address 127.0.0.3–40 for port {port}");
}

/// A loopback address where nothing listens on `port`.
pub async fn closed_beside(port: u16) -> String {
    let (listener, host) = listener_beside(port).await;
    drop(listener);
    host
}
