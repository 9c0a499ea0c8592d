//! Exports: scoped like the list, filtered like the list, safe to open in a spreadsheet, streamed page by page.

use crate::app_test;
use crate::helpers::*;
use crate::search::urlencode;
use guanxi_core::access::{Role, TokenScope};
use serde_json::{Value, json};

/// Parses an exported CSV body: checks the BOM and returns the header and rows.
fn csv_rows(body: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    assert!(body.starts_with("\u{feff}".as_bytes()), "CSV starts with a UTF-8 BOM");
    let mut r = csv::ReaderBuilder::new().from_reader(&body[3..]);
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r.records().map(|rec| rec.unwrap().iter().map(str::to_string).collect()).collect();
    (header, rows)
}

fn col(header: &[String], name: &str) -> usize {
    header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"))
}

app_test!(contact_export_is_scoped_filtered_and_spreadsheet_safe, |app: &TestApp| async move {
    let east = app.team("华东").await;
    let west = app.team("华西").await;
    let owner = app.user("owner@example.com", Role::Member, Some(east), TokenScope::Read).await;
    let writer = app.user("writer@example.com", Role::Member, Some(east), TokenScope::ReadWrite).await;
    let outsider = app.user("outsider@example.com", Role::Member, Some(west), TokenScope::ReadWrite).await;
    app.contact(&writer, json!({"display_name": "=HYPERLINK(\"http://evil\",\"x\")", "job_title": "  +cmd", "address": {"city": "北京"}, "visibility": "team"})).await;
    app.contact(&writer, json!({"family_name": "张", "given_name": "伟", "emails": [{"address": "zhang@example.com"}], "phones": [{"number": "13800138000"}], "address": {"city": "北京"}, "tags": ["vip", "@risk"], "visibility": "team"})).await;
    app.contact(
        &writer,
        json!({"family_name": "李", "given_name": "娜", "address": {"city": "上海"}, "visibility": "team"}),
    )
    .await;
    app.contact(
        &outsider,
        json!({"family_name": "王", "given_name": "秘", "address": {"city": "北京"}, "visibility": "private"}),
    )
    .await;

    // A read-only token may export (it is a read).
    let r = app.get(&owner, "/api/v1/contacts/export?format=csv").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(r.headers()["content-disposition"].to_str().unwrap().starts_with("attachment; filename=\"contacts-"));
    let (header, rows) = csv_rows(&r.bytes().await.unwrap());
    let name = col(&header, "display_name");
    let mut names: Vec<&str> = rows.iter().map(|r| r[name].as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        vec!["'=HYPERLINK(\"http://evil\",\"x\")", "张伟", "李娜"],
        "the outsider's private contact is not exported"
    );
    let evil = rows.iter().find(|r| r[name].contains("HYPERLINK")).unwrap();
    assert_eq!(evil[col(&header, "job_title")], "'+cmd", "stored trimmed, still neutralised");
    let zhang = rows.iter().find(|r| r[name] == "张伟").unwrap();
    assert_eq!(zhang[col(&header, "email")], "zhang@example.com");
    assert_eq!(zhang[col(&header, "phone")], "+8613800138000");
    assert_eq!(zhang[col(&header, "tags")], "vip, @risk", "only a leading formula character is neutralised");

    // The same filter, sort and q parameters as the list endpoint.
    let path =
        format!("/api/v1/contacts/export?format=csv&filter={}&sort=display_name", urlencode("address.city:eq:北京"));
    let (header, rows) = csv_rows(&app.get(&owner, &path).await.bytes().await.unwrap());
    let names: Vec<&str> = rows.iter().map(|r| r[col(&header, "display_name")].as_str()).collect();
    assert_eq!(names, vec!["'=HYPERLINK(\"http://evil\",\"x\")", "张伟"]);
    let (header, rows) = csv_rows(
        &app.get(&owner, &format!("/api/v1/contacts/export?q={}", urlencode("李娜"))).await.bytes().await.unwrap(),
    );
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][col(&header, "display_name")], "李娜");

    // The outsider sees only its own contact.
    let (_, rows) = csv_rows(&app.get(&outsider, "/api/v1/contacts/export").await.bytes().await.unwrap());
    assert_eq!(rows.len(), 1);

    let p = problem(app.get(&owner, "/api/v1/contacts/export?format=pdf").await, 422).await;
    assert_eq!(fields(&p), vec!["format"]);
    let p = problem(app.get(&owner, "/api/v1/contacts/export?filter=nope:eq:1").await, 422).await;
    assert!(!fields(&p).is_empty());
    problem(app.req(None, crate::client::Method::GET, "/api/v1/contacts/export").send().await.unwrap(), 401).await;
});

app_test!(contact_export_formats, |app: &TestApp| async move {
    let admin = app.admin().await;
    let company = app.post(&admin, "/api/v1/companies", &json!({"name": "阿里巴巴; Alibaba, Inc."})).await;
    let company: Value = company.json().await.unwrap();
    let c = app.contact(&admin, json!({"family_name": "张", "given_name": "伟", "company_id": company["id"], "job_title": "经理", "emails": [{"address": "zhang@example.com"}], "phones": [{"number": "(010) 6552 9988 转 123"}], "birthday": "1990-03-05", "address": {"country": "CN", "city": "北京", "street": "朝阳路 1 号"}})).await;
    app.contact(&admin, json!({"display_name": "Ada Lovelace", "emails": [{"address": "ada@example.com"}]})).await;

    let r = app.get(&admin, "/api/v1/contacts/export?format=jsonl").await;
    assert_eq!(r.headers()["content-type"], "application/jsonl; charset=utf-8");
    let text = r.text().await.unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    let api: Value =
        app.get(&admin, &format!("/api/v1/contacts/{}", c["id"].as_str().unwrap())).await.json().await.unwrap();
    assert!(lines.contains(&api), "a JSON line is the record exactly as the API returns it");

    let r = app.get(&admin, "/api/v1/contacts/export?format=vcard").await;
    assert_eq!(r.headers()["content-type"], "text/vcard; charset=utf-8");
    let cards = r.text().await.unwrap();
    assert_eq!(cards.matches("BEGIN:VCARD\r\nVERSION:4.0\r\n").count(), 2);
    assert!(cards.contains("FN:张伟\r\n"));
    assert!(cards.contains("N:张;伟;;;\r\n"));
    assert!(cards.contains("ORG:阿里巴巴\\; Alibaba\\, Inc.\r\n"));
    assert!(cards.contains("TEL;PREF=1;VALUE=uri:tel:+861065529988;ext=123\r\n"));
    assert!(cards.contains("BDAY:19900305\r\n"));
    assert!(cards.contains("EMAIL;PREF=1:ada@example.com\r\n"));

    let r = app.get(&admin, "/api/v1/contacts/export?format=xlsx").await;
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap();
    let mut book: calamine::Xlsx<_> = calamine::Reader::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let range = calamine::Reader::worksheet_range_at(&mut book, 0).unwrap().unwrap();
    let rows: Vec<Vec<String>> = range.rows().map(|r| r.iter().map(|c| c.to_string()).collect()).collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0][1], "display_name");
    assert!(rows.iter().any(|r| r[1] == "张伟" && r[9] == "阿里巴巴; Alibaba, Inc."));

    let p = problem(app.get(&admin, "/api/v1/companies/export?format=vcard").await, 422).await;
    assert_eq!(fields(&p), vec!["format"]);
});

app_test!(export_pages_through_every_record, |app: &TestApp| async move {
    let admin = app.admin().await;
    // More than two store pages (500 each), so the keyset walk must carry on after a page boundary.
    for batch in 0..2 {
        let items: Vec<Value> = (0..600)
            .map(|i| json!({"display_name": format!("客户 {batch}-{i}"), "tags": [format!("b{batch}")]}))
            .collect();
        let r = app.post(&admin, "/api/v1/contacts/batch", &json!({"items": items})).await;
        assert_eq!(r.status(), 201);
    }
    let text = app.get(&admin, "/api/v1/contacts/export?format=jsonl").await.text().await.unwrap();
    let ids: std::collections::HashSet<String> =
        text.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids.len(), 1200);
    assert_eq!(text.lines().count(), 1200);
    let path =
        format!("/api/v1/contacts/export?format=csv&filter={}&sort=display_name&limit=5", urlencode("tags:has_tag:b1"));
    let (header, rows) = csv_rows(&app.get(&admin, &path).await.bytes().await.unwrap());
    assert_eq!(rows.len(), 600, "a page size in the URL does not cut the export short");
    let names: Vec<&str> = rows.iter().map(|r| r[col(&header, "display_name")].as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
});

app_test!(orders_export_one_row_per_line, |app: &TestApp| async move {
    let admin = app.admin().await;
    let c = app.contact(&admin, json!({"display_name": "李娜"})).await;
    let r = app
        .post(&admin, "/api/v1/orders", &json!({"contact_id": c["id"], "number": "SO-1", "ordered_at": "2026-01-05T10:00:00Z", "lines": [{"description": "龙井", "unit_price_minor": 12800, "quantity": 2}, {"description": "=运费", "unit_price_minor": 1000}]}))
        .await;
    assert_eq!(r.status(), 201);
    let (header, rows) = csv_rows(&app.get(&admin, "/api/v1/orders/export").await.bytes().await.unwrap());
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r[col(&header, "number")] == "SO-1" && r[col(&header, "total_minor")] == "26600"));
    let descriptions: Vec<&str> = rows.iter().map(|r| r[col(&header, "line.description")].as_str()).collect();
    assert_eq!(descriptions, vec!["龙井", "'=运费"]);
    for path in ["/api/v1/companies/export", "/api/v1/products/export", "/api/v1/activities/export?format=xlsx"] {
        assert_eq!(app.get(&admin, path).await.status(), 200, "{path}");
    }
});
