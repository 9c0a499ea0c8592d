-- Imports of companies, products, orders and activities (PostgreSQL). Keep in step with
-- migrations/sqlite/0007_import_objects.sql.
--
-- 1. Companies are matched on their name as the dedup engine compares it (`guanxi_dedup::company_key`: without
--    有限公司/Inc./city prefixes); the app writes the key with every company and fills it for existing ones at
--    start (search_index::bring_up_to_date).
-- 2. The match keys of the new record types: domain and name (companies), sku (products), number (orders).

ALTER TABLE companies ADD COLUMN name_key TEXT;
CREATE INDEX companies_name_key ON companies(name_key);

ALTER TABLE import_jobs DROP CONSTRAINT import_jobs_match_key_check;
ALTER TABLE import_jobs ADD CONSTRAINT import_jobs_match_key_check
    CHECK (match_key IN ('external_id', 'email', 'phone', 'domain', 'name', 'sku', 'number'));
