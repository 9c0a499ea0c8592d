//! The import pages: upload, the proposed mapping and its preview, a changed mapping, start, progress, rejected
//! rows, undo; and the refusals (empty file, someone else's upload, a type the caller may not import, another
//! team's job).

use super::{EN, ZH};
use crate::helpers::{Browser, TestApp, everything, location, root};
use crate::web_test;
use guanxi_core::access::{Actor, Role, TokenScope};

const CSV: &str = "姓名,手机,邮箱,公司\n张伟,13800138000,zhang.wei@example.com,杭州云栖科技有限公司\n\
    Ada Lovelace,+44 20 7946 0000,ada@example.com,\n王芳,13900139000,not-an-email,\n";

/// Uploads a file and returns the preview URL it redirects to.
async fn upload(b: &Browser, object: &str, name: &str, content: &[u8]) -> String {
    let r =
        b.post_multipart("/imports/upload", &[("type", None, object.as_bytes()), ("file", Some(name), content)]).await;
    assert_eq!(r.status(), 303, "upload: {}", r.text().await.unwrap_or_default());
    let to = location(&r);
    assert!(to.starts_with("/imports/preview?"), "{to}");
    to
}

/// The value of a query parameter of a local URL.
fn param(url: &str, key: &str) -> String {
    let q = url.split_once('?').map_or("", |(_, q)| q);
    form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == key).map(|(_, v)| v.into_owned()).unwrap_or_default()
}

/// Polls a job's page until it stops asking to be refreshed.
async fn finished(b: &Browser, job: &str) -> String {
    for _ in 0..600 {
        let r = b.get(job).await;
        assert_eq!(r.status(), 200);
        let refresh = r.headers().get("refresh").is_some();
        let html = r.text().await.unwrap();
        if !refresh {
            return html;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the import did not end");
}

async fn contacts(app: &TestApp) -> u64 {
    guanxi_store::contacts::list(&app.db, &root(), &everything()).await.unwrap().total
}

web_test!(upload_preview_map_start_and_undo_in_the_browser, |app: &TestApp| async move {
    let east = app.team("华东").await;
    let west = app.team("华西").await;
    let boss_id = app.user("boss@example.com", Role::Admin, Some(east)).await;
    app.user("wu@example.com", Role::Member, Some(west)).await;
    let boss = app.signed_in("boss@example.com", EN).await;
    let wu = app.signed_in("wu@example.com", ZH).await;

    let list = boss.html("/contacts").await;
    assert!(list.contains("href=\"/imports?type=contacts\" id=\"import-link\""));
    let index = boss.html("/imports?type=contacts").await;
    assert!(index.contains("enctype=\"multipart/form-data\""));
    assert!(index.contains("<option value=\"contacts\" selected>"));

    // The proposal maps every Chinese header; the preview shows the rows as stored and the bad one's reason.
    let preview_url = upload(&boss, "contacts", "客户.csv", CSV.as_bytes()).await;
    assert_eq!(param(&preview_url, "name"), "客户.csv");
    let file = param(&preview_url, "file");
    assert_eq!(file.len(), 64, "the form carries the file's hash");
    let html = boss.html(&preview_url).await;
    for (i, target) in ["name", "phone", "email", "company"].iter().enumerate() {
        let select = html.split(&format!("id=\"col-{i}\"")).nth(1).unwrap().split("</select>").next().unwrap();
        assert!(select.contains(&format!("<option value=\"{target}\" selected>")), "column {i}: {select}");
    }
    assert!(html.contains("张伟 · zhang.wei@example.com · +8613800138000 · 杭州云栖科技有限公司"), "{html}");
    let bad_row = html.split("<td class=\"nowrap\">4</td>").nth(1).unwrap().split("</tr>").next().unwrap();
    assert!(
        bad_row.contains("<ul class=\"field-error\"><li>邮箱: "),
        "the rejected row's column and reason: {bad_row}"
    );
    assert!(html.contains("<option value=\"email\" selected>email</option>"), "matched on e-mail by default");

    // Leaving the company out: the preview follows the form's mapping.
    let changed = format!("{preview_url}&col.0=name&col.1=phone&col.2=email&col.3=");
    let html = boss.html(&changed).await;
    let select = html.split("id=\"col-3\"").nth(1).unwrap().split("</select>").next().unwrap();
    assert!(select.contains("<option value=\"\" selected>"), "{select}");
    assert!(!html.contains("杭州云栖科技有限公司</td>"));

    // A mapping that fills nothing is refused with the reason, on the preview page.
    let none = [
        ("type", "contacts"),
        ("file", file.as_str()),
        ("name", "客户.csv"),
        ("col.0", ""),
        ("col.1", ""),
        ("col.2", ""),
        ("col.3", ""),
    ];
    let r = boss.post("/imports/start", &none).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("id=\"import-errors\""));

    // Someone else cannot start (or see) this upload: the name of the file binds it to its uploader.
    let theirs = [("type", "contacts"), ("file", file.as_str()), ("name", "x.csv")];
    let r = wu.post("/imports/start", &theirs).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("请重新上传"));
    let r = wu.get(&format!("/imports/preview?type=contacts&file={}", "../".repeat(20))).await;
    assert_eq!(r.status(), 422, "a path is not a hash");

    let start = [
        ("type", "contacts"),
        ("file", file.as_str()),
        ("name", "客户.csv"),
        ("col.0", "name"),
        ("col.1", "phone"),
        ("col.2", "email"),
        ("col.3", "company"),
        ("policy", "create_only"),
        ("match", "email"),
        ("save_as", "客户表"),
    ];
    // Contacts are linked to companies that exist; a row naming an unknown one would be rejected.
    let company = guanxi_core::company::CompanyInput {
        name: Some("杭州云栖科技有限公司".into()),
        ..Default::default()
    };
    let boss_actor = Actor { user_id: boss_id, team_id: Some(east), role: Role::Admin, scope: TokenScope::ReadWrite };
    guanxi_store::companies::create(&app.db, &boss_actor, &company.validate(&[]).unwrap()).await.unwrap();
    let r = boss.post("/imports/start", &start).await;
    assert_eq!(r.status(), 303, "start: {}", r.text().await.unwrap_or_default());
    let job = location(&r);
    assert!(job.starts_with("/imports/"), "{job}");
    let html = finished(&boss, &job).await;
    assert!(html.contains("3 rows read: 2 created, 0 updated, 1 rejected"), "{html}");
    assert!(html.contains("<td class=\"nowrap\">4</td><td>邮箱</td>"), "the rejected row's line and column: {html}");
    assert!(html.contains("id=\"undo-import\""));
    assert_eq!(contacts(app).await, 2);
    // Cancelling a finished import is refused with a notice that says what to do instead.
    let r = boss.post(&format!("{job}/cancel"), &[]).await;
    assert_eq!(location(&r), format!("{job}?notice=cancel_finished"));
    assert!(boss.html(&location(&r)).await.contains("there is nothing to cancel. To remove what it stored, undo it."));
    let saved = guanxi_store::imports::list_mappings(&app.db, "contact").await.unwrap();
    assert_eq!(saved.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), ["客户表"]);
    assert!(boss.html("/imports").await.contains(&format!("href=\"{job}\">客户.csv</a>")));

    // Another team's member sees neither the job nor its row in the list.
    assert_eq!(wu.get(&job).await.status(), 404);
    assert!(!wu.html("/imports").await.contains(&job));

    // The same file again resumes the finished import instead of storing the rows twice.
    let again = upload(&boss, "contacts", "客户.csv", CSV.as_bytes()).await;
    let r = boss.post("/imports/start", &start).await;
    assert_eq!(param(&again, "file"), file);
    assert_eq!(location(&r), job);
    assert_eq!(contacts(app).await, 2);

    let r = boss.post(&format!("{job}/undo"), &[]).await;
    assert_eq!(location(&r), format!("{job}?notice=undone"));
    assert_eq!(contacts(app).await, 0);
    let html = boss.html(&format!("{job}?notice=undone")).await;
    assert!(html.contains("The import was undone."));
    assert!(!html.contains("id=\"undo-import\""));
    let r = boss.post(&format!("{job}/undo"), &[]).await;
    assert_eq!(location(&r), format!("{job}?notice=already_undone"), "a second undo is refused with a notice");
    assert!(boss.html(&location(&r)).await.contains("The import has already been undone."));
    let r = boss.post(&format!("{job}/cancel"), &[]).await;
    assert_eq!(location(&r), format!("{job}?notice=already_undone"), "so is a cancel of an undone import");
});

web_test!(bad_uploads_get_a_readable_message, |app: &TestApp| async move {
    let team = app.team("华东").await;
    app.user("ada@example.com", Role::Member, Some(team)).await;
    let ada = app.signed_in("ada@example.com", ZH).await;

    let r = ada.post_multipart("/imports/upload", &[("type", None, b"contacts"), ("file", Some("空.csv"), b"")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("文件不能为空"));

    let r = ada.post_multipart("/imports/upload", &[("type", None, b"products")]).await;
    assert_eq!(r.status(), 422, "no file at all");

    // Members do not keep the product catalogue.
    let products = "SKU,名称,价格\nA-1,茶杯,12.50\n";
    let r = ada
        .post_multipart("/imports/upload", &[("type", None, b"products"), ("file", Some("p.csv"), products.as_bytes())])
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("id=\"import-errors\""));

    // A file that is not a table: the preview names the problem instead of failing.
    let binary: Vec<u8> = (0u8..=255).cycle().take(4096).collect();
    let to = upload(&ada, "contacts", "photo.jpg", &binary).await;
    let r = ada.get(&to).await;
    assert!(r.status() == 422 || r.status() == 200, "{}", r.status());
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"import-errors\""), "{html}");
});
