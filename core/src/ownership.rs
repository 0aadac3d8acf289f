//! Domain ownership: a domain proves it belongs to the organization that added it by a DNS TXT
//! record at its apex, `roster-verification=<token>`, with a token Roster made for it. (An
//! Office 365 domain also counts as proven when its connected tenant lists it among its
//! verified domains; see `microsoft::TenantOrganization::has_verified_domain`.)
//!
//! This module holds the pure rule — which TXT records prove which token — and the
//! admin-readable reasons a check fails; the DNS lookup itself is [`dns`] (connectors only).

#[cfg(feature = "connectors")]
pub mod dns;

/// What a TXT record starts with; the token follows.
pub const TXT_PREFIX: &str = "roster-verification=";

/// The TXT record's value an admin adds for `token`.
pub fn txt_value(token: &str) -> String {
    format!("{TXT_PREFIX}{token}")
}

/// Why a domain's ownership could not be confirmed. Each message tells the admin what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OwnershipError {
    /// The name does not exist in DNS (NXDOMAIN).
    #[error("DNS says the domain {domain} does not exist. Check the domain's name and its DNS hosting, then try again.")]
    NoSuchDomain { domain: String },
    /// The name exists but has no `roster-verification=` TXT record.
    #[error("No TXT record “{TXT_PREFIX}…” was found at {domain}. Add the record shown here at the domain's apex (name “@”), wait for it to be published, then try again.")]
    RecordMissing { domain: String },
    /// A `roster-verification=` record exists, but with another token.
    #[error("The TXT record at {domain} has another verification code than this domain's. Replace it with the record shown here, then try again.")]
    WrongToken { domain: String },
    /// The resolver did not answer, or answered with an error (details in the log).
    #[error("Roster could not reach its DNS resolver to look up {domain}. Nothing was changed; try again in a few minutes.")]
    ResolverUnavailable { domain: String },
}

/// Checks the TXT strings found at the domain's apex against its token: one record equal to
/// `roster-verification=<token>` (surrounding spaces ignored) proves ownership; other TXT
/// records (SPF, other services' codes) are ignored.
pub fn check_txt_records<S: AsRef<str>>(
    domain: &str,
    records: &[S],
    token: &str,
) -> Result<(), OwnershipError> {
    let expected = txt_value(token);
    let ours: Vec<&str> = records
        .iter()
        .map(|r| r.as_ref().trim())
        .filter(|r| r.starts_with(TXT_PREFIX))
        .collect();
    if ours.contains(&expected.as_str()) {
        Ok(())
    } else if ours.is_empty() {
        Err(OwnershipError::RecordMissing {
            domain: domain.to_owned(),
        })
    } else {
        Err(OwnershipError::WrongToken {
            domain: domain.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_right_record_among_others_proves_ownership() {
        let records = [
            "v=spf1 -all",
            " roster-verification=abc123 ",
            "google-site-verification=x",
        ];
        assert_eq!(check_txt_records("d.example", &records, "abc123"), Ok(()));
    }

    #[test]
    fn a_missing_or_wrong_record_says_which() {
        assert_eq!(
            check_txt_records("d.example", &["v=spf1 -all"], "abc123"),
            Err(OwnershipError::RecordMissing {
                domain: "d.example".into()
            })
        );
        let none: [&str; 0] = [];
        assert!(matches!(
            check_txt_records("d.example", &none, "abc123"),
            Err(OwnershipError::RecordMissing { .. })
        ));
        assert_eq!(
            check_txt_records("d.example", &["roster-verification=other"], "abc123"),
            Err(OwnershipError::WrongToken {
                domain: "d.example".into()
            })
        );
        // A prefix of the token is not the token.
        assert!(check_txt_records("d.example", &["roster-verification=abc12"], "abc123").is_err());
    }

    #[test]
    fn the_record_value_is_prefix_and_token() {
        assert_eq!(txt_value("t0k"), "roster-verification=t0k");
    }
}
