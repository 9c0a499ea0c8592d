-- Saved list views of the web UI (SQLite). Keep in step with migrations/postgres/0005_web_views.sql: the test
-- `schemas_match_across_backends` compares the two.
-- A view is a name plus the list page's query string (filters, sort, columns). Personal views are seen by their
-- owner only; shared ones by everyone (the records listed are still scoped by each viewer's permissions).

CREATE TABLE saved_views (
    id BLOB PRIMARY KEY NOT NULL,
    owner_id BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    object TEXT NOT NULL,
    name TEXT NOT NULL,
    query TEXT NOT NULL,
    shared BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TEXT NOT NULL,
    UNIQUE (owner_id, object, name)
);
CREATE INDEX saved_views_object ON saved_views(object, shared);
