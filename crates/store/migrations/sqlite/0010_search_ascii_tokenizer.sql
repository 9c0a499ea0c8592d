-- The search tables take the app's tokens as they are: guanxi-text writes only runs of lowercase ASCII letters
-- and digits or runs of CJK ideographs, separated by spaces (see crates/text). FTS5's `ascii` tokenizer splits
-- such text exactly as `unicode61` did (non-ASCII characters are token characters to both), without looking up
-- the Unicode category of every character: that lookup was ~7 % of an import's writer thread. The tables are
-- made again empty; `search_index_state` going back to 0 makes the app re-tokenise them once at start.
DROP TABLE contact_fts;
DROP TABLE company_fts;
CREATE VIRTUAL TABLE contact_fts USING fts5(tokens, content='', contentless_delete=1, tokenize='ascii', prefix='2 3');
CREATE VIRTUAL TABLE company_fts USING fts5(tokens, content='', contentless_delete=1, tokenize='ascii', prefix='2 3');
INSERT INTO contact_fts(contact_fts, rank) VALUES ('automerge', 16);
INSERT INTO company_fts(company_fts, rank) VALUES ('automerge', 16);
UPDATE search_index_state SET version = 0;
