-- Sync reports by email: one row per run whose report is sent (after a scheduled run with Sync
-- Notifications on, or a Manual Sync with recipients listed; never a Test Sync). The worker
-- that sends it (apalis queue `roster_report`) records its attempts here, and the run's page
-- reads how it went.
create table report_emails
(
    organization_id uuid        not null,
    run_id          uuid        not null,
    -- The domain's notification recipients when the run ended.
    recipients      text[]      not null,
    status          text        not null default 'queued'
        constraint report_emails_status_check check (status in ('queued', 'sent', 'failed')),
    attempts        integer     not null default 0,
    -- For operators: the last delivery error (SMTP reply, connection error), never shown raw
    -- to admins.
    last_error      text,
    queued_at       timestamptz not null default now(),
    sent_at         timestamptz,
    updated_at      timestamptz not null default now(),
    primary key (organization_id, run_id),
    foreign key (organization_id, run_id) references sync_runs (organization_id, id) on delete cascade
);
select trigger_updated_at('report_emails');
