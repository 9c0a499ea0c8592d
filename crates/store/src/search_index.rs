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
