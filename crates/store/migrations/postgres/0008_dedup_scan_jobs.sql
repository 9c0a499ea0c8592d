-- Duplicate scans run as background jobs (PostgreSQL). Keep in step with migrations/sqlite/0007_dedup_scan_jobs.sql.
-- phase: reading, comparing, writing, done. progress_done / progress_total count the current phase's units
-- (records read, blocks compared, pairs written). heartbeat_at moves while the job's process works on it: a running
-- scan whose heartbeat stopped belongs to a process that died, and is marked failed.
ALTER TABLE dedup_scans ADD COLUMN phase TEXT NOT NULL DEFAULT 'done';
ALTER TABLE dedup_scans ADD COLUMN progress_done BIGINT NOT NULL DEFAULT 0;
ALTER TABLE dedup_scans ADD COLUMN progress_total BIGINT NOT NULL DEFAULT 0;
ALTER TABLE dedup_scans ADD COLUMN heartbeat_at TIMESTAMPTZ;
UPDATE dedup_scans SET status = 'failed', error = 'interrupted before scans ran as jobs' WHERE status = 'running';
-- One running scan per object: a second start is refused by the database itself, on any number of instances.
CREATE UNIQUE INDEX dedup_scans_one_running ON dedup_scans(object) WHERE status = 'running';
