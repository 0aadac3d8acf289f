-- A domain's connection to the customer's own LDAP directory (Active Directory, OpenLDAP,
-- Lotus Domino), as the LDAP Sync page saves it. The password is sealed with
-- XChaCha20-Poly1305 under ROSTER_SECRET_KEY (app::ssr::secrets): nonce || ciphertext, bound
-- to the organization and domain, so a sealed password copied to another row does not open.
create table ldap_connections
(
    organization_id    uuid        not null,
    domain_id          uuid        not null,
    -- The preset last filled in (informational): active_directory, lotus_domino, openldap.
    preset             text
        constraint ldap_connections_preset_check
            check (preset in ('active_directory', 'lotus_domino', 'openldap')),
    -- Host names or IPs, tried in order.
    servers            text[]      not null
        constraint ldap_connections_servers_check
            check (cardinality(servers) between 1 and 10),
    security           text        not null
        constraint ldap_connections_security_check
            check (security in ('none', 'starttls', 'ldaps')),
    port               integer     not null
        constraint ldap_connections_port_check check (port between 1 and 65535),
    verify_certificate boolean     not null default true,
    -- The admin's own CA (PEM), when the server's certificate is not publicly trusted.
    ca_pem             text
        constraint ldap_connections_ca_pem_check check (octet_length(ca_pem) <= 65536),
    bind_user          text        not null
        constraint ldap_connections_bind_user_check check (bind_user <> ''),
    -- 24-byte nonce || ciphertext with its 16-byte tag.
    password_sealed    bytea       not null
        constraint ldap_connections_password_sealed_check check (octet_length(password_sealed) > 40),
    base_dns           text[]      not null
        constraint ldap_connections_base_dns_check
            check (cardinality(base_dns) between 1 and 20),
    -- Null: the built-in Exchange search string.
    filter             text
        constraint ldap_connections_filter_check check (char_length(filter) <= 4096),
    email_attribute    text        not null,
    alias_attributes   text[]      not null,
    list_attribute     text        not null,
    list_value         text        not null,
    updated_at         timestamptz not null default now(),
    -- The admin who saved last (kept as text: the admin may be removed later).
    updated_by         text        not null,
    primary key (organization_id, domain_id),
    foreign key (organization_id, domain_id) references domains (organization_id, id) on delete cascade
);
