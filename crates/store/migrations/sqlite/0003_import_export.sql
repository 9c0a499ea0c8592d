-- Imports (SQLite). Keep in step with migrations/postgres/0003_import_export.sql.
-- An import is identified by its file's content hash: running the same file again resumes the job from its
-- checkpoint (`rows_done`, committed in the same transaction as each batch of records), so a killed import
-- finishes with no row lost or duplicated. `import_records` remembers what each import created or updated
-- (with the record as it was before) so that an import can be undone.

CREATE TABLE import_jobs (
    id BLOB PRIMARY KEY NOT NULL,
    object TEXT NOT NULL CHECK (object IN ('contact', 'company', 'product', 'order', 'activity')),
    file_name TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    mapping TEXT NOT NULL,
    policy TEXT NOT NULL CHECK (policy IN ('create_only', 'update_only', 'create_or_update')),
    match_key TEXT CHECK (match_key IN ('external_id', 'email', 'phone')),
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
CREATE INDEX import_jobs_hash ON import_jobs(created_by, object, content_hash);

CREATE TABLE import_errors (
    job_id BLOB NOT NULL REFERENCES import_jobs(id) ON DELETE CASCADE,
    line INTEGER NOT NULL,
    column_name TEXT,
    code TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX import_errors_job ON import_errors(job_id, line);

CREATE TABLE import_records (
    job_id BLOB NOT NULL REFERENCES import_jobs(id) ON DELETE CASCADE,
    record_id BLOB NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('created', 'updated')),
    -- The version the import left the record at: undo leaves records changed since then alone.
    version INTEGER NOT NULL,
    -- The record before an update (its API JSON), restored by undo.
    snapshot TEXT,
    PRIMARY KEY (job_id, record_id)
);

-- Ids of records in the system they were imported from (Salesforce Id, HubSpot Record ID, …), for matching.
CREATE TABLE external_ids (
    object TEXT NOT NULL,
    external_id TEXT NOT NULL,
    record_id BLOB NOT NULL,
    PRIMARY KEY (object, external_id)
);
CREATE INDEX external_ids_record ON external_ids(record_id);

CREATE TABLE import_mappings (
    id BLOB PRIMARY KEY NOT NULL,
    object TEXT NOT NULL,
    name TEXT NOT NULL,
    mapping TEXT NOT NULL,
    created_by BLOB REFERENCES users(id),
    created_at TEXT NOT NULL,
    UNIQUE (object, name)
);
