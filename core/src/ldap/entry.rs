//! One LDAP entry as the directory sent it, read defensively, and the mirror object it becomes.
//!
//! Everything here is pure. Directory data is untrusted: the entry is decoded from its BER tags
//! without panicking (ldap3's `SearchEntry::construct` panics on a non-UTF-8 DN or attribute
//! name), values are kept as bytes and read as text only where text is expected, and absurd
//! sizes are cut (too many attributes or values, too long values: logged and skipped).

use ldap3::asn1::StructureTag;

use super::settings::LdapAttributes;
use crate::directory::{MirrorKind, ObjectPatch};

/// Most attributes read from one entry.
const MAX_ATTRIBUTES: usize = 256;
/// Most values read for one attribute (a plain `member` of a big group on a server without
/// range retrieval can be large; AD never sends more than its MaxValRange at once).
const MAX_VALUES: usize = 200_000;
/// Longest value kept, in bytes (a DN or an address; longer ones are not mail data).
const MAX_VALUE_BYTES: usize = 4096;

/// A search result entry: its DN and its attributes, values as bytes, in the server's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawEntry {
    pub dn: String,
    pub attrs: Vec<(String, Vec<Vec<u8>>)>,
}

impl RawEntry {
    /// Decodes a SearchResultEntry (`[APPLICATION 4] { objectName, attributes }`); `None` when
    /// it is not one or its DN is not UTF-8. Attributes with a non-UTF-8 name, and values over
    /// the caps, are skipped with a warning.
    pub fn parse(tag: StructureTag) -> Option<RawEntry> {
        let mut parts = tag.match_id(4)?.expect_constructed()?.into_iter();
        let dn = String::from_utf8(parts.next()?.expect_primitive()?).ok()?;
        if dn.len() > MAX_VALUE_BYTES {
            tracing::warn!(
                dn_bytes = dn.len(),
                "LDAP entry skipped: its DN is too long"
            );
            return None;
        }
        let mut attrs = Vec::new();
        for attribute in parts.next()?.expect_constructed()? {
            if attrs.len() == MAX_ATTRIBUTES {
                tracing::warn!(%dn, "LDAP entry has too many attributes; the rest are ignored");
                break;
            }
            let Some(mut pair) = attribute.expect_constructed().map(Vec::into_iter) else {
                continue;
            };
            let Some(name) = pair
                .next()
                .and_then(StructureTag::expect_primitive)
                .and_then(|n| String::from_utf8(n).ok())
            else {
                continue;
            };
            let Some(raw_values) = pair.next().and_then(StructureTag::expect_constructed) else {
                continue;
            };
            let total = raw_values.len();
            let mut values = Vec::with_capacity(total.min(MAX_VALUES));
            let mut too_long = 0usize;
            for value in raw_values.into_iter().take(MAX_VALUES) {
                match value.expect_primitive() {
                    Some(v) if v.len() <= MAX_VALUE_BYTES => values.push(v),
                    Some(_) => too_long += 1,
                    None => {}
                }
            }
            if total > MAX_VALUES || too_long > 0 {
                tracing::warn!(%dn, attribute = %name, total, too_long,
                    "LDAP attribute cut: too many or too long values were skipped");
            }
            attrs.push((name, values));
        }
        Some(RawEntry { dn, attrs })
    }

    /// The values of the attribute `name` (case-insensitive, without options).
    pub fn values(&self, name: &str) -> impl Iterator<Item = &[u8]> + '_ {
        let name = name.to_owned();
        self.attrs
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(&name))
            .flat_map(|(_, values)| values.iter().map(Vec::as_slice))
    }

    /// The values of `name` that are text (UTF-8, no NUL), trimmed, empty ones left out.
    pub fn texts(&self, name: &str) -> Vec<&str> {
        self.values(name)
            .filter_map(|v| std::str::from_utf8(v).ok())
            .map(str::trim)
            .filter(|v| !v.is_empty() && !v.contains('\0'))
            .collect()
    }

    fn first_text(&self, name: &str) -> Option<String> {
        self.texts(name).first().map(|v| (*v).to_owned())
    }

    /// The `member;range=A-B` part of the entry, if the server sent one.
    pub fn member_range(&self) -> Option<(RangeSpan, Vec<&str>)> {
        self.attrs.iter().find_map(|(name, values)| {
            let span = parse_range(name).filter(|(base, _)| base.eq_ignore_ascii_case("member"))?;
            let texts = values
                .iter()
                .filter_map(|v| std::str::from_utf8(v).ok())
                .collect();
            Some((span.1, texts))
        })
    }
}

/// The values range of a ranged attribute: `start`, and `end` (`None` for `*`: the last ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RangeSpan {
    pub start: u64,
    pub end: Option<u64>,
}

/// Reads `member;range=1500-2999` into (`member`, 1500..=2999); `member;range=1500-*` gives
/// `end: None`. Other options (`;binary`) are allowed; `None` without a well-formed range.
pub(crate) fn parse_range(attribute: &str) -> Option<(&str, RangeSpan)> {
    let mut parts = attribute.split(';');
    let base = parts.next()?;
    for option in parts {
        let Some((key, value)) = option.split_once('=') else {
            continue;
        };
        if !key.eq_ignore_ascii_case("range") {
            continue;
        }
        let (start, end) = value.split_once('-')?;
        let start = start.parse().ok()?;
        let end = match end {
            "*" => None,
            n => Some(n.parse().ok().filter(|e: &u64| *e >= start)?),
        };
        return Some((base, RangeSpan { start, end }));
    }
    None
}

/// An AD `objectGUID` (16 bytes, the first three fields little-endian) in the form AD shows
/// it: `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, lower case.
pub(crate) fn format_guid(bytes: &[u8]) -> Option<String> {
    let bytes: [u8; 16] = bytes.try_into().ok()?;
    Some(uuid::Uuid::from_bytes_le(bytes).hyphenated().to_string())
}

/// Normalizes a DN for lookups: attribute types and values lower-cased, spaces around `,`,
/// `+` and `=` dropped, escapes (`\,` and `\2C`) decoded and written back one way, so the
/// `member` values of a group find the entries the search returned however each was written.
pub(crate) fn normalize_dn(dn: &str) -> String {
    let mut out = String::with_capacity(dn.len());
    let mut chars = dn.chars().peekable();
    // The current component: its type (until `=`) and its value, unescaped.
    let mut name = String::new();
    let mut value = String::new();
    let mut in_value = false;
    // Trailing spaces of a value are dropped unless escaped: keep the escaped length.
    let mut value_keep = 0usize;
    let flush = |out: &mut String, name: &mut String, value: &mut String, keep: usize| {
        let value_str: String = {
            let trimmed = value.trim_end();
            if trimmed.len() < keep {
                value[..keep].to_owned()
            } else {
                trimmed.to_owned()
            }
        };
        out.push_str(name.trim());
        out.push('=');
        for c in value_str.to_lowercase().chars() {
            if matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=') {
                out.push('\\');
            }
            out.push(c);
        }
        name.clear();
        value.clear();
    };
    while let Some(c) = chars.next() {
        if !in_value {
            match c {
                '=' => in_value = true,
                _ => name.push(c.to_ascii_lowercase()),
            }
            continue;
        }
        match c {
            '\\' => {
                let first = chars.next();
                let hex = first.filter(char::is_ascii_hexdigit).and_then(|a| {
                    let b = chars.peek().copied().filter(char::is_ascii_hexdigit)?;
                    chars.next();
                    u8::from_str_radix(&format!("{a}{b}"), 16).ok()
                });
                match (hex, first) {
                    // A hex escape may be one byte of a UTF-8 sequence: decode byte-wise.
                    (Some(byte), _) => {
                        let mut bytes = vec![byte];
                        while chars.peek() == Some(&'\\') {
                            let mut look = chars.clone();
                            look.next();
                            let (Some(a), Some(b)) = (look.next(), look.next()) else {
                                break;
                            };
                            let Ok(next) = u8::from_str_radix(&format!("{a}{b}"), 16) else {
                                break;
                            };
                            if next < 0x80 {
                                break;
                            }
                            bytes.push(next);
                            chars = look;
                        }
                        value.push_str(&String::from_utf8_lossy(&bytes));
                    }
                    (None, Some(other)) => value.push(other),
                    (None, None) => {}
                }
                value_keep = value.len();
            }
            ',' | ';' | '+' => {
                let sep = if c == '+' { '+' } else { ',' };
                flush(&mut out, &mut name, &mut value, value_keep);
                out.push(sep);
                in_value = false;
                value_keep = 0;
            }
            ' ' if value.is_empty() => {}
            _ => value.push(c),
        }
    }
    if in_value || !name.trim().is_empty() {
        flush(&mut out, &mut name, &mut value, value_keep);
    }
    out
}

/// Whether an alias value is written `type:address` (`SMTP:a@b`, `smtp:a@b`, `X500:/o=…`,
/// `SIP:…`): a short type of letters and digits before the first colon.
pub(crate) fn is_typed_address(value: &str) -> bool {
    match value.split_once(':') {
        Some((kind, _)) => {
            let kind = kind.trim();
            !kind.is_empty()
                && kind.len() <= 16
                && kind
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '=' || c == '-')
        }
        None => false,
    }
}

/// An alias attribute's value as a proxy address: `type:address` values as they are (the
/// normalization takes `SMTP:`/`smtp:` and ignores the other types), plain addresses (an
/// OpenLDAP `mailLocalAddress`, Domino's `mailAddress`) as `smtp:<address>`.
pub(crate) fn proxy_value(value: &str) -> Option<String> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if is_typed_address(value) {
        Some(value.to_owned())
    } else {
        Some(format!("smtp:{value}"))
    }
}

/// Whether `userAccountControl` leaves the account enabled (bit 2, ACCOUNTDISABLE, clear).
/// Missing or unreadable: enabled.
pub(crate) fn account_enabled(user_account_control: Option<&str>) -> bool {
    match user_account_control.map(|v| v.trim().parse::<i64>()) {
        Some(Ok(flags)) => flags & 2 == 0,
        _ => true,
    }
}

/// The stable id of an entry: AD's `objectGUID`, else OpenLDAP's `entryUUID`, else (servers
/// with neither, e.g. some Domino versions) `dn:` and the normalized DN, which changes when
/// the entry is renamed or moved (then it is a new object, and the old one is removed).
pub(crate) fn external_id(entry: &RawEntry) -> String {
    if let Some(guid) = entry.values("objectGUID").find_map(format_guid) {
        return guid;
    }
    if let Some(uuid) = entry
        .texts("entryUUID")
        .into_iter()
        .find_map(|v| uuid::Uuid::parse_str(v).ok())
    {
        return uuid.hyphenated().to_string();
    }
    format!("dn:{}", normalize_dn(&entry.dn))
}

/// What an entry is, by the list attribute (`objectClass` = `group`, by default).
pub(crate) fn is_list(entry: &RawEntry, attributes: &LdapAttributes) -> bool {
    entry
        .texts(&attributes.list_attribute)
        .iter()
        .any(|v| attributes.list_value.matches(v))
}

/// An entry as the mirror takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EntryObject {
    pub external_id: String,
    pub kind: MirrorKind,
    pub patch: ObjectPatch,
}

/// The mirror object of an entry: a list (mail-enabled group) when the list attribute says
/// so, else a user — or, for `as_contact`, a contact (a list member found outside the search).
///
/// Addresses: the proxy addresses are the alias attributes' values ([`proxy_value`]); when
/// none of them is an `SMTP:` primary, the email attribute's first value becomes the primary
/// (`SMTP:<mail>`), so plain alias attributes can't push `mail` aside.
pub(crate) fn entry_object(
    entry: &RawEntry,
    attributes: &LdapAttributes,
    as_contact: bool,
) -> EntryObject {
    let mail = entry.first_text(&attributes.email);
    let mut proxies: Vec<String> = attributes
        .aliases
        .iter()
        .flat_map(|a| entry.texts(a))
        .filter_map(proxy_value)
        .collect();
    let has_primary = proxies.iter().any(|p| {
        p.split_once(':')
            .is_some_and(|(kind, _)| kind.trim() == "SMTP")
    });
    if let (false, Some(mail)) = (has_primary, &mail) {
        proxies.insert(0, format!("SMTP:{mail}"));
    }
    let display_name = entry
        .first_text("displayName")
        .or_else(|| entry.first_text("cn"));
    let list = !as_contact && is_list(entry, attributes);
    let kind = match (as_contact, list) {
        (true, _) => MirrorKind::Contact,
        (false, true) => MirrorKind::Group,
        (false, false) => MirrorKind::User,
    };
    let uac = entry.first_text("userAccountControl");
    let patch = ObjectPatch {
        display_name: Some(display_name),
        mail: Some(mail),
        proxy_addresses: Some(proxies),
        account_enabled: Some(account_enabled(uac.as_deref())),
        guest: Some(false),
        mail_enabled: Some(list),
        security_enabled: Some(false),
        unified: Some(false),
        // LDAP has no "everyone in the directory" member.
        includes_everyone: None,
        // Nor archived users (Google Workspace's).
        archived: None,
    };
    EntryObject {
        external_id: external_id(entry),
        kind,
        patch,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::directory::{normalize, DomainRules};
    use crate::{DomainName, ExcludePattern};
    use ldap3::asn1::{TagClass, PL};

    fn attributes(aliases: &[&str]) -> LdapAttributes {
        LdapAttributes {
            email: "mail".into(),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
            list_attribute: "objectClass".into(),
            list_value: ExcludePattern::parse("group").unwrap(),
        }
    }

    fn entry(dn: &str, attrs: &[(&str, &[&[u8]])]) -> RawEntry {
        RawEntry {
            dn: dn.into(),
            attrs: attrs
                .iter()
                .map(|(n, vs)| (n.to_string(), vs.iter().map(|v| v.to_vec()).collect()))
                .collect(),
        }
    }

    fn prim(bytes: &[u8]) -> StructureTag {
        StructureTag {
            class: TagClass::Universal,
            id: 4,
            payload: PL::P(bytes.to_vec()),
        }
    }

    fn cons(id: u64, class: TagClass, inner: Vec<StructureTag>) -> StructureTag {
        StructureTag {
            class,
            id,
            payload: PL::C(inner),
        }
    }

    #[test]
    fn guids_are_formatted_as_ad_shows_them() {
        // AD shows {a1b2c3d4-e5f6-0718-292a-3b4c5d6e7f80} for these bytes.
        let bytes = [
            0xd4, 0xc3, 0xb2, 0xa1, 0xf6, 0xe5, 0x18, 0x07, 0x29, 0x2a, 0x3b, 0x4c, 0x5d, 0x6e,
            0x7f, 0x80,
        ];
        assert_eq!(
            format_guid(&bytes).as_deref(),
            Some("a1b2c3d4-e5f6-0718-292a-3b4c5d6e7f80")
        );
        assert_eq!(format_guid(&bytes[..15]), None);
        assert_eq!(format_guid(&[0; 17]), None);
    }

    #[test]
    fn external_ids_prefer_object_guid_then_entry_uuid_then_the_dn() {
        let guid = [1u8; 16];
        let e = entry(
            "CN=A,DC=x",
            &[
                ("objectGUID", &[&guid]),
                ("entryUUID", &[b"6F2C1A3E-9A7B-4C1D-8E2F-0A1B2C3D4E5F"]),
            ],
        );
        assert_eq!(external_id(&e), "01010101-0101-0101-0101-010101010101");
        let e = entry(
            "CN=A,DC=x",
            &[("entryUUID", &[b"6F2C1A3E-9A7B-4C1D-8E2F-0A1B2C3D4E5F"])],
        );
        assert_eq!(external_id(&e), "6f2c1a3e-9a7b-4c1d-8e2f-0a1b2c3d4e5f");
        let e = entry("CN=A , DC=X", &[("objectGUID", &[b"short"])]);
        assert_eq!(external_id(&e), "dn:cn=a,dc=x");
    }

    #[test]
    fn proxy_values_keep_types_and_prefix_plain_addresses() {
        assert_eq!(proxy_value("SMTP:a@x.com").as_deref(), Some("SMTP:a@x.com"));
        assert_eq!(
            proxy_value(" smtp:b@x.com ").as_deref(),
            Some("smtp:b@x.com")
        );
        assert_eq!(
            proxy_value("X500:/o=Org/ou=Exchange/cn=a").as_deref(),
            Some("X500:/o=Org/ou=Exchange/cn=a")
        );
        assert_eq!(proxy_value("c@x.com").as_deref(), Some("smtp:c@x.com"));
        assert_eq!(proxy_value("   "), None);
        assert!(!is_typed_address("weird value:with@colon.com"));
        assert!(is_typed_address("=EX:/o=x"));
    }

    #[test]
    fn the_disabled_bit_of_user_account_control() {
        assert!(account_enabled(Some("512")));
        assert!(!account_enabled(Some("514")));
        assert!(!account_enabled(Some("66050")));
        assert!(account_enabled(Some("66048")));
        assert!(account_enabled(None));
        assert!(account_enabled(Some("garbage")));
    }

    #[test]
    fn lists_are_found_by_the_list_attribute_glob() {
        let mut a = attributes(&["proxyAddresses"]);
        let g = entry("CN=G", &[("objectClass", &[b"top", b"Group"])]);
        assert!(is_list(&g, &a));
        let u = entry("CN=U", &[("objectClass", &[b"top", b"person", b"user"])]);
        assert!(!is_list(&u, &a));
        a.list_value = ExcludePattern::parse("*group*").unwrap();
        let n = entry("CN=N", &[("OBJECTCLASS", &[b"groupOfNames"])]);
        assert!(is_list(&n, &a));
    }

    #[test]
    fn dns_normalize_for_lookup() {
        assert_eq!(
            normalize_dn("CN=Ann Lee , OU=Staff,DC=Example, DC=com"),
            "cn=ann lee,ou=staff,dc=example,dc=com"
        );
        assert_eq!(
            normalize_dn("cn=Lee\\, Ann,dc=x"),
            normalize_dn("CN=Lee\\2C Ann,DC=X")
        );
        assert_eq!(normalize_dn("cn=Lee\\, Ann,dc=x"), "cn=lee\\, ann,dc=x");
        assert_eq!(normalize_dn("cn=J\\C3\\BCrgen,dc=x"), "cn=jürgen,dc=x");
        assert_eq!(normalize_dn("CN=JÜRGEN;DC=X"), "cn=jürgen,dc=x");
        assert_eq!(normalize_dn("cn=a+uid=B,dc=x"), "cn=a+uid=b,dc=x");
        assert_ne!(normalize_dn("cn=a,dc=x"), normalize_dn("cn=b,dc=x"));
    }

    #[test]
    fn range_attributes_parse() {
        assert_eq!(
            parse_range("member;range=0-1499"),
            Some((
                "member",
                RangeSpan {
                    start: 0,
                    end: Some(1499)
                }
            ))
        );
        assert_eq!(
            parse_range("Member;Range=1500-*"),
            Some((
                "Member",
                RangeSpan {
                    start: 1500,
                    end: None
                }
            ))
        );
        assert_eq!(
            parse_range("member;binary;range=3-4").map(|r| r.1.end),
            Some(Some(4))
        );
        assert_eq!(parse_range("member"), None);
        assert_eq!(parse_range("member;range=5-2"), None);
        assert_eq!(parse_range("member;range=x-*"), None);
        let e = entry(
            "CN=G",
            &[("member", &[]), ("member;range=0-1", &[b"CN=A", b"CN=B"])],
        );
        let (span, values) = e.member_range().unwrap();
        assert_eq!(span.end, Some(1));
        assert_eq!(values, ["CN=A", "CN=B"]);
    }

    #[test]
    fn entries_decode_without_trusting_the_server() {
        let attr = |name: &[u8], values: Vec<StructureTag>| {
            cons(
                16,
                TagClass::Universal,
                vec![prim(name), cons(17, TagClass::Universal, values)],
            )
        };
        let good = cons(
            4,
            TagClass::Application,
            vec![
                prim(b"cn=a,dc=x"),
                cons(
                    16,
                    TagClass::Universal,
                    vec![
                        attr(b"mail", vec![prim(b"a@x.com")]),
                        attr(b"\xff\xfe", vec![prim(b"bad name")]),
                        attr(b"objectGUID", vec![prim(&[0xff; 16])]),
                        attr(b"description", vec![prim(&vec![b'x'; MAX_VALUE_BYTES + 1])]),
                    ],
                ),
            ],
        );
        let e = RawEntry::parse(good).unwrap();
        assert_eq!(e.dn, "cn=a,dc=x");
        assert_eq!(e.texts("MAIL"), ["a@x.com"]);
        assert_eq!(
            e.attrs.len(),
            3,
            "the attribute with a non-UTF-8 name is skipped"
        );
        assert_eq!(
            e.texts("objectGUID"),
            Vec::<&str>::new(),
            "binary is not text"
        );
        assert_eq!(e.values("description").count(), 0, "too long");
        // Not an entry, or a DN that is not text: nothing, no panic.
        let bad_dn = cons(
            4,
            TagClass::Application,
            vec![prim(b"\xff"), cons(16, TagClass::Universal, vec![])],
        );
        assert_eq!(RawEntry::parse(bad_dn), None);
        let referral = cons(19, TagClass::Application, vec![prim(b"ldap://x")]);
        assert_eq!(RawEntry::parse(referral), None);
        assert_eq!(RawEntry::parse(prim(b"x")), None);
    }

    fn rules(domain: &str) -> DomainRules {
        DomainRules::new(DomainName::parse(domain).unwrap())
    }

    fn account_of(o: &EntryObject, domain: &str) -> Option<crate::DirectoryAccount> {
        let mut m = crate::directory::MirrorObject::new(o.external_id.clone(), o.kind);
        m.apply(&o.patch);
        normalize(&m.to_object(vec![]), &rules(domain))
    }

    #[test]
    fn ad_users_keep_their_proxy_addresses_and_only_the_domain_counts() {
        let e = entry(
            "CN=Ann,DC=x",
            &[
                ("objectGUID", &[&[7u8; 16]]),
                ("mail", &[b"ann@example.com"]),
                (
                    "proxyAddresses",
                    &[
                        b"SMTP:ann@example.com",
                        b"smtp:a@example.com",
                        b"smtp:ann@other.example",
                        b"X500:/o=x/cn=ann",
                    ],
                ),
                ("displayName", &[b"Ann Lee"]),
                ("cn", &[b"Ann"]),
                ("userAccountControl", &[b"514"]),
                ("objectClass", &[b"user"]),
            ],
        );
        let o = entry_object(&e, &attributes(&["proxyAddresses"]), false);
        assert_eq!(o.kind, MirrorKind::User);
        assert_eq!(o.patch.account_enabled, Some(false));
        assert_eq!(o.patch.display_name, Some(Some("Ann Lee".into())));
        let a = account_of(&o, "example.com").unwrap();
        assert_eq!(a.address.as_str(), "ann@example.com");
        assert_eq!(
            a.aliases.iter().map(|x| x.as_str()).collect::<Vec<_>>(),
            ["a@example.com"]
        );
        let other = account_of(&o, "other.example").unwrap();
        assert_eq!(other.address.as_str(), "ann@other.example");
    }

    #[test]
    fn plain_alias_attributes_keep_mail_as_the_primary() {
        let e = entry(
            "uid=bob,dc=x",
            &[
                ("entryUUID", &[b"6f2c1a3e-9a7b-4c1d-8e2f-0a1b2c3d4e5f"]),
                ("mail", &[b"bob@example.com"]),
                (
                    "mailLocalAddress",
                    &[b"robert@example.com", b"bob@example.com"],
                ),
                ("cn", &[b"Bob"]),
                ("objectClass", &[b"inetOrgPerson"]),
            ],
        );
        let o = entry_object(&e, &attributes(&["mailLocalAddress"]), false);
        assert_eq!(
            o.patch.display_name,
            Some(Some("Bob".into())),
            "cn without displayName"
        );
        let a = account_of(&o, "example.com").unwrap();
        assert_eq!(a.address.as_str(), "bob@example.com");
        assert_eq!(
            a.aliases.iter().map(|x| x.as_str()).collect::<Vec<_>>(),
            ["robert@example.com"]
        );
        assert!(o.patch.account_enabled == Some(true));
    }

    #[test]
    fn lists_and_contacts() {
        let g = entry(
            "CN=Sales,DC=x",
            &[
                ("mail", &[b"sales@example.com"]),
                ("objectClass", &[b"top", b"group"]),
            ],
        );
        let o = entry_object(&g, &attributes(&["proxyAddresses"]), false);
        assert_eq!(o.kind, MirrorKind::Group);
        assert_eq!(o.patch.mail_enabled, Some(true));
        assert_eq!(o.patch.security_enabled, Some(false));
        assert_eq!(
            account_of(&o, "example.com").unwrap().kind,
            crate::AccountKind::DistributionList
        );
        // The same entry met as a member outside the search: a contact, never an account.
        let c = entry_object(&g, &attributes(&["proxyAddresses"]), true);
        assert_eq!(c.kind, MirrorKind::Contact);
        assert_eq!(account_of(&c, "example.com"), None);
        // A user without any address gives nothing.
        let u = entry("CN=N,DC=x", &[("objectClass", &[b"user"])]);
        let o = entry_object(&u, &attributes(&["proxyAddresses"]), false);
        assert_eq!(account_of(&o, "example.com"), None);
    }
}
