-- A user Google Workspace archived: Google still accepts its mail (unlike a suspended user's),
-- so it stays an enabled recipient, marked archived.

-- The mirror: the user's flag, as the directory said it.
alter table directory_objects
    add column archived boolean not null default false;

-- The account: archived in Google Workspace.
alter table accounts
    add column archived boolean not null default false;

-- What a run read: the flag of each staged account.
alter table sync_staging
    add column archived boolean not null default false;

-- For applying: the account's flag after an add or update (null: rows planned before this
-- migration, which leave it as it is).
alter table sync_run_changes
    add column new_archived boolean;
