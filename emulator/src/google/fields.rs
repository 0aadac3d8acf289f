//! Partial responses: Google's `fields=` selector (`nextPageToken,users(id,name/fullName)`).
//!
//! Grammar: a comma-separated list of selections; a selection is a `/`-separated path whose
//! last step may carry a parenthesised sub-selection. Arrays are selected element by element.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A parsed selection: each key keeps all of its value (`None`) or a sub-selection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection(BTreeMap<String, Option<Selection>>);

impl Selection {
    /// Parses `fields`; `None` for a malformed selector.
    pub fn parse(fields: &str) -> Option<Selection> {
        let chars: Vec<char> = fields.chars().filter(|c| !c.is_whitespace()).collect();
        let mut pos = 0;
        let sel = parse_list(&chars, &mut pos)?;
        (pos == chars.len()).then_some(sel)
    }

    /// `value` trimmed to the selection.
    pub fn apply(&self, value: &Value) -> Value {
        match value {
            Value::Array(items) => Value::Array(items.iter().map(|v| self.apply(v)).collect()),
            Value::Object(map) => {
                let mut out = Map::new();
                for (key, sub) in &self.0 {
                    if let Some(v) = map.get(key) {
                        out.insert(
                            key.clone(),
                            match sub {
                                None => v.clone(),
                                Some(sub) => sub.apply(v),
                            },
                        );
                    }
                }
                Value::Object(out)
            }
            other => other.clone(),
        }
    }

    fn merge(&mut self, path: &[String], leaf: Option<Selection>) {
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        if rest.is_empty() {
            match (self.0.get_mut(first), leaf) {
                (Some(Some(existing)), Some(new)) => existing.0.extend(new.0),
                (Some(slot), None) => *slot = None,
                (Some(None), Some(_)) => {}
                (None, leaf) => {
                    self.0.insert(first.clone(), leaf);
                }
            }
            return;
        }
        let entry = self
            .0
            .entry(first.clone())
            .or_insert_with(|| Some(Selection::default()));
        if let Some(sub) = entry {
            sub.merge(rest, leaf);
        }
    }
}

fn parse_list(chars: &[char], pos: &mut usize) -> Option<Selection> {
    let mut sel = Selection::default();
    loop {
        let mut path = vec![parse_name(chars, pos)?];
        while chars.get(*pos) == Some(&'/') {
            *pos += 1;
            path.push(parse_name(chars, pos)?);
        }
        let leaf = if chars.get(*pos) == Some(&'(') {
            *pos += 1;
            let sub = parse_list(chars, pos)?;
            if chars.get(*pos) != Some(&')') {
                return None;
            }
            *pos += 1;
            Some(sub)
        } else {
            None
        };
        sel.merge(&path, leaf);
        if chars.get(*pos) == Some(&',') {
            *pos += 1;
        } else {
            return Some(sel);
        }
    }
}

fn parse_name(chars: &[char], pos: &mut usize) -> Option<String> {
    let start = *pos;
    while chars
        .get(*pos)
        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '*')
    {
        *pos += 1;
    }
    (*pos > start).then(|| chars[start..*pos].iter().collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selects_nested_fields_and_arrays() {
        let sel = Selection::parse("nextPageToken, users(id,name/fullName,aliases)").unwrap();
        let v = json!({"kind": "k", "nextPageToken": "t", "users": [
            {"id": "1", "name": {"fullName": "A B", "givenName": "A"}, "suspended": false},
            {"id": "2", "aliases": ["x@y"], "name": {"fullName": "C"}}]});
        assert_eq!(
            sel.apply(&v),
            json!({"nextPageToken": "t", "users": [
                {"id": "1", "name": {"fullName": "A B"}},
                {"id": "2", "aliases": ["x@y"], "name": {"fullName": "C"}}]})
        );
    }

    #[test]
    fn malformed_selectors_are_refused() {
        assert!(Selection::parse("users(id").is_none());
        assert!(Selection::parse("users,,id").is_none());
        assert!(Selection::parse("").is_none());
    }
}
