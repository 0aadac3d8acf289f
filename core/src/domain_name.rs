//! `DomainName`: a customer's DNS domain (e.g. `mydomain.org`), normalized to
//! lowercase ASCII with internationalized names stored as punycode (`xn--…`).
//!
//! The DNS-name rules live in [`normalize_dns_name`] so that mail server host
//! names (see `inbound.rs`) can share them.

use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};
use serde::{Deserialize, Serialize};

use crate::macros::string_value;

/// Longest DNS name in ASCII form, without the trailing root dot.
pub const MAX_DOMAIN_NAME_LENGTH: usize = 253;
/// Longest single label (the part between two dots).
pub const MAX_LABEL_LENGTH: usize = 63;

/// Why a domain name was rejected. Each message is a sentence for an admin.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
pub enum DomainNameError {
    #[error("Enter a domain name, e.g. mydomain.org.")]
    Empty,
    #[error("Enter just the domain name (the part after the @), e.g. mydomain.org.")]
    LooksLikeEmail,
    #[error("Enter just the name, without http:// or slashes, e.g. mydomain.org.")]
    LooksLikeUrl,
    #[error("Only letters, digits, hyphens and dots are allowed (no spaces or other symbols).")]
    InvalidCharacters,
    #[error("This internationalized name is not valid; check for unusual characters or a mistyped “xn--” part.")]
    InvalidInternationalName,
    #[error("The name is too long: it can be at most 253 characters.")]
    TooLong,
    #[error("The name cannot start with a dot or have two dots in a row.")]
    EmptyLabel,
    #[error("“{label}” is not allowed: each part between dots must be 1 to 63 letters, digits or hyphens, and cannot start or end with a hyphen.")]
    InvalidLabel { label: String },
    #[error("Enter the full domain name, e.g. mydomain.org.")]
    NotFullDomain,
    #[error("IP addresses are not accepted here; enter a domain name, e.g. mydomain.org.")]
    NumericTld,
}

/// A valid, normalized DNS domain name with at least two labels.
///
/// Stored (and serialized) in its lowercase ASCII form; use
/// [`DomainName::to_unicode`] for display.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DomainName(String);

string_value!(DomainName, DomainNameError);

impl DomainName {
    /// Parses what an admin typed: trims, drops one trailing dot, lowercases
    /// and converts internationalized names to punycode, then checks the DNS
    /// rules. A bare TLD such as `com` or `localhost` is rejected.
    pub fn parse(input: &str) -> Result<DomainName, DomainNameError> {
        normalize_dns_name(input, DnsNameKind::Domain).map(DomainName)
    }

    /// The domain in Unicode form for display (`bücher.example`).
    pub fn to_unicode(&self) -> String {
        idna::domain_to_unicode(&self.0).0
    }

    /// Wraps a string already produced by [`normalize_dns_name`] with
    /// [`DnsNameKind::Domain`].
    pub(crate) fn from_normalized(ascii: String) -> DomainName {
        DomainName(ascii)
    }
}

/// Which flavour of DNS name [`normalize_dns_name`] should accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DnsNameKind {
    /// A registrable-looking domain: at least two labels.
    Domain,
    /// A host name: a single label such as `mailhost` is fine too.
    Host,
}

/// Normalizes and validates a DNS name, returning its lowercase ASCII form.
pub(crate) fn normalize_dns_name(
    input: &str,
    kind: DnsNameKind,
) -> Result<String, DomainNameError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(DomainNameError::Empty);
    }
    if trimmed.contains('@') {
        return Err(DomainNameError::LooksLikeEmail);
    }
    if trimmed.contains('/') {
        return Err(DomainNameError::LooksLikeUrl);
    }
    let allowed = |c: char| {
        if c.is_ascii() {
            c.is_ascii_alphanumeric() || c == '-' || c == '.'
        } else {
            !c.is_whitespace() && !c.is_control()
        }
    };
    if !trimmed.chars().all(allowed) {
        return Err(DomainNameError::InvalidCharacters);
    }
    // Give a precise message for hyphen mistakes before punycode hides them.
    let without_root_dot = trimmed.strip_suffix('.').unwrap_or(trimmed);
    if let Some(label) = without_root_dot
        .split('.')
        .find(|label| label.starts_with('-') || label.ends_with('-'))
    {
        return Err(DomainNameError::InvalidLabel {
            label: label.to_owned(),
        });
    }

    let ascii = to_ascii(trimmed)?;
    let ascii = match ascii.strip_suffix('.') {
        Some(stripped) => stripped.to_owned(),
        None => ascii,
    };
    if ascii.is_empty() {
        return Err(DomainNameError::Empty);
    }
    if ascii.len() > MAX_DOMAIN_NAME_LENGTH {
        return Err(DomainNameError::TooLong);
    }

    let labels: Vec<&str> = ascii.split('.').collect();
    for label in &labels {
        check_label(label)?;
    }
    if kind == DnsNameKind::Domain && labels.len() < 2 {
        return Err(DomainNameError::NotFullDomain);
    }
    let tld = labels.last().copied().unwrap_or_default();
    if tld.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DomainNameError::NumericTld);
    }
    Ok(ascii)
}

/// Lowercases and, through UTS-46, maps and punycode-encodes the name. Pure
/// ASCII goes through the same processing so bad `xn--` labels are caught.
fn to_ascii(name: &str) -> Result<String, DomainNameError> {
    let lowered = name.to_lowercase();
    Uts46::new()
        .to_ascii(
            lowered.as_bytes(),
            AsciiDenyList::STD3,
            Hyphens::CheckFirstLast,
            DnsLength::Ignore,
        )
        .map(|cow| cow.into_owned())
        .map_err(|_| DomainNameError::InvalidInternationalName)
}

fn check_label(label: &str) -> Result<(), DomainNameError> {
    if label.is_empty() {
        return Err(DomainNameError::EmptyLabel);
    }
    let valid = label.len() <= MAX_LABEL_LENGTH
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        Ok(())
    } else {
        let shown = if label.starts_with("xn--") {
            idna::domain_to_unicode(label).0
        } else {
            label.to_owned()
        };
        Err(DomainNameError::InvalidLabel { label: shown })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::de::value::{Error as DeError, StringDeserializer};
    use serde::de::IntoDeserializer;

    fn ok(input: &str) -> String {
        DomainName::parse(input).unwrap().as_str().to_owned()
    }

    fn err(input: &str) -> DomainNameError {
        DomainName::parse(input).unwrap_err()
    }

    #[test]
    fn accepts_plain_names() {
        assert_eq!(ok("mydomain.org"), "mydomain.org");
        assert_eq!(ok("mail.sub.example.co.uk"), "mail.sub.example.co.uk");
        assert_eq!(ok("a-b.example"), "a-b.example");
        assert_eq!(ok("123.example"), "123.example");
        assert_eq!(ok("x.y"), "x.y");
    }

    #[test]
    fn trims_lowercases_and_strips_one_trailing_dot() {
        assert_eq!(ok("  MyDomain.ORG  "), "mydomain.org");
        assert_eq!(ok("example.com."), "example.com");
        assert_eq!(err("example.com.."), DomainNameError::EmptyLabel);
    }

    #[test]
    fn converts_idn_to_punycode_and_back() {
        let d = DomainName::parse("Bücher.example").unwrap();
        assert_eq!(d.as_str(), "xn--bcher-kva.example");
        assert_eq!(d.to_unicode(), "bücher.example");
        assert_eq!(d.to_string(), "xn--bcher-kva.example");
        assert_eq!(ok("ÉXAMPLE.com"), "xn--xample-9ua.com");
        assert_eq!(
            DomainName::parse("ÉXAMPLE.com").unwrap().to_unicode(),
            "éxample.com"
        );
        assert_eq!(ok("bücher.example."), "xn--bcher-kva.example");
        // Punycode input is accepted as is, and equals the Unicode spelling.
        assert_eq!(
            DomainName::parse("XN--BCHER-KVA.example").unwrap(),
            DomainName::parse("bücher.example").unwrap()
        );
        // Full-width characters and ideographic dots are mapped by UTS-46.
        assert_eq!(ok("ｅｘａｍｐｌｅ。ｃｏｍ"), "example.com");
    }

    #[test]
    fn rejects_invalid_punycode() {
        for bad in [
            "xn--a.com",
            "xn--zz-zzzz-9999.com",
            "xn--bcher-kva9.example",
        ] {
            assert_eq!(err(bad), DomainNameError::InvalidInternationalName, "{bad}");
        }
        assert_eq!(
            err("xn--.com"),
            DomainNameError::InvalidLabel {
                label: "xn--".into()
            }
        );
    }

    #[test]
    fn rejects_empty() {
        assert_eq!(err(""), DomainNameError::Empty);
        assert_eq!(err("   "), DomainNameError::Empty);
        assert_eq!(err("."), DomainNameError::Empty);
    }

    #[test]
    fn rejects_single_labels() {
        assert_eq!(err("com"), DomainNameError::NotFullDomain);
        assert_eq!(err("localhost"), DomainNameError::NotFullDomain);
        assert_eq!(err("localhost."), DomainNameError::NotFullDomain);
        assert_eq!(
            err("com").to_string(),
            "Enter the full domain name, e.g. mydomain.org."
        );
    }

    #[test]
    fn label_length_limit() {
        let l63 = "a".repeat(63);
        let l64 = "a".repeat(64);
        assert_eq!(ok(&format!("{l63}.com")), format!("{l63}.com"));
        assert_eq!(
            err(&format!("{l64}.com")),
            DomainNameError::InvalidLabel { label: l64 }
        );
    }

    #[test]
    fn total_length_limit() {
        let l63 = "a".repeat(63);
        let name253 = format!("{l63}.{l63}.{l63}.{}", "b".repeat(61));
        assert_eq!(name253.len(), 253);
        assert_eq!(ok(&name253), name253);
        assert_eq!(ok(&format!("{name253}.")), name253);
        let name254 = format!("{l63}.{l63}.{l63}.{}", "b".repeat(62));
        assert_eq!(name254.len(), 254);
        assert_eq!(err(&name254), DomainNameError::TooLong);
    }

    #[test]
    fn rejects_bad_hyphens() {
        assert_eq!(
            err("-bad.com"),
            DomainNameError::InvalidLabel {
                label: "-bad".into()
            }
        );
        assert_eq!(
            err("bad-.com"),
            DomainNameError::InvalidLabel {
                label: "bad-".into()
            }
        );
        assert_eq!(
            err("-bücher.de"),
            DomainNameError::InvalidLabel {
                label: "-bücher".into()
            }
        );
        assert_eq!(
            err("example.-com"),
            DomainNameError::InvalidLabel {
                label: "-com".into()
            }
        );
    }

    #[test]
    fn rejects_empty_labels() {
        assert_eq!(err("a..b"), DomainNameError::EmptyLabel);
        assert_eq!(err(".example.com"), DomainNameError::EmptyLabel);
    }

    #[test]
    fn rejects_numeric_tld_and_ip_addresses() {
        assert_eq!(err("192.168.1.1"), DomainNameError::NumericTld);
        assert_eq!(err("example.123"), DomainNameError::NumericTld);
        assert_eq!(err("[::1]"), DomainNameError::InvalidCharacters);
    }

    #[test]
    fn rejects_bad_characters_with_hints() {
        assert_eq!(err("my domain.org"), DomainNameError::InvalidCharacters);
        assert_eq!(err("my_domain.org"), DomainNameError::InvalidCharacters);
        assert_eq!(err("example.com:25"), DomainNameError::InvalidCharacters);
        assert_eq!(err("bob@example.com"), DomainNameError::LooksLikeEmail);
        assert_eq!(err("https://example.com/"), DomainNameError::LooksLikeUrl);
        assert_eq!(err("bü cher.de"), DomainNameError::InvalidCharacters);
    }

    #[test]
    fn messages_are_sentences() {
        let all = [
            DomainNameError::Empty,
            DomainNameError::LooksLikeEmail,
            DomainNameError::LooksLikeUrl,
            DomainNameError::InvalidCharacters,
            DomainNameError::InvalidInternationalName,
            DomainNameError::TooLong,
            DomainNameError::EmptyLabel,
            DomainNameError::InvalidLabel { label: "-x".into() },
            DomainNameError::NotFullDomain,
            DomainNameError::NumericTld,
        ];
        for e in all {
            let msg = e.to_string();
            assert!(msg.ends_with('.'), "{msg}");
            assert!(
                msg.starts_with(|c: char| c.is_uppercase() || c == '“'),
                "{msg}"
            );
        }
    }

    #[test]
    fn traits_and_serde() {
        let d: DomainName = "Bücher.Example".parse().unwrap();
        assert_eq!(d.as_ref(), "xn--bcher-kva.example");
        assert_eq!(String::from(d.clone()), "xn--bcher-kva.example");
        assert_eq!(
            DomainName::try_from("EXAMPLE.org".to_owned())
                .unwrap()
                .as_str(),
            "example.org"
        );
        let de: StringDeserializer<DeError> = "Bücher.example".to_owned().into_deserializer();
        assert_eq!(DomainName::deserialize(de).unwrap(), d);
        let de: StringDeserializer<DeError> = "localhost".to_owned().into_deserializer();
        assert!(DomainName::deserialize(de).is_err());
    }

    fn label() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9]([a-zA-Z0-9-]{0,10}[a-zA-Z0-9])?"
    }

    proptest! {
        #[test]
        fn parse_is_idempotent(
            labels in prop::collection::vec(label(), 1..4),
            tld in "[a-zA-Z]{2,6}",
            idn in prop::sample::select(vec!["", "ü", "é", "日本", "ß"]),
            dot in prop::bool::ANY,
        ) {
            // "xn--" labels must be valid punycode; random ones are not.
            prop_assume!(!labels.iter().any(|l| l.to_lowercase().starts_with("xn--")));
            let mut name = labels.join(".");
            name.push_str(idn);
            name.push('.');
            name.push_str(&tld);
            if dot {
                name.push('.');
            }
            let first = DomainName::parse(&name).unwrap();
            let second = DomainName::parse(first.as_str()).unwrap();
            prop_assert_eq!(&first, &second);
            let from_unicode = DomainName::parse(&first.to_unicode()).unwrap();
            prop_assert_eq!(&first, &from_unicode);
            prop_assert_eq!(first.as_str(), first.as_str().to_ascii_lowercase());
            prop_assert!(first.as_str().is_ascii());
        }

        #[test]
        fn parse_never_panics_and_results_are_stable(input in "\\PC{0,40}") {
            if let Ok(d) = DomainName::parse(&input) {
                prop_assert_eq!(DomainName::parse(d.as_str()).unwrap(), d);
            }
        }
    }
}
