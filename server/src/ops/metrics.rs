//! Prometheus metrics: the `metrics` facade everywhere (the connector in `roster-core` included),
//! one process-wide `metrics-exporter-prometheus` recorder, rendered by `GET /metrics` from its
//! handle (no listener of the exporter's own).
//!
//! Names recorded elsewhere (the scheduler, email reports) are described here too, so every
//! metric shows with its HELP line from the first scrape.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Duration;

use crate::sync::Outcome;
use roster_core::RunState;

/// Runs a worker claimed (counter).
pub const RUNS_STARTED: &str = "roster_runs_started_total";
/// Runs ended, by `outcome`: planned, applied, limit_exceeded, failed (counter).
pub const RUNS_FINISHED: &str = "roster_runs_finished_total";
/// Runs ended by the lease sweep because their worker stopped (counter).
pub const RUNS_LEASE_EXPIRED: &str = "roster_runs_lease_expired_total";
/// Seconds from a worker's claim to the run's ending (histogram).
pub const RUN_DURATION: &str = "roster_run_duration_seconds";
/// Graph requests by answer `status` (counter; recorded by `roster-core`); a `$batch` counts
/// once for its POST and once per request in it, as Graph throttles those one by one.
pub const GRAPH_REQUESTS: &str = "roster_graph_requests_total";
/// Graph requests answered 429 (counter; recorded by `roster-core`).
pub const GRAPH_THROTTLED: &str = "roster_graph_throttled_total";
/// Google Directory API and OAuth requests by answer `status` (counter; recorded by
/// `roster-core`).
pub const GOOGLE_REQUESTS: &str = "roster_google_requests_total";
/// Google requests answered as throttled: 403 `userRateLimitExceeded`/`quotaExceeded`, 429
/// (counter; recorded by `roster-core`).
pub const GOOGLE_THROTTLED: &str = "roster_google_throttled_total";
/// Sync jobs waiting in the queue, read from `apalis.jobs` at each scrape (gauge).
pub const QUEUE_DEPTH: &str = "roster_queue_depth";
/// Seconds between a scheduled slot and its run being queued (histogram; the scheduler).
pub const SCHEDULER_LAG: &str = "roster_scheduler_lag_seconds";
/// Runs queued by the schedule (counter; the scheduler).
pub const SCHEDULED_RUNS: &str = "roster_scheduled_runs_total";
/// Sync report emails by `result` (counter; email reports).
pub const EMAILS: &str = "roster_emails_total";

/// Buckets of the run duration histogram, in seconds: a small domain takes a second, 100,000
/// users some minutes.
const RUN_DURATION_BUCKETS: &[f64] = &[
    0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
];
/// Buckets of the scheduler lag, in seconds.
const SCHEDULER_LAG_BUCKETS: &[f64] = &[0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0, 3600.0];

/// The process's recorder, installed on first use (the server's router asks for it before any
/// run starts). A process can hold one global recorder; tests with several apps in one process
/// share it.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(RUN_DURATION.into()), RUN_DURATION_BUCKETS)
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Full(SCHEDULER_LAG.into()), SCHEDULER_LAG_BUCKETS)
            })
            .expect("the bucket lists are not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder was installed first; /metrics shows nothing of this process");
        }
        describe();
        handle
    })
}

/// HELP lines, and every series at zero so a scrape lists them before they first happen.
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(RUNS_STARTED, "Sync runs a worker of this instance started.");
    describe_counter!(
        RUNS_FINISHED,
        "Sync runs ended, by outcome (planned, applied, limit_exceeded, failed)."
    );
    describe_counter!(
        RUNS_LEASE_EXPIRED,
        "Sync runs this instance ended as failed because their worker stopped renewing the lease."
    );
    describe_histogram!(
        RUN_DURATION,
        Unit::Seconds,
        "Time from a worker starting a sync run to its end."
    );
    describe_counter!(
        GRAPH_REQUESTS,
        "Microsoft Graph requests sent, by HTTP status (network_error when none came back); a $batch counts once itself and once per request in it."
    );
    describe_counter!(
        GRAPH_THROTTLED,
        "Microsoft Graph requests answered 429 (throttled)."
    );
    describe_counter!(
        GOOGLE_REQUESTS,
        "Google Workspace (Directory API) requests sent, by HTTP status (network_error when none came back)."
    );
    describe_counter!(
        GOOGLE_THROTTLED,
        "Google Workspace requests answered as throttled (403 rate or quota limits, 429)."
    );
    describe_gauge!(
        QUEUE_DEPTH,
        "Sync jobs waiting in the queue (all instances)."
    );
    describe_histogram!(
        SCHEDULER_LAG,
        Unit::Seconds,
        "Time from a domain's scheduled slot to its run being queued."
    );
    describe_counter!(
        SCHEDULED_RUNS,
        "Sync runs queued by Automatic Synchronization."
    );
    describe_counter!(EMAILS, "Sync report emails, by result (sent, failed).");

    metrics::counter!(RUNS_STARTED).absolute(0);
    for outcome in [
        RunState::Planned,
        RunState::Applied,
        RunState::LimitExceeded,
        RunState::Failed,
    ] {
        metrics::counter!(RUNS_FINISHED, "outcome" => outcome.as_str()).absolute(0);
    }
    metrics::counter!(RUNS_LEASE_EXPIRED).absolute(0);
    metrics::counter!(GRAPH_THROTTLED).absolute(0);
    metrics::counter!(GOOGLE_THROTTLED).absolute(0);
    metrics::counter!(SCHEDULED_RUNS).absolute(0);
    for result in ["sent", "failed"] {
        metrics::counter!(EMAILS, "result" => result).absolute(0);
    }
    metrics::gauge!(QUEUE_DEPTH).set(0.0);
    // Registered, not recorded: shown with no observations until the first one.
    let _ = metrics::histogram!(RUN_DURATION);
    let _ = metrics::histogram!(SCHEDULER_LAG);
}

/// Counts a run this worker ended, by outcome, with its duration.
pub fn run_finished(outcome: &Outcome, took: Duration) {
    let label = match outcome {
        Outcome::Planned(_) => RunState::Planned,
        Outcome::Applied(_) => RunState::Applied,
        Outcome::LimitExceeded(..) => RunState::LimitExceeded,
        Outcome::Failed { .. } => RunState::Failed,
        Outcome::EndedElsewhere => return,
    };
    metrics::counter!(RUNS_FINISHED, "outcome" => label.as_str()).increment(1);
    metrics::histogram!(RUN_DURATION).record(took.as_secs_f64());
}
