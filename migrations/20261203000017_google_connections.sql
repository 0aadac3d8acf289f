-- A domain's connection to a Google Workspace: the grant of a super admin (its refresh token,
-- sealed), who gave it and when; and the grant requests in flight.

-- One row per "Grant permission" sent to Google. The `state` parameter is
-- "<organization id>.<random>"; only its SHA-256 is kept. A request is good for 10 minutes,
-- once, for the session that started it; its nonce and PKCE verifier are cleared when used.
create table google_grant_requests
(
    organization_id uuid        not null,
    state_hash      bytea       not null,
    domain_id       uuid        not null,
    admin_id        uuid        not null,
    -- SHA-256 of the session cookie of the admin who asked (sessions.token_hash).
    session_hash    bytea       not null,
    nonce           text,
    pkce_verifier   text,
    created_at      timestamptz not null default now(),
    expires_at      timestamptz not null,
    used_at         timestamptz,
    primary key (organization_id, state_hash),
    foreign key (organization_id, domain_id) references domains (organization_id, id) on delete cascade,
    foreign key (organization_id, admin_id) references admins (organization_id, id) on delete cascade,
    constraint google_grant_requests_secrets_check
        check (used_at is not null or (nonce is not null and pkce_verifier is not null))
);
create index google_grant_requests_expires_at on google_grant_requests (expires_at);

-- A domain's Google Workspace grant. The refresh token is sealed with XChaCha20-Poly1305 under
-- ROSTER_SECRET_KEY (app::ssr::secrets): nonce || ciphertext, bound to the organization and
-- domain, so a sealed token copied to another row does not open.
create table google_connections
(
    organization_id       uuid        not null,
    domain_id             uuid        not null,
    -- The Workspace's customer id (C0…), read with the grant.
    customer_id           text        not null
        constraint google_connections_customer_id_check check (customer_id ~ '^[A-Za-z0-9]{1,64}$'),
    -- The Workspace's primary domain (the ID token's `hd`).
    hosted_domain         text        not null,
    refresh_token_sealed  bytea       not null
        constraint google_connections_refresh_token_sealed_check check (octet_length(refresh_token_sealed) > 40),
    -- The Google account that granted it, proven by its ID token (`email`, `sub`).
    granted_by_email      text        not null,
    granted_by_subject    text        not null,
    -- The Roster admin who asked (kept as text: the admin may be removed later).
    requested_by          text        not null,
    granted_at            timestamptz not null default now(),
    -- "Skip suspended users": Google bounces their mail, so some admins leave them out.
    skip_suspended        boolean     not null default false,
    updated_at            timestamptz not null default now(),
    primary key (organization_id, domain_id),
    foreign key (organization_id, domain_id) references domains (organization_id, id) on delete cascade
);
select trigger_updated_at('google_connections');
