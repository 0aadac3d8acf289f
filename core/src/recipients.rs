//! `NotificationRecipients`: who gets emailed about sync results, entered as
//! addresses separated by new lines, commas or semicolons.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::email_address::{EmailAddress, EmailAddressError};

/// Most notification recipients per domain.
pub const MAX_NOTIFICATION_RECIPIENTS: usize = 20;

/// Why a recipient list was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
pub enum RecipientsError {
    #[error("“{entry}” is not a valid email address: {error}")]
    InvalidEntry {
        entry: String,
        error: EmailAddressError,
    },
    #[error("At most 20 recipients; you entered {count}.")]
    TooMany { count: usize },
}

/// A de-duplicated list of up to 20 addresses, in the order entered.
/// Serialized as the addresses joined by `\n`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NotificationRecipients(Vec<EmailAddress>);

impl NotificationRecipients {
    /// Parses a textarea; empty text gives an empty list.
    pub fn parse(text: &str) -> Result<NotificationRecipients, RecipientsError> {
        let mut addresses = Vec::new();
        let mut seen = HashSet::new();
        for entry in text.split(['\n', ',', ';']).map(str::trim) {
            if entry.is_empty() {
                continue;
            }
            let address =
                EmailAddress::parse(entry).map_err(|error| RecipientsError::InvalidEntry {
                    entry: entry.to_owned(),
                    error,
                })?;
            if seen.insert(address.clone()) {
                addresses.push(address);
            }
        }
        if addresses.len() > MAX_NOTIFICATION_RECIPIENTS {
            return Err(RecipientsError::TooMany {
                count: addresses.len(),
            });
        }
        Ok(NotificationRecipients(addresses))
    }

    pub fn as_slice(&self) -> &[EmailAddress] {
        &self.0
    }

    pub fn iter(&self) -> std::slice::Iter<'_, EmailAddress> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// One address per line, for a textarea or storage.
    pub fn to_lines(&self) -> String {
        self.0
            .iter()
            .map(EmailAddress::as_str)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl<'a> IntoIterator for &'a NotificationRecipients {
    type Item = &'a EmailAddress;
    type IntoIter = std::slice::Iter<'a, EmailAddress>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl TryFrom<String> for NotificationRecipients {
    type Error = RecipientsError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text)
    }
}

impl From<NotificationRecipients> for String {
    fn from(recipients: NotificationRecipients) -> String {
        recipients.to_lines()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn lines(text: &str) -> String {
        NotificationRecipients::parse(text).unwrap().to_lines()
    }

    #[test]
    fn separators() {
        assert_eq!(lines("a@x.com, b@x.com"), "a@x.com\nb@x.com");
        assert_eq!(lines("a@x.com\nb@x.com\r\n"), "a@x.com\nb@x.com");
        assert_eq!(lines("a@x.com; b@x.com"), "a@x.com\nb@x.com");
        assert_eq!(
            lines(" a@x.com ,\n\n b@x.com;c@x.com ;; ,\n"),
            "a@x.com\nb@x.com\nc@x.com"
        );
    }

    #[test]
    fn empty_is_fine() {
        let r = NotificationRecipients::parse(" \n , ; ").unwrap();
        assert!(r.is_empty());
        assert_eq!(r.len(), 0);
        assert_eq!(r.to_lines(), "");
        assert_eq!(r, NotificationRecipients::default());
    }

    #[test]
    fn normalizes_and_dedupes_keeping_order() {
        let r = NotificationRecipients::parse("B@x.com, a@x.com, b@X.COM, a@x.com").unwrap();
        assert_eq!(r.len(), 2);
        let got: Vec<&str> = r.iter().map(EmailAddress::as_str).collect();
        assert_eq!(got, ["b@x.com", "a@x.com"]);
        assert_eq!(r.as_slice()[1], EmailAddress::parse("a@x.com").unwrap());
        assert_eq!((&r).into_iter().count(), 2);
    }

    #[test]
    fn bad_entry_is_named() {
        let e = NotificationRecipients::parse("a@x.com, bob@ , c@x.com").unwrap_err();
        assert_eq!(
            e,
            RecipientsError::InvalidEntry {
                entry: "bob@".into(),
                error: EmailAddressError::MissingDomain
            }
        );
        assert_eq!(
            e.to_string(),
            "“bob@” is not a valid email address: Enter the domain after the @, e.g. name@mydomain.org."
        );
        let e = NotificationRecipients::parse("bob smith@x.com").unwrap_err();
        assert!(
            matches!(e, RecipientsError::InvalidEntry { entry, .. } if entry == "bob smith@x.com")
        );
    }

    #[test]
    fn at_most_twenty() {
        let twenty: Vec<String> = (0..20).map(|i| format!("u{i}@x.com")).collect();
        assert_eq!(
            NotificationRecipients::parse(&twenty.join(","))
                .unwrap()
                .len(),
            20
        );
        let mut with_dup = twenty.clone();
        with_dup.push("U0@x.com".into());
        assert_eq!(
            NotificationRecipients::parse(&with_dup.join(","))
                .unwrap()
                .len(),
            20
        );
        let twenty_one: Vec<String> = (0..21).map(|i| format!("u{i}@x.com")).collect();
        let e = NotificationRecipients::parse(&twenty_one.join("\n")).unwrap_err();
        assert_eq!(e, RecipientsError::TooMany { count: 21 });
        let twenty_three: Vec<String> = (0..23).map(|i| format!("u{i}@x.com")).collect();
        assert_eq!(
            NotificationRecipients::parse(&twenty_three.join(";"))
                .unwrap_err()
                .to_string(),
            "At most 20 recipients; you entered 23."
        );
    }

    #[test]
    fn serde_goes_through_parse() {
        use serde::de::value::{Error as DeError, StringDeserializer};
        use serde::de::IntoDeserializer;
        let de: StringDeserializer<DeError> = "A@x.com, b@x.com".to_owned().into_deserializer();
        let r = NotificationRecipients::deserialize(de).unwrap();
        assert_eq!(String::from(r), "a@x.com\nb@x.com");
        let de: StringDeserializer<DeError> = "nope".to_owned().into_deserializer();
        assert!(NotificationRecipients::deserialize(de).is_err());
    }
}
