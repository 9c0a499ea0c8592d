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
            // MATERIALIZED keeps the planner from walking the whole index in seq order to satisfy ORDER BY ... LIMIT:
            // it cannot tell how rare a token is, and for a rare one that meant reading every row (12 s at 1M).
            let mut sql = Sql::new(dialect, &format!("WITH f AS MATERIALIZED (SELECT seq FROM {fts} WHERE tokens @@ "));
            sql.bind(Arg::Text(expr));
            sql.push(&format!("::tsquery) SELECT {columns} FROM f JOIN {table} c ON c.seq = f.seq WHERE 1 = 1"));
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
