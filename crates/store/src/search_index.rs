//! The search side of contacts and companies: which tokens a record is indexed under, and the SQL fragment that
//! restricts a query to the records matching a search text. Tokens come from `guanxi-text`, the same code on
//! both backends, so both find the same records.

use crate::Dialect;
use crate::sql::{Arg, Sql};
use guanxi_text::SearchQuery;

/// Appends ` AND <alias>.seq IN (<records matching q>)`; returns false (appending nothing) when the text has no
/// searchable token, in which case the caller returns no results.
pub fn push_match(sql: &mut Sql, alias: &str, table: &str, q: &SearchQuery) -> bool {
    match sql.dialect {
        Dialect::Sqlite => {
            let Some(expr) = guanxi_text::fts5_match_expr(q) else { return false };
            sql.push(&format!(" AND {alias}.seq IN (SELECT rowid FROM {table} WHERE {table} MATCH "));
            sql.bind(Arg::Text(expr)).push(")");
        }
        Dialect::Postgres => {
            let Some(expr) = guanxi_text::pg_tsquery(q) else { return false };
            sql.push(&format!(" AND {alias}.seq IN (SELECT seq FROM {table} WHERE tokens @@ "));
            sql.bind(Arg::Text(expr)).push("::tsquery)");
            // Whether to start from the matches or walk the sort order depends on how frequent the tokens are,
            // which only a plan made with the actual query can see (see `Sql::plan_each_run`).
            sql.plan_each_run = true;
        }
    }
    true
}

/// `SELECT <columns> FROM <matches> JOIN <table> c ... WHERE <match>` driven by the search index, so a query
/// reads only matching rows (never a scan of the main table probing the match set), in index order; the caller
/// appends the visibility condition and then [`push_candidate_order`]. None when the text has no token.
pub fn candidates_sql(dialect: Dialect, columns: &str, table: &str, fts: &str, q: &SearchQuery) -> Option<Sql> {
    match dialect {
        Dialect::Sqlite => {
            let expr = guanxi_text::fts5_match_expr(q)?;
            // CROSS JOIN makes SQLite keep the FTS table as the outer loop.
            let mut sql = Sql::new(
                dialect,
                &format!("SELECT {columns} FROM {fts} CROSS JOIN {table} c ON c.seq = {fts}.rowid WHERE {fts} MATCH "),
            );
            sql.bind(Arg::Text(expr));
            Some(sql)
        }
        Dialect::Postgres => {
            let expr = guanxi_text::pg_tsquery(q)?;
            // The matches, sorted, drive a nested loop of primary-key lookups that stops at the LIMIT. The LATERAL
            // subquery with OFFSET 0 cannot be flattened, so even a generic plan (sqlx prepares statements, and
            // PostgreSQL switches to a generic plan after five runs) cannot turn this into a merge join that walks
            // the whole table in seq order — that plan read every row for a rare token (seconds at 1M).
            let mut sql = Sql::new(dialect, &format!("SELECT {columns} FROM (SELECT seq FROM {fts} WHERE tokens @@ "));
            sql.bind(Arg::Text(expr));
            sql.push(&format!(
                "::tsquery ORDER BY seq) f CROSS JOIN LATERAL \
                 (SELECT * FROM {table} WHERE {table}.seq = f.seq OFFSET 0) c WHERE 1 = 1"
            ));
            sql.plan_each_run = true;
            Some(sql)
        }
    }
}

/// Orders candidates by the index key (creation order) and bounds them.
pub fn push_candidate_order(sql: &mut Sql, fts: &str, limit: usize) {
    match sql.dialect {
        Dialect::Sqlite => sql.push(&format!(" ORDER BY {fts}.rowid LIMIT {limit}")),
        Dialect::Postgres => sql.push(&format!(" ORDER BY f.seq LIMIT {limit}")),
    };
}

/// Deletes a contact or company that the caller may change (at `expected_version` when given) together with its
/// tags and search tokens, in one transaction. `Ok(false)` when nothing matched; the caller says why.
pub(crate) async fn delete_tagged_record(
    db: &crate::Db,
    actor: &guanxi_core::access::Actor,
    table: crate::db::SearchTable,
    id: uuid::Uuid,
    expected_version: Option<i64>,
) -> crate::Result<bool> {
    let (name, object) = match table {
        crate::db::SearchTable::Contacts => ("contacts", "contact"),
        crate::db::SearchTable::Companies => ("companies", "company"),
    };
    let mut tx = db.begin().await?;
    let mut sql = tx.sql(&format!("DELETE FROM {name} WHERE id = "));
    sql.bind(Arg::Uuid(id));
    if let Some(v) = expected_version {
        sql.push(" AND version = ").bind(Arg::I64(v));
    }
    crate::scope::push_changeable(&mut sql, name, actor);
    sql.push(" RETURNING seq");
    let Some(seq) = tx.fetch_scalar::<i64>(sql).await? else { return Ok(false) };
    let mut del = tx.sql(&format!("DELETE FROM record_tags WHERE object = '{object}' AND record_id = "));
    del.bind(Arg::Uuid(id));
    tx.execute(del).await?;
    tx.delete_search_tokens(table, seq).await?;
    tx.commit().await?;
    Ok(true)
}

/// The searchable text of a contact (stored or about to be), in one place for inserts, updates and rebuilds.
pub(crate) struct ContactText<'a> {
    pub display_name: &'a str,
    pub family_name: Option<&'a str>,
    pub given_name: Option<&'a str>,
    pub emails: &'a [&'a str],
    pub phones: &'a [&'a str],
    pub company_name: Option<&'a str>,
    pub job_title: Option<&'a str>,
    pub city: Option<&'a str>,
}

impl ContactText<'_> {
    pub(crate) fn tokens(&self) -> Vec<String> {
        let names: Vec<&str> =
            std::iter::once(self.display_name).chain(self.family_name).chain(self.given_name).collect();
        // The company's name is `other` here (pairs only): on the company's own record it is a name.
        let other: Vec<&str> = self.company_name.into_iter().chain(self.job_title).chain(self.city).collect();
        let doc = guanxi_text::SearchDoc { names: &names, emails: self.emails, phones: self.phones, other: &other };
        guanxi_text::index_tokens(&doc)
    }
}

pub(crate) fn company_tokens(
    name: &str,
    domain: Option<&str>,
    industry: Option<&str>,
    city: Option<&str>,
) -> Vec<String> {
    let other: Vec<&str> = domain.into_iter().chain(industry).chain(city).collect();
    guanxi_text::index_tokens(&guanxi_text::SearchDoc { names: &[name], emails: &[], phones: &[], other: &other })
}

/// Version of the tokens the code writes. Bump it whenever `guanxi-text` or the text fed to it changes what a
/// record is indexed under; [`bring_up_to_date`] then rebuilds the index once at start.
/// 1: the first tokens; 2: one reversed-number token per phone, a contact's company and city by pairs only.
pub(crate) const SEARCH_INDEX_VERSION: i64 = 2;

/// Records re-tokenised per transaction during a rebuild.
const REBUILD_BATCH: i64 = 2_000;

/// Rebuilds the search tokens of contacts and companies when they were written by an older version of the code
/// (see [`SEARCH_INDEX_VERSION`]). Each table is cleared and refilled in batches; the version is recorded last, so
/// an interrupted rebuild starts over on the next start. On PostgreSQL an advisory lock makes one of several
/// instances starting together do it while the others wait.
pub(crate) async fn bring_up_to_date(db: &crate::Db) -> crate::Result<()> {
    let lock = match &db.backend {
        crate::Backend::Postgres(pool) => {
            let mut conn = pool.acquire().await?;
            sqlx::query("SELECT pg_advisory_lock(7715001)").execute(&mut *conn).await?;
            Some(AdvisoryLock(Some(conn)))
        }
        crate::Backend::Sqlite { .. } => None,
    };
    for (name, table) in
        [("contacts", crate::db::SearchTable::Contacts), ("companies", crate::db::SearchTable::Companies)]
    {
        let mut sql = db.sql("SELECT version FROM search_index_state WHERE name = ");
        sql.bind(Arg::Text(name.into()));
        let version: Option<i64> = db.fetch_optional::<(i64,)>(sql).await?.map(|r| r.0);
        if version == Some(SEARCH_INDEX_VERSION) {
            continue;
        }
        let started = std::time::Instant::now();
        let records = rebuild(db, table).await?;
        let mut tx = db.begin().await?;
        let mut del = tx.sql("DELETE FROM search_index_state WHERE name = ");
        del.bind(Arg::Text(name.into()));
        tx.execute(del).await?;
        let mut ins = tx.sql("INSERT INTO search_index_state (name, version) VALUES (");
        ins.bind(Arg::Text(name.into())).push(", ").bind(Arg::I64(SEARCH_INDEX_VERSION)).push(")");
        tx.execute(ins).await?;
        tx.commit().await?;
        tracing::info!(table = name, records, elapsed = ?started.elapsed(), "search index rebuilt");
    }
    if let Some(mut lock) = lock {
        lock.release().await?;
    }
    Ok(())
}

/// Holds a session advisory lock on its own connection; closing the connection (also on error) releases it.
struct AdvisoryLock(Option<sqlx::pool::PoolConnection<sqlx::Postgres>>);

impl AdvisoryLock {
    async fn release(&mut self) -> crate::Result<()> {
        if let Some(mut conn) = self.0.take() {
            sqlx::query("SELECT pg_advisory_unlock(7715001)").execute(&mut *conn).await?;
        }
        Ok(())
    }
}

impl Drop for AdvisoryLock {
    fn drop(&mut self) {
        // Released early by an error: never hand a connection that still holds the lock back to the pool.
        if let Some(conn) = self.0.take() {
            drop(conn.detach());
        }
    }
}

#[derive(sqlx::FromRow)]
struct ContactTextRow {
    seq: i64,
    display_name: String,
    family_name: Option<String>,
    given_name: Option<String>,
    emails: sqlx::types::Json<Vec<guanxi_core::contact::EmailEntry>>,
    phones: sqlx::types::Json<Vec<guanxi_core::contact::PhoneEntry>>,
    company_name: Option<String>,
    job_title: Option<String>,
    address_city: Option<String>,
}

#[derive(sqlx::FromRow)]
struct CompanyTextRow {
    seq: i64,
    name: String,
    domain: Option<String>,
    industry: Option<String>,
    address_city: Option<String>,
}

/// Clears one search table and re-tokenises every record into it; returns how many records were indexed.
async fn rebuild(db: &crate::Db, table: crate::db::SearchTable) -> crate::Result<u64> {
    let mut tx = db.begin().await?;
    let clear = match (db.dialect(), table) {
        (Dialect::Sqlite, crate::db::SearchTable::Contacts) => {
            "INSERT INTO contact_fts(contact_fts) VALUES ('delete-all')"
        }
        (Dialect::Sqlite, crate::db::SearchTable::Companies) => {
            "INSERT INTO company_fts(company_fts) VALUES ('delete-all')"
        }
        (Dialect::Postgres, crate::db::SearchTable::Contacts) => "TRUNCATE contact_fts",
        (Dialect::Postgres, crate::db::SearchTable::Companies) => "TRUNCATE company_fts",
    };
    tx.execute(tx.sql(clear)).await?;
    tx.commit().await?;
    let mut after = 0i64;
    let mut records = 0u64;
    loop {
        let rows: Vec<(i64, Vec<String>)> = match table {
            crate::db::SearchTable::Contacts => {
                let mut sql = db.sql(
                    "SELECT c.seq, c.display_name, c.family_name, c.given_name, c.emails, c.phones, \
                     co.name AS company_name, c.job_title, c.address_city \
                     FROM contacts c LEFT JOIN companies co ON co.id = c.company_id WHERE c.seq > ",
                );
                sql.bind(Arg::I64(after)).push(" ORDER BY c.seq LIMIT ").bind(Arg::I64(REBUILD_BATCH));
                let rows: Vec<ContactTextRow> = db.fetch_all(sql).await?;
                rows.iter()
                    .map(|r| {
                        let emails: Vec<&str> = r.emails.0.iter().map(|e| e.address.as_str()).collect();
                        let phones: Vec<&str> = r.phones.0.iter().map(|p| p.number.as_str()).collect();
                        let text = ContactText {
                            display_name: &r.display_name,
                            family_name: r.family_name.as_deref(),
                            given_name: r.given_name.as_deref(),
                            emails: &emails,
                            phones: &phones,
                            company_name: r.company_name.as_deref(),
                            job_title: r.job_title.as_deref(),
                            city: r.address_city.as_deref(),
                        };
                        (r.seq, text.tokens())
                    })
                    .collect()
            }
            crate::db::SearchTable::Companies => {
                let mut sql = db.sql("SELECT seq, name, domain, industry, address_city FROM companies WHERE seq > ");
                sql.bind(Arg::I64(after)).push(" ORDER BY seq LIMIT ").bind(Arg::I64(REBUILD_BATCH));
                let rows: Vec<CompanyTextRow> = db.fetch_all(sql).await?;
                rows.iter()
                    .map(|r| {
                        let tokens = company_tokens(
                            &r.name,
                            r.domain.as_deref(),
                            r.industry.as_deref(),
                            r.address_city.as_deref(),
                        );
                        (r.seq, tokens)
                    })
                    .collect()
            }
        };
        let Some(last) = rows.last().map(|r| r.0) else { break };
        let mut tx = db.begin().await?;
        tx.insert_search_tokens(table, &rows).await?;
        tx.commit().await?;
        after = last;
        records += rows.len() as u64;
    }
    Ok(records)
}
