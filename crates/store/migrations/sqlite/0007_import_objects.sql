-- Imports of companies, products, orders and activities (SQLite). Keep in step with
-- migrations/postgres/0007_import_objects.sql.
--
-- 1. Companies are matched on their name as the dedup engine compares it (`guanxi_dedup::company_key`: without
--    有限公司/Inc./city prefixes); the app writes the key with every company and fills it for existing ones at
--    start (search_index::bring_up_to_date).
-- 2. The match keys of the new record types: domain and name (companies), sku (products), number (orders).
--    SQLite cannot change a CHECK in place, so the job tables are rebuilt. Children first into new tables that
--    point at the new job table, then the old ones dropped (children before the parent, so dropping the parent
--    cascades to nothing), then everything renamed back (which also renames the references).

ALTER TABLE companies ADD COLUMN name_key TEXT;
CREATE INDEX companies_name_key ON companies(name_key);

CREATE TABLE import_jobs_new (
    id BLOB PRIMARY KEY NOT NULL,
    object TEXT NOT NULL CHECK (object IN ('contact', 'company', 'product', 'order', 'activity')),
    file_name TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    mapping TEXT NOT NULL,
    policy TEXT NOT NULL CHECK (policy IN ('create_only', 'update_only', 'create_or_update')),
    match_key TEXT CHECK (match_key IN ('external_id', 'email', 'phone', 'domain', 'name', 'sku', 'number')),
    dry_run BOOLEAN NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'cancelling', 'cancelled', 'done', 'failed', 'undoing', 'undone')),
    rows_done INTEGER NOT NULL DEFAULT 0,
    -- rows_done when the current run started (rows per second count this run only).
    rows_at_start INTEGER NOT NULL DEFAULT 0,
    rows_created INTEGER NOT NULL DEFAULT 0,
    rows_updated INTEGER NOT NULL DEFAULT 0,
    rows_failed INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    created_by BLOB NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT
);
INSERT INTO import_jobs_new SELECT id, object, file_name, content_hash, mapping, policy, match_key, dry_run, status,
    rows_done, rows_at_start, rows_created, rows_updated, rows_failed, error, created_by, created_at, updated_at,
    started_at, finished_at FROM import_jobs;

CREATE TABLE import_errors_new (
    job_id BLOB NOT NULL REFERENCES import_jobs_new(id) ON DELETE CASCADE,
    line INTEGER NOT NULL,
    column_name TEXT,
    code TEXT NOT NULL,
    message TEXT NOT NULL
);
INSERT INTO import_errors_new SELECT job_id, line, column_name, code, message FROM import_errors;

CREATE TABLE import_records_new (
    job_id BLOB NOT NULL REFERENCES import_jobs_new(id) ON DELETE CASCADE,
    record_id BLOB NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('created', 'updated')),
    -- The version the import left the record at: undo leaves records changed since then alone.
    version INTEGER NOT NULL,
    -- The record before an update (its API JSON), restored by undo.
    snapshot TEXT,
    PRIMARY KEY (job_id, record_id)
);
INSERT INTO import_records_new SELECT job_id, record_id, action, version, snapshot FROM import_records;

DROP TABLE import_errors;
DROP TABLE import_records;
DROP TABLE import_jobs;
ALTER TABLE import_jobs_new RENAME TO import_jobs;
ALTER TABLE import_errors_new RENAME TO import_errors;
ALTER TABLE import_records_new RENAME TO import_records;
CREATE INDEX import_jobs_hash ON import_jobs(created_by, object, content_hash);
CREATE INDEX import_errors_job ON import_errors(job_id, line);
