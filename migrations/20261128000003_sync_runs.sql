-- Sync runs: one row per Manual Sync, Test Sync or scheduled sync of a domain, with its
-- progress (read by every server instance), its planned changes and warnings; the members of
-- distribution lists; and the per-run staging area the directory is read into.

create table sync_runs
(
    organization_id    uuid        not null,
    id                 uuid        not null default gen_random_uuid(),
    domain_id          uuid        not null,
    -- The connector: 'office365' now; 'ldap' and 'google_workspace' later.
    source             text        not null
        constraint sync_runs_source_check check (source in ('office365', 'google_workspace', 'ldap')),
    -- Test Sync: computes the plan and applies nothing.
    test               boolean     not null default false,
    -- 'manual' (an admin, named in requested_by) or 'schedule'.
    trigger            text        not null
        constraint sync_runs_trigger_check check (trigger in ('manual', 'schedule')),
    requested_by       text,
    status             text        not null default 'queued'
        constraint sync_runs_status_check check (status in
            ('queued', 'running', 'planned', 'applied', 'limit_exceeded', 'failed')),
    -- While running: 'fetch_users', 'fetch_groups', 'plan', 'check_limits', 'apply', 'report'.
    phase              text,
    -- Live progress of the phase: done of total (total unknown while fetching users).
    progress_done      bigint      not null default 0,
    progress_total     bigint,
    objects_read       bigint      not null default 0,
    accounts_read      bigint      not null default 0,
    -- roster_core::sync::PlannedCounts, once planned.
    counts             jsonb,
    -- roster_core::sync::LimitExceeded list, when the plan went beyond the Operations Limit.
    exceeded           jsonb,
    summary            text,
    -- For a failed run: what happened in an admin's words, and Microsoft's code if any.
    error              text,
    error_code         text,
    -- A run that applied another run's kept plan ("Apply these changes").
    applies_run_id     uuid,
    queued_at          timestamptz not null default now(),
    started_at         timestamptz,
    finished_at        timestamptz,
    created_at         timestamptz not null default now(),
    updated_at         timestamptz not null default now(),
    primary key (organization_id, id),
    foreign key (organization_id, domain_id) references domains (organization_id, id) on delete cascade
);
select trigger_updated_at('sync_runs');
-- At most one queued or running run per domain, whatever the number of server instances.
create unique index sync_runs_one_active on sync_runs (organization_id, domain_id)
    where status in ('queued', 'running');
-- The history, newest first.
create index sync_runs_history on sync_runs (organization_id, domain_id, queued_at desc, id);

-- Every change a run planned (and, unless it was a test or stopped at a limit, applied).
create table sync_run_changes
(
    organization_id uuid   not null,
    run_id          uuid   not null,
    seq             bigint not null,
    kind            text   not null
        constraint sync_run_changes_kind_check check (kind in
            ('account_add', 'account_delete', 'account_update', 'alias_add', 'alias_delete',
             'member_add', 'member_remove')),
    -- The account's address; for aliases and members, the alias or member is in `item`.
    address         text   not null,
    item            text,
    -- For an admin: what it was and what it becomes ("Adele Vance, mailbox").
    before          text,
    after           text,
    -- For applying: the account's new display name and kind (adds and updates).
    new_display_name text,
    new_kind        text,
    primary key (organization_id, run_id, seq),
    foreign key (organization_id, run_id) references sync_runs (organization_id, id) on delete cascade
);
create index sync_run_changes_kind on sync_run_changes (organization_id, run_id, kind, address);

-- What a run skipped, and why (an address owned by a manual account or another domain, …).
create table sync_run_warnings
(
    organization_id uuid   not null,
    run_id          uuid   not null,
    seq             bigint not null,
    kind            text   not null,
    address         text   not null,
    message         text   not null,
    primary key (organization_id, run_id, seq),
    foreign key (organization_id, run_id) references sync_runs (organization_id, id) on delete cascade
);

-- The directory as one run read it: one row per account, streamed in page by page, so a
-- 100,000-user tenant never sits in memory. Unlogged: it is rebuilt by a rerun after a crash.
create unlogged table sync_staging
(
    organization_id uuid   not null,
    run_id          uuid   not null,
    address         text   not null,
    external_id     text   not null,
    kind            text   not null,
    display_name    text   not null,
    aliases         text[] not null default '{}',
    members         text[] not null default '{}',
    primary key (organization_id, run_id, address)
);

-- Members of distribution lists: addresses in any domain (nested lists flattened).
create table list_members
(
    organization_id uuid not null,
    account_id      uuid not null,
    member          text not null,
    primary key (organization_id, account_id, member),
    foreign key (organization_id, account_id) references accounts (organization_id, id) on delete cascade
);
