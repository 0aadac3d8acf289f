-- The Microsoft 365 connection of a domain: which tenant granted Roster read access, when
-- and by whom; and the admin-consent requests in flight.

-- One row per admin-consent request sent to Microsoft. The `state` parameter is
-- "<organization id>.<random>"; only its SHA-256 is kept. A request is good for 10 minutes,
-- once, for the session that started it.
create table microsoft_consent_requests
(
    organization_id uuid        not null,
    state_hash      bytea       not null,
    domain_id       uuid        not null,
    admin_id        uuid        not null,
    -- SHA-256 of the session cookie of the admin who asked (sessions.token_hash).
    session_hash    bytea       not null,
    created_at      timestamptz not null default now(),
    expires_at      timestamptz not null,
    used_at         timestamptz,
    primary key (organization_id, state_hash),
    foreign key (organization_id, domain_id) references domains (organization_id, id) on delete cascade,
    foreign key (organization_id, admin_id) references admins (organization_id, id) on delete cascade
);
create index microsoft_consent_requests_expires_at on microsoft_consent_requests (expires_at);

-- A domain's connection to a Microsoft 365 tenant. Several domains may use the same tenant.
create table microsoft_connections
(
    organization_id  uuid        not null,
    domain_id        uuid        not null,
    -- The tenant's GUID, confirmed by getting a token for it.
    tenant_id        text        not null
        constraint microsoft_connections_tenant_id_check
            check (tenant_id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'),
    tenant_name      text        not null,
    -- The tenant's verified domains when consent was granted, default first.
    tenant_domains   text[]      not null default '{}',
    -- Whether the domain was among them (a warning when not; it does not block).
    domain_verified  boolean     not null,
    -- Kept as text: the admin may be removed later, the record of who granted stays.
    granted_by_email text        not null,
    granted_at       timestamptz not null default now(),
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now(),
    primary key (organization_id, domain_id),
    foreign key (organization_id, domain_id) references domains (organization_id, id) on delete cascade
);
create index microsoft_connections_tenant on microsoft_connections (organization_id, tenant_id);
select trigger_updated_at('microsoft_connections');
