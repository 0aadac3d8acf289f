-- A running run belongs to the worker process that claimed it for as long as that worker renews
-- its lease (a heartbeat every quarter of ROSTER_RUN_LEASE_SECS). Every statement that ends a
-- run or applies its changes matches only while the lease is this worker's; a lease that
-- expired (its worker died) is ended as failed by the sweep that every instance runs.
alter table sync_runs
    add column lease_owner      text,
    add column lease_expires_at timestamptz;

-- The sweep looks for running runs whose lease expired.
create index sync_runs_lease_expiry on sync_runs (lease_expires_at) where status = 'running';
