//! An LDAP directory's connection settings as an admin enters them on the LDAP Sync page
//! (the vendor's form: servers, SSL, port, user, password, base DNs, search string and the
//! attributes that hold addresses), parsed into typed values. Pure: the connector
//! (`ldap::connector`, behind the `connectors` feature) turns them into connections.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ExcludePattern;

/// Most servers in the list.
pub const MAX_LDAP_SERVERS: usize = 10;
/// Most base DNs in the list.
pub const MAX_BASE_DNS: usize = 20;
/// Longest search string, in characters.
pub const MAX_FILTER_LENGTH: usize = 4096;
/// Longest custom CA bundle (PEM), in bytes.
pub const MAX_CA_PEM_BYTES: usize = 64 * 1024;

/// Exchange's recipients in Active Directory: mail-enabled users, groups, public folders and
/// dynamic distribution lists, without contacts or system mailboxes — the vendor's default
/// search string, verbatim (`../shared/reference/ldap/FACTS.md` §1).
pub const DEFAULT_EXCHANGE_FILTER: &str = "(& (mailnickname=*)(!(mailnickname=discoverysearchmailbox*))(!(mailnickname=federatedemail*))(!(mailnickname=systemmailbox*)) (| (objectClass=publicFolder)(&(objectCategory=person)(objectClass=user)(!(homeMDB=*))(!(msExchHomeServerName=*)))(&(objectCategory=person)(objectClass=user)(|(homeMDB=*)(msExchHomeServerName=*)))(objectCategory=person)(objectCategory=group)(objectClass=msExchDynamicDistributionList) ) (!(objectClass=contact)) )";

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LdapSecurity {
    /// Plain LDAP (`ldap://`), nothing encrypted.
    None,
    /// LDAP upgraded with StartTLS before the bind.
    StartTls,
    /// LDAP over TLS from the first byte (`ldaps://`).
    Ldaps,
}

impl LdapSecurity {
    pub const ALL: [LdapSecurity; 3] = [
        LdapSecurity::Ldaps,
        LdapSecurity::StartTls,
        LdapSecurity::None,
    ];

    /// Its text in SQL and forms.
    pub fn as_str(self) -> &'static str {
        match self {
            LdapSecurity::None => "none",
            LdapSecurity::StartTls => "starttls",
            LdapSecurity::Ldaps => "ldaps",
        }
    }

    pub fn parse(text: &str) -> Option<LdapSecurity> {
        LdapSecurity::ALL
            .into_iter()
            .find(|s| s.as_str() == text.trim())
    }

    /// The port a server listens on for this security by default.
    pub fn default_port(self) -> u16 {
        match self {
            LdapSecurity::Ldaps => 636,
            LdapSecurity::None | LdapSecurity::StartTls => 389,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            LdapSecurity::None => "None (plain LDAP)",
            LdapSecurity::StartTls => "StartTLS",
            LdapSecurity::Ldaps => "SSL (LDAPS)",
        }
    }
}

/// The directory products the form can fill defaults for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LdapPreset {
    ActiveDirectory,
    LotusDomino,
    OpenLdap,
}

/// What a preset fills in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresetDefaults {
    /// Empty: the built-in Exchange search string.
    pub filter: &'static str,
    pub email_attribute: &'static str,
    pub alias_attributes: &'static str,
    pub list_attribute: &'static str,
    pub list_value: &'static str,
}

impl LdapPreset {
    pub const ALL: [LdapPreset; 3] = [
        LdapPreset::ActiveDirectory,
        LdapPreset::LotusDomino,
        LdapPreset::OpenLdap,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LdapPreset::ActiveDirectory => "active_directory",
            LdapPreset::LotusDomino => "lotus_domino",
            LdapPreset::OpenLdap => "openldap",
        }
    }

    pub fn parse(text: &str) -> Option<LdapPreset> {
        LdapPreset::ALL
            .into_iter()
            .find(|p| p.as_str() == text.trim())
    }

    pub fn label(self) -> &'static str {
        match self {
            LdapPreset::ActiveDirectory => "MS Active Directory",
            LdapPreset::LotusDomino => "Lotus Domino",
            LdapPreset::OpenLdap => "OpenLDAP",
        }
    }

    /// The settings this product usually needs.
    pub fn defaults(self) -> PresetDefaults {
        match self {
            LdapPreset::ActiveDirectory => PresetDefaults {
                filter: "",
                email_attribute: "mail",
                alias_attributes: "proxyAddresses",
                list_attribute: "objectClass",
                list_value: "group",
            },
            LdapPreset::LotusDomino => PresetDefaults {
                filter: "(&(mail=*)(|(objectClass=dominoPerson)(objectClass=dominoGroup)))",
                email_attribute: "mail",
                alias_attributes: "mailAddress",
                list_attribute: "objectClass",
                list_value: "dominoGroup",
            },
            LdapPreset::OpenLdap => PresetDefaults {
                filter: "(&(mail=*)(|(objectClass=inetOrgPerson)(objectClass=groupOfNames)))",
                email_attribute: "mail",
                alias_attributes: "mailLocalAddress",
                list_attribute: "objectClass",
                list_value: "groupOfNames",
            },
        }
    }
}

/// Why a setting was rejected; each names its form field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LdapSettingsError {
    #[error("Enter at least one server: a host name or IP address.")]
    NoServers,
    #[error("“{host}” is not a host name or IP address. Enter names like dc1.example.com, separated by commas (no ldap:// prefix, no port).")]
    BadServer { host: String },
    #[error("Enter at most {MAX_LDAP_SERVERS} servers.")]
    TooManyServers,
    #[error("Enter a port from 1 to 65535.")]
    BadPort,
    #[error("Enter the user Roster signs in as: user@example.com or cn=user,dc=example,dc=com.")]
    NoUser,
    #[error("The user name can't contain line breaks.")]
    BadUser,
    #[error("Enter the password.")]
    NoPassword,
    #[error("Enter at least one base DN, e.g. dc=example,dc=com.")]
    NoBaseDn,
    #[error("“{dn}” is not a DN. Write it as attribute=value pairs separated by commas, e.g. ou=Staff,dc=example,dc=com.")]
    BadBaseDn { dn: String },
    #[error("Enter at most {MAX_BASE_DNS} base DNs.")]
    TooManyBaseDns,
    #[error("The search string must be one LDAP filter in parentheses, e.g. (&(mail=*)(objectClass=user)), with balanced parentheses.")]
    BadFilter,
    #[error("The search string can be at most {MAX_FILTER_LENGTH} characters.")]
    FilterTooLong,
    #[error(
        "“{name}” is not an attribute name: use letters, digits and hyphens, e.g. proxyAddresses."
    )]
    BadAttribute { name: String },
    #[error("The distribution list value: {0}")]
    BadListValue(String),
    #[error("The certificate must be in PEM form (-----BEGIN CERTIFICATE-----), at most 64 KB.")]
    BadCaPem,
}

impl LdapSettingsError {
    /// The form field the error belongs to.
    pub fn field(&self) -> &'static str {
        match self {
            LdapSettingsError::NoServers
            | LdapSettingsError::BadServer { .. }
            | LdapSettingsError::TooManyServers => "servers",
            LdapSettingsError::BadPort => "port",
            LdapSettingsError::NoUser | LdapSettingsError::BadUser => "bind_user",
            LdapSettingsError::NoPassword => "password",
            LdapSettingsError::NoBaseDn
            | LdapSettingsError::BadBaseDn { .. }
            | LdapSettingsError::TooManyBaseDns => "base_dns",
            LdapSettingsError::BadFilter | LdapSettingsError::FilterTooLong => "filter",
            LdapSettingsError::BadAttribute { .. } => "attributes",
            LdapSettingsError::BadListValue(_) => "list_value",
            LdapSettingsError::BadCaPem => "ca_pem",
        }
    }
}

/// The LDAP password, as typed or decrypted: never shown in `Debug`, never serialized.
#[derive(Clone, PartialEq, Eq)]
pub struct LdapPassword(String);

impl LdapPassword {
    pub fn new(password: String) -> Result<LdapPassword, LdapSettingsError> {
        if password.is_empty() {
            return Err(LdapSettingsError::NoPassword);
        }
        Ok(LdapPassword(password))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for LdapPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LdapPassword(..)")
    }
}

/// How the server's certificate is checked (LDAPS and StartTLS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsVerify {
    /// Against the system's trusted roots, plus the admin's own CA (PEM) when given.
    Verify { custom_ca_pem: Option<String> },
    /// Not at all: the admin turned verification off, warned that anyone on the path could
    /// read the password.
    DontVerify,
}

/// Which attributes hold what (the form's attribute section).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdapAttributes {
    /// The primary address (default `mail`).
    pub email: String,
    /// More addresses (default `proxyAddresses`): `SMTP:`/`smtp:` prefixed values, or plain
    /// addresses for attributes other than proxyAddresses.
    pub aliases: Vec<String>,
    /// An entry whose `list_attribute` has a value matching `list_value` (a glob) is a
    /// distribution list.
    pub list_attribute: String,
    pub list_value: ExcludePattern,
}

/// Everything the connector needs to read one LDAP directory, except the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdapSettings {
    /// Tried in order; the first that answers serves the run.
    pub servers: Vec<String>,
    pub security: LdapSecurity,
    pub port: u16,
    pub verify: TlsVerify,
    /// `user@example.com` or a DN.
    pub bind_user: String,
    /// Each searched with the filter (subtree).
    pub base_dns: Vec<String>,
    /// `None`: [`DEFAULT_EXCHANGE_FILTER`].
    pub filter: Option<String>,
    pub attributes: LdapAttributes,
}

impl LdapSettings {
    /// The search string in effect.
    pub fn effective_filter(&self) -> &str {
        self.filter.as_deref().unwrap_or(DEFAULT_EXCHANGE_FILTER)
    }
}

/// The form's text, before parsing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LdapSettingsInput {
    pub servers: String,
    pub security: String,
    pub port: String,
    pub verify_certificate: bool,
    pub ca_pem: String,
    pub bind_user: String,
    pub base_dns: String,
    pub filter: String,
    pub email_attribute: String,
    pub alias_attributes: String,
    pub list_attribute: String,
    pub list_value: String,
}

impl LdapSettingsInput {
    /// Parses every field; all errors at once, each with its field.
    pub fn parse(&self) -> Result<LdapSettings, Vec<LdapSettingsError>> {
        let mut errors = Vec::new();
        macro_rules! keep {
            ($parsed:expr) => {
                match $parsed {
                    Ok(value) => Some(value),
                    Err(error) => {
                        errors.push(error);
                        None
                    }
                }
            };
        }
        let security = LdapSecurity::parse(&self.security).unwrap_or(LdapSecurity::Ldaps);
        let servers = keep!(parse_servers(&self.servers));
        let port = keep!(parse_port(&self.port, security));
        let verify = keep!(parse_verify(self.verify_certificate, &self.ca_pem));
        let bind_user = keep!(parse_user(&self.bind_user));
        let base_dns = keep!(parse_base_dns(&self.base_dns));
        let filter = keep!(parse_filter(&self.filter));
        let email = keep!(parse_attribute(&self.email_attribute, "mail"));
        let aliases = keep!(parse_attribute_list(&self.alias_attributes));
        let list_attribute = keep!(parse_attribute(&self.list_attribute, "objectClass"));
        let list_value = keep!(parse_list_value(&self.list_value));
        let (
            Some(servers),
            Some(port),
            Some(verify),
            Some(bind_user),
            Some(base_dns),
            Some(filter),
            Some(email),
            Some(aliases),
            Some(list_attribute),
            Some(list_value),
        ) = (
            servers,
            port,
            verify,
            bind_user,
            base_dns,
            filter,
            email,
            aliases,
            list_attribute,
            list_value,
        )
        else {
            return Err(errors);
        };
        Ok(LdapSettings {
            servers,
            security,
            port,
            verify,
            bind_user,
            base_dns,
            filter,
            attributes: LdapAttributes {
                email,
                aliases,
                list_attribute,
                list_value,
            },
        })
    }
}

fn parse_servers(text: &str) -> Result<Vec<String>, LdapSettingsError> {
    let servers: Vec<String> = text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    if servers.is_empty() {
        return Err(LdapSettingsError::NoServers);
    }
    if servers.len() > MAX_LDAP_SERVERS {
        return Err(LdapSettingsError::TooManyServers);
    }
    for host in &servers {
        let ok = host.len() <= 253
            && (host.parse::<std::net::IpAddr>().is_ok()
                || host.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && label
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                        && !label.starts_with('-')
                        && !label.ends_with('-')
                }));
        if !ok {
            return Err(LdapSettingsError::BadServer { host: host.clone() });
        }
    }
    Ok(servers)
}

fn parse_port(text: &str, security: LdapSecurity) -> Result<u16, LdapSettingsError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(security.default_port());
    }
    match text.parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(LdapSettingsError::BadPort),
    }
}

fn parse_verify(verify: bool, ca_pem: &str) -> Result<TlsVerify, LdapSettingsError> {
    if !verify {
        return Ok(TlsVerify::DontVerify);
    }
    let pem = ca_pem.trim();
    if pem.is_empty() {
        return Ok(TlsVerify::Verify {
            custom_ca_pem: None,
        });
    }
    if pem.len() > MAX_CA_PEM_BYTES
        || !pem.contains("-----BEGIN CERTIFICATE-----")
        || !pem.contains("-----END CERTIFICATE-----")
    {
        return Err(LdapSettingsError::BadCaPem);
    }
    Ok(TlsVerify::Verify {
        custom_ca_pem: Some(pem.to_owned()),
    })
}

fn parse_user(text: &str) -> Result<String, LdapSettingsError> {
    let user = text.trim();
    if user.is_empty() {
        return Err(LdapSettingsError::NoUser);
    }
    if user.contains(['\n', '\r', '\0']) || user.len() > 1024 {
        return Err(LdapSettingsError::BadUser);
    }
    Ok(user.to_owned())
}

/// One DN per line (commas separate the parts of a DN, so lines separate DNs).
fn parse_base_dns(text: &str) -> Result<Vec<String>, LdapSettingsError> {
    let dns: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if dns.is_empty() {
        return Err(LdapSettingsError::NoBaseDn);
    }
    if dns.len() > MAX_BASE_DNS {
        return Err(LdapSettingsError::TooManyBaseDns);
    }
    for dn in &dns {
        if !looks_like_dn(dn) {
            return Err(LdapSettingsError::BadBaseDn { dn: dn.clone() });
        }
    }
    Ok(dns)
}

/// Each comma-separated part (commas escaped with `\` don't separate) is `attribute=value`.
fn looks_like_dn(dn: &str) -> bool {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut escaped = false;
    for c in dn.chars() {
        if escaped {
            current.push(c);
            escaped = false;
        } else if c == '\\' {
            current.push(c);
            escaped = true;
        } else if c == ',' {
            parts.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    parts.push(current);
    parts.iter().all(|part| match part.split_once('=') {
        Some((attr, value)) => is_attribute_name(attr.trim()) && !value.trim().is_empty(),
        None => false,
    })
}

fn parse_filter(text: &str) -> Result<Option<String>, LdapSettingsError> {
    let filter = text.trim();
    if filter.is_empty() {
        return Ok(None);
    }
    if filter.chars().count() > MAX_FILTER_LENGTH {
        return Err(LdapSettingsError::FilterTooLong);
    }
    // The server has the last word on a filter's syntax (Test Connection names its answer);
    // here only what can never be one: no outer parentheses, unbalanced ones, control chars.
    let mut depth = 0i32;
    for c in filter.chars() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err(LdapSettingsError::BadFilter);
                }
            }
            c if c.is_control() && c != '\n' && c != '\t' && c != '\r' => {
                return Err(LdapSettingsError::BadFilter)
            }
            _ => {}
        }
    }
    if depth != 0 || !filter.starts_with('(') || !filter.ends_with(')') {
        return Err(LdapSettingsError::BadFilter);
    }
    Ok(Some(
        filter.split_whitespace().collect::<Vec<_>>().join(" "),
    ))
}

fn is_attribute_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        // A descriptor (letters, digits, hyphens) or a numeric OID.
        Some(c) if c.is_ascii_alphabetic() => chars.all(|c| c.is_ascii_alphanumeric() || c == '-'),
        Some(c) if c.is_ascii_digit() => name
            .split('.')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit())),
        _ => false,
    }
}

fn parse_attribute(text: &str, default: &str) -> Result<String, LdapSettingsError> {
    let name = text.trim();
    if name.is_empty() {
        return Ok(default.to_owned());
    }
    if !is_attribute_name(name) || name.len() > 128 {
        return Err(LdapSettingsError::BadAttribute {
            name: name.to_owned(),
        });
    }
    Ok(name.to_owned())
}

/// Comma-separated; empty means `proxyAddresses`.
fn parse_attribute_list(text: &str) -> Result<Vec<String>, LdapSettingsError> {
    let names: Vec<&str> = text
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    if names.is_empty() {
        return Ok(vec!["proxyAddresses".to_owned()]);
    }
    let mut out: Vec<String> = Vec::new();
    for name in names {
        let name = parse_attribute(name, "proxyAddresses")?;
        if !out.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
            out.push(name);
        }
    }
    Ok(out)
}

fn parse_list_value(text: &str) -> Result<ExcludePattern, LdapSettingsError> {
    let value = if text.trim().is_empty() {
        "group"
    } else {
        text
    };
    ExcludePattern::parse(value).map_err(|e| LdapSettingsError::BadListValue(e.to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn input() -> LdapSettingsInput {
        LdapSettingsInput {
            servers: "dc1.example.com, 10.0.0.2".into(),
            security: "ldaps".into(),
            port: String::new(),
            verify_certificate: true,
            bind_user: "roster@example.com".into(),
            base_dns: "dc=example,dc=com\nou=Other,dc=example,dc=com\n".into(),
            ..LdapSettingsInput::default()
        }
    }

    #[test]
    fn defaults_fill_what_is_left_empty() {
        let s = input().parse().unwrap();
        assert_eq!(s.servers, ["dc1.example.com", "10.0.0.2"]);
        assert_eq!(s.port, 636);
        assert_eq!(s.base_dns.len(), 2);
        assert_eq!(s.effective_filter(), DEFAULT_EXCHANGE_FILTER);
        assert_eq!(s.attributes.email, "mail");
        assert_eq!(s.attributes.aliases, ["proxyAddresses"]);
        assert_eq!(s.attributes.list_attribute, "objectClass");
        assert!(s.attributes.list_value.matches("group"));
        assert_eq!(
            s.verify,
            TlsVerify::Verify {
                custom_ca_pem: None
            }
        );
    }

    #[test]
    fn every_bad_field_is_named() {
        let bad = LdapSettingsInput {
            servers: "ldap://dc1.example.com".into(),
            port: "70000".into(),
            bind_user: String::new(),
            base_dns: "example.com".into(),
            filter: "(&(mail=*)".into(),
            email_attribute: "mail address".into(),
            ca_pem: "not a cert".into(),
            verify_certificate: true,
            ..input()
        };
        let fields: Vec<_> = bad
            .parse()
            .unwrap_err()
            .iter()
            .map(LdapSettingsError::field)
            .collect();
        assert_eq!(
            fields,
            [
                "servers",
                "port",
                "ca_pem",
                "bind_user",
                "base_dns",
                "filter",
                "attributes"
            ]
        );
    }

    #[test]
    fn presets_parse_and_the_password_stays_hidden() {
        for preset in LdapPreset::ALL {
            let d = preset.defaults();
            let s = LdapSettingsInput {
                filter: d.filter.into(),
                email_attribute: d.email_attribute.into(),
                alias_attributes: d.alias_attributes.into(),
                list_attribute: d.list_attribute.into(),
                list_value: d.list_value.into(),
                ..input()
            }
            .parse()
            .unwrap();
            assert_eq!(LdapPreset::parse(preset.as_str()), Some(preset));
            assert!(s.attributes.list_value.matches(d.list_value));
        }
        let p = LdapPassword::new("hunter2".into()).unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
        assert_eq!(
            LdapPassword::new(String::new()),
            Err(LdapSettingsError::NoPassword)
        );
    }
}
