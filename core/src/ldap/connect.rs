//! Connecting to the first server of the list that answers: resolve, TCP connect, TLS (LDAPS)
//! or StartTLS, simple bind — each step with a timeout and an error that names it.

use std::net::SocketAddr;
use std::time::Duration;

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, StdStream};
use tokio::net::TcpStream;

use super::errors::{classify, classify_io, Step, Target};
use super::settings::{LdapPassword, LdapSecurity, LdapSettings};
use super::tls::client_config;
use crate::directory::DirectoryError;

/// How the connector paces itself; see the builder methods of `LdapDirectory`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tuning {
    /// Entries per page of a paged search (RFC 2696).
    pub page_size: i32,
    /// Values asked per `member;range=…` request.
    pub member_range: u32,
    /// Resolving, connecting and the TLS handshake, each.
    pub connect_timeout: Duration,
    /// The bind, and each answer of a search (the timer restarts with every entry).
    pub operation_timeout: Duration,
}

impl Default for Tuning {
    fn default() -> Tuning {
        Tuning {
            page_size: 500,
            member_range: 1500,
            connect_timeout: Duration::from_secs(10),
            operation_timeout: Duration::from_secs(60),
        }
    }
}

/// Everything a round or a test needs (a round's task gets its own copy).
#[derive(Debug, Clone)]
pub(crate) struct Inner {
    pub settings: LdapSettings,
    pub password: LdapPassword,
    pub tuning: Tuning,
}

/// A bound connection to one server.
pub(crate) struct Session {
    pub ldap: Ldap,
    pub host: String,
    pub port: u16,
    /// Its place in the server list.
    pub index: usize,
}

impl Session {
    pub fn target<'a>(&'a self, inner: &'a Inner) -> Target<'a> {
        Target {
            host: &self.host,
            port: self.port,
            user: &inner.settings.bind_user,
        }
    }
}

/// How far a failed attempt got: the error of the server that got furthest is the most
/// telling one (a wrong password on the second beats "refused" on the first).
fn progress(error: &DirectoryError) -> u8 {
    match error {
        DirectoryError::LdapHostNotFound { .. } => 0,
        DirectoryError::LdapConnectFailed { .. } | DirectoryError::LdapConnectTimedOut { .. } => 1,
        DirectoryError::LdapTls { .. }
        | DirectoryError::LdapTlsUntrusted { .. }
        | DirectoryError::LdapTlsNameMismatch { .. } => 2,
        _ => 3,
    }
}

/// Connects and binds to the servers from `start` on, in order; the first that binds serves.
/// When none does, the error of the server that got furthest (the first of those on a tie),
/// with every server tried and why in its detail.
pub(crate) async fn connect_first(inner: &Inner, start: usize) -> Result<Session, DirectoryError> {
    let mut best: Option<DirectoryError> = None;
    let mut tried = Vec::new();
    for (index, host) in inner.settings.servers.iter().enumerate().skip(start) {
        match connect_one(inner, index, host).await {
            Ok(session) => return Ok(session),
            Err(error) => {
                tracing::info!(server = %host, port = inner.settings.port, %error,
                    detail = ?error.ldap(), "LDAP server could not be used");
                tried.push(format!("{host}: {}", short_reason(&error)));
                if best.as_ref().is_none_or(|b| progress(&error) > progress(b)) {
                    best = Some(error);
                }
            }
        }
    }
    let error = best.unwrap_or_else(|| DirectoryError::LdapConnectFailed {
        host: inner.settings.servers.join(", "),
        port: inner.settings.port,
        detail: Box::default(),
    });
    Err(if tried.len() > 1 {
        error.with_servers_tried(tried)
    } else {
        error
    })
}

fn short_reason(error: &DirectoryError) -> &'static str {
    match error {
        DirectoryError::LdapHostNotFound { .. } => "name not found",
        DirectoryError::LdapConnectFailed { .. } => "connection refused or unreachable",
        DirectoryError::LdapConnectTimedOut { .. } => "connection timed out",
        DirectoryError::LdapTlsUntrusted { .. } => "certificate not trusted",
        DirectoryError::LdapTlsNameMismatch { .. } => "certificate for other names",
        DirectoryError::LdapTls { .. } => "TLS failed",
        DirectoryError::LdapBindRejected { .. } => "sign-in rejected",
        DirectoryError::LdapStrongAuthRequired { .. } => "encryption required",
        DirectoryError::LdapTimedOut { .. } => "no answer in time",
        _ => "failed",
    }
}

/// One server: resolve, connect, TLS, bind.
async fn connect_one(inner: &Inner, index: usize, host: &str) -> Result<Session, DirectoryError> {
    let settings = &inner.settings;
    let tuning = &inner.tuning;
    let port = settings.port;
    let target = Target {
        host,
        port,
        user: &settings.bind_user,
    };
    // TLS settings first: a bad CA certificate is the admin's to fix, whatever the server.
    let mut conn_settings = LdapConnSettings::new().set_conn_timeout(tuning.connect_timeout);
    if settings.security != LdapSecurity::None {
        match client_config(&settings.verify)? {
            Some(config) => conn_settings = conn_settings.set_config(config),
            None => conn_settings = conn_settings.set_no_tls_verify(true),
        }
    }
    if settings.security == LdapSecurity::StartTls {
        conn_settings = conn_settings.set_starttls(true);
    }
    let timed_out = |step: Step| {
        let detail = crate::directory::LdapDetail::new(format!("{host}:{port}")).with_message(
            format!("no answer within {:?} ({step:?})", tuning.connect_timeout),
        );
        DirectoryError::LdapConnectTimedOut {
            host: host.to_owned(),
            port,
            detail: Box::new(detail),
        }
    };

    let addresses: Vec<SocketAddr> = match tokio::time::timeout(
        tuning.connect_timeout,
        tokio::net::lookup_host((host, port)),
    )
    .await
    {
        Err(_) => return Err(timed_out(Step::Resolve)),
        Ok(Err(e)) => return Err(classify_io(&e, &Step::Resolve, &target)),
        Ok(Ok(found)) => found.collect(),
    };
    let mut stream = None;
    let mut last_error = None;
    for address in &addresses {
        match tokio::time::timeout(tuning.connect_timeout, TcpStream::connect(address)).await {
            Err(_) => last_error = Some(timed_out(Step::Connect)),
            Ok(Err(e)) => last_error = Some(classify_io(&e, &Step::Connect, &target)),
            Ok(Ok(s)) => {
                stream = Some(s);
                break;
            }
        }
    }
    let Some(stream) = stream else {
        return Err(last_error.unwrap_or_else(|| {
            classify_io(
                &std::io::Error::other("the name resolves to no address"),
                &Step::Resolve,
                &target,
            )
        }));
    };
    let stream = stream
        .into_std()
        .map_err(|e| classify_io(&e, &Step::Connect, &target))?;
    conn_settings = conn_settings.set_std_stream(StdStream::Tcp(stream));

    let scheme = match settings.security {
        LdapSecurity::Ldaps => "ldaps",
        LdapSecurity::None | LdapSecurity::StartTls => "ldap",
    };
    let url_host = if host.parse::<std::net::Ipv6Addr>().is_ok() {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    let url = format!("{scheme}://{url_host}:{port}");
    let (conn, mut ldap) = LdapConnAsync::with_settings(conn_settings, &url)
        .await
        .map_err(|e| classify(&e, &Step::Tls, &target))?;
    let server = format!("{host}:{port}");
    tokio::spawn(async move {
        if let Err(e) = conn.drive().await {
            tracing::debug!(%server, error = %e, "LDAP connection ended");
        }
    });
    ldap.with_timeout(tuning.operation_timeout)
        .simple_bind(&settings.bind_user, inner.password.expose())
        .await
        .and_then(ldap3::LdapResult::success)
        .map_err(|e| classify(&e, &Step::Bind, &target))?;
    Ok(Session {
        ldap,
        host: host.to_owned(),
        port,
        index,
    })
}
