//! From what `ldap3`, the network and rustls report to the [`DirectoryError`] an admin reads:
//! pure classification, by the step that failed and what failed in it.

use std::io;

use ldap3::{LdapError, LdapResult};

use crate::directory::{AdBindReason, DirectoryError, LdapDetail};

/// The step of the conversation with a server an error happened in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// Resolving the name.
    Resolve,
    /// TCP connect.
    Connect,
    /// TLS (LDAPS) or StartTLS and its handshake.
    Tls,
    /// The simple bind.
    Bind,
    /// A search under this base DN (or of this entry).
    Search { base_dn: String },
}

/// Which server, as the admin entered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target<'a> {
    pub host: &'a str,
    pub port: u16,
    pub user: &'a str,
}

impl Target<'_> {
    fn detail(&self) -> LdapDetail {
        LdapDetail::new(format!("{}:{}", self.host, self.port))
    }
}

/// The error an `ldap3` failure at `step` means.
pub(crate) fn classify(error: &LdapError, step: &Step, target: &Target<'_>) -> DirectoryError {
    let detail = || Box::new(target.detail().with_message(error.to_string()));
    let host = target.host.to_owned();
    match error {
        LdapError::Timeout { .. } => match step {
            Step::Resolve | Step::Connect | Step::Tls => DirectoryError::LdapConnectTimedOut {
                host,
                port: target.port,
                detail: detail(),
            },
            Step::Bind | Step::Search { .. } => DirectoryError::LdapTimedOut {
                host,
                detail: detail(),
            },
        },
        LdapError::Io { source } => classify_io(source, step, target),
        LdapError::Rustls { source } => classify_tls(source, target, error),
        LdapError::DNSName { .. } => DirectoryError::LdapTls {
            host,
            detail: detail(),
        },
        LdapError::FilterParsing => DirectoryError::LdapFilterSyntax { detail: detail() },
        LdapError::LdapResult { result } => classify_result(result, step, target),
        LdapError::OpSend { .. }
        | LdapError::ResultRecv { .. }
        | LdapError::IdScrubSend { .. }
        | LdapError::MiscSend { .. }
        | LdapError::EndOfStream => match step {
            Step::Tls => DirectoryError::LdapTls {
                host,
                detail: detail(),
            },
            _ => DirectoryError::LdapConnectionLost {
                host,
                detail: detail(),
            },
        },
        _ => DirectoryError::LdapServerError {
            host,
            detail: detail(),
        },
    }
}

/// A network error: before the connection stands, what kept it from standing; after, a
/// dropped connection.
pub(crate) fn classify_io(error: &io::Error, step: &Step, target: &Target<'_>) -> DirectoryError {
    if let Some(tls) = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        return classify_tls(tls, target, error);
    }
    let detail = Box::new(target.detail().with_message(error.to_string()));
    let host = target.host.to_owned();
    match step {
        Step::Resolve => DirectoryError::LdapHostNotFound { host, detail },
        Step::Connect if error.kind() == io::ErrorKind::TimedOut => {
            DirectoryError::LdapConnectTimedOut {
                host,
                port: target.port,
                detail,
            }
        }
        Step::Connect => DirectoryError::LdapConnectFailed {
            host,
            port: target.port,
            detail,
        },
        // The server closed the connection during the handshake: not TLS on this port.
        Step::Tls => DirectoryError::LdapTls { host, detail },
        Step::Bind | Step::Search { .. } => DirectoryError::LdapConnectionLost { host, detail },
    }
}

/// A TLS failure: untrusted issuer, wrong name, or anything else.
fn classify_tls(
    error: &rustls::Error,
    target: &Target<'_>,
    shown: &dyn std::fmt::Display,
) -> DirectoryError {
    use rustls::CertificateError as C;
    let detail = Box::new(target.detail().with_message(shown.to_string()));
    let host = target.host.to_owned();
    match error {
        rustls::Error::InvalidCertificate(
            C::UnknownIssuer | C::BadSignature | C::UnknownRevocationStatus,
        ) => DirectoryError::LdapTlsUntrusted { host, detail },
        rustls::Error::InvalidCertificate(
            C::NotValidForName | C::NotValidForNameContext { .. },
        ) => DirectoryError::LdapTlsNameMismatch { host, detail },
        _ => DirectoryError::LdapTls { host, detail },
    }
}

/// An LDAP result code other than success.
pub(crate) fn classify_result(
    result: &LdapResult,
    step: &Step,
    target: &Target<'_>,
) -> DirectoryError {
    let mut detail = target.detail().with_message(&result.text);
    detail.result_code = Some(result.rc);
    let host = target.host.to_owned();
    match (result.rc, step) {
        // StartTLS refused (no TLS configured on the server, …).
        (_, Step::Tls | Step::Connect | Step::Resolve) => DirectoryError::LdapTls {
            host,
            detail: Box::new(detail),
        },
        (49, _) => {
            let reason = AdBindReason::from_diagnostic(&result.text);
            detail.ad_code = reason.map(|r| r.code().to_owned());
            DirectoryError::LdapBindRejected {
                user: target.user.to_owned(),
                reason,
                detail: Box::new(detail),
            }
        }
        (8 | 13, _) => DirectoryError::LdapStrongAuthRequired {
            host,
            detail: Box::new(detail),
        },
        (32, Step::Search { base_dn }) => DirectoryError::LdapBaseDnNotFound {
            base_dn: base_dn.clone(),
            detail: Box::new(detail),
        },
        (4 | 11, _) => DirectoryError::LdapSizeLimit {
            detail: Box::new(detail),
        },
        (87, _) => DirectoryError::LdapFilterSyntax {
            detail: Box::new(detail),
        },
        (3, _) => DirectoryError::LdapTimedOut {
            host,
            detail: Box::new(detail),
        },
        _ => DirectoryError::LdapServerError {
            host,
            detail: Box::new(detail),
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const TARGET: Target<'static> = Target {
        host: "dc1.example.com",
        port: 636,
        user: "roster@example.com",
    };

    fn result(rc: u32, text: &str) -> LdapResult {
        LdapResult {
            rc,
            matched: String::new(),
            text: text.into(),
            refs: vec![],
            ctrls: vec![],
        }
    }

    fn search() -> Step {
        Step::Search {
            base_dn: "dc=example,dc=com".into(),
        }
    }

    #[test]
    fn ad_sub_codes_name_the_reason() {
        let text = |code: &str| {
            format!("80090308: LdapErr: DSID-0C09042A, comment: AcceptSecurityContext error, data {code}, v3839")
        };
        for reason in AdBindReason::ALL {
            let e = classify_result(&result(49, &text(reason.code())), &Step::Bind, &TARGET);
            let DirectoryError::LdapBindRejected {
                reason: got,
                ref detail,
                ..
            } = e
            else {
                panic!("{e:?}")
            };
            assert_eq!(got, Some(reason));
            assert_eq!(detail.ad_code.as_deref(), Some(reason.code()));
            assert!(e.to_string().contains("roster@example.com"));
            assert!(
                !e.to_string().contains("DSID"),
                "vendor text stays in the detail"
            );
            assert!(e.needs_admin() && !e.is_transient());
        }
        let wrong = classify_result(&result(49, &text("52e")), &Step::Bind, &TARGET);
        assert!(wrong.to_string().contains("password is wrong"));
        let locked = classify_result(&result(49, &text("775")), &Step::Bind, &TARGET);
        assert!(locked.to_string().contains("locked out"));
        // slapd says nothing more.
        let plain = classify_result(&result(49, ""), &Step::Bind, &TARGET);
        assert!(matches!(
            plain,
            DirectoryError::LdapBindRejected { reason: None, .. }
        ));
        assert!(plain.to_string().contains("invalid credentials"));
        assert_eq!(AdBindReason::from_diagnostic("data 999, v1"), None);
        assert_eq!(
            AdBindReason::from_diagnostic("AcceptSecurityContext error, DATA 533, v1db1"),
            Some(AdBindReason::AccountDisabled)
        );
    }

    #[test]
    fn result_codes() {
        let kind = |rc: u32, step: &Step| classify_result(&result(rc, "why"), step, &TARGET);
        assert!(matches!(
            kind(8, &Step::Bind),
            DirectoryError::LdapStrongAuthRequired { .. }
        ));
        let e = kind(32, &search());
        assert!(matches!(e, DirectoryError::LdapBaseDnNotFound { .. }));
        assert!(e.to_string().contains("dc=example,dc=com"));
        assert_eq!(e.ldap().unwrap().result_code, Some(32));
        assert_eq!(e.ldap().unwrap().message.as_deref(), Some("why"));
        assert!(matches!(
            kind(4, &search()),
            DirectoryError::LdapSizeLimit { .. }
        ));
        assert!(matches!(
            kind(87, &search()),
            DirectoryError::LdapFilterSyntax { .. }
        ));
        assert!(matches!(
            kind(2, &Step::Tls),
            DirectoryError::LdapTls { .. }
        ));
        let busy = kind(51, &search());
        assert!(matches!(busy, DirectoryError::LdapServerError { .. }));
        assert!(busy.is_transient());
        assert!(!kind(50, &search()).is_transient());
        assert!(kind(3, &search()).is_transient());
    }

    #[test]
    fn client_side_errors() {
        let e = classify(&LdapError::FilterParsing, &search(), &TARGET);
        assert!(matches!(e, DirectoryError::LdapFilterSyntax { .. }));
        assert!(!e.is_transient());
        let refused = io::Error::new(io::ErrorKind::ConnectionRefused, "refused");
        let e = classify_io(&refused, &Step::Connect, &TARGET);
        assert!(matches!(
            e,
            DirectoryError::LdapConnectFailed { port: 636, .. }
        ));
        assert!(e.to_string().contains("dc1.example.com:636"));
        assert!(e.is_transient());
        let nx = io::Error::other("failed to lookup address information");
        let e = classify_io(&nx, &Step::Resolve, &TARGET);
        assert!(matches!(e, DirectoryError::LdapHostNotFound { .. }));
        assert!(!e.is_transient());
        let dropped = io::Error::new(io::ErrorKind::ConnectionReset, "reset");
        let e = classify_io(&dropped, &search(), &TARGET);
        assert!(matches!(e, DirectoryError::LdapConnectionLost { .. }));
        assert!(e.is_transient());
        let gone = classify(&LdapError::EndOfStream, &search(), &TARGET);
        assert!(matches!(gone, DirectoryError::LdapConnectionLost { .. }));
        let closed = classify(&LdapError::EndOfStream, &Step::Tls, &TARGET);
        assert!(matches!(closed, DirectoryError::LdapTls { .. }));
        assert!(!DirectoryError::LdapTimedOut {
            host: "x".into(),
            detail: Box::default()
        }
        .is_sync_state_lost());
    }

    #[test]
    fn tls_failures() {
        let wrap = |e: rustls::Error| io::Error::new(io::ErrorKind::InvalidData, e);
        let untrusted = wrap(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer,
        ));
        let e = classify_io(&untrusted, &Step::Tls, &TARGET);
        assert!(matches!(e, DirectoryError::LdapTlsUntrusted { .. }));
        assert!(e.to_string().contains("CA"));
        assert!(e.needs_admin() && !e.is_transient());
        let name = wrap(rustls::Error::InvalidCertificate(
            rustls::CertificateError::NotValidForName,
        ));
        assert!(matches!(
            classify_io(&name, &Step::Tls, &TARGET),
            DirectoryError::LdapTlsNameMismatch { .. }
        ));
        let expired = wrap(rustls::Error::InvalidCertificate(
            rustls::CertificateError::Expired,
        ));
        assert!(matches!(
            classify_io(&expired, &Step::Tls, &TARGET),
            DirectoryError::LdapTls { .. }
        ));
        let direct = LdapError::Rustls {
            source: rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        };
        assert!(matches!(
            classify(&direct, &Step::Tls, &TARGET),
            DirectoryError::LdapTlsUntrusted { .. }
        ));
    }
}
