//! A small SQL text builder with numbered parameters, and the translation of the list filter model into SQL.
//!
//! sea-query would also do this, but list queries here need dialect-specific fragments (FTS5 vs tsvector, JSON
//! access) mixed with shared text; a 150-line builder whose every fragment is visible is easier to audit for
//! injection than a generic one. Only static fragments and validated identifiers are ever written as text;
//! every value is a bound parameter.

use crate::Dialect;
use chrono::{DateTime, NaiveDate, Utc};
use guanxi_core::custom_field::CustomFieldKind;
use guanxi_core::filter::{Condition, Cursor, FieldKind, FieldRef, FilterValue, ListQuery, Op};
use serde::Serialize;
use std::fmt::Write;
use uuid::Uuid;

/// A bound value.
#[derive(Debug, Clone)]
pub enum Arg {
    Text(String),
    I64(i64),
    F64(f64),
    Bool(bool),
    Uuid(Uuid),
    Date(NaiveDate),
    Ts(DateTime<Utc>),
    Bytes(Vec<u8>),
}

#[derive(Debug, Clone)]
pub struct Sql {
    pub text: String,
    pub args: Vec<Arg>,
    pub dialect: Dialect,
    /// Plan with the actual values on every run instead of caching a prepared statement. PostgreSQL switches a
    /// cached statement to a generic plan after five runs; for search conditions a generic plan cannot tell a rare
    /// token from a frequent one and may walk a whole table.
    pub plan_each_run: bool,
}

impl Sql {
    pub fn new(dialect: Dialect, text: &str) -> Sql {
        Sql { text: text.to_string(), args: Vec::new(), dialect, plan_each_run: false }
    }

    pub fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    /// Appends a placeholder for the value: `$N` on PostgreSQL, an anonymous `?` on SQLite. Values are always bound
    /// in the order their placeholders appear, so the two are equivalent; SQLite resolves each numbered parameter
    /// by a linear search of the statement's parameter names, which makes a 5,000-value multi-row INSERT spend
    /// most of its time in `sqlite3_bind_parameter_name`.
    pub fn bind(&mut self, a: Arg) -> &mut Self {
        self.args.push(a);
        match self.dialect {
            Dialect::Sqlite => self.text.push('?'),
            Dialect::Postgres => {
                let _ = write!(self.text, "${}", self.args.len());
            }
        }
        self
    }

    /// Appends ` FOR UPDATE` on PostgreSQL: the rows stay locked until the transaction commits. SQLite needs no
    /// lock: its single writer connection runs one write transaction at a time.
    pub fn for_update(&mut self) -> &mut Self {
        if self.dialect == Dialect::Postgres {
            self.push(" FOR UPDATE");
        }
        self
    }
}

/// Makes the sqlx query for a [`Sql`] with `$make` (e.g. `sqlx::query`) and binds every [`Arg`] (works for both drivers since the macro expands per backend).
#[macro_export]
macro_rules! bind_args {
    ($make:expr, $sql:expr) => {{
        let sql: $crate::sql::Sql = $sql;
        let mut q = $make(sqlx::AssertSqlSafe(sql.text)).persistent(!sql.plan_each_run);
        for a in sql.args {
            q = match a {
                $crate::sql::Arg::Text(v) => q.bind(v),
                $crate::sql::Arg::I64(v) => q.bind(v),
                $crate::sql::Arg::F64(v) => q.bind(v),
                $crate::sql::Arg::Bool(v) => q.bind(v),
                $crate::sql::Arg::Uuid(v) => q.bind(v),
                $crate::sql::Arg::Date(v) => q.bind(v),
                $crate::sql::Arg::Ts(v) => q.bind(v),
                $crate::sql::Arg::Bytes(v) => q.bind(v),
            };
        }
        q
    }};
}

/// One page of a list.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// Matching records; exact up to [`COUNT_CAP`], then `COUNT_CAP` with `total_is_estimate`.
    pub total: u64,
    pub total_is_estimate: bool,
}

/// Counting stops here so that a filtered count over a million rows stays fast; the UI shows "10,000+".
pub const COUNT_CAP: i64 = 10_000;

fn filter_value_arg(v: &FilterValue) -> Arg {
    match v {
        FilterValue::Text(s) => Arg::Text(s.clone()),
        FilterValue::Int(i) => Arg::I64(*i),
        FilterValue::Float(f) => Arg::F64(*f),
        FilterValue::Bool(b) => Arg::Bool(*b),
        FilterValue::Date(d) => Arg::Date(*d),
        FilterValue::Timestamp(t) => Arg::Ts(*t),
        FilterValue::Uuid(u) => Arg::Uuid(*u),
    }
}

/// Escapes `%`, `_` and `\` for a LIKE pattern with `ESCAPE '\'`.
fn like_pattern(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('%');
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// The SQL expression that reads a custom field. Keys are validated as `[a-z][a-z0-9_]*` when defined, so
/// they can be written into the text; the check is repeated here to keep the guarantee local.
fn custom_expr(dialect: Dialect, alias: &str, key: &str, kind: CustomFieldKind) -> String {
    let safe: String = key.chars().filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_').collect();
    match (dialect, kind) {
        (Dialect::Sqlite, CustomFieldKind::Money) => format!("json_extract({alias}.custom, '$.{safe}.amount_minor')"),
        (Dialect::Sqlite, _) => format!("json_extract({alias}.custom, '$.{safe}')"),
        (Dialect::Postgres, CustomFieldKind::Number) => format!("({alias}.custom->>'{safe}')::double precision"),
        (Dialect::Postgres, CustomFieldKind::Money) => format!("({alias}.custom->'{safe}'->>'amount_minor')::bigint"),
        (Dialect::Postgres, CustomFieldKind::Date) => format!("({alias}.custom->>'{safe}')::date"),
        (Dialect::Postgres, CustomFieldKind::Bool) => format!("({alias}.custom->>'{safe}')::boolean"),
        (Dialect::Postgres, _) => format!("({alias}.custom->>'{safe}')"),
    }
}

/// Appends `AND (...)` for each condition. `object` names the record type in `record_tags`.
pub fn push_conditions(sql: &mut Sql, alias: &str, object: &str, conditions: &[Condition]) {
    for c in conditions {
        sql.push(" AND (");
        push_condition(sql, alias, object, c);
        sql.push(")");
    }
}

fn push_condition(sql: &mut Sql, alias: &str, object: &str, c: &Condition) {
    let d = sql.dialect;
    let (expr, kind) = match &c.field {
        FieldRef::Builtin(spec) => (format!("{alias}.{}", spec.column), spec.kind),
        FieldRef::Custom { key, kind } => {
            let fk = match kind {
                CustomFieldKind::MultiSelect => FieldKind::Tags,
                CustomFieldKind::Number | CustomFieldKind::Money => FieldKind::Integer,
                CustomFieldKind::Date => FieldKind::Date,
                CustomFieldKind::Bool => FieldKind::Bool,
                _ => FieldKind::Text,
            };
            (custom_expr(d, alias, key, *kind), fk)
        }
    };
    let v = |i: usize| filter_value_arg(&c.values[i]);
    // Tags of the built-in `tags` column live in record_tags; multi-select custom fields in the JSON.
    let builtin_tags = matches!(&c.field, FieldRef::Builtin(s) if s.kind == FieldKind::Tags);
    match c.op {
        Op::Eq => {
            sql.push(&expr).push(" = ").bind(v(0));
        }
        Op::Ne => {
            sql.push("(").push(&expr).push(" IS NULL OR ").push(&expr).push(" <> ").bind(v(0)).push(")");
        }
        Op::Lt => {
            sql.push(&expr).push(" < ").bind(v(0));
        }
        Op::Gt => {
            sql.push(&expr).push(" > ").bind(v(0));
        }
        Op::Between => {
            sql.push(&expr).push(" >= ").bind(v(0)).push(" AND ").push(&expr).push(" <= ").bind(v(1));
        }
        Op::In => {
            sql.push(&expr).push(" IN (");
            for i in 0..c.values.len() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(v(i));
            }
            sql.push(")");
        }
        Op::Contains => {
            let pat = match &c.values[0] {
                FilterValue::Text(s) => like_pattern(s),
                other => like_pattern(&format!("{other:?}")),
            };
            let like = if d == Dialect::Postgres { " ILIKE " } else { " LIKE " };
            sql.push(&expr).push(like).bind(Arg::Text(pat)).push(" ESCAPE '\\'");
        }
        Op::IsEmpty => {
            let empty = matches!(c.values.first(), Some(FilterValue::Bool(true)));
            if builtin_tags {
                sql.push(if empty { "NOT EXISTS" } else { "EXISTS" });
                let _ = write!(
                    sql.text,
                    " (SELECT 1 FROM record_tags rt WHERE rt.object = '{object}' AND rt.record_id = {alias}.id)"
                );
            } else if kind == FieldKind::Text {
                if empty {
                    sql.push("(").push(&expr).push(" IS NULL OR ").push(&expr).push(" = '')");
                } else {
                    sql.push(&expr).push(" <> ''");
                }
            } else if empty {
                sql.push(&expr).push(" IS NULL");
            } else {
                sql.push(&expr).push(" IS NOT NULL");
            }
        }
        Op::HasTag => {
            if builtin_tags {
                let _ = write!(
                    sql.text,
                    "EXISTS (SELECT 1 FROM record_tags rt WHERE rt.object = '{object}' AND rt.record_id = {alias}.id AND rt.tag = "
                );
                sql.bind(v(0)).push(")");
            } else if let FieldRef::Custom { key, .. } = &c.field {
                let safe: String =
                    key.chars().filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_').collect();
                match d {
                    Dialect::Sqlite => {
                        let _ = write!(
                            sql.text,
                            "EXISTS (SELECT 1 FROM json_each({alias}.custom, '$.{safe}') je WHERE je.value = "
                        );
                        sql.bind(v(0)).push(")");
                    }
                    Dialect::Postgres => {
                        let _ = write!(sql.text, "jsonb_exists({alias}.custom->'{safe}', ");
                        sql.bind(v(0)).push(")");
                    }
                }
            }
        }
    }
}

/// The sort expression for keyset paging. Nullable columns are coalesced so both backends order NULLs alike, and
/// text uses byte order (`COLLATE "C"` on PostgreSQL = SQLite's BINARY) so pages match across backends.
pub struct SortSpec {
    pub expr: String,
    pub kind: FieldKind,
    pub descending: bool,
}

pub fn sort_spec(dialect: Dialect, alias: &str, q: &ListQuery) -> Option<SortSpec> {
    let s = q.sort.as_ref()?;
    let col = format!("{alias}.{}", s.field.column);
    let expr = match (s.field.kind, dialect) {
        (FieldKind::Text | FieldKind::Enum(_), Dialect::Sqlite) => format!("COALESCE({col}, '')"),
        (FieldKind::Text | FieldKind::Enum(_), Dialect::Postgres) => format!("COALESCE({col}, '') COLLATE \"C\""),
        (FieldKind::Date, Dialect::Sqlite) => format!("COALESCE({col}, '0001-01-01')"),
        (FieldKind::Date, Dialect::Postgres) => format!("COALESCE({col}, DATE '0001-01-01')"),
        (FieldKind::Integer, _) => format!("COALESCE({col}, 0)"),
        _ => col,
    };
    Some(SortSpec { expr, kind: s.field.kind, descending: s.descending })
}

/// Appends the keyset condition that starts after `cursor` and the ORDER BY clause; default order is newest first.
pub fn push_keyset_and_order(
    sql: &mut Sql,
    alias: &str,
    sort: Option<&SortSpec>,
    cursor: Option<&Cursor>,
) -> Result<(), crate::StoreError> {
    match sort {
        None => {
            if let Some(c) = cursor {
                let _ = write!(sql.text, " AND {alias}.id < ");
                sql.bind(Arg::Uuid(c.id));
            }
            let _ = write!(sql.text, " ORDER BY {alias}.id DESC");
        }
        Some(s) => {
            let cmp = if s.descending { "<" } else { ">" };
            if let Some(c) = cursor {
                let v = cursor_arg(s.kind, &c.sort_value).ok_or_else(crate::contacts::invalid_cursor)?;
                let _ = write!(sql.text, " AND ({} {cmp} ", s.expr);
                sql.bind(v.clone());
                let _ = write!(sql.text, " OR ({} = ", s.expr);
                sql.bind(v);
                let _ = write!(sql.text, " AND {alias}.id {cmp} ");
                sql.bind(Arg::Uuid(c.id)).push("))");
            }
            let dir = if s.descending { "DESC" } else { "ASC" };
            let _ = write!(sql.text, " ORDER BY {} {dir}, {alias}.id {dir}", s.expr);
        }
    }
    Ok(())
}

fn cursor_arg(kind: FieldKind, v: &serde_json::Value) -> Option<Arg> {
    Some(match kind {
        FieldKind::Text | FieldKind::Enum(_) => Arg::Text(v.as_str()?.to_string()),
        FieldKind::Integer => Arg::I64(v.as_i64()?),
        FieldKind::Date => Arg::Date(NaiveDate::parse_from_str(v.as_str()?, "%Y-%m-%d").ok()?),
        FieldKind::Timestamp => Arg::Ts(DateTime::parse_from_rfc3339(v.as_str()?).ok()?.with_timezone(&Utc)),
        FieldKind::Bool => Arg::Bool(v.as_bool()?),
        FieldKind::Uuid => Arg::Uuid(Uuid::parse_str(v.as_str()?).ok()?),
        FieldKind::Tags => return None,
    })
}
