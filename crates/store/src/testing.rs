//! Test databases: a fresh, migrated database per test on either backend.
//!
//! SQLite: a file in a temporary directory. PostgreSQL (at `GUANXI_TEST_PG`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`): a new database copied from a migrated template, which is
//! built once per migration set (its name carries a hash of the migration files) under an advisory lock, so
//! parallel test processes neither race nor repeat the migration. When `CI` or `GUANXI_REQUIRE_PG` is set PostgreSQL must be reachable;
//! elsewhere its tests are skipped with a message when it is not.

use crate::{Db, DbConfig};
use sqlx::{Connection, Executor, PgConnection};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    Sqlite,
    Postgres,
}

/// A test database; dropping it removes the SQLite directory. PostgreSQL databases are removed by
/// [`TestDb::cleanup`] (tests call it at the end) or by the next run of `scripts/test`.
pub struct TestDb {
    pub db: Db,
    pub backend: TestBackend,
    pg_name: Option<String>,
    _dir: Option<TempDir>,
}

/// A directory removed on drop (std has none; a crate for 10 lines is not worth it).
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("{prefix}-{}", uuid::Uuid::now_v7()));
        let _ = std::fs::create_dir_all(&p);
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn pg_admin_url() -> String {
    std::env::var("GUANXI_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

fn pg_url_for(db_name: &str) -> String {
    let admin = pg_admin_url();
    match admin.rfind('/') {
        Some(i) if i > "postgres://".len() => format!("{}/{db_name}", &admin[..i]),
        _ => format!("{admin}/{db_name}"),
    }
}

/// Whether PostgreSQL tests should run: always in CI (where a missing server is a failure), else when reachable.
pub async fn postgres_available() -> bool {
    if std::env::var_os("CI").is_some() || std::env::var_os("GUANXI_REQUIRE_PG").is_some() {
        return true;
    }
    PgConnection::connect(&pg_admin_url()).await.is_ok()
}

fn migrations_hash() -> String {
    // FNV-1a over the embedded migration files: a new migration gives a new template.
    let mut h: u64 = 0xcbf29ce484222325;
    for m in sqlx::migrate!("migrations/postgres").iter() {
        for b in m.sql.as_ref().as_bytes().iter().chain(m.description.as_bytes()) {
            h ^= *b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    format!("{h:016x}")
}

async fn ensure_pg_template() -> String {
    let name = format!("gx_tpl_{}", migrations_hash());
    let mut admin =
        PgConnection::connect(&pg_admin_url()).await.expect("PostgreSQL must be reachable (GUANXI_TEST_PG)");
    admin.execute("SELECT pg_advisory_lock(727272)").await.expect("advisory lock");
    let exists: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_optional(&mut admin)
        .await
        .expect("query");
    if exists.is_none() {
        let building = format!("{name}_building");
        admin.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {building}"))).await.expect("drop");
        admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {building}"))).await.expect("create template");
        let db =
            Db::connect(&DbConfig::Postgres { url: pg_url_for(&building), max_connections: 2 }).await.expect("connect");
        db.migrate().await.expect("migrate template");
        db.close().await;
        admin
            .execute(sqlx::AssertSqlSafe(format!("ALTER DATABASE {building} RENAME TO {name}")))
            .await
            .expect("rename");
    }
    admin.execute("SELECT pg_advisory_unlock(727272)").await.expect("unlock");
    name
}

impl TestDb {
    /// None when PostgreSQL was asked for but is not available outside CI.
    pub async fn new(backend: TestBackend) -> Option<TestDb> {
        match backend {
            TestBackend::Sqlite => {
                let dir = TempDir::new("guanxi-test");
                let db = Db::connect(&DbConfig::Sqlite { path: dir.0.join("guanxi.db") }).await.expect("open sqlite");
                db.migrate().await.expect("migrate sqlite");
                Some(TestDb { db, backend, pg_name: None, _dir: Some(dir) })
            }
            TestBackend::Postgres => {
                if !postgres_available().await {
                    eprintln!("PostgreSQL not reachable: skipping this PostgreSQL test (set CI=1 to make it an error)");
                    return None;
                }
                let template = ensure_pg_template().await;
                let name = format!("gx_t_{}", uuid::Uuid::now_v7().simple());
                let mut admin = PgConnection::connect(&pg_admin_url()).await.expect("connect admin");
                // CREATE DATABASE ... TEMPLATE fails while another session is connected to the template; retry.
                let mut tries = 0;
                loop {
                    let r =
                        admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name} TEMPLATE {template}"))).await;
                    match r {
                        Ok(_) => break,
                        Err(e) if tries < 50 => {
                            tries += 1;
                            let _ = e;
                            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        }
                        Err(e) => panic!("cannot create test database: {e}"),
                    }
                }
                let db = Db::connect(&DbConfig::Postgres { url: pg_url_for(&name), max_connections: 8 })
                    .await
                    .expect("connect test db");
                Some(TestDb { db, backend, pg_name: Some(name), _dir: None })
            }
        }
    }

    /// The URL another process (the `guanxi` binary in CLI tests) opens this database with.
    pub fn url(&self) -> String {
        match (&self.pg_name, &self._dir) {
            (Some(name), _) => pg_url_for(name),
            (None, Some(dir)) => format!("sqlite://{}", dir.0.join("guanxi.db").display()),
            (None, None) => String::new(),
        }
    }

    /// Closes the pools and drops the PostgreSQL database.
    pub async fn cleanup(self) {
        self.db.close().await;
        if let Some(name) = &self.pg_name
            && let Ok(mut admin) = PgConnection::connect(&pg_admin_url()).await
        {
            let _ = admin.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).await;
        }
    }
}

/// Declares one async test body that runs on SQLite and on PostgreSQL:
/// `backend_test!(name, |db: TestDb| async move { ... });` expands to `mod name { sqlite(); postgres(); }`.
#[macro_export]
macro_rules! backend_test {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let t = $crate::testing::TestDb::new($crate::testing::TestBackend::Sqlite).await.expect("sqlite");
                let db = t.db.clone();
                ($body)(db).await;
                t.cleanup().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(t) = $crate::testing::TestDb::new($crate::testing::TestBackend::Postgres).await else {
                    return;
                };
                let db = t.db.clone();
                ($body)(db).await;
                t.cleanup().await;
            }
        }
    };
}
