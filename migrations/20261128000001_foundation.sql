-- Roster's foundation: organizations, admins, sessions, domains, inbound mail servers,
-- email accounts with their addresses, and per-domain sync settings.
--
-- Every tenant-owned table carries organization_id, first in its primary key where it can be,
-- so the data can later be distributed by organization (Citus). Values that must be unique
-- across the whole service (domain names, recipient addresses, admin emails) are keyed by
-- that value alone; on Citus those tables become reference tables or are distributed by it.

create extension if not exists pg_trgm;

-- `updated_at` maintenance, as in launchbadge/realworld-axum-sqlx.
create or replace function set_updated_at() returns trigger as
$$
begin
    new.updated_at = now();
    return new;
end;
$$ language plpgsql;

create or replace function trigger_updated_at(tablename regclass) returns void as
$$
begin
    execute format('create trigger set_updated_at
        before update on %s
        for each row
        when (old is distinct from new)
        execute function set_updated_at();', tablename);
end;
$$ language plpgsql;

create table organizations
(
    id         uuid primary key     default gen_random_uuid(),
    name       text        not null check (length(name) between 1 and 100),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
select trigger_updated_at('organizations');

create table admins
(
    organization_id uuid        not null references organizations (id) on delete cascade,
    id              uuid        not null default gen_random_uuid(),
    -- lower-cased; unique across the service because sign-in starts from the email alone
    email           text        not null,
    password_hash   text        not null,
    created_by      uuid,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    primary key (organization_id, id),
    constraint admins_email_key unique (email)
);
select trigger_updated_at('admins');

create table sessions
(
    -- SHA-256 of the random cookie value: a stolen database dump holds no usable session.
    token_hash      bytea primary key,
    organization_id uuid        not null,
    admin_id        uuid        not null,
    created_at      timestamptz not null default now(),
    expires_at      timestamptz not null,
    foreign key (organization_id, admin_id) references admins (organization_id, id) on delete cascade
);
create index sessions_admin on sessions (organization_id, admin_id);
create index sessions_expires_at on sessions (expires_at);

-- Sign-in throttling is keyed by the email typed, known or not, so it reveals nothing.
create table login_failures
(
    email     text        not null,
    failed_at timestamptz not null default now()
);
create index login_failures_email on login_failures (email, failed_at);

create table login_lockouts
(
    email        text primary key,
    locked_until timestamptz not null
);

create table domains
(
    organization_id uuid        not null references organizations (id) on delete cascade,
    id              uuid        not null default gen_random_uuid(),
    -- ASCII (punycode), lower-case, no trailing dot
    name            text        not null,
    server_type     text        not null
        constraint domains_server_type_check check (server_type in ('on_premise', 'office365', 'google_workspace')),
    delivery_port   integer     not null default 25
        constraint domains_delivery_port_check check (delivery_port between 1 and 65535),
    last_synced_at  timestamptz,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    primary key (organization_id, id),
    constraint domains_name_key unique (name)
);
select trigger_updated_at('domains');

create table mail_servers
(
    organization_id uuid        not null,
    domain_id       uuid        not null,
    id              uuid        not null default gen_random_uuid(),
    host            text        not null,
    priority        integer     not null
        constraint mail_servers_priority_check check (priority between 0 and 65535),
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    primary key (organization_id, id),
    foreign key (organization_id, domain_id) references domains (organization_id, id) on delete cascade,
    constraint mail_servers_host_key unique (organization_id, domain_id, host)
);
select trigger_updated_at('mail_servers');
create index mail_servers_domain on mail_servers (organization_id, domain_id, priority, host);

-- Every address a recipient answers to: its primary address and each alias. The primary key
-- makes an address unique across the whole service: no alias equals another account's
-- address or another alias.
create table addresses
(
    address         text primary key,
    organization_id uuid    not null,
    account_id      uuid    not null,
    is_primary      boolean not null
);
create index addresses_account on addresses (organization_id, account_id);
create unique index addresses_one_primary on addresses (organization_id, account_id) where is_primary;
create index addresses_address_trgm on addresses using gin (address gin_trgm_ops);

create table accounts
(
    organization_id uuid        not null,
    domain_id       uuid        not null,
    id              uuid        not null default gen_random_uuid(),
    -- the primary address, also a row in `addresses`
    address         text        not null,
    kind            text        not null
        constraint accounts_kind_check check (kind in ('mailbox', 'distribution_list')),
    source          text        not null
        constraint accounts_source_check check (source in ('manual', 'office365', 'google_workspace', 'ldap')),
    display_name    text,
    -- the directory's object id for synced accounts
    external_id     text,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    primary key (organization_id, id),
    foreign key (organization_id, domain_id) references domains (organization_id, id) on delete cascade,
    constraint accounts_address_key unique (address),
    constraint accounts_address_claimed foreign key (address) references addresses (address)
        deferrable initially deferred
);
select trigger_updated_at('accounts');
-- keyset pagination by address within a domain
create index accounts_domain_address on accounts (organization_id, domain_id, address);

alter table addresses
    add constraint addresses_account_fk foreign key (organization_id, account_id)
        references accounts (organization_id, id) on delete cascade deferrable initially deferred;

create table sync_settings
(
    organization_id         uuid        not null,
    domain_id               uuid        not null,
    auto_sync_enabled       boolean     not null default false,
    times_per_day           smallint    not null default 1
        constraint sync_settings_times_per_day_check check (times_per_day between 1 and 4),
    notifications_enabled   boolean     not null default false,
    notification_recipients text[]      not null default '{}',
    exclude_patterns        text[]      not null default '{}',
    account_add_limit       integer check (account_add_limit between 0 and 1000000),
    account_delete_limit    integer check (account_delete_limit between 0 and 1000000),
    alias_add_limit         integer check (alias_add_limit between 0 and 1000000),
    alias_delete_limit      integer check (alias_delete_limit between 0 and 1000000),
    total_limit             integer check (total_limit between 0 and 1000000),
    created_at              timestamptz not null default now(),
    updated_at              timestamptz not null default now(),
    primary key (organization_id, domain_id),
    foreign key (organization_id, domain_id) references domains (organization_id, id) on delete cascade,
    constraint sync_settings_recipients_required
        check (not notifications_enabled or cardinality(notification_recipients) > 0),
    constraint sync_settings_recipients_max check (cardinality(notification_recipients) <= 20)
);
select trigger_updated_at('sync_settings');
