//! The real `guanxi import --type orders` binary with 7-row batches (so batches end inside orders), killed with
//! SIGKILL in the middle and run again: every order must be stored exactly once with all its lines; then
//! `guanxi undo-import` removes them. On SQLite and PostgreSQL.

use guanxi_store::testing::{TestBackend, TestDb};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ORDERS: usize = 1_500;
const LINES: usize = 3;

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

async fn killed_order_import_resumes_whole_orders(backend: TestBackend) {
    let Some(t) = TestDb::new(backend).await else { return };
    let url = t.url();
    let dir = guanxi_store::testing::TempDir::new("guanxi-order-import-test");
    let (contacts, products, orders) = (dir.0.join("c.csv"), dir.0.join("p.csv"), dir.0.join("o.csv"));
    let mut c = String::from("姓名,邮箱\n");
    for i in 0..50 {
        c.push_str(&format!("客户{i},c{i}@example.com\n"));
    }
    std::fs::write(&contacts, c).unwrap();
    std::fs::write(&products, "货号,产品名称,单价\nTEA-1,龙井,128\nCUP-1,茶杯,35.50\nPOT-1,茶壶,299\n").unwrap();
    let mut o = String::from("订单号,下单时间,状态,客户邮箱,SKU,数量\n");
    for i in 0..ORDERS {
        for (l, sku) in ["TEA-1", "CUP-1", "POT-1"].iter().enumerate().take(LINES) {
            o.push_str(&format!("SO-{i},2024-03-05 10:00,已支付,c{}@example.com,{sku},{}\n", i % 50, l + 1));
        }
    }
    std::fs::write(&orders, o).unwrap();
    run_ok(guanxi(&url).args(["create-admin", "--email", "admin@example.com", "--password", "correct horse battery"]));
    run_ok(guanxi(&url).args(["import", contacts.to_str().unwrap()]));
    run_ok(guanxi(&url).args(["import", products.to_str().unwrap(), "--type", "products"]));

    let mut child = guanxi(&url)
        .args(["import", orders.to_str().unwrap(), "--type", "orders", "--batch-rows", "7"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        let done = scalar(&t.db, "SELECT COALESCE(MAX(rows_done), 0) FROM import_jobs WHERE object = 'order'").await;
        if done >= 600 {
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "the import ended before it could be killed");
        assert!(started.elapsed() < Duration::from_secs(120), "the import made no progress");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let stored = scalar(&t.db, "SELECT COUNT(*) FROM orders").await;
    let checkpoint = scalar(&t.db, "SELECT rows_done FROM import_jobs WHERE object = 'order'").await;
    assert!(stored < ORDERS as i64, "killed too late to test anything");
    assert_eq!(checkpoint, stored * LINES as i64, "the checkpoint is always at the end of a whole order");
    assert_eq!(scalar(&t.db, "SELECT COUNT(*) FROM order_lines").await, checkpoint);

    let stderr =
        run_ok(guanxi(&url).args(["import", orders.to_str().unwrap(), "--type", "orders", "--batch-rows", "7"]));
    assert!(stderr.contains("resuming import"), "{stderr}");
    assert_eq!(scalar(&t.db, "SELECT COUNT(*) FROM orders").await, ORDERS as i64);
    assert_eq!(scalar(&t.db, "SELECT COUNT(DISTINCT number) FROM orders").await, ORDERS as i64);
    assert_eq!(scalar(&t.db, "SELECT COUNT(*) FROM order_lines").await, (ORDERS * LINES) as i64);
    let split = "SELECT COUNT(*) FROM orders o WHERE (SELECT COUNT(*) FROM order_lines l WHERE l.order_id = o.id) <> 3";
    assert_eq!(scalar(&t.db, split).await, 0, "no order lost a line at a batch boundary");
    assert_eq!(scalar(&t.db, "SELECT COUNT(*) FROM orders WHERE total_minor <> 12800 + 2 * 3550 + 3 * 29900").await, 0);
    assert_eq!(
        scalar(&t.db, "SELECT rows_created FROM import_jobs WHERE object = 'order'").await,
        (ORDERS * LINES) as i64
    );
    assert_eq!(scalar(&t.db, "SELECT rows_failed FROM import_jobs WHERE object = 'order'").await, 0);

    let (id,): (uuid::Uuid,) =
        t.db.fetch_optional(t.db.sql("SELECT id FROM import_jobs WHERE object = 'order'")).await.unwrap().unwrap();
    run_ok(guanxi(&url).args(["undo-import", &id.to_string()]));
    assert_eq!(scalar(&t.db, "SELECT COUNT(*) FROM orders").await, 0);
    assert_eq!(scalar(&t.db, "SELECT COUNT(*) FROM order_lines").await, 0);
    assert_eq!(scalar(&t.db, "SELECT COUNT(*) FROM products").await, 3, "undo removes only what this import made");
    t.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    killed_order_import_resumes_whole_orders(TestBackend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    killed_order_import_resumes_whole_orders(TestBackend::Postgres).await;
}
