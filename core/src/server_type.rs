//! `ServerType`: what kind of mail server a customer domain delivers to, which
//! also decides whether Roster can sync its recipients automatically.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a server type was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
pub enum ServerTypeError {
    #[error("Choose a server type from the list.")]
    Unknown { value: String },
}

/// The customer's mail server. Stored and serialized as [`ServerType::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ServerType {
    #[serde(rename = "on_premise")]
    OnPremise,
    #[serde(rename = "office365")]
    Office365,
    #[serde(rename = "google_workspace")]
    GoogleWorkspace,
}

impl ServerType {
    /// Every server type, in menu order.
    pub const ALL: [ServerType; 3] = [
        ServerType::OnPremise,
        ServerType::Office365,
        ServerType::GoogleWorkspace,
    ];

    /// The key stored in the database and used in forms.
    pub fn as_str(self) -> &'static str {
        match self {
            ServerType::OnPremise => "on_premise",
            ServerType::Office365 => "office365",
            ServerType::GoogleWorkspace => "google_workspace",
        }
    }

    /// Parses a key produced by [`ServerType::as_str`] (surrounding spaces ignored).
    pub fn parse(input: &str) -> Result<ServerType, ServerTypeError> {
        let key = input.trim();
        ServerType::ALL
            .into_iter()
            .find(|t| t.as_str() == key)
            .ok_or_else(|| ServerTypeError::Unknown {
                value: key.to_owned(),
            })
    }

    /// The name shown to admins.
    pub fn label(self) -> &'static str {
        match self {
            ServerType::OnPremise => "On Premise/Hosted Exchange or Other",
            ServerType::Office365 => "Office 365",
            ServerType::GoogleWorkspace => "Google Workspace",
        }
    }

    /// The menu entry for this type's directory sync page, if it has one.
    pub fn sync_menu_label(self) -> Option<&'static str> {
        match self {
            ServerType::Office365 => Some("Office 365 Sync"),
            ServerType::GoogleWorkspace => Some("Google Workspace Sync"),
            ServerType::OnPremise => Some("AD/LDAP Sync"),
        }
    }

    /// Whether Roster syncs this type's recipients from a directory.
    pub fn syncs(self) -> bool {
        self.sync_menu_label().is_some()
    }
}

/// Shows the stored key (use [`ServerType::label`] for the display name).
impl fmt::Display for ServerType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ServerType {
    type Err = ServerTypeError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Self::parse(input)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde::de::value::{Error as DeError, StrDeserializer};
    use serde::de::IntoDeserializer;

    #[test]
    fn keys_round_trip() {
        for t in ServerType::ALL {
            assert_eq!(ServerType::parse(t.as_str()).unwrap(), t);
            assert_eq!(t.to_string().parse::<ServerType>().unwrap(), t);
            let de: StrDeserializer<DeError> = t.as_str().into_deserializer();
            assert_eq!(ServerType::deserialize(de).unwrap(), t);
        }
        let keys: Vec<&str> = ServerType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(keys, ["on_premise", "office365", "google_workspace"]);
    }

    #[test]
    fn unknown_keys() {
        assert_eq!(
            ServerType::parse("exchange"),
            Err(ServerTypeError::Unknown {
                value: "exchange".into()
            })
        );
        assert!(ServerType::parse("Office365").is_err());
        assert!(ServerType::parse("").is_err());
        assert_eq!(
            ServerType::parse("x").unwrap_err().to_string(),
            "Choose a server type from the list."
        );
        let de: StrDeserializer<DeError> = "nope".into_deserializer();
        assert!(ServerType::deserialize(de).is_err());
    }

    #[test]
    fn labels_and_sync() {
        assert_eq!(
            ServerType::OnPremise.label(),
            "On Premise/Hosted Exchange or Other"
        );
        assert_eq!(ServerType::Office365.label(), "Office 365");
        assert_eq!(ServerType::GoogleWorkspace.label(), "Google Workspace");
        assert_eq!(
            ServerType::Office365.sync_menu_label(),
            Some("Office 365 Sync")
        );
        assert_eq!(
            ServerType::OnPremise.sync_menu_label(),
            Some("AD/LDAP Sync")
        );
        assert_eq!(
            ServerType::GoogleWorkspace.sync_menu_label(),
            Some("Google Workspace Sync")
        );
        assert!(ServerType::Office365.syncs());
        assert!(ServerType::OnPremise.syncs());
        assert!(ServerType::GoogleWorkspace.syncs());
    }
}
