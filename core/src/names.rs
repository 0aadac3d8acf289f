//! Free-text values with light rules: `OrganizationName`, `DisplayName`, and
//! `NewPassword` (which never shows up in logs or serialized output).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::macros::string_value;

/// Longest organization name, in characters.
pub const MAX_ORGANIZATION_NAME_LENGTH: usize = 100;
/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME_LENGTH: usize = 256;
/// Shortest new password, in characters.
pub const MIN_PASSWORD_LENGTH: usize = 12;
/// Longest new password, in characters.
pub const MAX_PASSWORD_LENGTH: usize = 128;
/// Longest password in bytes (UTF-8): 128 characters of at most 4 bytes each. No password
/// Roster accepted can be longer, so sign-in refuses anything longer before hashing it.
pub const MAX_PASSWORD_BYTES: usize = MAX_PASSWORD_LENGTH * 4;

/// Why an organization name was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
pub enum OrganizationNameError {
    #[error("Enter the organization's name.")]
    Empty,
    #[error("The name can be at most 100 characters.")]
    TooLong,
    #[error("The name cannot contain line breaks, tabs or other invisible control characters.")]
    ControlCharacters,
}

/// A customer organization's name: trimmed, 1 to 100 characters, one line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrganizationName(String);

string_value!(OrganizationName, OrganizationNameError);

impl OrganizationName {
    pub fn parse(input: &str) -> Result<OrganizationName, OrganizationNameError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(OrganizationNameError::Empty);
        }
        if trimmed.chars().count() > MAX_ORGANIZATION_NAME_LENGTH {
            return Err(OrganizationNameError::TooLong);
        }
        if trimmed.chars().any(char::is_control) {
            return Err(OrganizationNameError::ControlCharacters);
        }
        Ok(OrganizationName(trimmed.to_owned()))
    }
}

/// Why a display name was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
pub enum DisplayNameError {
    #[error("The display name can be at most 256 characters.")]
    TooLong,
}

/// A person's or list's display name: trimmed, 0 to 256 characters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DisplayName(String);

string_value!(DisplayName, DisplayNameError);

impl DisplayName {
    pub fn parse(input: &str) -> Result<DisplayName, DisplayNameError> {
        let trimmed = input.trim();
        if trimmed.chars().count() > MAX_DISPLAY_NAME_LENGTH {
            return Err(DisplayNameError::TooLong);
        }
        Ok(DisplayName(trimmed.to_owned()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Why a new password was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
pub enum PasswordError {
    #[error("Use at least 12 characters for the password.")]
    TooShort,
    #[error("The password can be at most 128 characters.")]
    TooLong,
    #[error("The password cannot be only spaces.")]
    OnlyWhitespace,
}

/// A password an admin chose, 12 to 128 characters, taken exactly as typed
/// (not trimmed). It is deliberately not `Serialize` and its `Debug` output
/// is redacted; call [`NewPassword::expose`] only to hash it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct NewPassword(String);

impl NewPassword {
    pub fn parse(input: &str) -> Result<NewPassword, PasswordError> {
        if input.len() > MAX_PASSWORD_BYTES {
            return Err(PasswordError::TooLong);
        }
        let length = input.chars().count();
        if length < MIN_PASSWORD_LENGTH {
            return Err(PasswordError::TooShort);
        }
        if length > MAX_PASSWORD_LENGTH {
            return Err(PasswordError::TooLong);
        }
        if input.chars().all(char::is_whitespace) {
            return Err(PasswordError::OnlyWhitespace);
        }
        Ok(NewPassword(input.to_owned()))
    }

    /// Whether a password typed at sign-in could be one Roster accepted (not empty, at most
    /// [`MAX_PASSWORD_BYTES`]); anything else is wrong without hashing it.
    pub fn could_match(typed: &str) -> bool {
        !typed.is_empty() && typed.len() <= MAX_PASSWORD_BYTES
    }

    /// The password text, for hashing only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

impl TryFrom<String> for NewPassword {
    type Error = PasswordError;

    fn try_from(input: String) -> Result<Self, Self::Error> {
        Self::parse(&input)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn organization_name() {
        assert_eq!(
            OrganizationName::parse("  Acme Ltd. ").unwrap().as_str(),
            "Acme Ltd."
        );
        assert_eq!(OrganizationName::parse("Ä").unwrap().as_str(), "Ä");
        assert_eq!(
            OrganizationName::parse(""),
            Err(OrganizationNameError::Empty)
        );
        assert_eq!(
            OrganizationName::parse(" \t "),
            Err(OrganizationNameError::Empty)
        );
        // 100 characters (multi-byte) is fine, 101 is not.
        assert!(OrganizationName::parse(&"é".repeat(100)).is_ok());
        assert_eq!(
            OrganizationName::parse(&"é".repeat(101)),
            Err(OrganizationNameError::TooLong)
        );
        assert_eq!(
            OrganizationName::parse("Acme\nLtd"),
            Err(OrganizationNameError::ControlCharacters)
        );
        assert_eq!(
            OrganizationName::parse("Acme\u{7}"),
            Err(OrganizationNameError::ControlCharacters)
        );
        assert_eq!(OrganizationName::parse("Acme").unwrap().to_string(), "Acme");
    }

    #[test]
    fn display_name() {
        assert_eq!(DisplayName::parse("").unwrap().as_str(), "");
        assert!(DisplayName::parse("   ").unwrap().is_empty());
        assert_eq!(
            DisplayName::parse(" Bob Smith ").unwrap().as_str(),
            "Bob Smith"
        );
        assert!(DisplayName::parse(&"ü".repeat(256)).is_ok());
        assert_eq!(
            DisplayName::parse(&"ü".repeat(257)),
            Err(DisplayNameError::TooLong)
        );
        assert_eq!(DisplayName::default().as_str(), "");
    }

    #[test]
    fn password_lengths() {
        assert_eq!(NewPassword::parse(""), Err(PasswordError::TooShort));
        assert_eq!(
            NewPassword::parse("elevenchars"),
            Err(PasswordError::TooShort)
        );
        assert_eq!(
            NewPassword::parse("twelve chars").unwrap().expose(),
            "twelve chars"
        );
        // Characters are counted, not bytes.
        assert_eq!(
            NewPassword::parse(&"ü".repeat(11)),
            Err(PasswordError::TooShort)
        );
        assert!(NewPassword::parse(&"ü".repeat(128)).is_ok());
        assert_eq!(
            NewPassword::parse(&"a".repeat(129)),
            Err(PasswordError::TooLong)
        );
        assert_eq!(
            NewPassword::parse(&" ".repeat(12)),
            Err(PasswordError::OnlyWhitespace)
        );
        // The longest password in the widest characters still fits sign-in's byte limit.
        let widest = "😀".repeat(MAX_PASSWORD_LENGTH);
        assert_eq!(widest.len(), MAX_PASSWORD_BYTES);
        assert!(NewPassword::parse(&widest).is_ok());
        assert!(NewPassword::could_match(&widest));
        assert!(!NewPassword::could_match(&format!("{widest}x")));
        assert!(!NewPassword::could_match(""));
        assert_eq!(
            NewPassword::parse(&"x".repeat(1_000_000)),
            Err(PasswordError::TooLong)
        );
        // Not trimmed: surrounding spaces are part of the password.
        assert_eq!(
            NewPassword::parse("  correct horse  ").unwrap().expose(),
            "  correct horse  "
        );
        assert_eq!(
            NewPassword::parse("  short  "),
            Err(PasswordError::TooShort)
        );
    }

    #[test]
    fn password_is_redacted() {
        let p = NewPassword::parse("hunter2hunter2").unwrap();
        assert_eq!(format!("{p:?}"), "NewPassword(<redacted>)");
        assert!(!format!("{p:#?}").contains("hunter2"));
        use serde::de::value::{Error as DeError, StringDeserializer};
        use serde::de::IntoDeserializer;
        let de: StringDeserializer<DeError> = "long enough password".to_owned().into_deserializer();
        assert_eq!(
            NewPassword::deserialize(de).unwrap().expose(),
            "long enough password"
        );
        let de: StringDeserializer<DeError> = "short".to_owned().into_deserializer();
        assert!(NewPassword::deserialize(de).is_err());
    }

    #[test]
    fn messages() {
        assert_eq!(
            PasswordError::TooShort.to_string(),
            "Use at least 12 characters for the password."
        );
        assert_eq!(
            OrganizationNameError::TooLong.to_string(),
            "The name can be at most 100 characters."
        );
    }
}
