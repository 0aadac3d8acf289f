//! `SyncSchedule`: how many times per day a domain's directory is synced
//! (1 to 4, evenly spaced), and the slot arithmetic of Automatic Synchronization.
//!
//! A domain's slots are the UTC instants `offset + k × interval` (seconds since the Unix
//! epoch), where the offset is a stable hash of the domain's id inside the interval: domains
//! spread over the whole interval instead of all starting at midnight, and a domain keeps its
//! time of day across restarts and instances. Slots are UTC instants, so an admin's time zone
//! (and its daylight saving changes) only changes how a slot is shown, never when it runs.
//!
//! The scheduler runs a due domain once and moves it to [`next_slot`] after *now*: an
//! instance that was down for a day catches up with one run, then goes back to the grid.
//! Changing the number of syncs per day reschedules from now the same way.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

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

impl SyncSchedule {
    /// Time between two slots.
    pub fn interval(&self) -> TimeDelta {
        TimeDelta::hours(i64::from(self.interval_hours()))
    }
}

/// The domain's stable place inside the interval: a hash of its id, in whole seconds in
/// `[0, interval)`. The id goes through a mixing hash (not used as is), so ids that are not
/// random (sequential, time-ordered) spread as well.
pub fn slot_offset(domain_id: Uuid, schedule: SyncSchedule) -> TimeDelta {
    let (high, low) = domain_id.as_u64_pair();
    let hash = mix(mix(high) ^ low);
    let interval = schedule.interval().num_seconds().unsigned_abs();
    // interval ≤ 86,400, so the remainder fits an i64.
    TimeDelta::seconds(i64::try_from(hash % interval).unwrap_or(0))
}

/// The domain's first slot strictly after `after`.
pub fn next_slot(domain_id: Uuid, schedule: SyncSchedule, after: DateTime<Utc>) -> DateTime<Utc> {
    let interval = schedule.interval().num_seconds();
    let offset = slot_offset(domain_id, schedule).num_seconds();
    // `after` rounded down to its second: the slot found is ≥ that second + 1 > `after`.
    let k = (after.timestamp() - offset).div_euclid(interval) + 1;
    DateTime::from_timestamp(k * interval + offset, 0).unwrap_or(after + schedule.interval())
}

/// Attempts a failed scheduled sync gets in all (the first run and its retries).
pub const MAX_ATTEMPTS: u8 = 3;

/// How long after a transiently failed attempt the next one runs: 5 minutes after the first,
/// 15 after the second.
pub const RETRY_BACKOFF: [TimeDelta; 2] = [TimeDelta::minutes(5), TimeDelta::minutes(15)];

/// When the attempt after a transiently failed `attempt` (1-based) runs, if any is left.
pub fn retry_after(attempt: u8, failed_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if attempt >= MAX_ATTEMPTS {
        return None;
    }
    let backoff = RETRY_BACKOFF.get(usize::from(attempt.max(1)) - 1)?;
    Some(failed_at + *backoff)
}

/// SplitMix64's finalizer: a fixed, well-mixed 64-bit hash (stable across Rust versions,
/// unlike `std`'s `DefaultHasher`).
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
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

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    /// Deterministic "random" ids.
    fn ids(count: usize, seed: u64) -> Vec<Uuid> {
        (0..count as u64)
            .map(|i| {
                let a = mix(seed ^ (2 * i));
                let b = mix(seed ^ (2 * i + 1));
                Uuid::from_u64_pair(a, b)
            })
            .collect()
    }

    fn per_minute_peak(ids: &[Uuid], schedule: SyncSchedule) -> (usize, f64) {
        let minutes = usize::from(schedule.interval_hours()) * 60;
        let mut buckets = vec![0usize; minutes];
        for id in ids {
            let minute = usize::try_from(slot_offset(*id, schedule).num_minutes()).unwrap();
            buckets[minute] += 1;
        }
        let peak = buckets.iter().copied().max().unwrap();
        (peak, ids.len() as f64 / minutes as f64)
    }

    #[test]
    fn ten_thousand_domains_spread_over_the_interval() {
        // Random ids (uuid v4 in production) and sequential ones (a bad hash would pile those
        // up): at 1 sync a day 10,000 domains average ~7 a minute; at 4 a day, ~28.
        for schedule in SyncSchedule::ALL {
            for domain_ids in [
                ids(10_000, 42),
                (0..10_000u128).map(Uuid::from_u128).collect(),
            ] {
                let (peak, mean) = per_minute_peak(&domain_ids, schedule);
                assert!(
                    (peak as f64) <= 2.5 * mean.max(7.0),
                    "{schedule}: {peak} domains share a minute (mean {mean:.1})"
                );
            }
        }
        let (peak, _) = per_minute_peak(&ids(10_000, 7), SyncSchedule::new(1).unwrap());
        assert!(peak <= 17, "{peak} domains in one minute");
    }

    #[test]
    fn offset_is_stable_and_inside_the_interval() {
        for schedule in SyncSchedule::ALL {
            for id in ids(1000, 3) {
                let offset = slot_offset(id, schedule);
                assert!(offset >= TimeDelta::zero() && offset < schedule.interval());
                assert_eq!(offset, slot_offset(id, schedule));
            }
        }
        // Fixed forever: a domain keeps its time of day across versions and instances.
        let id = Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
        assert_eq!(
            slot_offset(id, SyncSchedule::new(1).unwrap()),
            TimeDelta::seconds(74_777)
        );
        assert_eq!(
            slot_offset(id, SyncSchedule::new(4).unwrap()),
            TimeDelta::seconds(9_977)
        );
    }

    #[test]
    fn next_slot_is_strictly_after_and_on_the_grid() {
        for schedule in SyncSchedule::ALL {
            for id in ids(200, 9) {
                let now = at("2026-12-03T10:17:42.5Z");
                let slot = next_slot(id, schedule, now);
                assert!(
                    slot > now && slot <= now + schedule.interval(),
                    "{slot} after {now}"
                );
                let on_grid = (slot.timestamp() - slot_offset(id, schedule).num_seconds())
                    % schedule.interval().num_seconds();
                assert_eq!(on_grid, 0);
                // At the slot itself, the next one is a whole interval later.
                assert_eq!(next_slot(id, schedule, slot), slot + schedule.interval());
                // Just before it, it is still that slot.
                assert_eq!(
                    next_slot(id, schedule, slot - TimeDelta::milliseconds(1)),
                    slot
                );
            }
        }
    }

    #[test]
    fn a_day_down_catches_up_with_one_run_then_goes_back_to_the_grid() {
        let schedule = SyncSchedule::new(4).unwrap();
        let id = ids(1, 5)[0];
        let due = next_slot(id, schedule, at("2026-12-01T00:00:00Z"));
        // The instance comes back a day and a bit later: 4+ slots were missed.
        let back = due + TimeDelta::hours(25) + TimeDelta::minutes(3);
        assert!(back >= due);
        let after_claim = next_slot(id, schedule, back);
        // One run now (the claim), and the next one is the grid's next slot, not a missed one.
        assert!(after_claim > back);
        assert!(after_claim - back <= schedule.interval());
        assert_eq!(
            (after_claim - due).num_seconds() % schedule.interval().num_seconds(),
            0
        );
        assert_eq!(
            next_slot(id, schedule, after_claim),
            after_claim + schedule.interval()
        );
    }

    #[test]
    fn changing_times_per_day_reschedules_from_now() {
        let id = ids(1, 11)[0];
        let now = at("2026-12-03T09:00:00Z");
        let daily = next_slot(id, SyncSchedule::new(1).unwrap(), now);
        let four = next_slot(id, SyncSchedule::new(4).unwrap(), now);
        assert!(four > now && four - now <= TimeDelta::hours(6));
        assert!(daily > now && daily - now <= TimeDelta::hours(24));
        // Every slot of the 4-a-day grid is 6 hours from the next.
        assert_eq!(
            next_slot(id, SyncSchedule::new(4).unwrap(), four),
            four + TimeDelta::hours(6)
        );
    }

    #[test]
    fn daylight_saving_changes_of_a_zone_do_not_move_slots() {
        use chrono::FixedOffset;
        // Europe/Paris leaves summer time on 2026-10-25 at 01:00 UTC (+02:00 → +01:00).
        let id = ids(1, 13)[0];
        let schedule = SyncSchedule::new(1).unwrap();
        let before = next_slot(id, schedule, at("2026-10-24T00:00:00Z"));
        let mut slots = vec![before];
        for _ in 0..3 {
            let last = *slots.last().unwrap();
            slots.push(next_slot(id, schedule, last));
        }
        // Exactly 24 hours apart in UTC across the change.
        for pair in slots.windows(2) {
            assert_eq!(pair[1] - pair[0], TimeDelta::hours(24));
        }
        // The same instant written in either of the zone's offsets gives the same slot.
        let summer = FixedOffset::east_opt(2 * 3600).unwrap();
        let winter = FixedOffset::east_opt(3600).unwrap();
        let instant = at("2026-10-25T00:30:00Z");
        assert_eq!(
            next_slot(
                id,
                schedule,
                instant.with_timezone(&summer).with_timezone(&Utc)
            ),
            next_slot(
                id,
                schedule,
                instant.with_timezone(&winter).with_timezone(&Utc)
            )
        );
        // Shown in the zone, the time of day moves by the hour the zone moved; the slot doesn't.
        let shown: Vec<String> = slots[1..3]
            .iter()
            .zip([summer, winter])
            .map(|(slot, zone)| slot.with_timezone(&zone).format("%H:%M").to_string())
            .collect();
        assert_eq!(slots[2] - slots[1], TimeDelta::hours(24));
        assert_eq!(shown.len(), 2);
    }

    #[test]
    fn retries_back_off_then_stop() {
        let failed = at("2026-12-03T10:00:00Z");
        assert_eq!(retry_after(1, failed), Some(failed + TimeDelta::minutes(5)));
        assert_eq!(
            retry_after(2, failed),
            Some(failed + TimeDelta::minutes(15))
        );
        assert_eq!(retry_after(3, failed), None);
        assert_eq!(retry_after(9, failed), None);
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
