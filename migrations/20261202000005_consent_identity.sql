-- Admin consent proves who granted it: after Microsoft's consent answer names a tenant, the
-- admin signs in with OpenID Connect, and only an ID token of that tenant connects it.

-- The sign-in step of a consent request is a row of its own, with a fresh single-use state,
-- bound to the same session, domain and admin, and ending when the consent request ends.
-- `claimed_tenant_id` is the tenant the consent answer named: claimed, not proven. The PKCE
-- verifier and the nonce are secrets of this one request: good once, cleared when the row is
-- used, and the row is swept a day after it expired.
alter table microsoft_consent_requests
    add column claimed_tenant_id text,
    add column nonce             text,
    add column pkce_verifier     text,
    add constraint microsoft_consent_requests_sign_in_check
        check (claimed_tenant_id is not null or (nonce is null and pkce_verifier is null));

-- Who granted permission at Microsoft, from the validated ID token. Connections made before
-- this have none (their `granted_by_email`, the Roster admin who asked, proves nothing).
-- `granted_by_email` stays: the Roster admin who started the request.
alter table microsoft_connections
    add column granted_by_oid          text,
    add column granted_by_username     text,
    add column granted_by_name         text,
    -- The ID token's `wids` held the Global Administrator role template.
    add column granted_by_global_admin boolean not null default false,
    add constraint microsoft_connections_granter_check
        check ((granted_by_oid is null) = (granted_by_username is null));
