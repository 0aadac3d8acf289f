-- A list whose members include everyone in the organization (Google Workspace's CUSTOMER
-- member, "all users in a domain"): kept as that meaning, a property of the list, never one
-- member row per recipient.

-- The mirror: the group's own flag, as the directory said it (nesting is followed when the
-- plan expands a list's members).
alter table directory_objects
    add column includes_everyone boolean not null default false;

-- The list account: its members include everyone (directly or through a nested group).
alter table accounts
    add column includes_everyone boolean not null default false;

-- What a run read: the flag of each staged list.
alter table sync_staging
    add column includes_everyone boolean not null default false;

-- For applying: the list's flag after an add or update (null: rows planned before this
-- migration, which leave it as it is).
alter table sync_run_changes
    add column new_includes_everyone boolean;
