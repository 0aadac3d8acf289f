//! Graph's JSON for users, groups and members (only the properties Roster selects), and its
//! translation into source-neutral [`DirectoryObject`]s.

use serde::Deserialize;

use crate::directory::{primary_address, DirectoryMember, DirectoryObject, MemberKind, ObjectKind};

/// A page of a Graph collection.
#[derive(Debug, Deserialize)]
pub(crate) struct GraphPage<T> {
    #[serde(default = "Vec::new")]
    pub value: Vec<T>,
    #[serde(rename = "@odata.nextLink", default)]
    pub next_link: Option<String>,
}

/// `GET /v1.0/organization` (only the selected properties).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GraphOrganization {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub verified_domains: Vec<GraphVerifiedDomain>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GraphVerifiedDomain {
    pub name: String,
    #[serde(default)]
    pub is_default: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GraphUser {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub mail: Option<String>,
    #[serde(default)]
    pub user_principal_name: Option<String>,
    #[serde(default)]
    pub proxy_addresses: Option<Vec<String>>,
    #[serde(default)]
    pub account_enabled: Option<bool>,
    #[serde(default)]
    pub user_type: Option<String>,
}

impl GraphUser {
    fn is_guest(&self) -> bool {
        match self.user_type.as_deref() {
            Some(t) => t.eq_ignore_ascii_case("Guest"),
            None => self
                .user_principal_name
                .as_deref()
                .is_some_and(|upn| upn.contains("#EXT#")),
        }
    }

    pub(crate) fn into_object(self) -> DirectoryObject {
        DirectoryObject {
            kind: ObjectKind::User {
                account_enabled: self.account_enabled.unwrap_or(true),
                guest: self.is_guest(),
                archived: false,
            },
            external_id: self.id,
            display_name: self.display_name,
            mail: self.mail,
            proxy_addresses: self.proxy_addresses.unwrap_or_default(),
            members: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GraphGroup {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub mail: Option<String>,
    #[serde(default)]
    pub proxy_addresses: Option<Vec<String>>,
    #[serde(default)]
    pub group_types: Option<Vec<String>>,
    #[serde(default)]
    pub mail_enabled: Option<bool>,
    #[serde(default)]
    pub security_enabled: Option<bool>,
}

impl GraphGroup {
    pub(crate) fn into_object(self) -> DirectoryObject {
        let unified = self
            .group_types
            .as_deref()
            .unwrap_or_default()
            .iter()
            .any(|t| t.eq_ignore_ascii_case("Unified"));
        DirectoryObject {
            kind: ObjectKind::Group {
                mail_enabled: self.mail_enabled.unwrap_or(false),
                security_enabled: self.security_enabled.unwrap_or(false),
                unified,
                // Microsoft 365 has no "everyone" member.
                includes_everyone: false,
            },
            external_id: self.id,
            display_name: self.display_name,
            mail: self.mail,
            proxy_addresses: self.proxy_addresses.unwrap_or_default(),
            members: Vec::new(),
        }
    }
}

/// A member from `/members` or `/transitiveMembers`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GraphMember {
    pub id: String,
    #[serde(rename = "@odata.type", default)]
    pub odata_type: Option<String>,
    #[serde(default)]
    pub mail: Option<String>,
    #[serde(default)]
    pub proxy_addresses: Option<Vec<String>>,
}

impl GraphMember {
    pub(crate) fn into_member(self) -> DirectoryMember {
        let kind = match self.odata_type.as_deref() {
            Some("#microsoft.graph.user") => MemberKind::User,
            Some("#microsoft.graph.group") => MemberKind::Group,
            Some("#microsoft.graph.orgContact") => MemberKind::Contact,
            _ => MemberKind::Other,
        };
        let address = primary_address(
            self.mail.as_deref(),
            self.proxy_addresses.as_deref().unwrap_or_default(),
        );
        DirectoryMember {
            external_id: self.id,
            kind,
            address,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn users_groups_and_members_from_graph_json() {
        let page: GraphPage<GraphUser> = serde_json::from_str(
            r#"{"@odata.context":"x","@odata.nextLink":"https://graph.microsoft.com/v1.0/users?$skiptoken=a",
               "value":[{"id":"1","displayName":"Bob","mail":null,"proxyAddresses":null,"userType":"Member"},
                        {"id":"2","userPrincipalName":"b_x.com#EXT#@t.onmicrosoft.com"},
                        {"id":"3","accountEnabled":false,"userType":"guest","unknownProperty":[1]}]}"#,
        )
        .unwrap();
        assert_eq!(
            page.next_link.as_deref(),
            Some("https://graph.microsoft.com/v1.0/users?$skiptoken=a")
        );
        let objects: Vec<DirectoryObject> =
            page.value.into_iter().map(GraphUser::into_object).collect();
        assert_eq!(
            objects[0].kind,
            ObjectKind::User {
                account_enabled: true,
                guest: false,
                archived: false
            }
        );
        assert!(objects[0].proxy_addresses.is_empty());
        assert_eq!(
            objects[1].kind,
            ObjectKind::User {
                account_enabled: true,
                guest: true,
                archived: false
            }
        );
        assert_eq!(
            objects[2].kind,
            ObjectKind::User {
                account_enabled: false,
                guest: true,
                archived: false
            }
        );

        let g: GraphGroup = serde_json::from_str(
            r#"{"id":"g","groupTypes":["Unified"],"mailEnabled":true,"securityEnabled":false,"mail":"x@y.com"}"#,
        )
        .unwrap();
        assert_eq!(
            g.into_object().kind,
            ObjectKind::Group {
                mail_enabled: true,
                security_enabled: false,
                unified: true,
                includes_everyone: false,
            }
        );

        let m: GraphMember = serde_json::from_str(
            r##"{"@odata.type":"#microsoft.graph.orgContact","id":"c","mail":"Eric@Partner.example","proxyAddresses":["SMTP:Eric@Partner.example"]}"##,
        )
        .unwrap();
        let m = m.into_member();
        assert_eq!(m.kind, MemberKind::Contact);
        assert_eq!(m.address.unwrap().as_str(), "eric@partner.example");
        let m: GraphMember =
            serde_json::from_str(r##"{"@odata.type":"#microsoft.graph.device","id":"d"}"##)
                .unwrap();
        assert_eq!(m.into_member().kind, MemberKind::Other);
        let empty: GraphPage<GraphMember> = serde_json::from_str(r#"{"value":[]}"#).unwrap();
        assert!(empty.value.is_empty() && empty.next_link.is_none());
    }
}
