//! Where filtered mail is delivered: the customer's mail server host
//! (`MailServerHost`), its MX-style `Priority`, and the SMTP `DeliveryPort`.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use crate::domain_name::{normalize_dns_name, DnsNameKind, DomainNameError};
use crate::macros::string_value;

/// Why a mail server host was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
pub enum MailServerHostError {
    #[error("Enter a host name like mail.example.com or an IP address.")]
    Empty,
    #[error("“{value}” is not a valid IP address.")]
    InvalidIpAddress { value: String },
    #[error("Enter a host name like mail.example.com or an IP address. {0}")]
    InvalidHostName(#[source] DomainNameError),
}

/// A mail server: a host name (lowercase ASCII, punycode for IDN; a single
/// label is allowed) or an IP address in canonical form (IPv6 without
/// brackets).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MailServerHost(String);

string_value!(MailServerHost, MailServerHostError);

impl MailServerHost {
    pub fn parse(input: &str) -> Result<MailServerHost, MailServerHostError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(MailServerHostError::Empty);
        }
        if trimmed.starts_with('[') {
            return trimmed
                .strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'))
                .and_then(|inner| inner.trim().parse::<Ipv6Addr>().ok())
                .map(|ip| MailServerHost(ip.to_string()))
                .ok_or_else(|| MailServerHostError::InvalidIpAddress {
                    value: trimmed.to_owned(),
                });
        }
        if let Ok(ip) = trimmed.parse::<IpAddr>() {
            return Ok(MailServerHost(ip.to_string()));
        }
        let looks_like_ipv6 = trimmed.contains(':')
            && trimmed
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
        if looks_like_ipv6 {
            return Err(MailServerHostError::InvalidIpAddress {
                value: trimmed.to_owned(),
            });
        }
        match normalize_dns_name(trimmed, DnsNameKind::Host) {
            Ok(name) => Ok(MailServerHost(name)),
            // All-digit last part: an attempt at an IPv4 address.
            Err(DomainNameError::NumericTld) => Err(MailServerHostError::InvalidIpAddress {
                value: trimmed.to_owned(),
            }),
            Err(DomainNameError::Empty) => Err(MailServerHostError::Empty),
            Err(other) => Err(MailServerHostError::InvalidHostName(other)),
        }
    }

    /// The IP address, when the host is one.
    pub fn ip_addr(&self) -> Option<IpAddr> {
        self.0.parse().ok()
    }

    /// The host for display, with internationalized names in Unicode.
    pub fn to_unicode(&self) -> String {
        if self.ip_addr().is_some() {
            self.0.clone()
        } else {
            idna::domain_to_unicode(&self.0).0
        }
    }
}

/// Why a priority was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
pub enum PriorityError {
    #[error("Priority must be a whole number from 0 to 65535.")]
    Invalid,
}

/// Delivery preference among several hosts; lower is tried first (like MX).
/// Serialized as a number.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(from = "u16", into = "u16")]
pub struct Priority(u16);

impl Priority {
    pub const fn new(value: u16) -> Priority {
        Priority(value)
    }

    pub fn parse(input: &str) -> Result<Priority, PriorityError> {
        parse_u16(input).map(Priority).ok_or(PriorityError::Invalid)
    }

    pub fn get(&self) -> u16 {
        self.0
    }
}

impl From<u16> for Priority {
    fn from(value: u16) -> Priority {
        Priority(value)
    }
}

impl From<Priority> for u16 {
    fn from(priority: Priority) -> u16 {
        priority.0
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::str::FromStr for Priority {
    type Err = PriorityError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Self::parse(input)
    }
}

/// Why a port was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
pub enum DeliveryPortError {
    #[error("Port must be a whole number from 1 to 65535.")]
    Invalid,
}

/// The SMTP port mail is delivered to (1 to 65535, default 25).
/// Serialized as a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub struct DeliveryPort(u16);

impl DeliveryPort {
    /// Standard SMTP.
    pub const SMTP: DeliveryPort = DeliveryPort(25);

    pub fn new(port: u16) -> Result<DeliveryPort, DeliveryPortError> {
        if port == 0 {
            Err(DeliveryPortError::Invalid)
        } else {
            Ok(DeliveryPort(port))
        }
    }

    pub fn parse(input: &str) -> Result<DeliveryPort, DeliveryPortError> {
        parse_u16(input)
            .ok_or(DeliveryPortError::Invalid)
            .and_then(DeliveryPort::new)
    }

    pub fn get(&self) -> u16 {
        self.0
    }
}

impl Default for DeliveryPort {
    fn default() -> Self {
        DeliveryPort::SMTP
    }
}

impl TryFrom<u16> for DeliveryPort {
    type Error = DeliveryPortError;

    fn try_from(port: u16) -> Result<Self, Self::Error> {
        Self::new(port)
    }
}

impl From<DeliveryPort> for u16 {
    fn from(port: DeliveryPort) -> u16 {
        port.0
    }
}

impl fmt::Display for DeliveryPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::str::FromStr for DeliveryPort {
    type Err = DeliveryPortError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Self::parse(input)
    }
}

/// Digits only (after trimming), fitting in a `u16`.
fn parse_u16(input: &str) -> Option<u16> {
    let trimmed = input.trim();
    if trimmed.is_empty() || !trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    trimmed.parse().ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn host(input: &str) -> String {
        MailServerHost::parse(input).unwrap().as_str().to_owned()
    }

    fn host_err(input: &str) -> MailServerHostError {
        MailServerHost::parse(input).unwrap_err()
    }

    #[test]
    fn ipv4() {
        assert_eq!(host("192.0.2.10"), "192.0.2.10");
        assert_eq!(host(" 10.0.0.1 "), "10.0.0.1");
        assert_eq!(
            MailServerHost::parse("10.0.0.1").unwrap().ip_addr(),
            Some("10.0.0.1".parse().unwrap())
        );
        for bad in ["256.1.1.1", "1.2.3", "01.2.3.4", "1.2.3.4.5", "12345"] {
            assert_eq!(
                host_err(bad),
                MailServerHostError::InvalidIpAddress { value: bad.into() },
                "{bad}"
            );
        }
    }

    #[test]
    fn ipv6() {
        assert_eq!(host("2001:DB8::1"), "2001:db8::1");
        assert_eq!(host("[2001:db8::1]"), "2001:db8::1");
        assert_eq!(
            host("[2001:0db8:0000:0000:0000:0000:0000:0001]"),
            "2001:db8::1"
        );
        assert_eq!(host("::1"), "::1");
        assert_eq!(host("[::ffff:192.0.2.1]"), "::ffff:192.0.2.1");
        assert!(MailServerHost::parse("[::1]").unwrap().ip_addr().is_some());
        for bad in [
            "[2001:db8::1",
            "[1.2.3.4]",
            "[mail.example.com]",
            "2001:db8:::1",
            "[]",
        ] {
            assert!(
                matches!(host_err(bad), MailServerHostError::InvalidIpAddress { .. }),
                "{bad}"
            );
        }
    }

    #[test]
    fn host_names() {
        assert_eq!(host("Mail.Example.COM"), "mail.example.com");
        assert_eq!(host("mail.example.com."), "mail.example.com");
        assert_eq!(host("mailhost"), "mailhost");
        assert_eq!(host("mx1.bücher.example"), "mx1.xn--bcher-kva.example");
        assert_eq!(
            MailServerHost::parse("mx1.bücher.example")
                .unwrap()
                .to_unicode(),
            "mx1.bücher.example"
        );
        assert_eq!(MailServerHost::parse("::1").unwrap().to_unicode(), "::1");
        assert!(MailServerHost::parse("mailhost")
            .unwrap()
            .ip_addr()
            .is_none());
    }

    #[test]
    fn invalid_host_names() {
        assert_eq!(
            host_err("-bad.com"),
            MailServerHostError::InvalidHostName(DomainNameError::InvalidLabel {
                label: "-bad".into()
            })
        );
        assert_eq!(
            host_err("a..b"),
            MailServerHostError::InvalidHostName(DomainNameError::EmptyLabel)
        );
        assert_eq!(
            host_err("mail server"),
            MailServerHostError::InvalidHostName(DomainNameError::InvalidCharacters)
        );
        assert_eq!(
            host_err("mail.example.com:25"),
            MailServerHostError::InvalidHostName(DomainNameError::InvalidCharacters)
        );
        assert_eq!(host_err(""), MailServerHostError::Empty);
        assert_eq!(host_err("."), MailServerHostError::Empty);
        assert_eq!(
            host_err("").to_string(),
            "Enter a host name like mail.example.com or an IP address."
        );
        assert!(host_err("a..b")
            .to_string()
            .starts_with("Enter a host name like mail.example.com"));
    }

    #[test]
    fn priority() {
        assert_eq!(Priority::parse("0").unwrap().get(), 0);
        assert_eq!(Priority::parse(" 10 ").unwrap().get(), 10);
        assert_eq!(Priority::parse("65535").unwrap().get(), 65535);
        for bad in ["", "65536", "-1", "1.5", "ten", "+1", "99999999999"] {
            assert_eq!(Priority::parse(bad), Err(PriorityError::Invalid), "{bad}");
        }
        assert_eq!(
            PriorityError::Invalid.to_string(),
            "Priority must be a whole number from 0 to 65535."
        );
        assert_eq!(Priority::new(5).to_string(), "5");
        assert!(Priority::new(5) < Priority::new(10));
    }

    #[test]
    fn delivery_port() {
        assert_eq!(DeliveryPort::default().get(), 25);
        assert_eq!(DeliveryPort::parse("587").unwrap().get(), 587);
        assert_eq!(DeliveryPort::parse("1").unwrap().get(), 1);
        assert_eq!(DeliveryPort::parse("65535").unwrap().get(), 65535);
        for bad in ["", "0", "65536", "-25", "25a", "smtp"] {
            assert_eq!(
                DeliveryPort::parse(bad),
                Err(DeliveryPortError::Invalid),
                "{bad}"
            );
        }
        assert!(DeliveryPort::new(0).is_err());
        assert_eq!(DeliveryPort::SMTP.to_string(), "25");
    }

    #[test]
    fn serde_goes_through_parse() {
        use serde::de::value::{Error as DeError, StringDeserializer, U16Deserializer};
        use serde::de::IntoDeserializer;
        let de: StringDeserializer<DeError> = "[2001:DB8::1]".to_owned().into_deserializer();
        assert_eq!(
            MailServerHost::deserialize(de).unwrap().as_str(),
            "2001:db8::1"
        );
        let de: U16Deserializer<DeError> = 0u16.into_deserializer();
        assert!(DeliveryPort::deserialize(de).is_err());
        let de: U16Deserializer<DeError> = 0u16.into_deserializer();
        assert_eq!(Priority::deserialize(de).unwrap().get(), 0);
    }
}
