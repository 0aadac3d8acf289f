//! Abuse limits that live in one Roster instance: how many password hashes run at once, and
//! the per-client sign-in rate (enforced by the server's middleware, configured here).

use super::OrInternal;
use crate::error::AppError;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// `ROSTER_LOGIN_RATE_PER_MINUTE` when unset: sign-ins per client IP per minute (also the
/// burst). Generous for an office behind one address and for the end-to-end suite; the
/// per-email lock-out is what stops guessing one admin's password.
pub const DEFAULT_SIGN_INS_PER_MINUTE: u32 = 120;

#[derive(Clone, Debug)]
pub struct Limits {
    /// Argon2 takes ~19 MiB and a core for a moment per hash: at most this many at once, the
    /// rest wait their turn (bounded by the request timeout).
    hashing: Arc<Semaphore>,
    max_concurrent_hashes: usize,
    /// How many hashes or verifications were started; a test's measure of work done.
    hashes_started: Arc<AtomicU64>,
    /// Sign-in requests allowed per client IP per minute.
    pub sign_ins_per_minute: NonZeroU32,
    /// Reverse proxies whose `X-Forwarded-For` is believed (`ROSTER_TRUSTED_PROXY`); from any
    /// other peer the header is ignored, so a client can't pick its own rate-limit key.
    pub trusted_proxies: Vec<IpAddr>,
}

impl Limits {
    pub fn new(
        max_concurrent_hashes: usize,
        sign_ins_per_minute: NonZeroU32,
        trusted_proxies: Vec<IpAddr>,
    ) -> Self {
        let max_concurrent_hashes = max_concurrent_hashes.max(1);
        Self {
            hashing: Arc::new(Semaphore::new(max_concurrent_hashes)),
            max_concurrent_hashes,
            hashes_started: Arc::new(AtomicU64::new(0)),
            sign_ins_per_minute,
            trusted_proxies,
        }
    }

    /// One hash at a time per CPU (the default of `ROSTER_MAX_CONCURRENT_HASHES`).
    pub fn default_concurrent_hashes() -> usize {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    }

    pub fn max_concurrent_hashes(&self) -> usize {
        self.max_concurrent_hashes
    }

    /// How many password hashes or verifications this instance has started.
    pub fn hashes_started(&self) -> u64 {
        self.hashes_started.load(Ordering::Relaxed)
    }

    /// Runs CPU-heavy password work on the blocking pool once a hashing slot is free. The
    /// slot is held by the blocking task itself, so a request that gives up while it runs
    /// does not free the slot early.
    pub(crate) async fn hashing<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let permit = self
            .hashing
            .clone()
            .acquire_owned()
            .await
            .or_internal("waiting for a password hashing slot")?;
        self.hashes_started.fetch_add(1, Ordering::Relaxed);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .or_internal("hashing a password")
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::new(
            Self::default_concurrent_hashes(),
            NonZeroU32::new(DEFAULT_SIGN_INS_PER_MINUTE).unwrap_or(NonZeroU32::MIN),
            Vec::new(),
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn no_more_hashes_run_at_once_than_allowed() {
        let limits = Limits::new(2, NonZeroU32::MIN, Vec::new());
        let running = Arc::new(AtomicU64::new(0));
        let most = Arc::new(AtomicU64::new(0));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (limits, running, most) = (limits.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    limits
                        .hashing(move || {
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            std::thread::sleep(std::time::Duration::from_millis(20));
                            running.fetch_sub(1, Ordering::SeqCst);
                        })
                        .await
                        .unwrap();
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let most = most.load(Ordering::SeqCst);
        assert!((1..=2).contains(&most), "{most} hashes ran at once");
        assert_eq!(limits.hashes_started(), 8);
    }
}
