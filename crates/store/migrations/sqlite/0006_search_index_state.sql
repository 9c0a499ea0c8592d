-- Which version of the search tokens each search table holds (see search_index.rs, SEARCH_INDEX_VERSION). The app
-- re-tokenises a table at start when its version is older than the code's; rows start at 0, so an existing
-- database gets the current tokens once.
CREATE TABLE search_index_state (
    name TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);
INSERT INTO search_index_state (name, version) VALUES ('contacts', 0), ('companies', 0);

-- Merge FTS5 segments less eagerly while writing (16 segments per level instead of 4): bulk loads measured 1.7x
-- faster at the same query speed (docs/benchmarks.md).
INSERT INTO contact_fts(contact_fts, rank) VALUES ('automerge', 16);
INSERT INTO company_fts(company_fts, rank) VALUES ('automerge', 16);
