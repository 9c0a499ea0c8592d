-- Duplicate detection and reversible merges (SQLite). Keep in step with migrations/postgres/0004_dedup_merge.sql:
-- the test `schemas_match_across_backends` compares the two.
-- Record ids in these tables carry no foreign keys on purpose: a merge deletes the merged-away record and an
-- undo brings it back with the same id, and the log and the candidate list must survive both.

-- One run of the duplicate scan over all contacts or all companies.
CREATE TABLE dedup_scans (
    id BLOB PRIMARY KEY NOT NULL,
    object TEXT NOT NULL CHECK (object IN ('contact', 'company')),
    status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
    started_by BLOB REFERENCES users(id),
    started_at TEXT NOT NULL,
    finished_at TEXT,
    records BIGINT NOT NULL DEFAULT 0,
    compared BIGINT NOT NULL DEFAULT 0,
    pairs BIGINT NOT NULL DEFAULT 0,
    oversized_blocks BIGINT NOT NULL DEFAULT 0,
    duration_ms BIGINT,
    error TEXT
);
CREATE INDEX dedup_scans_started ON dedup_scans(object, started_at);

-- A pair of records that are probably one customer; record_a < record_b (byte order of the ids).
-- Reasons are a JSON array of {code, ...values}. Dismissed and merged pairs are kept so that a new scan does
-- not offer them again.
CREATE TABLE dedup_candidates (
    id BLOB PRIMARY KEY NOT NULL,
    object TEXT NOT NULL CHECK (object IN ('contact', 'company')),
    record_a BLOB NOT NULL,
    record_b BLOB NOT NULL,
    score BIGINT NOT NULL,
    reasons TEXT NOT NULL DEFAULT '[]',
    status TEXT NOT NULL CHECK (status IN ('open', 'dismissed', 'merged')),
    scan_id BLOB,
    decided_by BLOB REFERENCES users(id),
    decided_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (object, record_a, record_b)
);
CREATE INDEX dedup_candidates_list ON dedup_candidates(object, status, score, id);
CREATE INDEX dedup_candidates_b ON dedup_candidates(object, record_b);

-- The merge log: enough to undo a merge exactly. survivor_before and merged_record are the full records as
-- JSON before the merge; survivor_version is the survivor's version right after it (undo refuses when the
-- survivor has moved on); moved lists the ids of every link that moved, per table, and the merged record's
-- analytics row when the survivor kept its own.
CREATE TABLE merges (
    id BLOB PRIMARY KEY NOT NULL,
    object TEXT NOT NULL CHECK (object IN ('contact', 'company')),
    survivor_id BLOB NOT NULL,
    merged_id BLOB NOT NULL,
    candidate_id BLOB,
    merged_by BLOB REFERENCES users(id),
    merged_at TEXT NOT NULL,
    fields TEXT NOT NULL DEFAULT '{}',
    survivor_before TEXT NOT NULL,
    survivor_version BIGINT NOT NULL,
    merged_record TEXT NOT NULL,
    moved TEXT NOT NULL DEFAULT '{}',
    undone_by BLOB REFERENCES users(id),
    undone_at TEXT
);
CREATE INDEX merges_survivor ON merges(survivor_id, merged_at);
CREATE INDEX merges_merged ON merges(merged_id);
