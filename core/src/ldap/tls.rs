//! The rustls client configuration for LDAPS and StartTLS: the system's trusted roots plus
//! the admin's own CA, with ring as the only crypto provider.

use std::sync::{Arc, LazyLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

use super::settings::TlsVerify;
use crate::directory::DirectoryError;

/// The system's trusted roots, read once per process (as `ldap3` itself does by default).
static SYSTEM_ROOTS: LazyLock<Vec<CertificateDer<'static>>> = LazyLock::new(|| {
    let found = rustls_native_certs::load_native_certs();
    if !found.errors.is_empty() {
        tracing::warn!(errors = ?found.errors, "some system CA certificates could not be read");
    }
    found.certs
});

/// The CA certificates of a PEM bundle; an error an admin can act on when there are none or
/// one does not parse.
pub(crate) fn parse_ca_pem(pem: &str) -> Result<Vec<CertificateDer<'static>>, DirectoryError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| {
            tracing::info!(error = %e, "custom LDAP CA certificate does not parse");
            DirectoryError::LdapBadCaCertificate {
                reason: "it is not a valid PEM certificate.".into(),
            }
        })?;
    if certs.is_empty() {
        return Err(DirectoryError::LdapBadCaCertificate {
            reason: "it holds no certificate.".into(),
        });
    }
    Ok(certs)
}

/// The client configuration for `verify`: `None` when certificates are not checked at all
/// (then `ldap3`'s own no-verification setting is used).
pub(crate) fn client_config(
    verify: &TlsVerify,
) -> Result<Option<Arc<ClientConfig>>, DirectoryError> {
    let custom = match verify {
        TlsVerify::DontVerify => return Ok(None),
        TlsVerify::Verify { custom_ca_pem } => custom_ca_pem.as_deref(),
    };
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(SYSTEM_ROOTS.iter().cloned());
    if let Some(pem) = custom {
        for cert in parse_ca_pem(pem)? {
            roots.add(cert).map_err(|e| {
                tracing::info!(error = %e, "custom LDAP CA certificate refused");
                DirectoryError::LdapBadCaCertificate {
                    reason: "it is not a usable CA certificate.".into(),
                }
            })?;
        }
    }
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| DirectoryError::LdapBadCaCertificate {
                reason: format!("TLS could not be set up ({e})."),
            })?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(Some(Arc::new(config)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn bad_pem_is_a_clear_error() {
        let e =
            parse_ca_pem("-----BEGIN CERTIFICATE-----\nnot base64!!\n-----END CERTIFICATE-----")
                .unwrap_err();
        assert!(matches!(e, DirectoryError::LdapBadCaCertificate { .. }));
        assert!(e.to_string().contains("PEM"));
        assert!(parse_ca_pem("nothing here").is_err());
        assert!(client_config(&TlsVerify::DontVerify).unwrap().is_none());
        assert!(client_config(&TlsVerify::Verify {
            custom_ca_pem: None
        })
        .unwrap()
        .is_some());
    }
}
