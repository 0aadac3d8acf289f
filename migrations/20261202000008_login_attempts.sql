-- Sign-in throttling as one counter row per email typed (known or not, so it reveals nothing).
-- Each attempt bumps the counter in a single upsert BEFORE the password is checked, so parallel
-- attempts can't all slip past the limit; a successful sign-in deletes the row. The row is
-- forgotten at `expires_at`: the end of the window opened by its first attempt, or the end of
-- the lock-out once the limit was reached. It replaces login_failures and login_lockouts (an
-- email locked at the moment of the upgrade is unlocked by it).
create table login_attempts
(
    email      text primary key,
    attempts   integer     not null,
    expires_at timestamptz not null
);
create index login_attempts_expires_at on login_attempts (expires_at);

drop table login_failures;
drop table login_lockouts;
