-- What a run's plan was made against: a digest of the domain's synced recipients (accounts,
-- addresses, list members) read in the plan's snapshot. "Apply these changes" recomputes it
-- and refuses when the recipients changed since.
alter table sync_runs add column recipients_fingerprint text;
