//! `ExcludePattern` and `ExcludePatterns`: shell-style globs (fnmatch
//! semantics) naming addresses that must never be synced, e.g.
//! `test*@example.com`. Matching is case-insensitive and runs in
//! O(pattern × address) time, so hostile patterns cannot stall a sync.

use std::collections::HashSet;
use std::fmt;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};

/// Longest accepted pattern, in characters.
pub const MAX_EXCLUDE_PATTERN_LENGTH: usize = 254;
/// Most patterns accepted in one list.
pub const MAX_EXCLUDE_PATTERNS: usize = 500;

/// Why an exclude pattern was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
pub enum ExcludePatternError {
    #[error("Enter a pattern, e.g. test*@mydomain.org.")]
    Empty,
    #[error("A pattern can be at most 254 characters.")]
    TooLong,
    #[error("A pattern cannot contain spaces; put each pattern on its own line.")]
    ContainsWhitespace,
    #[error("A “[” is missing its closing “]”.")]
    UnclosedBracket,
    #[error("Brackets need at least one character between them, e.g. [abc] or [!abc].")]
    EmptyBracket,
    #[error("The range “{range}” is backwards; write the lower character first, e.g. a-z.")]
    ReversedRange { range: String },
    #[error("You can enter at most {max} patterns.")]
    TooMany { max: usize },
}

/// An error in a multi-line pattern list, naming the 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
#[error("Line {line}: {error}")]
pub struct ExcludeLinesError {
    pub line: usize,
    pub error: ExcludePatternError,
}

#[derive(Debug, Clone)]
enum Token {
    Literal(char),
    AnyChar,
    AnySequence,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Token {
    /// Whether this single-character token accepts `c`.
    fn accepts(&self, c: char) -> bool {
        match self {
            Token::Literal(l) => *l == c,
            Token::AnyChar => true,
            Token::AnySequence => false,
            Token::Class { negated, ranges } => {
                ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
            }
        }
    }
}

/// A validated glob pattern: `*` any run of characters, `?` one character,
/// `[seq]` one character from `seq` (ranges like `a-z` allowed; a `]` right
/// after `[` or `[!` is literal), `[!seq]` one character not in `seq`.
/// Everything else matches itself. Stored lowercased.
#[derive(Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ExcludePattern {
    source: String,
    tokens: Vec<Token>,
}

impl ExcludePattern {
    /// Parses and compiles a pattern (trimmed and lowercased).
    pub fn parse(input: &str) -> Result<ExcludePattern, ExcludePatternError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(ExcludePatternError::Empty);
        }
        if trimmed.chars().count() > MAX_EXCLUDE_PATTERN_LENGTH {
            return Err(ExcludePatternError::TooLong);
        }
        if trimmed.contains(char::is_whitespace) {
            return Err(ExcludePatternError::ContainsWhitespace);
        }
        let source = trimmed.to_lowercase();
        let tokens = compile(&source)?;
        Ok(ExcludePattern { source, tokens })
    }

    /// The normalized (lowercase) pattern text.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the pattern matches the whole of `address`, ignoring case.
    pub fn matches(&self, address: &str) -> bool {
        self.matches_chars(&lowercase_chars(address))
    }

    fn matches_chars(&self, text: &[char]) -> bool {
        let tokens = &self.tokens;
        let (mut p, mut t) = (0, 0);
        // Position after the last `*` seen, and the text position it resumes at.
        let mut backtrack: Option<(usize, usize)> = None;
        while t < text.len() {
            match tokens.get(p) {
                Some(Token::AnySequence) => {
                    p += 1;
                    backtrack = Some((p, t));
                }
                Some(token) if token.accepts(text[t]) => {
                    p += 1;
                    t += 1;
                }
                _ => match backtrack {
                    // Let the last `*` swallow one more character and retry.
                    Some((star_p, star_t)) => {
                        p = star_p;
                        t = star_t + 1;
                        backtrack = Some((star_p, star_t + 1));
                    }
                    None => return false,
                },
            }
        }
        tokens[p..].iter().all(|t| matches!(t, Token::AnySequence))
    }
}

fn lowercase_chars(text: &str) -> Vec<char> {
    text.chars().flat_map(char::to_lowercase).collect()
}

fn compile(source: &str) -> Result<Vec<Token>, ExcludePatternError> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' => {
                if !matches!(tokens.last(), Some(Token::AnySequence)) {
                    tokens.push(Token::AnySequence);
                }
                i += 1;
            }
            '?' => {
                tokens.push(Token::AnyChar);
                i += 1;
            }
            '[' => {
                let (token, next) = compile_class(&chars, i + 1)?;
                tokens.push(token);
                i = next;
            }
            c => {
                tokens.push(Token::Literal(c));
                i += 1;
            }
        }
    }
    Ok(tokens)
}

/// Compiles a bracket expression whose body starts at `start` (just after
/// the `[`). Returns the token and the index after the closing `]`.
fn compile_class(chars: &[char], start: usize) -> Result<(Token, usize), ExcludePatternError> {
    let negated = chars.get(start) == Some(&'!');
    let body_start = if negated { start + 1 } else { start };
    // A `]` first in the body is a literal member, so search from one later.
    let close = (body_start + 1..chars.len()).find(|&k| chars[k] == ']');
    let Some(close) = close else {
        return Err(if chars.get(body_start) == Some(&']') {
            ExcludePatternError::EmptyBracket
        } else {
            ExcludePatternError::UnclosedBracket
        });
    };
    let body = &chars[body_start..close];
    let mut ranges = Vec::new();
    let mut k = 0;
    while k < body.len() {
        if k + 2 < body.len() && body[k + 1] == '-' {
            let (lo, hi) = (body[k], body[k + 2]);
            if lo > hi {
                return Err(ExcludePatternError::ReversedRange {
                    range: format!("{lo}-{hi}"),
                });
            }
            ranges.push((lo, hi));
            k += 3;
        } else {
            ranges.push((body[k], body[k]));
            k += 1;
        }
    }
    Ok((Token::Class { negated, ranges }, close + 1))
}

impl PartialEq for ExcludePattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for ExcludePattern {}

impl Hash for ExcludePattern {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.source.hash(state);
    }
}

impl fmt::Debug for ExcludePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ExcludePattern").field(&self.source).finish()
    }
}

impl fmt::Display for ExcludePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl AsRef<str> for ExcludePattern {
    fn as_ref(&self) -> &str {
        &self.source
    }
}

impl std::str::FromStr for ExcludePattern {
    type Err = ExcludePatternError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Self::parse(input)
    }
}

impl TryFrom<String> for ExcludePattern {
    type Error = ExcludePatternError;

    fn try_from(input: String) -> Result<Self, Self::Error> {
        Self::parse(&input)
    }
}

impl From<ExcludePattern> for String {
    fn from(pattern: ExcludePattern) -> String {
        pattern.source
    }
}

/// A de-duplicated list of exclude patterns, entered one per line.
/// Serialized as the lines joined by `\n`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ExcludePatterns(Vec<ExcludePattern>);

impl ExcludePatterns {
    /// An empty list.
    pub fn new() -> ExcludePatterns {
        ExcludePatterns(Vec::new())
    }

    /// Parses a textarea: one pattern per line, lines trimmed, blank lines
    /// skipped, duplicates dropped (first kept), at most 500 patterns.
    pub fn parse_lines(text: &str) -> Result<ExcludePatterns, ExcludeLinesError> {
        let mut patterns = Vec::new();
        let mut seen = HashSet::new();
        for (index, line) in text.lines().enumerate() {
            let line_number = index + 1;
            if line.trim().is_empty() {
                continue;
            }
            let pattern = ExcludePattern::parse(line).map_err(|error| ExcludeLinesError {
                line: line_number,
                error,
            })?;
            if !seen.insert(pattern.source.clone()) {
                continue;
            }
            if patterns.len() == MAX_EXCLUDE_PATTERNS {
                return Err(ExcludeLinesError {
                    line: line_number,
                    error: ExcludePatternError::TooMany {
                        max: MAX_EXCLUDE_PATTERNS,
                    },
                });
            }
            patterns.push(pattern);
        }
        Ok(ExcludePatterns(patterns))
    }

    /// Whether any pattern matches the whole of `address`, ignoring case.
    pub fn matches_any(&self, address: &str) -> bool {
        self.first_match(address).is_some()
    }

    /// The first pattern matching `address`, e.g. to explain an exclusion.
    pub fn first_match(&self, address: &str) -> Option<&ExcludePattern> {
        if self.0.is_empty() {
            return None;
        }
        let text = lowercase_chars(address);
        self.0.iter().find(|pattern| pattern.matches_chars(&text))
    }

    pub fn iter(&self) -> std::slice::Iter<'_, ExcludePattern> {
        self.0.iter()
    }

    pub fn as_slice(&self) -> &[ExcludePattern] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The patterns joined by `\n`, for a textarea or storage.
    pub fn to_lines(&self) -> String {
        self.0
            .iter()
            .map(ExcludePattern::as_str)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl<'a> IntoIterator for &'a ExcludePatterns {
    type Item = &'a ExcludePattern;
    type IntoIter = std::slice::Iter<'a, ExcludePattern>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl TryFrom<String> for ExcludePatterns {
    type Error = ExcludeLinesError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse_lines(&text)
    }
}

impl From<ExcludePatterns> for String {
    fn from(patterns: ExcludePatterns) -> String {
        patterns.to_lines()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::{Duration, Instant};

    fn pat(p: &str) -> ExcludePattern {
        ExcludePattern::parse(p).unwrap()
    }

    fn err(p: &str) -> ExcludePatternError {
        ExcludePattern::parse(p).unwrap_err()
    }

    #[test]
    fn star() {
        let p = pat("test*@example.com");
        assert!(p.matches("test@example.com"));
        assert!(p.matches("test1@example.com"));
        assert!(p.matches("testing.user@example.com"));
        assert!(!p.matches("atest@example.com"));
        assert!(!p.matches("test@example.org"));
        assert!(!p.matches("test@example.com.au"));
        assert!(pat("*").matches(""));
        assert!(pat("*@*").matches("a@b"));
        assert!(!pat("*@*").matches("ab"));
        assert!(pat("*x*").matches("axb"));
        assert!(pat("a**b").matches("ab"));
        assert!(pat("*.example.com").matches("a.b.example.com"));
        assert!(!pat("*.example.com").matches("example.com"));
    }

    #[test]
    fn question_mark() {
        let p = pat("user?@example.com");
        assert!(p.matches("user1@example.com"));
        assert!(!p.matches("user@example.com"));
        assert!(!p.matches("user12@example.com"));
        assert!(pat("???").matches("abc"));
        assert!(!pat("???").matches("ab"));
    }

    #[test]
    fn classes() {
        let p = pat("[abc]x");
        assert!(p.matches("ax") && p.matches("bx") && p.matches("cx"));
        assert!(!p.matches("dx") && !p.matches("x") && !p.matches("abx"));
        let n = pat("[!abc]x");
        assert!(n.matches("dx") && n.matches("1x"));
        assert!(!n.matches("ax") && !n.matches("x"));
        let r = pat("[a-c]x");
        assert!(r.matches("bx") && !r.matches("dx"));
        let r2 = pat("user[0-9][0-9]@x.com");
        assert!(r2.matches("user42@x.com"));
        assert!(!r2.matches("user4a@x.com"));
        // Hyphen first or last is literal.
        let h = pat("[-a]");
        assert!(h.matches("-") && h.matches("a") && !h.matches("b"));
        let h = pat("[a-]");
        assert!(h.matches("-") && h.matches("a") && !h.matches("b"));
        // Metacharacters inside brackets are literal.
        let m = pat("a[*?]b");
        assert!(m.matches("a*b") && m.matches("a?b") && !m.matches("axb"));
    }

    #[test]
    fn literal_close_bracket() {
        let p = pat("[]a]");
        assert!(p.matches("]") && p.matches("a") && !p.matches("b"));
        let n = pat("[!]a]");
        assert!(n.matches("b") && !n.matches("]") && !n.matches("a"));
        let lone = pat("a]b");
        assert!(lone.matches("a]b"));
        assert!(pat("[]]").matches("]"));
    }

    #[test]
    fn bracket_errors() {
        assert_eq!(err("[abc"), ExcludePatternError::UnclosedBracket);
        assert_eq!(err("abc["), ExcludePatternError::UnclosedBracket);
        assert_eq!(err("[!"), ExcludePatternError::UnclosedBracket);
        assert_eq!(err("[]"), ExcludePatternError::EmptyBracket);
        assert_eq!(err("[!]"), ExcludePatternError::EmptyBracket);
        assert_eq!(err("x[]y"), ExcludePatternError::EmptyBracket);
        assert_eq!(
            err("[z-a]"),
            ExcludePatternError::ReversedRange {
                range: "z-a".into()
            }
        );
    }

    #[test]
    fn other_errors() {
        assert_eq!(err(""), ExcludePatternError::Empty);
        assert_eq!(err("   "), ExcludePatternError::Empty);
        assert_eq!(err("a b"), ExcludePatternError::ContainsWhitespace);
        assert_eq!(err("a\tb"), ExcludePatternError::ContainsWhitespace);
        assert!(ExcludePattern::parse(&"a".repeat(254)).is_ok());
        assert_eq!(err(&"a".repeat(255)), ExcludePatternError::TooLong);
    }

    #[test]
    fn case_insensitive_and_trimmed() {
        let p = pat("  Test*@Example.COM ");
        assert_eq!(p.as_str(), "test*@example.com");
        assert!(p.matches("TEST1@example.com"));
        assert!(p.matches("test1@EXAMPLE.com"));
        assert!(pat("[A-C]").matches("b"));
        assert_eq!(pat("ABC"), pat("abc"));
    }

    #[test]
    fn pathological_patterns_are_fast() {
        let start = Instant::now();
        let text = "a".repeat(10_000);
        assert!(!pat("a*a*a*a*a*a*a*a*b").matches(&text));
        assert!(!pat("*a*a*a*a*a*a*a*a*a*a*a*b*").matches(&text));
        assert!(pat("a*a*a*a*a*a*a*a*a").matches(&text));
        let text = format!("{}b", "a".repeat(10_000));
        assert!(pat("a*a*a*a*b").matches(&text));
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn lines_parsing() {
        let list = ExcludePatterns::parse_lines(
            "test*@example.com\n\n  admin@example.com  \r\nTEST*@example.com\n",
        )
        .unwrap();
        assert_eq!(list.len(), 2);
        assert!(!list.is_empty());
        assert_eq!(list.to_lines(), "test*@example.com\nadmin@example.com");
        assert!(list.matches_any("test9@example.com"));
        assert!(list.matches_any("Admin@Example.com"));
        assert!(!list.matches_any("bob@example.com"));
        assert_eq!(
            list.first_match("admin@example.com")
                .map(ExcludePattern::as_str),
            Some("admin@example.com")
        );
        let collected: Vec<&str> = list.iter().map(|p| p.as_str()).collect();
        assert_eq!(collected, ["test*@example.com", "admin@example.com"]);
        assert_eq!((&list).into_iter().count(), 2);

        let empty = ExcludePatterns::parse_lines(" \n\n").unwrap();
        assert!(empty.is_empty());
        assert_eq!(empty, ExcludePatterns::default());
        assert!(!empty.matches_any("anything@example.com"));
    }

    #[test]
    fn lines_errors_name_the_line() {
        let e = ExcludePatterns::parse_lines("ok@x.com\n\n[abc@x.com").unwrap_err();
        assert_eq!(e.line, 3);
        assert_eq!(e.error, ExcludePatternError::UnclosedBracket);
        assert_eq!(e.to_string(), "Line 3: A “[” is missing its closing “]”.");
        let e = ExcludePatterns::parse_lines("a b").unwrap_err();
        assert_eq!(e.line, 1);
    }

    #[test]
    fn at_most_500_patterns() {
        let text: Vec<String> = (0..500).map(|i| format!("user{i}@x.com")).collect();
        let mut text = text.join("\n");
        assert_eq!(ExcludePatterns::parse_lines(&text).unwrap().len(), 500);
        // Duplicates do not count.
        text.push_str("\nuser0@x.com");
        assert_eq!(ExcludePatterns::parse_lines(&text).unwrap().len(), 500);
        text.push_str("\nextra@x.com");
        let e = ExcludePatterns::parse_lines(&text).unwrap_err();
        assert_eq!(e.line, 502);
        assert_eq!(e.error, ExcludePatternError::TooMany { max: 500 });
        assert_eq!(
            e.to_string(),
            "Line 502: You can enter at most 500 patterns."
        );
    }

    #[test]
    fn serde_goes_through_parse() {
        use serde::de::value::{Error as DeError, StringDeserializer};
        use serde::de::IntoDeserializer;
        let de: StringDeserializer<DeError> = "A*\nB*\na*".to_owned().into_deserializer();
        let list = ExcludePatterns::deserialize(de).unwrap();
        assert_eq!(String::from(list), "a*\nb*");
        let de: StringDeserializer<DeError> = "[x".to_owned().into_deserializer();
        assert!(ExcludePattern::deserialize(de).is_err());
        assert_eq!(String::from(pat("X?")), "x?");
        assert_eq!(format!("{:?}", pat("x")), "ExcludePattern(\"x\")");
    }

    proptest! {
        #[test]
        fn star_matches_everything(text in "\\PC{0,60}") {
            prop_assert!(pat("*").matches(&text));
            prop_assert!(pat("**").matches(&text));
        }

        #[test]
        fn literal_pattern_matches_only_itself(
            literal in "[a-z0-9.@_+-]{1,30}",
            other in "[a-z0-9.@_+-]{0,30}",
        ) {
            let p = pat(&literal);
            prop_assert!(p.matches(&literal));
            prop_assert!(p.matches(&literal.to_uppercase()));
            prop_assert_eq!(p.matches(&other), other == literal);
            let longer = format!("{literal}x");
            prop_assert!(!p.matches(&longer));
        }

        #[test]
        fn question_marks_match_exact_length(n in 1usize..20, text in "[a-z]{0,25}") {
            let p = format!("{}*", "?".repeat(n));
            prop_assert_eq!(pat(&p).matches(&text), text.len() >= n);
            prop_assert_eq!(pat(&"?".repeat(n)).matches(&text), text.len() == n);
        }

        #[test]
        fn prefix_star_matches_prefixes(prefix in "[a-z]{1,10}", rest in "[a-z@.]{0,20}") {
            let p = pat(&format!("{prefix}*"));
            let with_prefix = format!("{prefix}{rest}");
            prop_assert!(p.matches(&with_prefix));
        }
    }
}
