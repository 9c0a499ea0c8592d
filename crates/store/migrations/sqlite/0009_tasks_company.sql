-- Tasks by company: the company undo guard of imports and the cascade when a company is deleted look tasks up
-- by company, which scanned the whole table without this index.
CREATE INDEX tasks_company ON tasks(company_id);
