//! Turning stored objects into Graph JSON, honouring `$select`.
//!
//! Graph returns a fixed default property set when `$select` is absent (for users that set
//! excludes `proxyAddresses`, `accountEnabled`, `userType`, `mailNickname`!), and exactly the
//! named properties plus `id` when it is present. Properties come out in Graph's order, which
//! is why objects are ordered key lists rather than maps.

use super::context::GraphCtx;
use super::error::GraphError;
use crate::model::{Contact, Group, ObjectKind, User};
use axum::http::StatusCode;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{json, Value};

/// A JSON object whose keys keep their order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Obj(pub Vec<(&'static str, Value)>);

impl Obj {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
}

impl Serialize for Obj {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// User properties in Graph's order; the first eleven are the default set.
pub const USER_PROPS: &[&str] = &[
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
    "accountEnabled",
    "city",
    "companyName",
    "country",
    "createdDateTime",
    "creationType",
    "deletedDateTime",
    "department",
    "employeeId",
    "externalUserState",
    "imAddresses",
    "mailNickname",
    "onPremisesImmutableId",
    "onPremisesSyncEnabled",
    "otherMails",
    "proxyAddresses",
    "usageLocation",
    "userType",
];
const USER_DEFAULT: usize = 11;

/// Group properties in Graph's order; all are in the default set (as in the real sample).
pub const GROUP_PROPS: &[&str] = &[
    "id",
    "deletedDateTime",
    "classification",
    "createdDateTime",
    "creationOptions",
    "description",
    "displayName",
    "expirationDateTime",
    "groupTypes",
    "isAssignableToRole",
    "mail",
    "mailEnabled",
    "mailNickname",
    "membershipRule",
    "membershipRuleProcessingState",
    "onPremisesDomainName",
    "onPremisesLastSyncDateTime",
    "onPremisesNetBiosName",
    "onPremisesSamAccountName",
    "onPremisesSecurityIdentifier",
    "onPremisesSyncEnabled",
    "preferredDataLocation",
    "preferredLanguage",
    "proxyAddresses",
    "renewedDateTime",
    "resourceBehaviorOptions",
    "resourceProvisioningOptions",
    "securityEnabled",
    "securityIdentifier",
    "theme",
    "visibility",
    "onPremisesProvisioningErrors",
    "serviceProvisioningErrors",
];

/// orgContact properties in Graph's order; all default.
pub const CONTACT_PROPS: &[&str] = &[
    "id",
    "deletedDateTime",
    "companyName",
    "department",
    "displayName",
    "proxyAddresses",
    "givenName",
    "imAddresses",
    "jobTitle",
    "mail",
    "mailNickname",
    "onPremisesLastSyncDateTime",
    "onPremisesSyncEnabled",
    "surname",
    "addresses",
    "onPremisesProvisioningErrors",
    "phones",
];

/// A parsed `$select`.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Lower-cased names; `None` = the default set.
    names: Option<Vec<String>>,
    /// As written, for `@odata.context`.
    raw: Option<String>,
}

impl Selection {
    /// Parses `$select`, refusing names that no allowed type has.
    pub fn parse(
        ctx: &GraphCtx,
        raw: Option<&str>,
        allowed: &[&[&str]],
        type_name: &str,
    ) -> Result<Selection, GraphError> {
        let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
            return Ok(Selection::default());
        };
        let mut names = Vec::new();
        for name in raw.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let known = name == "*"
                || allowed
                    .iter()
                    .any(|list| list.iter().any(|p| p.eq_ignore_ascii_case(name)));
            if !known {
                return Err(ctx.error(
                    StatusCode::BAD_REQUEST,
                    "Request_BadRequest",
                    format!("Could not find a property named '{name}' on type '{type_name}'."),
                ));
            }
            names.push(name.to_ascii_lowercase());
        }
        Ok(Selection {
            names: Some(names),
            raw: Some(raw.split(',').map(str::trim).collect::<Vec<_>>().join(",")),
        })
    }

    /// Whether a property is output: selected (or `*`), `id` always, or in the default set.
    pub fn wants(&self, name: &str, in_default: bool) -> bool {
        match &self.names {
            None => in_default,
            Some(names) => {
                name == "id"
                    || names
                        .iter()
                        .any(|n| n == "*" || n.eq_ignore_ascii_case(name))
            }
        }
    }

    /// Whether `members` was selected (groups delta); true when there is no `$select`.
    pub fn wants_members(&self) -> bool {
        match &self.names {
            None => true,
            Some(names) => names.iter().any(|n| n == "members"),
        }
    }

    /// `(a,b)` for `@odata.context`, or empty without `$select`.
    pub fn context_suffix(&self) -> String {
        self.raw
            .as_ref()
            .map(|r| format!("({r})"))
            .unwrap_or_default()
    }

    /// The raw `$select` (kept in delta tokens).
    pub fn raw(&self) -> Option<&str> {
        self.raw.as_deref()
    }
}

fn opt(s: &Option<String>) -> Value {
    s.as_ref().map_or(Value::Null, |v| Value::String(v.clone()))
}

pub fn user_json(u: &User, sel: &Selection) -> Obj {
    let guest = u.user_type.eq_ignore_ascii_case("Guest");
    let fields = USER_PROPS
        .iter()
        .enumerate()
        .filter(|(i, name)| sel.wants(name, *i < USER_DEFAULT))
        .map(|(_, name)| {
            let v = match *name {
                "businessPhones" => json!(u.business_phones),
                "displayName" => opt(&u.display_name),
                "givenName" => opt(&u.given_name),
                "jobTitle" => opt(&u.job_title),
                "mail" => opt(&u.mail),
                "mobilePhone" => opt(&u.mobile_phone),
                "officeLocation" => opt(&u.office_location),
                "preferredLanguage" => opt(&u.preferred_language),
                "surname" => opt(&u.surname),
                "userPrincipalName" => json!(u.user_principal_name),
                "id" => json!(u.id),
                "accountEnabled" => json!(u.account_enabled),
                "createdDateTime" => opt(&u.created_date_time),
                "creationType" => {
                    if guest {
                        json!("Invitation")
                    } else {
                        Value::Null
                    }
                }
                "externalUserState" => {
                    if guest {
                        json!("Accepted")
                    } else {
                        Value::Null
                    }
                }
                "imAddresses" | "otherMails" => json!([]),
                "mailNickname" => opt(&u.mail_nickname),
                "proxyAddresses" => json!(u.proxy_addresses),
                "userType" => json!(u.user_type),
                _ => Value::Null,
            };
            (*name, v)
        })
        .collect();
    Obj(fields)
}

pub fn group_json(g: &Group, sel: &Selection) -> Obj {
    let fields = GROUP_PROPS
        .iter()
        .filter(|name| sel.wants(name, true))
        .map(|name| {
            let v = match *name {
                "id" => json!(g.id),
                "createdDateTime" | "renewedDateTime" => opt(&g.created_date_time),
                "creationOptions"
                | "resourceBehaviorOptions"
                | "resourceProvisioningOptions"
                | "onPremisesProvisioningErrors"
                | "serviceProvisioningErrors" => json!([]),
                "description" => opt(&g.description),
                "displayName" => json!(g.display_name),
                "groupTypes" => json!(g.group_types),
                "mail" => opt(&g.mail),
                "mailEnabled" => json!(g.mail_enabled),
                "mailNickname" => opt(&g.mail_nickname),
                "proxyAddresses" => json!(g.proxy_addresses),
                "securityEnabled" => json!(g.security_enabled),
                "securityIdentifier" => security_identifier(&g.id),
                "visibility" => opt(&g.visibility),
                _ => Value::Null,
            };
            (*name, v)
        })
        .collect();
    Obj(fields)
}

pub fn contact_json(c: &Contact, sel: &Selection) -> Obj {
    let fields = CONTACT_PROPS
        .iter()
        .filter(|name| sel.wants(name, true))
        .map(|name| {
            let v = match *name {
                "id" => json!(c.id),
                "companyName" => opt(&c.company_name),
                "displayName" => opt(&c.display_name),
                "proxyAddresses" => json!(c.proxy_addresses),
                "givenName" => opt(&c.given_name),
                "imAddresses" | "addresses" | "onPremisesProvisioningErrors" | "phones" => {
                    json!([])
                }
                "mail" => opt(&c.mail),
                "mailNickname" => opt(&c.mail_nickname),
                "surname" => opt(&c.surname),
                _ => Value::Null,
            };
            (*name, v)
        })
        .collect();
    Obj(fields)
}

/// A member of a `directoryObject` collection: `@odata.type` first, then its properties.
pub fn member_json(tenant: &crate::tenant::Tenant, id: &str, sel: &Selection) -> Option<Obj> {
    let (kind, mut obj) = match tenant.kind_of(id)? {
        ObjectKind::User => (ObjectKind::User, user_json(tenant.users.get(id)?, sel)),
        ObjectKind::Group => (ObjectKind::Group, group_json(tenant.groups.get(id)?, sel)),
        ObjectKind::Contact => (
            ObjectKind::Contact,
            contact_json(tenant.contacts.get(id)?, sel),
        ),
    };
    obj.0.insert(0, ("@odata.type", json!(kind.odata_type())));
    Some(obj)
}

/// `S-1-12-1-a-b-c-d`: the SID Entra derives from a cloud group's GUID.
fn security_identifier(id: &str) -> Value {
    let Ok(uuid) = uuid::Uuid::parse_str(id) else {
        return Value::Null;
    };
    let b = uuid.to_bytes_le();
    let part = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    json!(format!(
        "S-1-12-1-{}-{}-{}-{}",
        part(0),
        part(4),
        part(8),
        part(12)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_identifier_matches_the_real_sample() {
        // From the SGNL fixtures: HR Taskforce.
        assert_eq!(
            security_identifier("02bd9fd6-8f93-4758-87c3-1fb73740a315"),
            json!("S-1-12-1-45981654-1196986259-3072312199-363020343")
        );
    }
}
