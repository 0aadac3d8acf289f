-- Domain ownership: each domain gets a random token, published by its owner as the DNS TXT
-- record `roster-verification=<token>` at the domain's apex. "Verify ownership" records when
-- Roster found it. (An Office 365 domain also counts as proven while its connected tenant
-- lists it as verified: `microsoft_connections.domain_verified`.) Until one of the two holds,
-- the domain can't be synced.
alter table domains
    -- 128 random bits as 32 hex digits; existing domains get theirs now.
    add column ownership_token       text not null
        default replace(gen_random_uuid()::text, '-', '')
        constraint domains_ownership_token_check check (ownership_token ~ '^[0-9a-f]{32}$'),
    add column ownership_verified_at timestamptz;
