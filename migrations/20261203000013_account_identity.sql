-- A synced account is identified by its directory object id (`accounts.external_id`), not by
-- its address: a user whose primary address changes is renamed, not deleted and added again.

-- One account per directory object in each domain and source. Accounts synced before this
-- migration have no external_id yet: the next sync matches them by address and records it.
create unique index accounts_external_id on accounts (organization_id, domain_id, source, external_id)
    where external_id is not null;

-- A rename is one `account_update` whose `new_address` is the account's new primary address
-- (`address` is the one it had). An `account_add` carries the object id it is added with.
alter table sync_run_changes
    add column new_address text,
    add column external_id text;

-- The object ids a plan matched by address to accounts synced without one: the apply records
-- them (they are not changes an admin reads or a limit counts).
create table sync_run_identities
(
    organization_id uuid not null,
    run_id          uuid not null,
    -- the account's (unchanged) primary address
    address         text not null,
    external_id     text not null,
    primary key (organization_id, run_id, address),
    foreign key (organization_id, run_id) references sync_runs (organization_id, id) on delete cascade
);
