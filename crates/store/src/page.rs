//! The one list query every record type runs: rows matching a filter, in keyset order after a cursor, plus the
//! capped total.

use crate::db::BothRow;
use crate::sql::{Page, SortSpec, Sql, push_keyset_and_order};
use crate::sqlite_read::FromSqliteRow;
use crate::{Db, Result};
use guanxi_core::filter::{Cursor, ListQuery};
use serde_json::Value;
use uuid::Uuid;

/// `filter` holds the visibility and list conditions for rows aliased `c` of `table`; `convert` turns a row into
/// the item returned and `cursor_of` gives an item's sort value and id for the next page's cursor.
// The arguments are the parts of one query; a struct holding them would only be built here and unpacked below.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn fetch_page<R: BothRow + FromSqliteRow, T>(
    db: &Db,
    table: &str,
    columns: &str,
    filter: Sql,
    sort: Option<&SortSpec>,
    q: &ListQuery,
    convert: impl Fn(R) -> T,
    cursor_of: impl Fn(&T) -> (Value, Uuid),
) -> Result<Page<T>> {
    let mut sql = db.sql(&format!("SELECT {columns} FROM {table} c WHERE 1 = 1"));
    sql.push(&filter.text);
    sql.args = filter.args.clone();
    push_keyset_and_order(&mut sql, "c", sort, q.cursor.as_ref())?;
    sql.push(&format!(" LIMIT {}", q.limit + 1));
    let rows: Vec<R> = db.read_all(sql).await?;
    let mut items: Vec<T> = rows.into_iter().map(convert).collect();
    let next_cursor = if items.len() > q.limit as usize {
        items.truncate(q.limit as usize);
        items.last().map(|last| {
            let (sort_value, id) = cursor_of(last);
            Cursor { sort_value, id }.encode()
        })
    } else {
        None
    };
    let (total, total_is_estimate) = crate::contacts::count(db, table, filter).await?;
    Ok(Page { items, next_cursor, total, total_is_estimate })
}
