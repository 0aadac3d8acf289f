//! `EmailAddress` and `LocalPart`: recipient addresses, normalized to
//! lowercase with the domain in ASCII (punycode) form so that addresses can be
//! compared case-insensitively.

use serde::{Deserialize, Serialize};

use crate::domain_name::{DomainName, DomainNameError};
use crate::macros::string_value;

/// Longest accepted local part (the part before the @).
pub const MAX_LOCAL_PART_LENGTH: usize = 64;
/// Longest accepted address.
pub const MAX_EMAIL_ADDRESS_LENGTH: usize = 254;

/// Why an email address (or the part before the @) was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
pub enum EmailAddressError {
    #[error("Enter an email address, e.g. name@mydomain.org.")]
    Empty,
    #[error("Email addresses cannot contain spaces.")]
    ContainsSpace,
    #[error("An email address needs an @, e.g. name@mydomain.org.")]
    MissingAt,
    #[error("An email address can contain only one @.")]
    MultipleAt,
    #[error("Enter only the part before the @.")]
    ContainsAt,
    #[error("Enter the part before the @, e.g. name@mydomain.org.")]
    MissingLocalPart,
    #[error("Enter the domain after the @, e.g. name@mydomain.org.")]
    MissingDomain,
    #[error("The part before the @ can be at most 64 characters.")]
    LocalPartTooLong,
    #[error("The part before the @ can only use plain letters (a to z), digits and a few symbols; accented and other special letters are not supported.")]
    NonAsciiLocalPart,
    #[error("“{character}” is not allowed in the part before the @.")]
    InvalidLocalPartCharacter { character: char },
    #[error("The part before the @ cannot start or end with a dot, or have two dots in a row.")]
    LocalPartDots,
    #[error("The part after the @ is not valid. {0}")]
    Domain(#[source] DomainNameError),
    #[error("An email address can be at most 254 characters.")]
    TooLong,
}

/// A valid email address, lowercased, with an ASCII (punycode) domain.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

string_value!(EmailAddress, EmailAddressError);

impl EmailAddress {
    /// Parses an address such as `Bob@Bücher.example` into
    /// `bob@xn--bcher-kva.example`.
    pub fn parse(input: &str) -> Result<EmailAddress, EmailAddressError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(EmailAddressError::Empty);
        }
        if trimmed.contains(char::is_whitespace) {
            return Err(EmailAddressError::ContainsSpace);
        }
        let (local, domain) = match trimmed.split_once('@') {
            None => return Err(EmailAddressError::MissingAt),
            Some((_, rest)) if rest.contains('@') => return Err(EmailAddressError::MultipleAt),
            Some(parts) => parts,
        };
        let local = normalize_local_part(local)?;
        if domain.is_empty() {
            return Err(EmailAddressError::MissingDomain);
        }
        let domain = DomainName::parse(domain).map_err(EmailAddressError::Domain)?;
        join(&local, &domain)
    }

    /// Builds an address from already-parsed parts (e.g. an alias name and the
    /// customer's domain). Fails only if the result is longer than 254.
    pub fn from_parts(
        local: &LocalPart,
        domain: &DomainName,
    ) -> Result<EmailAddress, EmailAddressError> {
        join(local.as_str(), domain)
    }

    /// The part before the @.
    pub fn local_part(&self) -> &str {
        self.0.split_once('@').map_or(self.0.as_str(), |(l, _)| l)
    }

    /// The domain after the @, in ASCII (punycode) form.
    pub fn domain(&self) -> &str {
        self.0.split_once('@').map_or("", |(_, d)| d)
    }

    /// The domain after the @ as a [`DomainName`].
    pub fn domain_name(&self) -> DomainName {
        DomainName::from_normalized(self.domain().to_owned())
    }

    /// The address for display, with the domain in Unicode form.
    pub fn to_unicode(&self) -> String {
        format!("{}@{}", self.local_part(), self.domain_name().to_unicode())
    }
}

fn join(local: &str, domain: &DomainName) -> Result<EmailAddress, EmailAddressError> {
    let address = format!("{local}@{domain}");
    if address.len() > MAX_EMAIL_ADDRESS_LENGTH {
        return Err(EmailAddressError::TooLong);
    }
    Ok(EmailAddress(address))
}

/// The part of an address before the @ (a mailbox or alias name), lowercased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LocalPart(String);

string_value!(LocalPart, EmailAddressError);

impl LocalPart {
    /// Parses the part before the @, e.g. `John.Smith` into `john.smith`.
    pub fn parse(input: &str) -> Result<LocalPart, EmailAddressError> {
        let trimmed = input.trim();
        if trimmed.contains('@') {
            return Err(EmailAddressError::ContainsAt);
        }
        if trimmed.contains(char::is_whitespace) {
            return Err(EmailAddressError::ContainsSpace);
        }
        normalize_local_part(trimmed).map(LocalPart)
    }
}

/// Characters allowed in an unquoted (dot-atom) local part, besides
/// letters, digits and dots.
const ATOM_SYMBOLS: &str = "!#$%&'*+/=?^_`{|}~-";

fn normalize_local_part(local: &str) -> Result<String, EmailAddressError> {
    if local.is_empty() {
        return Err(EmailAddressError::MissingLocalPart);
    }
    if !local.is_ascii() {
        return Err(EmailAddressError::NonAsciiLocalPart);
    }
    if let Some(character) = local
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || c == '.' || ATOM_SYMBOLS.contains(c)))
    {
        return Err(EmailAddressError::InvalidLocalPartCharacter { character });
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(EmailAddressError::LocalPartDots);
    }
    if local.len() > MAX_LOCAL_PART_LENGTH {
        return Err(EmailAddressError::LocalPartTooLong);
    }
    Ok(local.to_ascii_lowercase())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::de::value::{Error as DeError, StringDeserializer};
    use serde::de::IntoDeserializer;

    fn ok(input: &str) -> String {
        EmailAddress::parse(input).unwrap().as_str().to_owned()
    }

    fn err(input: &str) -> EmailAddressError {
        EmailAddress::parse(input).unwrap_err()
    }

    #[test]
    fn accepts_and_normalizes() {
        assert_eq!(ok("bob@example.com"), "bob@example.com");
        assert_eq!(ok("  Bob.Smith@Example.COM "), "bob.smith@example.com");
        assert_eq!(ok("o'neil+tag@example.com"), "o'neil+tag@example.com");
        assert_eq!(
            ok("!#$%&'*+/=?^_`{|}~-@example.com"),
            "!#$%&'*+/=?^_`{|}~-@example.com"
        );
        assert_eq!(ok("bob@example.com."), "bob@example.com");
    }

    #[test]
    fn idn_domains_become_punycode() {
        let e = EmailAddress::parse("Info@Bücher.example").unwrap();
        assert_eq!(e.as_str(), "info@xn--bcher-kva.example");
        assert_eq!(e.local_part(), "info");
        assert_eq!(e.domain(), "xn--bcher-kva.example");
        assert_eq!(
            e.domain_name(),
            DomainName::parse("bücher.example").unwrap()
        );
        assert_eq!(e.to_unicode(), "info@bücher.example");
        assert_eq!(e.to_string(), "info@xn--bcher-kva.example");
        assert_eq!(ok("X@ÉXAMPLE.com"), "x@xn--xample-9ua.com");
    }

    #[test]
    fn rejects_structure_errors() {
        assert_eq!(err(""), EmailAddressError::Empty);
        assert_eq!(err("  "), EmailAddressError::Empty);
        assert_eq!(err("bob"), EmailAddressError::MissingAt);
        assert_eq!(err("bob@@example.com"), EmailAddressError::MultipleAt);
        assert_eq!(err("a@b@example.com"), EmailAddressError::MultipleAt);
        assert_eq!(err("@example.com"), EmailAddressError::MissingLocalPart);
        assert_eq!(err("bob@"), EmailAddressError::MissingDomain);
        assert_eq!(
            err("bob smith@example.com"),
            EmailAddressError::ContainsSpace
        );
        assert_eq!(err("bob@exa mple.com"), EmailAddressError::ContainsSpace);
    }

    #[test]
    fn rejects_bad_local_parts() {
        assert_eq!(
            err("jörg@example.com"),
            EmailAddressError::NonAsciiLocalPart
        );
        assert_eq!(
            err("bob(x)@example.com"),
            EmailAddressError::InvalidLocalPartCharacter { character: '(' }
        );
        assert_eq!(
            err("\"bob\"@example.com"),
            EmailAddressError::InvalidLocalPartCharacter { character: '"' }
        );
        assert_eq!(err(".bob@example.com"), EmailAddressError::LocalPartDots);
        assert_eq!(err("bob.@example.com"), EmailAddressError::LocalPartDots);
        assert_eq!(err("bo..b@example.com"), EmailAddressError::LocalPartDots);
        let l64 = "a".repeat(64);
        assert_eq!(
            ok(&format!("{l64}@example.com")),
            format!("{l64}@example.com")
        );
        assert_eq!(
            err(&format!("{}@example.com", "a".repeat(65))),
            EmailAddressError::LocalPartTooLong
        );
    }

    #[test]
    fn rejects_bad_domains() {
        assert_eq!(
            err("bob@localhost"),
            EmailAddressError::Domain(DomainNameError::NotFullDomain)
        );
        assert_eq!(
            err("bob@localhost").to_string(),
            "The part after the @ is not valid. Enter the full domain name, e.g. mydomain.org."
        );
        assert_eq!(
            err("bob@-bad.com"),
            EmailAddressError::Domain(DomainNameError::InvalidLabel {
                label: "-bad".into()
            })
        );
        assert_eq!(
            err("bob@1.2.3.4"),
            EmailAddressError::Domain(DomainNameError::NumericTld)
        );
    }

    #[test]
    fn total_length_limit() {
        // 64 + 1 + 189 = 254
        let local = "a".repeat(64);
        let domain = format!("{}.{}.{}", "b".repeat(63), "c".repeat(63), "d".repeat(61));
        assert_eq!(domain.len(), 189);
        assert_eq!(ok(&format!("{local}@{domain}")).len(), 254);
        let domain = format!("{}.{}.{}", "b".repeat(63), "c".repeat(63), "d".repeat(62));
        assert_eq!(
            err(&format!("{local}@{domain}")),
            EmailAddressError::TooLong
        );
    }

    #[test]
    fn local_part_parse() {
        assert_eq!(
            LocalPart::parse(" John.Smith ").unwrap().as_str(),
            "john.smith"
        );
        assert_eq!(
            LocalPart::parse("bob@example.com").unwrap_err(),
            EmailAddressError::ContainsAt
        );
        assert_eq!(
            LocalPart::parse("bob@example.com").unwrap_err().to_string(),
            "Enter only the part before the @."
        );
        assert_eq!(
            LocalPart::parse("").unwrap_err(),
            EmailAddressError::MissingLocalPart
        );
        assert_eq!(
            LocalPart::parse("a b").unwrap_err(),
            EmailAddressError::ContainsSpace
        );
        assert_eq!(
            LocalPart::parse("a..b").unwrap_err(),
            EmailAddressError::LocalPartDots
        );
    }

    #[test]
    fn from_parts() {
        let local = LocalPart::parse("Sales").unwrap();
        let domain = DomainName::parse("Bücher.example").unwrap();
        let e = EmailAddress::from_parts(&local, &domain).unwrap();
        assert_eq!(e.as_str(), "sales@xn--bcher-kva.example");
        assert_eq!(e, EmailAddress::parse("SALES@bücher.example").unwrap());
        let long_local = LocalPart::parse(&"a".repeat(64)).unwrap();
        let long_domain = DomainName::parse(&format!(
            "{}.{}.{}",
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(62)
        ))
        .unwrap();
        assert_eq!(
            EmailAddress::from_parts(&long_local, &long_domain).unwrap_err(),
            EmailAddressError::TooLong
        );
    }

    #[test]
    fn serde_goes_through_parse() {
        let de: StringDeserializer<DeError> = "Bob@Example.com".to_owned().into_deserializer();
        let e = EmailAddress::deserialize(de).unwrap();
        assert_eq!(e.as_str(), "bob@example.com");
        assert_eq!(String::from(e), "bob@example.com");
        let de: StringDeserializer<DeError> = "not an address".to_owned().into_deserializer();
        assert!(EmailAddress::deserialize(de).is_err());
        let de: StringDeserializer<DeError> = "Sales".to_owned().into_deserializer();
        assert_eq!(LocalPart::deserialize(de).unwrap().as_str(), "sales");
    }

    #[test]
    fn messages_are_sentences() {
        for input in [
            "",
            "bob",
            "a@@b.com",
            "@b.com",
            "bob@",
            "a b@c.com",
            "ü@b.com",
            "a(@b.com",
            ".a@b.com",
            "a@b",
        ] {
            let msg = err(input).to_string();
            assert!(msg.ends_with('.'), "{msg}");
        }
    }

    proptest! {
        #[test]
        fn normalization_is_idempotent_and_case_insensitive(
            local in "[a-zA-Z0-9]{1,8}([._+-][a-zA-Z0-9]{1,8}){0,4}",
            domain in "[a-zA-Z0-9]{1,10}(\\.[a-zA-Z0-9]{1,10}){0,2}\\.[a-zA-Z]{2,6}",
        ) {
            let input = format!("{local}@{domain}");
            let parsed = EmailAddress::parse(&input).unwrap();
            prop_assert_eq!(&EmailAddress::parse(parsed.as_str()).unwrap(), &parsed);
            prop_assert_eq!(&EmailAddress::parse(&input.to_uppercase()).unwrap(), &parsed);
            prop_assert_eq!(&EmailAddress::parse(&input.to_lowercase()).unwrap(), &parsed);
            prop_assert_eq!(parsed.as_str(), input.to_lowercase());
        }

        #[test]
        fn parse_never_panics_and_results_are_stable(input in "\\PC{0,40}") {
            if let Ok(e) = EmailAddress::parse(&input) {
                prop_assert_eq!(EmailAddress::parse(e.as_str()).unwrap(), e.clone());
                prop_assert_eq!(EmailAddress::parse(&e.to_unicode()).unwrap(), e);
            }
        }
    }
}
