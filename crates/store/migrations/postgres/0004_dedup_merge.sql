-- Duplicate detection and reversible merges (PostgreSQL). Keep in step with migrations/sqlite/0004_dedup_merge.sql:
-- the test `schemas_match_across_backends` compares the two.
-- Record ids in these tables carry no foreign keys on purpose: a merge deletes the merged-away record and an
-- undo brings it back with the same id, and the log and the candidate list must survive both.

-- One run of the duplicate scan over all contacts or all companies.
CREATE TABLE dedup_scans (
    id UUID PRIMARY KEY NOT NULL,
    object TEXT NOT NULL CHECK (object IN ('contact', 'company')),
    status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
    started_by UUID REFERENCES users(id),
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
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
    id UUID PRIMARY KEY NOT NULL,
    object TEXT NOT NULL CHECK (object IN ('contact', 'company')),
    record_a UUID NOT NULL,
    record_b UUID NOT NULL,
    score BIGINT NOT NULL,
    reasons JSONB NOT NULL DEFAULT '[]',
    status TEXT NOT NULL CHECK (status IN ('open', 'dismissed', 'merged')),
    scan_id UUID,
    decided_by UUID REFERENCES users(id),
    decided_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (object, record_a, record_b)
);
CREATE INDEX dedup_candidates_list ON dedup_candidates(object, status, score, id);
CREATE INDEX dedup_candidates_b ON dedup_candidates(object, record_b);

-- The merge log: enough to undo a merge exactly. survivor_before and merged_record are the full records as
-- JSON before the merge; survivor_version is the survivor's version right after it (undo refuses when the
-- survivor has moved on); moved lists the ids of every link that moved, per table, and the merged record's
-- analytics row when the survivor kept its own.
CREATE TABLE merges (
    id UUID PRIMARY KEY NOT NULL,
    object TEXT NOT NULL CHECK (object IN ('contact', 'company')),
    survivor_id UUID NOT NULL,
    merged_id UUID NOT NULL,
    candidate_id UUID,
    merged_by UUID REFERENCES users(id),
    merged_at TIMESTAMPTZ NOT NULL,
    fields JSONB NOT NULL DEFAULT '{}',
    survivor_before JSONB NOT NULL,
    survivor_version BIGINT NOT NULL,
    merged_record JSONB NOT NULL,
    moved JSONB NOT NULL DEFAULT '{}',
    undone_by UUID REFERENCES users(id),
    undone_at TIMESTAMPTZ
);
CREATE INDEX merges_survivor ON merges(survivor_id, merged_at);
CREATE INDEX merges_merged ON merges(merged_id);
