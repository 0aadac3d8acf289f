//! `SyncSchedule`: how many times per day a domain's directory is synced
//! (1 to 4, evenly spaced).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a sync schedule was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
pub enum ScheduleError {
    #[error("Choose how many times per day to sync: 1, 2, 3 or 4.")]
    OutOfRange,
}

/// Syncs per day, from 1 (every 24 hours) to 4 (every 6 hours).
/// Serialized as the number of times per day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct SyncSchedule(u8);

impl SyncSchedule {
    /// Fewest syncs per day.
    pub const MIN_TIMES_PER_DAY: u8 = 1;
    /// Most syncs per day.
    pub const MAX_TIMES_PER_DAY: u8 = 4;
    /// Every choice, for a select box.
    pub const ALL: [SyncSchedule; 4] = [
        SyncSchedule(1),
        SyncSchedule(2),
        SyncSchedule(3),
        SyncSchedule(4),
    ];

    pub fn new(times_per_day: u8) -> Result<SyncSchedule, ScheduleError> {
        if (Self::MIN_TIMES_PER_DAY..=Self::MAX_TIMES_PER_DAY).contains(&times_per_day) {
            Ok(SyncSchedule(times_per_day))
        } else {
            Err(ScheduleError::OutOfRange)
        }
    }

    /// Parses a form value such as `"2"`.
    pub fn parse(input: &str) -> Result<SyncSchedule, ScheduleError> {
        let value: u8 = input
            .trim()
            .parse()
            .map_err(|_| ScheduleError::OutOfRange)?;
        SyncSchedule::new(value)
    }

    pub fn times_per_day(&self) -> u8 {
        self.0
    }

    /// Hours between syncs: 24, 12, 8 or 6.
    pub fn interval_hours(&self) -> u8 {
        24 / self.0
    }

    /// A short explanation for the form, e.g. "Every 12 hours".
    pub fn hint(&self) -> String {
        format!("Every {} hours", self.interval_hours())
    }
}

impl Default for SyncSchedule {
    fn default() -> Self {
        SyncSchedule(1)
    }
}

/// Shows the number of times per day (the form value).
impl fmt::Display for SyncSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::str::FromStr for SyncSchedule {
    type Err = ScheduleError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Self::parse(input)
    }
}

impl TryFrom<u8> for SyncSchedule {
    type Error = ScheduleError;

    fn try_from(times_per_day: u8) -> Result<Self, Self::Error> {
        Self::new(times_per_day)
    }
}

impl From<SyncSchedule> for u8 {
    fn from(schedule: SyncSchedule) -> u8 {
        schedule.0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn range() {
        assert_eq!(SyncSchedule::new(0), Err(ScheduleError::OutOfRange));
        assert_eq!(SyncSchedule::new(1).unwrap().times_per_day(), 1);
        assert_eq!(SyncSchedule::new(4).unwrap().times_per_day(), 4);
        assert_eq!(SyncSchedule::new(5), Err(ScheduleError::OutOfRange));
        assert_eq!(SyncSchedule::new(255), Err(ScheduleError::OutOfRange));
    }

    #[test]
    fn parse() {
        assert_eq!(SyncSchedule::parse(" 2 ").unwrap().times_per_day(), 2);
        assert_eq!("3".parse::<SyncSchedule>().unwrap().times_per_day(), 3);
        for bad in ["", "0", "5", "-1", "1.5", "two", "300"] {
            assert_eq!(
                SyncSchedule::parse(bad),
                Err(ScheduleError::OutOfRange),
                "{bad}"
            );
        }
        assert_eq!(
            ScheduleError::OutOfRange.to_string(),
            "Choose how many times per day to sync: 1, 2, 3 or 4."
        );
    }

    #[test]
    fn intervals_and_hints() {
        let got: Vec<(u8, u8, String)> = SyncSchedule::ALL
            .iter()
            .map(|s| (s.times_per_day(), s.interval_hours(), s.hint()))
            .collect();
        assert_eq!(
            got,
            [
                (1, 24, "Every 24 hours".to_owned()),
                (2, 12, "Every 12 hours".to_owned()),
                (3, 8, "Every 8 hours".to_owned()),
                (4, 6, "Every 6 hours".to_owned()),
            ]
        );
    }

    #[test]
    fn default_and_conversions() {
        assert_eq!(SyncSchedule::default().times_per_day(), 1);
        assert_eq!(SyncSchedule::default().to_string(), "1");
        assert_eq!(u8::from(SyncSchedule::new(3).unwrap()), 3);
        assert!(SyncSchedule::try_from(9).is_err());
        use serde::de::value::{Error as DeError, U8Deserializer};
        use serde::de::IntoDeserializer;
        let de: U8Deserializer<DeError> = 2u8.into_deserializer();
        assert_eq!(SyncSchedule::deserialize(de).unwrap().interval_hours(), 12);
        let de: U8Deserializer<DeError> = 7u8.into_deserializer();
        assert!(SyncSchedule::deserialize(de).is_err());
    }
}
