-- SQLite's search tables changed tokenizer in this migration; PostgreSQL stores the app's tokens as a tsvector
-- without any parser, so nothing changes here. The file keeps both backends' migration numbers in step.
SELECT 1;
