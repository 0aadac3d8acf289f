//! Faults on demand: throttling (429), unavailability (503) and added latency.
//!
//! Graph throttles with `429 TooManyRequests` and a `Retry-After` that can be fractional
//! ("2.128"); a connector that ignores it or does not retry will fail in production, so tests
//! need to provoke it at will: every Nth Graph request, or at random with a seeded
//! probability so runs repeat exactly.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// The fault settings (the body of `PUT /_emulator/faults`). All off by default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FaultConfig {
    /// Answer every Nth Graph request with 429 (0 = never).
    pub throttle_every: u64,
    /// Or answer each Graph request with 429 with this probability.
    pub throttle_probability: f64,
    /// `Retry-After` of a 429, in seconds, sent verbatim (fractions allowed: "2.128", "0.05").
    pub retry_after: String,
    /// Answer every Nth Graph request with 503 (0 = never).
    pub unavailable_every: u64,
    pub unavailable_probability: f64,
    /// `Retry-After` of a 503; none when empty.
    pub unavailable_retry_after: String,
    /// Added to every request to the Microsoft surfaces (identity and Graph).
    pub latency_ms: u64,
    /// Seed of the random faults.
    pub seed: u64,
    /// Status for an expired or invalidated delta token: 410 (Gone, with `Location`) or 400.
    pub delta_token_error_status: u16,
    /// Limit 429/503 to these path kinds (see `GET /_emulator/counters`); empty = all of Graph.
    pub path_kinds: Vec<String>,
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            throttle_every: 0,
            throttle_probability: 0.0,
            retry_after: "2.128".into(),
            unavailable_every: 0,
            unavailable_probability: 0.0,
            unavailable_retry_after: "1".into(),
            latency_ms: 0,
            seed: 0,
            delta_token_error_status: 410,
            path_kinds: Vec::new(),
        }
    }
}

/// What to do with one Graph request.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    Throttle { retry_after: String },
    Unavailable { retry_after: Option<String> },
}

/// The fault settings plus the state they need (request count, random generator).
#[derive(Debug)]
pub struct Faults {
    config: FaultConfig,
    rng: StdRng,
    seen: u64,
}

impl Faults {
    pub fn new(config: FaultConfig) -> Self {
        Faults {
            rng: StdRng::seed_from_u64(config.seed),
            config,
            seen: 0,
        }
    }

    pub fn config(&self) -> &FaultConfig {
        &self.config
    }

    /// Replaces the settings and restarts the count and the random sequence.
    pub fn set(&mut self, config: FaultConfig) {
        *self = Faults::new(config);
    }

    /// Decides the fate of the next Graph request of this kind.
    pub fn next(&mut self, kind: &str) -> Option<Fault> {
        let c = &self.config;
        if !c.path_kinds.is_empty() && !c.path_kinds.iter().any(|k| k == kind) {
            return None;
        }
        self.seen += 1;
        let n = self.seen;
        let throttle = (c.throttle_every > 0 && n.is_multiple_of(c.throttle_every))
            || (c.throttle_probability > 0.0 && self.rng.gen_bool(c.throttle_probability.min(1.0)));
        if throttle {
            return Some(Fault::Throttle {
                retry_after: c.retry_after.clone(),
            });
        }
        let c = &self.config;
        let unavailable = (c.unavailable_every > 0 && n.is_multiple_of(c.unavailable_every))
            || (c.unavailable_probability > 0.0
                && self.rng.gen_bool(c.unavailable_probability.min(1.0)));
        unavailable.then(|| Fault::Unavailable {
            retry_after: Some(self.config.unavailable_retry_after.clone())
                .filter(|s| !s.is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_third_request_is_throttled() {
        let mut f = Faults::new(FaultConfig {
            throttle_every: 3,
            retry_after: "0.05".into(),
            ..FaultConfig::default()
        });
        let hits: Vec<bool> = (0..6).map(|_| f.next("users").is_some()).collect();
        assert_eq!(hits, vec![false, false, true, false, false, true]);
    }

    #[test]
    fn random_faults_repeat_for_a_seed() {
        let config = FaultConfig {
            throttle_probability: 0.3,
            seed: 5,
            ..FaultConfig::default()
        };
        let run = |c: &FaultConfig| {
            let mut f = Faults::new(c.clone());
            (0..50)
                .map(|_| f.next("users").is_some())
                .collect::<Vec<_>>()
        };
        assert_eq!(run(&config), run(&config));
        assert!(run(&config).iter().any(|h| *h));
    }
}
