-- Which version of the search tokens each search table holds (see search_index.rs, SEARCH_INDEX_VERSION). The app
-- re-tokenises a table at start when its version is older than the code's; rows start at 0, so an existing
-- database gets the current tokens once.
CREATE TABLE search_index_state (
    name TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);
INSERT INTO search_index_state (name, version) VALUES ('contacts', 0), ('companies', 0);
