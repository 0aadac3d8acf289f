//! The per-tenant change log that feeds `/users/delta` and `/groups/delta`.
//!
//! Every edit made through the control API (or the library) appends an entry with a sequence
//! number. A delta token is just "epoch + sequence number": the next delta round replays the
//! entries after it. Replacing a tenant starts a new epoch, which invalidates old tokens the way
//! Graph's sync state can vanish.

use crate::model::ObjectKind;
use serde::{Deserialize, Serialize};

/// Why an object left the directory, as Graph's `@removed.reason` says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RemovalReason {
    /// Soft-deleted (restorable for 30 days).
    Changed,
    /// Deleted for good.
    Deleted,
}

impl RemovalReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RemovalReason::Changed => "changed",
            RemovalReason::Deleted => "deleted",
        }
    }
}

/// One edit of the directory.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// Created or changed.
    Upserted { kind: ObjectKind, id: String },
    Removed {
        kind: ObjectKind,
        id: String,
        reason: RemovalReason,
    },
    Membership {
        group: String,
        member: String,
        member_kind: ObjectKind,
        added: bool,
    },
}

/// An append-only log of changes, numbered from 1.
#[derive(Clone, Debug)]
pub struct ChangeLog {
    epoch: u64,
    seq: u64,
    valid_from: u64,
    entries: Vec<(u64, Change)>,
}

impl ChangeLog {
    pub fn new(epoch: u64) -> Self {
        ChangeLog {
            epoch,
            seq: 0,
            valid_from: 0,
            entries: Vec::new(),
        }
    }

    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The sequence number of the latest change (0 when none).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    pub fn record(&mut self, change: Change) {
        self.seq += 1;
        self.entries.push((self.seq, change));
    }

    /// The changes with a sequence number in `(from, to]`, oldest first.
    pub fn between(&self, from: u64, to: u64) -> impl Iterator<Item = &Change> {
        let start = self.entries.partition_point(|(s, _)| *s <= from);
        self.entries[start..]
            .iter()
            .take_while(move |(s, _)| *s <= to)
            .map(|(_, c)| c)
    }

    /// Whether a delta token minted at `(epoch, seq)` can still be replayed.
    pub fn can_replay(&self, epoch: u64, seq: u64) -> bool {
        epoch == self.epoch && seq >= self.valid_from && seq <= self.seq
    }

    /// Make every delta token issued so far unusable (`syncStateNotFound`): a new epoch.
    pub fn invalidate_tokens(&mut self) {
        self.epoch = self.epoch.wrapping_add(1);
        self.valid_from = self.seq;
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn between_is_half_open() {
        let mut log = ChangeLog::new(7);
        for i in 0..5 {
            log.record(Change::Upserted {
                kind: ObjectKind::User,
                id: i.to_string(),
            });
        }
        let ids: Vec<_> = log
            .between(1, 3)
            .map(|c| match c {
                Change::Upserted { id, .. } => id.clone(),
                _ => String::new(),
            })
            .collect();
        assert_eq!(ids, vec!["1", "2"]);
        assert!(log.can_replay(7, 2));
        assert!(!log.can_replay(8, 5));
        log.invalidate_tokens();
        assert!(!log.can_replay(7, 5));
        assert!(log.can_replay(8, 5));
    }
}
