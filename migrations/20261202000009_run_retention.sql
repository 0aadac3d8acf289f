-- Runs end once, and old detail goes.
--
-- The Microsoft 365 tenant a run read its directory from: "Apply these changes" applies a kept
-- plan only while the domain is still connected to that tenant. Null for runs made before it
-- was recorded (their plans are then refused) and for runs that never read a directory.
alter table sync_runs add column tenant_id text;

-- The worker's retention sweep looks for runs that applied nothing (Test Sync, failed) and
-- finished long ago, across all organizations; their changes and warnings go, the run stays.
create index sync_runs_retention on sync_runs (finished_at)
    where test or status = 'failed';
