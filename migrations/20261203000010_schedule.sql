-- Automatic Synchronization that runs: each domain's next slot, retries of scheduled runs
-- that failed for a passing reason, and slots skipped because the previous run was going.

-- The domain's next slot (null while Automatic Synchronization is off), and the retry of a
-- scheduled run that failed transiently: attempt `retry_attempt` runs at `retry_at`.
alter table sync_settings
    add column next_run_at   timestamptz,
    add column retry_at      timestamptz,
    add column retry_attempt smallint
        constraint sync_settings_retry_attempt_check check (retry_attempt between 2 and 3),
    -- Whichever comes first: what the scheduler's due query looks at.
    add column due_at        timestamptz generated always as (least(next_run_at, retry_at)) stored;

-- The scheduler's due query runs across all organizations, oldest slot first.
create index sync_settings_due on sync_settings (due_at) where due_at is not null;

-- Domains that had Automatic Synchronization on before it ran: a first slot somewhere in
-- their interval (not all at once), then the grid of roster_core::schedule.
update sync_settings
set next_run_at = now() + random() * make_interval(hours => 24 / times_per_day)
where auto_sync_enabled;

-- Which attempt of a scheduled sync a run is (1 to 3; manual runs: 1).
alter table sync_runs
    add column attempt smallint not null default 1
        constraint sync_runs_attempt_check check (attempt between 1 and 3);

-- A slot skipped because the domain's previous run was still queued or running is recorded
-- in the history as 'skipped' (never active: sync_runs_one_active keeps queued/running only).
alter table sync_runs drop constraint sync_runs_status_check;
alter table sync_runs add constraint sync_runs_status_check check (status in
    ('queued', 'running', 'planned', 'applied', 'limit_exceeded', 'failed', 'skipped'));
