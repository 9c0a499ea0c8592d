//! Imports through the API: mapping, preview, dry run, policies, background job, errors, cancel, undo, and the
//! bad-input catalogue. Each runs on SQLite and PostgreSQL.

use crate::app_test;
use crate::client::Method;
use crate::helpers::*;
use crate::search::urlencode;
use guanxi_core::access::{Role, TokenScope};
use guanxi_store::imports;
use serde_json::{Value, json};

/// POSTs a file as the body.
async fn upload(app: &TestApp, user: &TestUser, path: &str, bytes: Vec<u8>) -> crate::client::Response {
    app.req(Some(user), Method::POST, path).header("content-type", "text/csv").body(bytes).send().await.expect("send")
}

/// Starts an import and waits until it ends; returns the job.
async fn import(app: &TestApp, user: &TestUser, query: &str, bytes: Vec<u8>) -> Value {
    let r = upload(app, user, &format!("/api/v1/imports?type=contacts&{query}"), bytes).await;
    let status = r.status();
    let job: Value = r.json().await.unwrap();
    assert_eq!(status, 202, "start import: {job}");
    wait(app, user, job["id"].as_str().unwrap()).await
}

async fn wait(app: &TestApp, user: &TestUser, id: &str) -> Value {
    // Generous: a debug build under a parallel test run imports a few hundred rows a second.
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

async fn errors(app: &TestApp, user: &TestUser, id: &Value) -> Vec<(i64, Option<String>, String)> {
    let page: Value =
        app.get(user, &format!("/api/v1/imports/{}/errors", id.as_str().unwrap())).await.json().await.unwrap();
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_i64().unwrap(),
                e["column"].as_str().map(str::to_string),
                e["code"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn contacts(app: &TestApp, user: &TestUser) -> Vec<Value> {
    let page: Value = app.get(user, "/api/v1/contacts?limit=500&sort=display_name").await.json().await.unwrap();
    page["items"].as_array().unwrap().clone()
}

fn gbk(text: &str) -> Vec<u8> {
    encoding_rs::GBK.encode(text).0.into_owned()
}

app_test!(gbk_csv_import_with_errors_then_undo, |app: &TestApp| async move {
    let admin = app.admin().await;
    let csv = "姓名,手机,邮箱,生日,市,来源,备注\n\
               张伟,138 0013 8000 转 12,Zhang.Wei@Example.com,2024/3/5,北京,展会,老客户\n\
               欧阳娜娜,13900139000,ouyang@example.com,05.03.1990,上海,推荐,\n\
               坏行,12,not-an-email,2024-02-30,广州,,\n\
               \"王,五\",13700137000,,45356,深圳,微信,\"多行\n备注\"\n";
    let job = import(app, &admin, "file_name=客户.csv", gbk(csv)).await;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(
        (job["rows_done"].as_i64(), job["rows_created"].as_i64(), job["rows_failed"].as_i64()),
        (Some(4), Some(3), Some(1))
    );
    assert_eq!(job["match_key"], "email", "email is matched on by default when mapped");
    let errs = errors(app, &admin, &job["id"]).await;
    let mut errs = errs;
    errs.sort();
    let expected: Vec<(i64, Option<String>, String)> =
        [("手机", "invalid_phone"), ("生日", "invalid_date"), ("邮箱", "invalid_email")]
            .map(|(c, e)| (4, Some(c.to_string()), e.to_string()))
            .into_iter()
            .collect();
    let mut expected = expected;
    expected.sort();
    assert_eq!(errs, expected, "every problem of a row is reported in one pass");

    let list = contacts(app, &admin).await;
    assert_eq!(list.len(), 3);
    let zhang = list.iter().find(|c| c["display_name"] == "张伟").unwrap();
    assert_eq!(zhang["family_name"], "张");
    assert_eq!(zhang["phones"][0]["number"], "+8613800138000;ext=12");
    assert_eq!(zhang["emails"][0]["address"], "zhang.wei@example.com");
    assert_eq!(zhang["birthday"], "2024-03-05");
    assert_eq!(zhang["source"], "event");
    let ouyang = list.iter().find(|c| c["display_name"] == "欧阳娜娜").unwrap();
    assert_eq!((ouyang["family_name"].as_str(), ouyang["birthday"].as_str()), (Some("欧阳"), Some("1990-03-05")));
    let wang = list.iter().find(|c| c["display_name"] == "王,五").unwrap();
    assert_eq!((wang["birthday"].as_str(), wang["source"].as_str()), (Some("2024-03-05"), Some("social")));
    // Imported contacts are searchable like any other.
    let found: Value =
        app.get(&admin, &format!("/api/v1/contacts?q={}", urlencode("娜娜"))).await.json().await.unwrap();
    assert_eq!(found["items"].as_array().unwrap().len(), 1);

    // The same file again: the finished import is found, nothing is duplicated.
    let again = upload(app, &admin, "/api/v1/imports?type=contacts", gbk(csv)).await;
    let again: Value = again.json().await.unwrap();
    assert_eq!((again["id"].clone(), again["resumed"].clone()), (job["id"].clone(), json!(true)));
    assert_eq!(contacts(app, &admin).await.len(), 3);

    let r = app.post(&admin, &format!("/api/v1/imports/{}/undo", job["id"].as_str().unwrap()), &json!({})).await;
    let summary: Value = r.json().await.unwrap();
    assert_eq!(summary, json!({"removed": 3, "restored": 0, "kept": 0}));
    assert!(contacts(app, &admin).await.is_empty());
    let found: Value =
        app.get(&admin, &format!("/api/v1/contacts?q={}", urlencode("娜娜"))).await.json().await.unwrap();
    assert!(found["items"].as_array().unwrap().is_empty(), "search tokens went with the contacts");
    let job: Value =
        app.get(&admin, &format!("/api/v1/imports/{}", job["id"].as_str().unwrap())).await.json().await.unwrap();
    assert_eq!(job["status"], "undone");
    let p = problem(
        app.post(&admin, &format!("/api/v1/imports/{}/undo", job["id"].as_str().unwrap()), &json!({})).await,
        409,
    )
    .await;
    assert_eq!(
        (p["type"].as_str(), p["detail"].as_str()),
        (Some("/problems/conflict"), Some("the import is already undone"))
    );
});

app_test!(policies_never_duplicate_silently_and_updates_undo_to_the_snapshot, |app: &TestApp| async move {
    let admin = app.admin().await;
    let existing = app
        .contact(&admin, json!({"display_name": "李娜", "emails": [{"address": "li@example.com"}], "job_title": "经理", "tags": ["old"]}))
        .await;
    let csv = "name,email,title,tags\n\
               Li Na,LI@example.com,总监,new\n\
               Ada,ada@example.com,CTO,\n\
               Ada again,ada@example.com,CEO,\n";
    // create_only: the existing email and the repeat inside the file are errors, not duplicates.
    let job = import(app, &admin, "policy=create_only&match=email", csv.as_bytes().to_vec()).await;
    assert_eq!((job["rows_created"].as_i64(), job["rows_failed"].as_i64()), (Some(1), Some(2)));
    let codes: Vec<String> = errors(app, &admin, &job["id"]).await.into_iter().map(|e| e.2).collect();
    assert_eq!(codes, vec!["duplicate", "duplicate_in_file"]);
    assert_eq!(contacts(app, &admin).await.len(), 2);

    // create_or_update: Li Na is updated (fields in the file replace, tags are added), Ada too.
    let csv2 = "name,email,title,tags\nLi Na,li@example.com,总监,new\nAda Lovelace,ada@example.com,CTO,\nBob,bob@example.com,,\n";
    let job2 = import(app, &admin, "policy=create_or_update", csv2.as_bytes().to_vec()).await;
    assert_eq!(
        (job2["rows_created"].as_i64(), job2["rows_updated"].as_i64(), job2["rows_failed"].as_i64()),
        (Some(1), Some(2), Some(0))
    );
    let li: Value =
        app.get(&admin, &format!("/api/v1/contacts/{}", existing["id"].as_str().unwrap())).await.json().await.unwrap();
    assert_eq!((li["display_name"].as_str(), li["job_title"].as_str()), (Some("Li Na"), Some("总监")));
    assert_eq!(li["tags"], json!(["old", "new"]));
    assert_eq!(li["version"], 2);

    // update_only: a row matching nothing is an error.
    let job3 =
        import(app, &admin, "policy=update_only", "name,email\nNobody,nobody@example.com\n".as_bytes().to_vec()).await;
    assert_eq!(job3["rows_failed"], 1);
    assert_eq!(errors(app, &admin, &job3["id"]).await[0].2, "not_found");

    // Undo of the upsert: Bob removed, Li Na and Ada back as they were.
    let s: Value = app
        .post(&admin, &format!("/api/v1/imports/{}/undo", job2["id"].as_str().unwrap()), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(s, json!({"removed": 1, "restored": 2, "kept": 0}));
    let li: Value =
        app.get(&admin, &format!("/api/v1/contacts/{}", existing["id"].as_str().unwrap())).await.json().await.unwrap();
    assert_eq!((li["display_name"].as_str(), li["job_title"].as_str()), (Some("李娜"), Some("经理")));
    assert_eq!(li["tags"], json!(["old"]));
    let names: Vec<String> =
        contacts(app, &admin).await.iter().map(|c| c["display_name"].as_str().unwrap().to_string()).collect();
    assert_eq!(names, vec!["Ada", "李娜"]);

    let p = problem(
        upload(app, &admin, "/api/v1/imports?type=contacts&policy=update_only&match=none", b"name\nx\n".to_vec()).await,
        422,
    )
    .await;
    assert_eq!(fields(&p), vec!["match"]);
    let p = problem(
        upload(app, &admin, "/api/v1/imports?type=contacts&match=phone", b"name,email\nx,y\n".to_vec()).await,
        422,
    )
    .await;
    assert_eq!(fields(&p), vec!["match"]);
});

app_test!(preview_dry_run_and_saved_mappings, |app: &TestApp| async move {
    let admin = app.admin().await;
    let r = app.post(&admin, "/api/v1/custom-fields", &json!({"object": "contact", "key": "vip_level", "label": "VIP等级", "kind": "single_select", "options": ["金", "银"]})).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    // Salesforce's export headers, semicolon-separated, UTF-16.
    let text = "Id;FirstName;LastName;Email;MobilePhone;MailingCity;LeadSource;VIP等级\n\
                003A;Ada;Lovelace;ada@example.com;+44 20 7946 0958;London;Web;金\n\
                003B;Grace;Hopper;grace@;+1 202 555 0100;Arlington;Trade Show;铜\n";
    let mut utf16 = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        utf16.extend(u.to_le_bytes());
    }
    let p: Value =
        upload(app, &admin, "/api/v1/imports/preview?type=contacts", utf16.clone()).await.json().await.unwrap();
    assert_eq!(p["source"]["encoding"], "UTF-16LE");
    assert_eq!(p["source"]["delimiter"], ";");
    assert_eq!(p["preset"], "salesforce");
    assert_eq!(p["mapping"]["columns"]["Id"], "external_id");
    assert_eq!(p["mapping"]["columns"]["VIP等级"], "custom.vip_level", "custom fields map by label");
    assert_eq!(p["rows"][0]["contact"]["phones"][0]["number"], "+442079460958");
    assert_eq!(p["rows"][0]["contact"]["source"], "web_form");
    assert_eq!(p["rows"][0]["external_id"], "003A");
    let bad: Vec<String> = p["rows"][1]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["column"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(bad, vec!["Email", "VIP等级"], "each error names its column");
    assert!(p["targets"].as_array().unwrap().contains(&json!("custom.vip_level")));

    // A dry run validates and matches every row and writes nothing.
    let job = import(app, &admin, "dry_run=true", utf16.clone()).await;
    assert_eq!(
        (job["dry_run"].as_bool(), job["rows_created"].as_i64(), job["rows_failed"].as_i64()),
        (Some(true), Some(1), Some(1))
    );
    assert!(contacts(app, &admin).await.is_empty());
    let p = problem(
        app.post(&admin, &format!("/api/v1/imports/{}/undo", job["id"].as_str().unwrap()), &json!({})).await,
        409,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("dry run"), "{p}");

    // A mapping saved by name and used again; an unknown target is a field error.
    let m = json!({"columns": {"Email": "email", "LastName": "family_name", "FirstName": "given_name", "Id": "external_id"}});
    let r =
        app.req(Some(&admin), Method::PUT, "/api/v1/imports/mappings/sf?type=contacts").json(&m).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let listed: Value = app.get(&admin, "/api/v1/imports/mappings?type=contacts").await.json().await.unwrap();
    assert_eq!(listed[0]["name"], "sf");
    let bad = json!({"columns": {"Email": "nonsense"}});
    let p = problem(
        app.req(Some(&admin), Method::PUT, "/api/v1/imports/mappings/x?type=contacts").json(&bad).send().await.unwrap(),
        422,
    )
    .await;
    assert_eq!(fields(&p), vec!["mapping/Email"]);
    let job = import(app, &admin, "mapping_name=sf", utf16).await;
    assert_eq!(
        (job["rows_created"].as_i64(), job["rows_failed"].as_i64(), job["match_key"].as_str()),
        (Some(1), Some(1), Some("external_id"))
    );
    let list = contacts(app, &admin).await;
    assert_eq!(list[0]["display_name"], "Ada Lovelace");
    assert_eq!(list[0]["phones"], json!([]), "the saved mapping leaves the phone column out");

    // A second file with the same external id updates instead of duplicating.
    let job = import(
        app,
        &admin,
        &format!("policy=create_or_update&mapping={}", urlencode(&m.to_string())),
        b"Id,FirstName,LastName,Email\n003A,Augusta Ada,Lovelace,ada@example.com\n".to_vec(),
    )
    .await;
    assert_eq!((job["rows_created"].as_i64(), job["rows_updated"].as_i64()), (Some(0), Some(1)));
    assert_eq!(contacts(app, &admin).await[0]["given_name"], "Augusta Ada");
});

app_test!(only_writers_import_and_jobs_are_private, |app: &TestApp| async move {
    let team = app.team("华东").await;
    let reader = app.user("reader@example.com", Role::Member, Some(team), TokenScope::Read).await;
    let writer = app.user("writer@example.com", Role::Member, Some(team), TokenScope::ReadWrite).await;
    let other = app.user("other@example.com", Role::Member, Some(team), TokenScope::ReadWrite).await;
    problem(upload(app, &reader, "/api/v1/imports?type=contacts", b"name\nx\n".to_vec()).await, 403).await;
    let job = import(app, &writer, "", b"name,visibility\nMine,private\n".to_vec()).await;
    assert_eq!(job["rows_created"], 1);
    problem(app.get(&other, &format!("/api/v1/imports/{}", job["id"].as_str().unwrap())).await, 404).await;
    problem(app.post(&other, &format!("/api/v1/imports/{}/undo", job["id"].as_str().unwrap()), &json!({})).await, 404)
        .await;
    let p = problem(upload(app, &writer, "/api/v1/imports?type=orders", b"x\n1\n".to_vec()).await, 422).await;
    assert_eq!(fields(&p), vec!["type"]);
});

app_test!(bad_input_catalogue, |app: &TestApp| async move {
    let admin = app.admin().await;
    let start = |bytes: Vec<u8>| upload(app, &admin, "/api/v1/imports?type=contacts", bytes);
    // Whole-file problems are answered at once, with nothing started.
    let p = problem(start(Vec::new()).await, 422).await;
    assert_eq!(fields(&p), vec!["file"]);
    let wide = (0..100_000).map(|i| format!("c{i}")).collect::<Vec<_>>().join(",") + "\n";
    let p = problem(start(wide.into_bytes()).await, 422).await;
    assert!(p["detail"].as_str().unwrap().contains("100000 columns"), "{p}");
    // An XLSX whose sheet inflates a thousandfold: refused before inflating.
    let bomb = {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        w.start_file("xl/worksheets/sheet1.xml", opts).unwrap();
        std::io::Write::write_all(&mut w, &vec![b' '; 8 * 1024 * 1024]).unwrap();
        w.finish().unwrap().into_inner()
    };
    let p = problem(start(bomb).await, 422).await;
    assert!(p["detail"].as_str().unwrap().contains("zip bomb"), "{p}");
    let p = problem(start(b"PK\x03\x04 not really a zip".to_vec()).await, 422).await;
    assert_eq!(fields(&p), vec!["file"]);

    // A header without rows: the job fails and says why.
    let job = import(app, &admin, "", b"name,email\n".to_vec()).await;
    assert_eq!(job["status"], "failed");
    assert!(job["error"].as_str().unwrap().contains("no data rows"));

    // Row problems: reported per row with line and column, the good rows are stored.
    let mut csv = "name,email,phone,birthday\n".as_bytes().to_vec();
    csv.extend("=HYPERLINK(\"http://x\"),formula@example.com,,\n".as_bytes()); // line 2: stored as text
    csv.extend("<script>alert(1)</script>,script@example.com,,\n".as_bytes()); // 3: stored as text
    csv.extend("不齐,only-two\n".as_bytes()); // 4 (also makes the sample UTF-8 with Chinese, as real files are)
    csv.extend(b"bad utf8 \xff,u@example.com,,\n"); // 5
    csv.extend(format!("huge,{}@example.com,,\n", "x".repeat(10 * 1024 * 1024)).as_bytes()); // 6
    csv.extend("ext,ext@example.com,021-6555 1234 ext. 89,2024年3月5日\n".as_bytes()); // 7
    csv.extend("when,when@example.com,,next tuesday\n".as_bytes()); // 8
    csv.extend("serial,serial@example.com,,45356\n".as_bytes()); // 9
    let job = import(app, &admin, "", csv).await;
    assert_eq!(job["status"], "done", "{job}");
    let errs = errors(app, &admin, &job["id"]).await;
    let got: Vec<(i64, String)> = errs.iter().map(|e| (e.0, e.2.clone())).collect();
    assert_eq!(
        got,
        vec![
            (4, "ragged_row".into()),
            (5, "invalid_utf8".into()),
            (6, "cell_too_long".into()),
            (8, "invalid_date".into())
        ]
    );
    assert_eq!(errs[1].1.as_deref(), Some("name"));
    let list = contacts(app, &admin).await;
    let names: Vec<&str> = list.iter().map(|c| c["display_name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["<script>alert(1)</script>", "=HYPERLINK(\"http://x\")", "ext", "serial"]);
    let ext = list.iter().find(|c| c["display_name"] == "ext").unwrap();
    assert_eq!(ext["phones"][0]["number"], "+862165551234;ext=89");
    // Exported again, the formula is neutralised.
    let csv = app.get(&admin, "/api/v1/contacts/export").await.text().await.unwrap();
    assert!(csv.contains("'=HYPERLINK"));

    // An unbalanced quote: rows before it are stored, the job fails at the line where the record started.
    let mut csv = b"name,email\nfirst,first@example.com\nsecond,\"never closed\n".to_vec();
    csv.extend(std::iter::repeat_n(b'y', 17 * 1024 * 1024));
    let job = import(app, &admin, "", csv).await;
    assert_eq!(job["status"], "failed");
    assert!(job["error"].as_str().unwrap().contains("line 3"), "{job}");
    assert_eq!(job["rows_created"], 1);
});

app_test!(cancel_keeps_committed_batches_and_a_rerun_resumes, |app: &TestApp| async move {
    let admin = app.admin().await;
    let mut csv = String::from("name,email\n");
    for i in 0..6000 {
        csv.push_str(&format!("客户{i},c{i}@example.com\n"));
    }
    let r = upload(app, &admin, "/api/v1/imports?type=contacts", csv.clone().into_bytes()).await;
    let job: Value = r.json().await.unwrap();
    let id = job["id"].as_str().unwrap().to_string();
    // Undo is refused while the import runs (409, saying what to do), and the import goes on.
    let p = problem(app.post(&admin, &format!("/api/v1/imports/{id}/undo"), &json!({})).await, 409).await;
    assert!(p["detail"].as_str().unwrap().contains("cancel it and wait until it has stopped"), "{p}");
    let r = app.post(&admin, &format!("/api/v1/imports/{id}/cancel"), &json!({})).await;
    assert_eq!(r.status(), 200);
    let job = wait(app, &admin, &id).await;
    assert_eq!(job["status"], "cancelled", "{job}");
    let done = job["rows_done"].as_i64().unwrap();
    assert!(done < 6000, "cancelled before the end ({done} rows)");
    assert_eq!(job["rows_created"].as_i64().unwrap(), done, "what was committed stays");
    let p = problem(app.post(&admin, &format!("/api/v1/imports/{id}/cancel"), &json!({})).await, 409).await;
    assert_eq!(p["detail"], "the import is already cancelled", "{p}");

    // The same file again resumes the cancelled import from its checkpoint.
    let r = upload(app, &admin, "/api/v1/imports?type=contacts", csv.into_bytes()).await;
    let again: Value = r.json().await.unwrap();
    assert_eq!((again["id"].as_str(), again["resumed"].as_bool()), (Some(id.as_str()), Some(true)));
    let job = wait(app, &admin, &id).await;
    assert_eq!((job["status"].as_str(), job["rows_created"].as_i64()), (Some("done"), Some(6000)));
    let page: Value = app.get(&admin, "/api/v1/contacts?limit=1").await.json().await.unwrap();
    assert_eq!(page["total"], 6000);
    let p = problem(app.post(&admin, &format!("/api/v1/imports/{id}/cancel"), &json!({})).await, 409).await;
    assert!(p["detail"].as_str().unwrap().starts_with("the import has finished"), "{p}");
});

app_test!(undo_keeps_imported_contacts_that_gained_history_since, |app: &TestApp| async move {
    let admin = app.admin().await;
    let csv = "name,email\nA,a@example.com\nB,b@example.com\n".as_bytes().to_vec();
    let job = import(app, &admin, "", csv).await;
    let a = contacts(app, &admin).await.into_iter().find(|c| c["display_name"] == "A").unwrap();
    let order = json!({"contact_id": a["id"], "number": "SO-1", "ordered_at": "2026-01-05T10:00:00Z",
        "lines": [{"description": "龙井", "unit_price_minor": 12800, "quantity": 1}]});
    assert_eq!(app.post(&admin, "/api/v1/orders", &order).await.status(), 201);
    // Deleting A would take the order with it (cascade): A stays, B (no history) goes.
    let r = app.post(&admin, &format!("/api/v1/imports/{}/undo", job["id"].as_str().unwrap()), &json!({})).await;
    let summary: Value = r.json().await.unwrap();
    assert_eq!(summary, json!({"removed": 1, "restored": 0, "kept": 1}));
    let left: Vec<Value> = contacts(app, &admin).await.into_iter().map(|c| c["display_name"].clone()).collect();
    assert_eq!(left, vec![json!("A")]);
    let orders: Value = app.get(&admin, "/api/v1/orders").await.json().await.unwrap();
    assert_eq!(orders["total"], 1);
});

app_test!(an_import_whose_runner_stopped_is_ended_and_resumes, |app: &TestApp| async move {
    let admin = app.admin().await;
    let csv = "name,email\nA,a@example.com\nB,b@example.com\n".as_bytes().to_vec();
    let job = import(app, &admin, "", csv.clone()).await;
    let id = uuid::Uuid::parse_str(job["id"].as_str().unwrap()).unwrap();
    // As a process killed after its first row leaves it: B not stored, running, checkpoint at the first row, no
    // batch for an hour.
    let b = contacts(app, &admin).await.into_iter().find(|c| c["display_name"] == "B").unwrap();
    let r = app.req(Some(&admin), Method::DELETE, &format!("/api/v1/contacts/{}", b["id"].as_str().unwrap()));
    assert_eq!(r.header("if-match", format!("\"{}\"", b["version"])).send().await.unwrap().status(), 204);
    let hour_ago = guanxi_core::ids::now() - chrono::Duration::hours(1);
    let mut sql =
        app.db.sql("UPDATE import_jobs SET status = 'running', rows_done = 1, rows_created = 1, updated_at = ");
    sql.bind(guanxi_store::sql::Arg::Ts(hour_ago)).push(" WHERE id = ").bind(guanxi_store::sql::Arg::Uuid(id));
    app.db.execute(sql).await.unwrap();
    // A job of a live runner (recent batch) is left alone.
    assert_eq!(imports::end_interrupted(&app.db, chrono::Duration::hours(2)).await.unwrap(), 0);
    assert_eq!(imports::end_interrupted(&app.db, chrono::Duration::minutes(10)).await.unwrap(), 1);
    let job: Value = app.get(&admin, &format!("/api/v1/imports/{id}")).await.json().await.unwrap();
    assert_eq!(job["status"], "failed");
    assert_eq!(job["error"], imports::INTERRUPTED);
    // The same file again continues from the checkpoint: B is stored once, A is not stored twice.
    let again = import(app, &admin, "", csv).await;
    assert_eq!((again["id"].as_str(), again["status"].as_str()), (job["id"].as_str(), Some("done")));
    assert_eq!((again["rows_created"].as_i64(), again["rows_failed"].as_i64()), (Some(2), Some(0)), "{again}");
    let names: Vec<Value> = contacts(app, &admin).await.into_iter().map(|c| c["display_name"].clone()).collect();
    assert_eq!(names, vec![json!("A"), json!("B")]);
});

app_test!(xlsx_import_reads_dates_and_numbers, |app: &TestApp| async move {
    let admin = app.admin().await;
    let bytes = {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (i, h) in ["姓名", "手机", "生日", "邮箱"].iter().enumerate() {
            sheet.write_string(0, i as u16, *h).unwrap();
        }
        let date = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
        sheet.write_string(1, 0, "张伟").unwrap();
        sheet.write_number(1, 1, 13800138000.0).unwrap();
        sheet
            .write_datetime_with_format(1, 2, rust_xlsxwriter::ExcelDateTime::from_ymd(1990, 3, 5).unwrap(), &date)
            .unwrap();
        sheet.write_string(1, 3, "zhang@example.com").unwrap();
        sheet.write_string(2, 0, "=1+1").unwrap();
        sheet.write_string(2, 3, "bad@").unwrap();
        book.save_to_buffer().unwrap()
    };
    let job = import(app, &admin, "file_name=客户.xlsx", bytes).await;
    assert_eq!(
        (job["status"].as_str(), job["rows_created"].as_i64(), job["rows_failed"].as_i64()),
        (Some("done"), Some(1), Some(1)),
        "{job}"
    );
    let errs = errors(app, &admin, &job["id"]).await;
    assert_eq!(errs, vec![(3, Some("邮箱".to_string()), "invalid_email".to_string())]);
    let c = &contacts(app, &admin).await[0];
    assert_eq!(
        (c["phones"][0]["number"].as_str(), c["birthday"].as_str()),
        (Some("+8613800138000"), Some("1990-03-05"))
    );
});
