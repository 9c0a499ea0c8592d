//! The two migration folders must describe the same schema: same tables, same columns, compatible types and
//! nullability. Only the search tables differ by design (FTS5 virtual table vs tsvector table).

use guanxi_store::testing::{TestBackend, TestDb};
use std::collections::BTreeMap;

type Schema = BTreeMap<String, BTreeMap<String, (String, bool)>>;

fn category(t: &str) -> String {
    let t = t.to_ascii_lowercase();
    match t.as_str() {
        "integer" | "bigint" | "int8" | "int4" => "int",
        "boolean" | "bool" => "bool",
        "blob" | "uuid" | "bytea" => "bytes",
        "text" | "jsonb" | "timestamp with time zone" | "date" => "text",
        "real" | "double precision" | "float8" => "float",
        other => return other.to_string(),
    }
    .to_string()
}

const BACKEND_SPECIFIC: &[&str] = &["contact_fts", "company_fts"];

async fn sqlite_schema(db: &guanxi_store::Db) -> Schema {
    let tables: Vec<(String,)> = db
        .fetch_all(db.sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '\\_sqlx%' ESCAPE '\\' AND name NOT LIKE '%fts%'",
        ))
        .await
        .unwrap();
    let mut out = Schema::new();
    for (t,) in tables {
        let mut sql = db.sql("SELECT name, type, \"notnull\", pk FROM pragma_table_info(");
        sql.bind(guanxi_store::sql::Arg::Text(t.clone())).push(")");
        let cols: Vec<(String, String, i64, i64)> = db.fetch_all(sql).await.unwrap();
        // SQLite lets a non-INTEGER primary key hold NULL unless declared NOT NULL; the `seq INTEGER PRIMARY KEY`
        // rowid alias never does.
        out.insert(t, cols.into_iter().map(|(n, ty, nn, pk)| (n, (category(&ty), nn == 1 || pk == 1))).collect());
    }
    out
}

async fn postgres_schema(db: &guanxi_store::Db) -> Schema {
    let cols: Vec<(String, String, String, String)> = db
        .fetch_all(db.sql(
            "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name NOT LIKE '\\_sqlx%' ESCAPE '\\' ORDER BY table_name, ordinal_position",
        ))
        .await
        .unwrap();
    let mut out = Schema::new();
    for (t, c, ty, nullable) in cols {
        if BACKEND_SPECIFIC.contains(&t.as_str()) {
            continue;
        }
        out.entry(t).or_default().insert(c, (category(&ty), nullable == "NO"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemas_match_across_backends() {
    let lite = TestDb::new(TestBackend::Sqlite).await.unwrap();
    let Some(pg) = TestDb::new(TestBackend::Postgres).await else { return };
    let a = sqlite_schema(&lite.db).await;
    let b = postgres_schema(&pg.db).await;
    assert!(a.len() >= 15, "expected the foundation tables, got {:?}", a.keys());
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>(), "same tables");
    for (table, cols) in &a {
        assert_eq!(cols, &b[table], "columns of {table} differ (name -> (type category, not null))");
    }
    lite.cleanup().await;
    pg.cleanup().await;
}

/// Several instances starting at once against one PostgreSQL database migrate it exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_migrations_are_safe_on_postgres() {
    let Some(pg) = TestDb::new(TestBackend::Postgres).await else { return };
    let mut handles = Vec::new();
    for _ in 0..4 {
        let db = pg.db.clone();
        handles.push(tokio::spawn(async move { db.migrate().await }));
    }
    for h in handles {
        h.await.unwrap().unwrap();
    }
    let n: i64 = pg.db.fetch_scalar(pg.db.sql("SELECT COUNT(*) FROM _sqlx_migrations")).await.unwrap();
    assert!(n >= 1);
    pg.cleanup().await;
}
