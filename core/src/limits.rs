//! Safety limits on how many changes one sync may make (`OperationLimit`,
//! `OperationsLimits`), and the form fields that set them (`LimitKind`).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Highest limit an admin can set.
pub const MAX_OPERATION_LIMIT: u32 = 1_000_000;

/// Why a limit was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
pub enum LimitError {
    #[error("Enter a whole number between 0 and 1,000,000, or leave empty for no limit.")]
    NotWholeNumber,
    #[error("The limit cannot be negative. Enter a whole number between 0 and 1,000,000, or leave empty for no limit.")]
    Negative,
    #[error(
        "The limit can be at most 1,000,000. Enter a smaller number, or leave empty for no limit."
    )]
    TooLarge,
}

/// A maximum number of operations, or no limit at all.
///
/// Serialized as a number, or `null` for no limit.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(try_from = "Option<u32>", into = "Option<u32>")]
pub struct OperationLimit(Option<u32>);

impl OperationLimit {
    /// Parses a form field: empty means no limit, otherwise digits only.
    pub fn parse(input: &str) -> Result<OperationLimit, LimitError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Ok(OperationLimit(None));
        }
        let (negative, digits) = match trimmed.strip_prefix('-') {
            Some(rest) => (true, rest.trim_start()),
            None => (false, trimmed),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(LimitError::NotWholeNumber);
        }
        if negative {
            // "-0" is still zero; anything else is below the range.
            return if digits.bytes().all(|b| b == b'0') {
                Ok(OperationLimit(Some(0)))
            } else {
                Err(LimitError::Negative)
            };
        }
        let significant = digits.trim_start_matches('0');
        if significant.len() > 7 {
            return Err(LimitError::TooLarge);
        }
        let value: u32 = if significant.is_empty() {
            0
        } else {
            significant
                .parse()
                .map_err(|_| LimitError::NotWholeNumber)?
        };
        OperationLimit::new(Some(value))
    }

    /// A limit as stored (`None` = no limit). A stored value the form could never have saved
    /// (negative, above 1,000,000) is an error, never "no limit": the sync fails closed.
    pub fn from_stored(stored: Option<i32>) -> Result<OperationLimit, LimitError> {
        match stored {
            None => Ok(OperationLimit(None)),
            Some(v) if v < 0 => Err(LimitError::Negative),
            Some(v) => {
                OperationLimit::new(Some(u32::try_from(v).map_err(|_| LimitError::Negative)?))
            }
        }
    }

    /// No limit.
    pub const fn none() -> OperationLimit {
        OperationLimit(None)
    }

    /// A limit from a number (`None` = no limit); at most 1,000,000.
    pub fn new(limit: Option<u32>) -> Result<OperationLimit, LimitError> {
        match limit {
            Some(value) if value > MAX_OPERATION_LIMIT => Err(LimitError::TooLarge),
            _ => Ok(OperationLimit(limit)),
        }
    }

    /// The limit, or `None` when unlimited.
    pub fn get(&self) -> Option<u32> {
        self.0
    }

    /// Whether `planned` operations would go over this limit.
    pub fn is_exceeded_by(&self, planned: u64) -> bool {
        self.0.is_some_and(|limit| planned > u64::from(limit))
    }
}

/// Shows the number, or nothing when unlimited (as in the form field).
impl fmt::Display for OperationLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(limit) => write!(f, "{limit}"),
            None => Ok(()),
        }
    }
}

impl std::str::FromStr for OperationLimit {
    type Err = LimitError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Self::parse(input)
    }
}

impl TryFrom<Option<u32>> for OperationLimit {
    type Error = LimitError;

    fn try_from(limit: Option<u32>) -> Result<Self, Self::Error> {
        Self::new(limit)
    }
}

impl From<OperationLimit> for Option<u32> {
    fn from(limit: OperationLimit) -> Option<u32> {
        limit.0
    }
}

/// Which of the per-sync limits a value is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKind {
    AccountAdd,
    AccountDelete,
    AliasAdd,
    AliasDelete,
    Total,
}

impl LimitKind {
    /// Every kind, in form order.
    pub const ALL: [LimitKind; 5] = [
        LimitKind::AccountAdd,
        LimitKind::AccountDelete,
        LimitKind::AliasAdd,
        LimitKind::AliasDelete,
        LimitKind::Total,
    ];

    /// The form label.
    pub fn label(self) -> &'static str {
        match self {
            LimitKind::AccountAdd => "Email Accounts – Add Limit",
            LimitKind::AccountDelete => "Email Accounts – Delete Limit",
            LimitKind::AliasAdd => "Aliases – Add Limit",
            LimitKind::AliasDelete => "Aliases – Delete Limit",
            LimitKind::Total => "Total Operations – Limit",
        }
    }

    /// The form field (and column) name.
    pub fn field_name(self) -> &'static str {
        match self {
            LimitKind::AccountAdd => "account_add_limit",
            LimitKind::AccountDelete => "account_delete_limit",
            LimitKind::AliasAdd => "alias_add_limit",
            LimitKind::AliasDelete => "alias_delete_limit",
            LimitKind::Total => "total_limit",
        }
    }
}

/// All per-sync limits of a domain. Default: no limits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OperationsLimits {
    pub account_add: OperationLimit,
    pub account_delete: OperationLimit,
    pub alias_add: OperationLimit,
    pub alias_delete: OperationLimit,
    pub total: OperationLimit,
}

impl OperationsLimits {
    /// The limit of one kind.
    pub fn get(&self, kind: LimitKind) -> OperationLimit {
        match kind {
            LimitKind::AccountAdd => self.account_add,
            LimitKind::AccountDelete => self.account_delete,
            LimitKind::AliasAdd => self.alias_add,
            LimitKind::AliasDelete => self.alias_delete,
            LimitKind::Total => self.total,
        }
    }

    /// Replaces the limit of one kind.
    pub fn set(&mut self, kind: LimitKind, limit: OperationLimit) {
        let slot = match kind {
            LimitKind::AccountAdd => &mut self.account_add,
            LimitKind::AccountDelete => &mut self.account_delete,
            LimitKind::AliasAdd => &mut self.alias_add,
            LimitKind::AliasDelete => &mut self.alias_delete,
            LimitKind::Total => &mut self.total,
        };
        *slot = limit;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ok(input: &str) -> Option<u32> {
        OperationLimit::parse(input).unwrap().get()
    }

    fn err(input: &str) -> LimitError {
        OperationLimit::parse(input).unwrap_err()
    }

    #[test]
    fn a_stored_limit_out_of_range_is_an_error_not_no_limit() {
        assert_eq!(
            OperationLimit::from_stored(None),
            Ok(OperationLimit::none())
        );
        assert_eq!(OperationLimit::from_stored(Some(0)).unwrap().get(), Some(0));
        assert_eq!(
            OperationLimit::from_stored(Some(1_000_000)).unwrap().get(),
            Some(1_000_000)
        );
        assert_eq!(
            OperationLimit::from_stored(Some(-1)),
            Err(LimitError::Negative)
        );
        assert_eq!(
            OperationLimit::from_stored(Some(1_000_001)),
            Err(LimitError::TooLarge)
        );
        assert_eq!(
            OperationLimit::from_stored(Some(i32::MIN)),
            Err(LimitError::Negative)
        );
    }

    #[test]
    fn parses_valid_limits() {
        assert_eq!(ok(""), None);
        assert_eq!(ok(" "), None);
        assert_eq!(ok("\t\n"), None);
        assert_eq!(ok("0"), Some(0));
        assert_eq!(ok(" 42 "), Some(42));
        assert_eq!(ok("007"), Some(7));
        assert_eq!(ok("1000000"), Some(1_000_000));
        assert_eq!(ok("0001000000"), Some(1_000_000));
        assert_eq!(ok("-0"), Some(0));
    }

    #[test]
    fn rejects_invalid_limits() {
        assert_eq!(err("1000001"), LimitError::TooLarge);
        assert_eq!(err("99999999999999999999999"), LimitError::TooLarge);
        assert_eq!(err("-1"), LimitError::Negative);
        assert_eq!(err("1.5"), LimitError::NotWholeNumber);
        assert_eq!(err("abc"), LimitError::NotWholeNumber);
        assert_eq!(err("1,000"), LimitError::NotWholeNumber);
        assert_eq!(err("1 000"), LimitError::NotWholeNumber);
        assert_eq!(err("+5"), LimitError::NotWholeNumber);
        assert_eq!(err("-"), LimitError::NotWholeNumber);
        assert_eq!(err("1e3"), LimitError::NotWholeNumber);
        assert_eq!(
            err("1,000").to_string(),
            "Enter a whole number between 0 and 1,000,000, or leave empty for no limit."
        );
    }

    #[test]
    fn constructors_and_checks() {
        assert_eq!(OperationLimit::none().get(), None);
        assert_eq!(OperationLimit::default(), OperationLimit::none());
        assert_eq!(OperationLimit::new(Some(5)).unwrap().get(), Some(5));
        assert_eq!(
            OperationLimit::new(Some(MAX_OPERATION_LIMIT + 1)),
            Err(LimitError::TooLarge)
        );
        let five = OperationLimit::new(Some(5)).unwrap();
        assert!(!five.is_exceeded_by(5));
        assert!(five.is_exceeded_by(6));
        let zero = OperationLimit::new(Some(0)).unwrap();
        assert!(!zero.is_exceeded_by(0));
        assert!(zero.is_exceeded_by(1));
        assert!(!OperationLimit::none().is_exceeded_by(u64::MAX));
        assert_eq!(five.to_string(), "5");
        assert_eq!(OperationLimit::none().to_string(), "");
        assert_eq!(
            "12".parse::<OperationLimit>().unwrap(),
            OperationLimit::new(Some(12)).unwrap()
        );
    }

    #[test]
    fn serde_uses_optional_number() {
        use serde::de::value::{Error as DeError, UnitDeserializer};
        use serde::de::IntoDeserializer;
        // Deserialize goes through `TryFrom<Option<u32>>`, i.e. `new`.
        assert_eq!(OperationLimit::try_from(Some(10)).unwrap().get(), Some(10));
        assert!(OperationLimit::try_from(Some(2_000_000)).is_err());
        let de: UnitDeserializer<DeError> = ().into_deserializer();
        assert_eq!(
            OperationLimit::deserialize(de).unwrap(),
            OperationLimit::none()
        );
        assert_eq!(
            Option::<u32>::from(OperationLimit::new(Some(3)).unwrap()),
            Some(3)
        );
    }

    #[test]
    fn labels_and_field_names() {
        let labels: Vec<&str> = LimitKind::ALL.iter().map(|k| k.label()).collect();
        assert_eq!(
            labels,
            [
                "Email Accounts – Add Limit",
                "Email Accounts – Delete Limit",
                "Aliases – Add Limit",
                "Aliases – Delete Limit",
                "Total Operations – Limit",
            ]
        );
        let fields: Vec<&str> = LimitKind::ALL.iter().map(|k| k.field_name()).collect();
        assert_eq!(
            fields,
            [
                "account_add_limit",
                "account_delete_limit",
                "alias_add_limit",
                "alias_delete_limit",
                "total_limit",
            ]
        );
    }

    #[test]
    fn operations_limits_get_and_set() {
        let mut limits = OperationsLimits::default();
        for kind in LimitKind::ALL {
            assert_eq!(limits.get(kind), OperationLimit::none());
        }
        for (i, kind) in LimitKind::ALL.into_iter().enumerate() {
            let value = OperationLimit::new(Some(u32::try_from(i).unwrap() + 1)).unwrap();
            limits.set(kind, value);
            assert_eq!(limits.get(kind), value);
        }
        assert_eq!(limits.account_add.get(), Some(1));
        assert_eq!(limits.account_delete.get(), Some(2));
        assert_eq!(limits.alias_add.get(), Some(3));
        assert_eq!(limits.alias_delete.get(), Some(4));
        assert_eq!(limits.total.get(), Some(5));
    }
}
