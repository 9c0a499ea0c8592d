//! Imports of companies, products, orders and activities through the API: good files (CSV and XLSX), bad rows
//! with line, column and code, updates through a match key, undo, and what a member may link. Imports run with
//! batches of 3 rows here, so orders straddle batch boundaries. Each runs on SQLite and PostgreSQL.

use crate::client::Method;
use crate::helpers::*;
use guanxi_core::access::{Role, TokenScope};
use serde_json::{Value, json};

/// Like `app_test!`, on an app whose imports write 3 rows per transaction.
macro_rules! small_batch_test {
    ($name:ident, |$app:ident : &TestApp| async move $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn spawn(backend: guanxi_store::testing::TestBackend) -> Option<TestApp> {
                let config = guanxi_http::AppConfig { import_batch_rows: 3, ..Default::default() };
                TestApp::spawn_with(backend, config).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let owned = spawn(guanxi_store::testing::TestBackend::Sqlite).await.expect("sqlite app");
                {
                    let $app = &owned;
                    $body
                }
                owned.stop().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(owned) = spawn(guanxi_store::testing::TestBackend::Postgres).await else { return };
                {
                    let $app = &owned;
                    $body
                }
                owned.stop().await;
            }
        }
    };
}

async fn upload(app: &TestApp, user: &TestUser, path: &str, bytes: Vec<u8>) -> crate::client::Response {
    app.req(Some(user), Method::POST, path).header("content-type", "text/csv").body(bytes).send().await.expect("send")
}

/// Starts an import of `kind` and waits until it ends; returns the job.
async fn import(app: &TestApp, user: &TestUser, kind: &str, query: &str, bytes: Vec<u8>) -> Value {
    let r = upload(app, user, &format!("/api/v1/imports?type={kind}&{query}"), bytes).await;
    let status = r.status();
    let job: Value = r.json().await.unwrap();
    assert_eq!(status, 202, "start import: {job}");
    let id = job["id"].as_str().unwrap().to_string();
    for _ in 0..2400 {
        let job: Value = app.get(user, &format!("/api/v1/imports/{id}")).await.json().await.unwrap();
        if !matches!(job["status"].as_str(), Some("queued" | "running" | "cancelling")) {
            return job;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("import {id} did not finish");
}

/// `(line, column, code)` of a job's errors, in line order.
async fn errors(app: &TestApp, user: &TestUser, job: &Value) -> Vec<(i64, String, String)> {
    let page: Value =
        app.get(user, &format!("/api/v1/imports/{}/errors", job["id"].as_str().unwrap())).await.json().await.unwrap();
    let mut out: Vec<(i64, String, String)> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_i64().unwrap(),
                e["column"].as_str().unwrap_or("").to_string(),
                e["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // The backends' collations order the column names of one line differently.
    out.sort();
    out
}

async fn items(app: &TestApp, user: &TestUser, path: &str) -> Vec<Value> {
    let page: Value = app.get(user, path).await.json().await.unwrap();
    page["items"].as_array().unwrap_or_else(|| panic!("{path}: {page}")).clone()
}

async fn undo(app: &TestApp, user: &TestUser, job: &Value) -> Value {
    app.post(user, &format!("/api/v1/imports/{}/undo", job["id"].as_str().unwrap()), &json!({}))
        .await
        .json()
        .await
        .unwrap()
}

fn counts(job: &Value) -> (i64, i64, i64, i64) {
    let n = |k: &str| job[k].as_i64().unwrap();
    (n("rows_done"), n("rows_created"), n("rows_updated"), n("rows_failed"))
}

small_batch_test!(companies_from_chinese_headers_match_on_normalised_name_and_undo, |app: &TestApp| async move {
    let admin = app.admin().await;
    let csv = "公司名称,网址,行业,规模,市,标签\n\
               北京字节跳动科技有限公司,https://www.ByteDance.com/zh,互联网,10000+,北京,重点\n\
               Acme Inc.,acme.com,制造,50-99人,上海,\n\
               坏公司,not a domain,零售,很多,广州,\n\
               ,nameless.com,,,,\n\
               华为技术有限公司,huawei.com,通信,1001+,深圳,\n";
    let job = import(app, &admin, "companies", "file_name=公司.csv", csv.as_bytes().to_vec()).await;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["object"], "company");
    assert_eq!(job["match_key"], "domain", "companies match on the domain when no external id is mapped");
    assert_eq!(counts(&job), (5, 3, 0, 2));
    let errs = errors(app, &admin, &job).await;
    assert_eq!(
        errs,
        vec![
            (4, "网址".into(), "invalid_domain".into()),
            (4, "规模".into(), "invalid_size".into()),
            (5, "公司名称".into(), "required".into())
        ]
    );
    let list = items(app, &admin, "/api/v1/companies?limit=50&sort=name").await;
    let names: Vec<&str> = list.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["Acme Inc.", "北京字节跳动科技有限公司", "华为技术有限公司"]);
    let bd = list.iter().find(|c| c["name"] == "北京字节跳动科技有限公司").unwrap();
    assert_eq!((bd["domain"].as_str(), bd["size_band"].as_str()), (Some("bytedance.com"), Some("1001+")));

    // The same company written another way updates it (create_or_update on the dedup name key).
    let csv2 = "company name,industry,city\n字节跳动,短视频,北京\nACME,Robots,Shanghai\nNew Co Ltd,Tea,Hangzhou\n";
    let job2 = import(app, &admin, "companies", "policy=create_or_update&match=name", csv2.as_bytes().to_vec()).await;
    assert_eq!(counts(&job2), (3, 1, 2, 0), "{job2}");
    let bd: Value =
        app.get(&admin, &format!("/api/v1/companies/{}", bd["id"].as_str().unwrap())).await.json().await.unwrap();
    assert_eq!((bd["name"].as_str(), bd["industry"].as_str()), (Some("字节跳动"), Some("短视频")));
    assert_eq!(bd["domain"], "bytedance.com", "fields the file leaves out stay");

    // create_only on a domain that exists is an error, never a second company.
    let job3 = import(app, &admin, "companies", "match=domain", b"name,website\nAcme Again,acme.com\n".to_vec()).await;
    assert_eq!(errors(app, &admin, &job3).await, vec![(2, String::new(), "duplicate".into())]);

    // Undo of the upsert: the new company removed, the two updated ones restored.
    assert_eq!(undo(app, &admin, &job2).await, json!({"removed": 1, "restored": 2, "kept": 0}));
    let bd: Value =
        app.get(&admin, &format!("/api/v1/companies/{}", bd["id"].as_str().unwrap())).await.json().await.unwrap();
    assert_eq!((bd["name"].as_str(), bd["industry"].as_str()), (Some("北京字节跳动科技有限公司"), Some("互联网")));
    assert_eq!(items(app, &admin, "/api/v1/companies?limit=50").await.len(), 3);
    // A file of another type is named as such rather than failing every row.
    let p = problem(upload(app, &admin, "/api/v1/imports?type=companies", b"SKU,qty\nA,1\n".to_vec()).await, 422).await;
    assert_eq!(fields(&p), vec!["type"]);
});

small_batch_test!(products_from_xlsx_update_by_sku_and_only_managers_import_them, |app: &TestApp| async move {
    let admin = app.admin().await;
    let bytes = {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (i, h) in ["货号", "产品名称", "类别", "单价", "币种"].iter().enumerate() {
            sheet.write_string(0, i as u16, *h).unwrap();
        }
        let rows = [
            ("TEA-1", "龙井", "茶叶", 128.5, "CNY"),
            ("TEA-2", "普洱", "茶叶", 99.0, ""),
            ("BAD SKU", "x", "", 1.0, ""),
        ];
        for (r, (sku, name, cat, price, cur)) in rows.iter().enumerate() {
            let r = r as u32 + 1;
            sheet.write_string(r, 0, *sku).unwrap();
            sheet.write_string(r, 1, *name).unwrap();
            sheet.write_string(r, 2, *cat).unwrap();
            sheet.write_number(r, 3, *price).unwrap();
            sheet.write_string(r, 4, *cur).unwrap();
        }
        book.save_to_buffer().unwrap()
    };
    let job = import(app, &admin, "products", "file_name=products.xlsx", bytes).await;
    assert_eq!((job["status"].as_str(), job["match_key"].as_str()), (Some("done"), Some("sku")), "{job}");
    assert_eq!(counts(&job), (3, 2, 0, 1));
    assert_eq!(errors(app, &admin, &job).await, vec![(4, "货号".into(), "invalid_sku".into())]);
    let list = items(app, &admin, "/api/v1/products?limit=50&sort=sku").await;
    let got: Vec<(&str, i64)> =
        list.iter().map(|p| (p["sku"].as_str().unwrap(), p["list_price_minor"].as_i64().unwrap())).collect();
    assert_eq!(got, vec![("TEA-1", 12850), ("TEA-2", 9900)], "prices in minor units, exactly");

    let job2 =
        import(app, &admin, "products", "policy=update_only", b"SKU,price\nTEA-2,109.90\nTEA-9,1\n".to_vec()).await;
    assert_eq!(counts(&job2), (2, 0, 1, 1));
    assert_eq!(errors(app, &admin, &job2).await, vec![(3, String::new(), "not_found".into())]);
    let list = items(app, &admin, "/api/v1/products?limit=50&sort=sku").await;
    assert_eq!((list[1]["list_price_minor"].as_i64(), list[1]["name"].as_str()), (Some(10990), Some("普洱")));
    assert_eq!(undo(app, &admin, &job2).await, json!({"removed": 0, "restored": 1, "kept": 0}));
    assert_eq!(items(app, &admin, "/api/v1/products?limit=50&sort=sku").await[1]["list_price_minor"], 9900);

    let member = app.user("m@example.com", Role::Member, None, TokenScope::ReadWrite).await;
    problem(upload(app, &member, "/api/v1/imports?type=products", b"sku,name\nX,Y\n".to_vec()).await, 403).await;
    let p = problem(
        upload(app, &admin, "/api/v1/imports?type=products&match=email", b"sku,name\nX,Y\n".to_vec()).await,
        422,
    )
    .await;
    assert_eq!(fields(&p), vec!["match"]);
});

small_batch_test!(
    orders_are_grouped_whole_across_batches_with_customers_and_products_resolved,
    |app: &TestApp| async move {
        let admin = app.admin().await;
        app.contact(&admin, json!({"display_name": "张伟", "emails": [{"address": "zhang@example.com"}]})).await;
        app.contact(&admin, json!({"display_name": "李娜", "phones": [{"number": "13900139000"}]})).await;
        for (sku, name, price) in [("TEA-1", "龙井", 12800), ("CUP-1", "茶杯", 3500)] {
            let r = app
                .post(&admin, "/api/v1/products", &json!({"sku": sku, "name": name, "list_price_minor": price}))
                .await;
            assert_eq!(r.status(), 201);
        }
        // SO-1: 4 lines (batches of 3 rows end inside it); SO-2: a line with an unknown SKU rejects it whole;
        // SO-3: a phone customer; SO-4: nobody has that email.
        let csv = "订单号,下单时间,状态,客户邮箱,客户手机,SKU,数量,单价,折扣\n\
               SO-1,2024-03-05 10:00,已支付,Zhang@Example.com,,TEA-1,2,,\n\
               SO-1,2024-03-05 10:00,已支付,Zhang@Example.com,,CUP-1,1,30,5\n\
               SO-1,2024-03-05 10:00,已支付,Zhang@Example.com,,TEA-1,1,100.50,\n\
               SO-1,2024-03-05 10:00,已支付,Zhang@Example.com,,CUP-1,3,,\n\
               SO-2,2024-03-06,paid,zhang@example.com,,TEA-1,1,,\n\
               SO-2,2024-03-06,paid,zhang@example.com,,NOPE-1,1,,\n\
               SO-3,2024/3/7 9:30,已退款,,139 0013 9000,CUP-1,2,,\n\
               SO-4,2024-03-08,已支付,ghost@example.com,,TEA-1,1,,\n";
        let job = import(app, &admin, "orders", "file_name=orders.csv", csv.as_bytes().to_vec()).await;
        assert_eq!((job["status"].as_str(), job["match_key"].as_str()), (Some("done"), Some("number")), "{job}");
        assert_eq!(counts(&job), (8, 5, 0, 3), "rows of stored orders count as created");
        assert_eq!(
            errors(app, &admin, &job).await,
            vec![
                (6, String::new(), "order_rejected".into()),
                (7, "SKU".into(), "unknown_product".into()),
                (9, "客户邮箱".into(), "unknown_contact".into())
            ]
        );
        let orders = items(app, &admin, "/api/v1/orders?limit=50&sort=number").await;
        let numbers: Vec<&str> = orders.iter().map(|o| o["number"].as_str().unwrap()).collect();
        assert_eq!(numbers, vec!["SO-1", "SO-3"]);
        let so1 = &orders[0];
        assert_eq!(so1["lines"].as_array().unwrap().len(), 4, "one order, all its lines, across batch boundaries");
        assert_eq!(so1["total_minor"], 2 * 12800 + (3000 - 500) + 10050 + 3 * 3500);
        assert_eq!(so1["ordered_at"], "2024-03-05T02:00:00Z", "read at UTC+8 (the default region's time)");
        assert_eq!((orders[1]["status"].as_str(), orders[1]["currency"].as_str()), (Some("refunded"), Some("CNY")));

        // The same numbers again: create_only refuses them; create_or_update replaces SO-3 whole.
        let again = "order number,order date,customer email,sku,quantity\nSO-3,2024-03-09,zhang@example.com,TEA-1,5\n";
        let job2 = import(app, &admin, "orders", "policy=create_or_update", again.as_bytes().to_vec()).await;
        assert_eq!(counts(&job2), (1, 0, 1, 0), "{job2}");
        let so3 = &items(app, &admin, "/api/v1/orders?limit=50&sort=number").await[1];
        assert_eq!((so3["total_minor"].as_i64(), so3["lines"].as_array().unwrap().len()), (Some(5 * 12800), 1));
        assert_eq!(undo(app, &admin, &job2).await, json!({"removed": 0, "restored": 1, "kept": 0}));
        let so3 = &items(app, &admin, "/api/v1/orders?limit=50&sort=number").await[1];
        assert_eq!((so3["total_minor"].as_i64(), so3["status"].as_str()), (Some(7000), Some("refunded")));
        // SO-3 changed since the first import (updated, then restored): undo leaves it.
        assert_eq!(undo(app, &admin, &job).await, json!({"removed": 1, "restored": 0, "kept": 1}));
        assert_eq!(items(app, &admin, "/api/v1/orders?limit=50").await.len(), 1);
        let p =
            problem(upload(app, &admin, "/api/v1/imports?type=orders", b"order number,sku\nA,B\n".to_vec()).await, 422)
                .await;
        assert_eq!(fields(&p), vec!["mapping", "mapping"], "an order date and a customer column are required");
    }
);

small_batch_test!(activities_link_to_what_the_member_may_see, |app: &TestApp| async move {
    let admin = app.admin().await;
    let team = app.team("华南").await;
    let member = app.user("m@example.com", Role::Member, Some(team), TokenScope::ReadWrite).await;
    app.contact(&member, json!({"display_name": "王芳", "emails": [{"address": "wang@example.com"}]})).await;
    app.contact(
        &admin,
        json!({"display_name": "秘密", "emails": [{"address": "secret@example.com"}], "visibility": "private"}),
    )
    .await;
    let r =
        app.post(&member, "/api/v1/companies", &json!({"name": "深圳腾讯科技有限公司", "visibility": "team"})).await;
    assert_eq!(r.status(), 201);
    let csv = "外部编号,活动类型,发生时间,内容,客户邮箱,公司\n\
               A-1,拜访,2024-03-05 15:00,上门演示,wang@example.com,\n\
               A-2,电话,2024-03-06 09:00,回访,,腾讯\n\
               A-3,投诉,2024-03-07,私下,secret@example.com,\n\
               A-4,吃饭,2024-03-07,?,wang@example.com,\n\
               A-5,备注,,没有时间,wang@example.com,\n";
    let job = import(app, &member, "activities", "", csv.as_bytes().to_vec()).await;
    assert_eq!((job["status"].as_str(), job["match_key"].as_str()), (Some("done"), Some("external_id")), "{job}");
    assert_eq!(counts(&job), (5, 2, 0, 3));
    assert_eq!(
        errors(app, &member, &job).await,
        vec![
            (4, "客户邮箱".into(), "unknown_contact".into()),
            (5, "活动类型".into(), "invalid_kind".into()),
            (6, "发生时间".into(), "required".into())
        ],
        "the admin's private contact is unknown to the member"
    );
    let list = items(app, &member, "/api/v1/activities?limit=50&sort=occurred_at").await;
    let got: Vec<(&str, &str)> =
        list.iter().map(|a| (a["kind"].as_str().unwrap(), a["body"].as_str().unwrap())).collect();
    assert_eq!(got, vec![("visit", "上门演示"), ("call", "回访")]);
    assert!(list[1]["company_id"].is_string(), "腾讯 found by its normalised name");

    let job2 = import(
        app,
        &member,
        "activities",
        "policy=create_or_update",
        "id,type,date,notes,email\nA-1,meeting,2024-03-05 16:00,改成会议,wang@example.com\n".as_bytes().to_vec(),
    )
    .await;
    assert_eq!(counts(&job2), (1, 0, 1, 0), "{job2}");
    assert_eq!(items(app, &member, "/api/v1/activities?limit=50&sort=occurred_at").await[0]["kind"], "meeting");
    assert_eq!(undo(app, &member, &job2).await, json!({"removed": 0, "restored": 1, "kept": 0}));
    assert_eq!(items(app, &member, "/api/v1/activities?limit=50&sort=occurred_at").await[0]["kind"], "visit");
    // A-1 changed since the first import (updated, then restored): undo leaves it.
    assert_eq!(undo(app, &member, &job).await, json!({"removed": 1, "restored": 0, "kept": 1}));
    assert_eq!(items(app, &member, "/api/v1/activities?limit=50").await.len(), 1);
});

small_batch_test!(previews_of_each_type_show_rows_as_read, |app: &TestApp| async move {
    let admin = app.admin().await;
    let p: Value = upload(
        app,
        &admin,
        "/api/v1/imports/preview?type=orders",
        "订单号,下单时间,客户邮箱,SKU,数量,单价\nSO-1,2024-03-05,a@example.com,TEA-1,2,19.90\nSO-1,bad,a@example.com,TEA-2,x,\n"
            .as_bytes()
            .to_vec(),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(p["mapping"]["columns"]["单价"], "line.unit_price");
    assert_eq!(p["rows"][0]["record"]["unit_price_minor"], 1990);
    assert_eq!(p["rows"][0]["record"]["customer"], "a@example.com");
    let cols: Vec<&str> =
        p["rows"][1]["errors"].as_array().unwrap().iter().map(|e| e["column"].as_str().unwrap()).collect();
    assert_eq!(cols, vec!["下单时间", "数量"]);
    assert!(p["targets"].as_array().unwrap().contains(&json!("customer.phone")));
});

// Cancel and resume. Each file below has ROWS rows, written 3 to a transaction: the cancel lands after some
// batches are committed and before the end; the same file again resumes from the checkpoint. Every row must end
// up stored exactly once (no row lost at the cancel, none stored twice by the resume), each bad row reported
// once, and undo must remove what the import created and put back what it updated.

const ROWS: usize = 900;
/// Rows that update one of the 9 records stored before the import: `i % 100 == 50`.
const UPDATES: i64 = 9;
/// Rows that fail: `i % 150 == 7`.
const BAD: i64 = 6;
const CREATED: i64 = ROWS as i64 - UPDATES - BAD;

/// What row `i` of a cancel-and-resume file is.
enum Part {
    Update(usize),
    Bad,
    New,
}

fn part(i: usize) -> Part {
    if i % 100 == 50 {
        Part::Update(i / 100)
    } else if i % 150 == 7 {
        Part::Bad
    } else {
        Part::New
    }
}

/// Starts an import, cancels it once some batches are committed, checks what the cancel left, then imports the
/// same file again and checks it resumed the same job to the end. Returns the finished job.
async fn cancel_then_resume(app: &TestApp, user: &TestUser, kind: &str, query: &str, file: String) -> Value {
    let path = format!("/api/v1/imports?type={kind}&{query}");
    let r = upload(app, user, &path, file.clone().into_bytes()).await;
    assert_eq!(r.status(), 202);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let job_path = format!("/api/v1/imports/{id}");
    let mut job = Value::Null;
    for _ in 0..3000 {
        job = app.get(user, &job_path).await.json().await.unwrap();
        assert!(matches!(job["status"].as_str(), Some("queued" | "running")), "ended before the cancel: {job}");
        // As soon as a batch is in: the cancel must land well before the last.
        if job["rows_done"].as_i64().unwrap() > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(job["rows_done"].as_i64().unwrap() > 0, "no progress: {job}");
    assert_eq!(app.post(user, &format!("{job_path}/cancel"), &json!({})).await.status(), 200);
    let cancelled = wait_for(app, user, &id).await;
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    let (done, created, updated, failed) = counts(&cancelled);
    assert!(done < ROWS as i64, "cancelled before the end ({done} rows)");
    assert_eq!(done % 3, 0, "the checkpoint is at the end of a batch");
    assert_eq!(created + updated + failed, done, "{cancelled}");

    let r = upload(app, user, &path, file.into_bytes()).await;
    assert_eq!(r.status(), 202);
    let again: Value = r.json().await.unwrap();
    assert_eq!((again["id"].as_str(), again["resumed"].as_bool()), (Some(id.as_str()), Some(true)), "{again}");
    let job = wait_for(app, user, &id).await;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(counts(&job), (ROWS as i64, CREATED, UPDATES, BAD), "{job}");
    let page: Value = app.get(user, &format!("{job_path}/errors?limit=1000")).await.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len() as i64, BAD, "each bad row reported once: {page}");
    job
}

async fn wait_for(app: &TestApp, user: &TestUser, id: &str) -> Value {
    let mut job = Value::Null;
    for _ in 0..2400 {
        job = app.get(user, &format!("/api/v1/imports/{id}")).await.json().await.unwrap();
        if !matches!(job["status"].as_str(), Some("queued" | "running" | "cancelling")) {
            return job;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("import {id} did not finish: {job}");
}

/// Every record of a type the user may see, as JSON (the export streams them all, past any page size).
async fn all(app: &TestApp, user: &TestUser, plural: &str) -> Vec<Value> {
    let r = app.get(user, &format!("/api/v1/{plural}/export?format=jsonl")).await;
    assert_eq!(r.status(), 200);
    r.text().await.unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// The values of `field` over records, sorted, with how many distinct there are.
fn values(records: &[Value], field: &str) -> (Vec<String>, usize) {
    let mut v: Vec<String> = records.iter().map(|r| r[field].as_str().unwrap_or_default().to_string()).collect();
    v.sort();
    let distinct = v.iter().collect::<std::collections::HashSet<_>>().len();
    (v, distinct)
}

small_batch_test!(a_cancelled_company_import_resumes_without_loss_or_duplicates, |app: &TestApp| async move {
    let admin = app.admin().await;
    for k in 0..UPDATES {
        let body = json!({"name": format!("旧{k}"), "domain": format!("u{k}.example.com"), "industry": "旧行业"});
        assert_eq!(app.post(&admin, "/api/v1/companies", &body).await.status(), 201);
    }
    let mut csv = String::from("公司名称,网址,行业\n");
    for i in 0..ROWS {
        csv += &match part(i) {
            Part::Update(k) => format!("新{k},u{k}.example.com,新行业\n"),
            Part::Bad => format!("坏{i},not a domain,x\n"),
            Part::New => format!("公司{i},c{i}.example.com,行业{}\n", i % 5),
        };
    }
    let job = cancel_then_resume(app, &admin, "companies", "policy=create_or_update&match=domain", csv).await;
    let companies = all(app, &admin, "companies").await;
    let (domains, distinct) = values(&companies, "domain");
    assert_eq!((domains.len() as i64, distinct as i64), (UPDATES + CREATED, UPDATES + CREATED));
    assert_eq!(companies.iter().filter(|c| c["industry"] == "新行业").count() as i64, UPDATES);

    assert_eq!(undo(app, &admin, &job).await, json!({"removed": CREATED, "restored": UPDATES, "kept": 0}));
    let companies = all(app, &admin, "companies").await;
    let (names, _) = values(&companies, "name");
    assert_eq!(names, (0..UPDATES).map(|k| format!("旧{k}")).collect::<Vec<_>>());
    assert!(companies.iter().all(|c| c["industry"] == "旧行业"), "restored as they were");
});

small_batch_test!(a_cancelled_product_import_resumes_without_loss_or_duplicates, |app: &TestApp| async move {
    let admin = app.admin().await;
    for k in 0..UPDATES {
        let body = json!({"sku": format!("OLD-{k}"), "name": format!("旧{k}"), "list_price_minor": 100});
        assert_eq!(app.post(&admin, "/api/v1/products", &body).await.status(), 201);
    }
    let mut csv = String::from("货号,产品名称,单价\n");
    for i in 0..ROWS {
        csv += &match part(i) {
            Part::Update(k) => format!("OLD-{k},新{k},0.25\n"),
            Part::Bad => format!("BAD SKU {i},x,1\n"),
            Part::New => format!("SKU-{i},产品{i},{i}.5\n"),
        };
    }
    let job = cancel_then_resume(app, &admin, "products", "policy=create_or_update", csv).await;
    let products = all(app, &admin, "products").await;
    let (skus, distinct) = values(&products, "sku");
    assert_eq!((skus.len() as i64, distinct as i64), (UPDATES + CREATED, UPDATES + CREATED));
    assert_eq!(products.iter().filter(|p| p["list_price_minor"] == 25).count() as i64, UPDATES);

    assert_eq!(undo(app, &admin, &job).await, json!({"removed": CREATED, "restored": UPDATES, "kept": 0}));
    let products = all(app, &admin, "products").await;
    let (names, _) = values(&products, "name");
    assert_eq!(names, (0..UPDATES).map(|k| format!("旧{k}")).collect::<Vec<_>>());
    assert!(products.iter().all(|p| p["list_price_minor"] == 100), "restored as they were");
});

small_batch_test!(a_cancelled_activity_import_resumes_without_loss_or_duplicates, |app: &TestApp| async move {
    let admin = app.admin().await;
    app.contact(&admin, json!({"display_name": "王芳", "emails": [{"address": "wang@example.com"}]})).await;
    let header = "外部编号,活动类型,发生时间,内容,客户邮箱\n";
    let mut first = String::from(header);
    for k in 0..UPDATES {
        first += &format!("A-{k},电话,2024-03-05 10:00,旧{k},wang@example.com\n");
    }
    let job = import(app, &admin, "activities", "", first.into_bytes()).await;
    assert_eq!(counts(&job), (UPDATES, UPDATES, 0, 0), "{job}");
    let mut csv = String::from(header);
    for i in 0..ROWS {
        csv += &match part(i) {
            Part::Update(k) => format!("A-{k},会议,2024-03-06 10:00,新{k},wang@example.com\n"),
            Part::Bad => format!("X-{i},吃饭,2024-03-07,?,wang@example.com\n"),
            Part::New => format!("X-{i},备注,2024-03-07 10:00,内容{i},wang@example.com\n"),
        };
    }
    let job = cancel_then_resume(app, &admin, "activities", "policy=create_or_update", csv).await;
    let activities = all(app, &admin, "activities").await;
    let (bodies, distinct) = values(&activities, "body");
    assert_eq!((bodies.len() as i64, distinct as i64), (UPDATES + CREATED, UPDATES + CREATED));
    assert_eq!(activities.iter().filter(|a| a["kind"] == "meeting").count() as i64, UPDATES);

    assert_eq!(undo(app, &admin, &job).await, json!({"removed": CREATED, "restored": UPDATES, "kept": 0}));
    let activities = all(app, &admin, "activities").await;
    let (bodies, _) = values(&activities, "body");
    assert_eq!(bodies, (0..UPDATES).map(|k| format!("旧{k}")).collect::<Vec<_>>());
    assert!(activities.iter().all(|a| a["kind"] == "call"), "restored as they were");
});
