//! The search string as `ldap3` parses it. Admins (and the vendor's default Exchange filter)
//! write spaces between a filter's parts — `(& (mail=*) (| …) )` — which OpenLDAP's and
//! python-ldap's parsers accept but `ldap3`'s does not.

/// The filter without the spaces between its parts: a run of spaces goes when a part follows
/// (`(`: a value can't hold an unescaped parenthesis, RFC 4515) or when it follows the start
/// or the end of a part. Spaces inside values (`(cn=Ann Lee)`) stay.
pub(crate) fn compact_filter(filter: &str) -> String {
    let chars: Vec<char> = filter.trim().chars().collect();
    let mut out = String::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if !c.is_whitespace() {
            out.push(c);
            i += 1;
            continue;
        }
        let end = (i..chars.len())
            .find(|&j| !chars[j].is_whitespace())
            .unwrap_or(chars.len());
        let prev = out.chars().last();
        let next = chars.get(end).copied();
        let drop = next == Some('(') || matches!(prev, Some('(' | ')'));
        if !drop {
            out.extend(&chars[i..end]);
        }
        i = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ldap::DEFAULT_EXCHANGE_FILTER;

    #[test]
    fn spaces_between_parts_go_and_spaces_in_values_stay() {
        assert!(
            ldap3::parse_filter(DEFAULT_EXCHANGE_FILTER).is_err(),
            "ldap3 refuses it as written"
        );
        let compact = compact_filter(DEFAULT_EXCHANGE_FILTER);
        assert!(ldap3::parse_filter(&compact).is_ok(), "{compact}");
        assert!(compact.starts_with("(&(mailnickname=*)(!(mailnickname=discoverysearchmailbox*))"));
        assert_eq!(
            compact_filter(" (& (cn=Ann Lee) \n (| (mail=*) (objectClass=group) ) ) "),
            "(&(cn=Ann Lee)(|(mail=*)(objectClass=group)))"
        );
        assert_eq!(compact_filter("( ! (cn=a b ))"), "(!(cn=a b ))");
        // Still wrong after compaction: the server's parser's error, not Roster's doing.
        assert!(ldap3::parse_filter(compact_filter("(mail)")).is_err());
    }
}
