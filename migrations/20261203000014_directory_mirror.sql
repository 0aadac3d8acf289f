-- The mirror of each domain's directory as last read, so a sync reads only what changed
-- (Graph delta queries) and plans from the mirror; nested lists are expanded from the direct
-- memberships here, without one request per group.

-- Every object of the directory: users, groups (any, mail-enabled or not: a security group
-- can nest inside a list) and contacts, with what normalization needs.
create table directory_objects
(
    organization_id  uuid    not null,
    domain_id        uuid    not null,
    external_id      text    not null,
    kind             text    not null
        constraint directory_objects_kind_check check (kind in ('user', 'group', 'contact')),
    display_name     text,
    mail             text,
    proxy_addresses  text[]  not null default '{}',
    account_enabled  boolean not null default true,
    guest            boolean not null default false,
    mail_enabled     boolean not null default false,
    security_enabled boolean not null default false,
    unified          boolean not null default false,
    -- Its primary address in any domain: what the member lists of its groups hold.
    primary_address  text,
    -- The run that last reported it in a full round: a full round drops what it did not see.
    seen_run_id      uuid,
    primary key (organization_id, domain_id, external_id),
    foreign key (organization_id, domain_id) references domains (organization_id, id) on delete cascade
);

-- Direct memberships: member_id is any object's id (a user, a contact, a nested group, or
-- something the mirror does not hold, such as a device).
create table directory_members
(
    organization_id uuid not null,
    domain_id       uuid not null,
    group_id        text not null,
    member_id       text not null,
    seen_run_id     uuid,
    primary key (organization_id, domain_id, group_id, member_id),
    foreign key (organization_id, domain_id) references domains (organization_id, id) on delete cascade
);
-- The groups an object is in (to find the lists a change reaches).
create index directory_members_member on directory_members (organization_id, domain_id, member_id);

-- Where the next read of a domain's directory resumes, saved with the changes of the run
-- that applied it (never by a Test Sync, a failed or a limit-stopped run).
create table directory_sync_state
(
    organization_id   uuid        not null,
    domain_id         uuid        not null,
    -- Which directory the mirror is of (the Microsoft 365 tenant id).
    directory         text        not null,
    -- The connector's resume state (Graph's delta links); opaque to the engine.
    resume            jsonb       not null,
    -- md5 of the rules accounts were planned under (domain name, Exclude Records): when they
    -- change, the next plan covers every mirrored object.
    rules_fingerprint text        not null,
    -- The last full round: one a week in any case.
    full_round_at     timestamptz not null,
    saved_at          timestamptz not null default now(),
    primary key (organization_id, domain_id),
    foreign key (organization_id, domain_id) references domains (organization_id, id) on delete cascade
);

-- The objects a change round touched (and the lists that contain them), per run: what an
-- incremental plan covers. Scratch data like sync_staging.
create unlogged table sync_dirty
(
    organization_id uuid not null,
    run_id          uuid not null,
    external_id     text not null,
    primary key (organization_id, run_id, external_id)
);

-- How each run read the directory: 'full' (everything), 'changes' (delta since the last
-- applied run). Null for runs before the mirror, and for "Apply these changes".
alter table sync_runs
    add column read_kind text
        constraint sync_runs_read_kind_check check (read_kind in ('full', 'changes'));

-- The directory object a warning is about: an incremental plan plans the objects the last
-- applied run skipped again (the address in the way may have been freed since).
alter table sync_run_warnings
    add column external_id text;
