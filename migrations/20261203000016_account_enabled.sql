-- Disabled directory accounts (Microsoft 365 `accountEnabled: false`, AD `userAccountControl`
-- bit 2) stay recipients — a disabled shared or room mailbox still receives mail — and are
-- shown as disabled. Manual accounts are always enabled.
alter table accounts
    add column enabled boolean not null default true;

-- What a run read: the directory's flag for each staged account.
alter table sync_staging
    add column enabled boolean not null default true;

-- For applying: the account's flag after an add or update (null: rows planned before this
-- migration, which leave it as it is).
alter table sync_run_changes
    add column new_enabled boolean;

-- Accounts synced so far are all marked enabled: the next plan of every domain covers every
-- mirrored object (as when its rules change), so the disabled ones are marked then.
update directory_sync_state set rules_fingerprint = '';
