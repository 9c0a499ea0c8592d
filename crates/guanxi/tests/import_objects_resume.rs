//! The real `guanxi import` binary importing companies, products and activities, killed with SIGKILL in the
//! middle and run again: every row must be stored exactly once (ten of them update records stored before, six
//! fail), each bad row reported once; then `guanxi undo-import` removes what the import created and puts back
//! what it updated. On SQLite and PostgreSQL.

use guanxi_store::testing::{TestBackend, TestDb};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ROWS: usize = 3_000;
/// Rows `i % 300 == 150` update one of the ten records imported before.
const UPDATES: i64 = 10;
/// Rows `i % 500 == 7` fail.
const BAD: i64 = 6;
const CREATED: i64 = ROWS as i64 - UPDATES - BAD;

fn guanxi(url: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_guanxi"));
    c.arg("--database-url").arg(url).env("RUST_LOG", "warn").env_remove("RUST_BACKTRACE");
    c
}

fn run_ok(c: &mut Command) -> String {
    let out = c.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    stderr
}

async fn scalar(db: &guanxi_store::Db, sql: &str) -> i64 {
    db.fetch_scalar::<i64>(db.sql(sql)).await.unwrap()
}

/// One record type: the ten records stored first, the killed file's rows, and how to check the table.
struct Case {
    kind: &'static str,
    object: &'static str,
    table: &'static str,
    /// A column whose values are distinct when no row was stored twice.
    key: &'static str,
    header: &'static str,
    seed: fn(usize) -> String,
    update: fn(usize) -> String,
    bad: fn(usize) -> String,
    new: fn(usize) -> String,
    /// Counts the records as the import's updates leave them.
    updated: &'static str,
    /// Counts the records as they were before the import.
    original: &'static str,
}

const CASES: [Case; 3] = [
    Case {
        kind: "companies",
        object: "company",
        table: "companies",
        key: "domain",
        header: "公司名称,网址,行业",
        seed: |k| format!("旧{k},u{k}.example.com,旧行业"),
        update: |k| format!("新{k},u{k}.example.com,新行业"),
        bad: |i| format!("坏{i},not a domain,x"),
        new: |i| format!("公司{i},c{i}.example.com,行业{}", i % 5),
        updated: "SELECT COUNT(*) FROM companies WHERE industry = '新行业' AND name LIKE '新%'",
        original: "SELECT COUNT(*) FROM companies WHERE industry = '旧行业' AND name LIKE '旧%'",
    },
    Case {
        kind: "products",
        object: "product",
        table: "products",
        key: "sku",
        header: "货号,产品名称,单价",
        seed: |k| format!("OLD-{k},旧{k},1"),
        update: |k| format!("OLD-{k},新{k},0.25"),
        bad: |i| format!("BAD SKU {i},x,1"),
        new: |i| format!("SKU-{i},产品{i},{i}.5"),
        updated: "SELECT COUNT(*) FROM products WHERE list_price_minor = 25 AND name LIKE '新%'",
        original: "SELECT COUNT(*) FROM products WHERE list_price_minor = 100 AND name LIKE '旧%'",
    },
    Case {
        kind: "activities",
        object: "activity",
        table: "activities",
        key: "body",
        header: "外部编号,活动类型,发生时间,内容,客户邮箱",
        seed: |k| format!("A-{k},电话,2024-03-05 10:00,旧{k},wang@example.com"),
        update: |k| format!("A-{k},会议,2024-03-06 10:00,新{k},wang@example.com"),
        bad: |i| format!("X-{i},吃饭,2024-03-07,?,wang@example.com"),
        new: |i| format!("X-{i},备注,2024-03-07 10:00,内容{i},wang@example.com"),
        updated: "SELECT COUNT(*) FROM activities WHERE kind = 'meeting' AND body LIKE '新%'",
        original: "SELECT COUNT(*) FROM activities WHERE kind = 'call' AND body LIKE '旧%'",
    },
];

async fn killed_import_resumes(t: &TestDb, dir: &std::path::Path, case: &Case) {
    let url = t.url();
    let (seed, file) = (dir.join(format!("{}-seed.csv", case.kind)), dir.join(format!("{}.csv", case.kind)));
    let mut s = format!("{}\n", case.header);
    for k in 0..UPDATES as usize {
        s += &format!("{}\n", (case.seed)(k));
    }
    std::fs::write(&seed, s).unwrap();
    let mut f = format!("{}\n", case.header);
    for i in 0..ROWS {
        let row = if i % 300 == 150 {
            (case.update)(i / 300)
        } else if i % 500 == 7 {
            (case.bad)(i)
        } else {
            (case.new)(i)
        };
        f += &format!("{row}\n");
    }
    std::fs::write(&file, f).unwrap();
    run_ok(guanxi(&url).args(["import", seed.to_str().unwrap(), "--type", case.kind]));
    assert_eq!(scalar(&t.db, &format!("SELECT COUNT(*) FROM {}", case.table)).await, UPDATES);

    let args = ["import", file.to_str().unwrap(), "--type", case.kind, "--policy", "create_or_update"];
    let mut child = guanxi(&url)
        .args(args)
        .args(["--batch-rows", "7"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let job = format!("FROM import_jobs WHERE object = '{}' AND policy = 'create_or_update'", case.object);
    let started = Instant::now();
    loop {
        if scalar(&t.db, &format!("SELECT COALESCE(MAX(rows_done), 0) {job}")).await >= 300 {
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "{}: the import ended before it could be killed", case.kind);
        assert!(started.elapsed() < Duration::from_secs(120), "{}: the import made no progress", case.kind);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let done = scalar(&t.db, &format!("SELECT rows_done {job}")).await;
    let created = scalar(&t.db, &format!("SELECT rows_created {job}")).await;
    let updated = scalar(&t.db, &format!("SELECT rows_updated {job}")).await;
    let failed = scalar(&t.db, &format!("SELECT rows_failed {job}")).await;
    assert!(done < ROWS as i64, "{}: killed too late to test anything", case.kind);
    assert_eq!(done % 7, 0, "{}: the checkpoint is at the end of a batch", case.kind);
    assert_eq!(created + updated + failed, done, "{}", case.kind);
    let stored = scalar(&t.db, &format!("SELECT COUNT(*) FROM {}", case.table)).await;
    assert_eq!(stored, UPDATES + created, "{}: records and the checkpoint are committed together", case.kind);

    let stderr = run_ok(guanxi(&url).args(args).args(["--batch-rows", "7"]));
    assert!(stderr.contains("resuming import"), "{stderr}");
    let all = UPDATES + CREATED;
    assert_eq!(scalar(&t.db, &format!("SELECT COUNT(*) FROM {}", case.table)).await, all, "{}", case.kind);
    let distinct = format!("SELECT COUNT(DISTINCT {}) FROM {}", case.key, case.table);
    assert_eq!(scalar(&t.db, &distinct).await, all, "{}: no row stored twice", case.kind);
    assert_eq!(scalar(&t.db, case.updated).await, UPDATES, "{}", case.kind);
    for (column, want) in [("rows_done", ROWS as i64), ("rows_created", CREATED), ("rows_updated", UPDATES)] {
        assert_eq!(scalar(&t.db, &format!("SELECT {column} {job}")).await, want, "{}: {column}", case.kind);
    }
    assert_eq!(scalar(&t.db, &format!("SELECT rows_failed {job}")).await, BAD, "{}", case.kind);
    let errors = format!("SELECT COUNT(*) FROM import_errors WHERE job_id = (SELECT id {job})");
    assert_eq!(scalar(&t.db, &errors).await, BAD, "{}: each bad row reported once", case.kind);

    let (id,): (uuid::Uuid,) = t.db.fetch_optional(t.db.sql(&format!("SELECT id {job}"))).await.unwrap().unwrap();
    run_ok(guanxi(&url).args(["undo-import", &id.to_string()]));
    assert_eq!(scalar(&t.db, &format!("SELECT COUNT(*) FROM {}", case.table)).await, UPDATES, "{}", case.kind);
    assert_eq!(scalar(&t.db, case.original).await, UPDATES, "{}: restored as they were", case.kind);
}

async fn killed_imports_resume(backend: TestBackend) {
    let Some(t) = TestDb::new(backend).await else { return };
    let url = t.url();
    let dir = guanxi_store::testing::TempDir::new("guanxi-object-import-test");
    run_ok(guanxi(&url).args(["create-admin", "--email", "admin@example.com", "--password", "correct horse battery"]));
    let contacts = dir.0.join("contacts.csv");
    std::fs::write(&contacts, "姓名,邮箱\n王芳,wang@example.com\n").unwrap();
    run_ok(guanxi(&url).args(["import", contacts.to_str().unwrap()]));
    for case in &CASES {
        killed_import_resumes(&t, &dir.0, case).await;
    }
    t.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    killed_imports_resume(TestBackend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    killed_imports_resume(TestBackend::Postgres).await;
}
