//! Starting sync runs, behind a trait: the run queue (apalis on Postgres) and the engine live in
//! the server crate, which implements it; server functions only ask for a run.

use std::future::Future;
use std::pin::Pin;
use uuid::Uuid;

/// A run an admin (or the schedule) asks for.
#[derive(Debug, Clone)]
pub struct StartSync {
    pub organization_id: Uuid,
    pub domain_id: Uuid,
    /// The directory the run reads (and whose accounts it owns).
    pub source: roster_core::SyncSource,
    /// Test Sync: plan only.
    pub test: bool,
    /// The admin's email; `None` for the schedule.
    pub requested_by: Option<String>,
    /// "Apply these changes" of a run that stopped at the Operations Limit.
    pub applies_run_id: Option<Uuid>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartSyncError {
    #[error("A sync of this domain is already queued or running.")]
    AlreadyActive,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

pub type StartFuture<'a> = Pin<Box<dyn Future<Output = Result<Uuid, StartSyncError>> + Send + 'a>>;

/// Queues a run and its job; at most one run per domain is queued or running.
pub trait SyncJobs: Send + Sync + 'static {
    fn start(&self, request: StartSync) -> StartFuture<'_>;
}
