//! The duplicates pages: a scan with progress, the scoped candidate list, the merge page with per-field choices
//! and confirmation, bulk merge, the merge history and undo (with a readable refusal).

use super::{EN, ZH, create_contact};
use crate::helpers::{Browser, TestApp, location};
use crate::web_test;
use guanxi_core::access::{Actor, Role, TokenScope};
use uuid::Uuid;

/// Waits until the list page no longer shows a running scan (it asks the browser to refresh while one runs).
async fn scan_to_end(b: &Browser, object: &str) -> String {
    let r = b.post("/dedup/scans", &[("object", object)]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), format!("/dedup?object={object}"));
    for _ in 0..600 {
        let r = b.get(&format!("/dedup?object={object}")).await;
        assert_eq!(r.status(), 200);
        let refresh = r.headers().get("refresh").is_some();
        let html = r.text().await.unwrap();
        if !refresh {
            assert!(!html.contains("id=\"scan-progress\""), "no progress bar once the scan ended");
            return html;
        }
        assert!(html.contains("<progress id=\"scan-progress\""), "a running scan shows its progress");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the scan did not end");
}

/// The candidate ids a list page links to, in order.
fn candidate_ids(html: &str) -> Vec<String> {
    html.split("href=\"/dedup/candidates/").skip(1).map(|s| s.split('"').next().unwrap_or("").to_string()).collect()
}

async fn version(app: &TestApp, user: Uuid, id: &str) -> i64 {
    let actor = Actor { user_id: user, team_id: None, role: Role::Admin, scope: TokenScope::ReadWrite };
    guanxi_store::contacts::get(&app.db, &actor, Uuid::parse_str(id).unwrap()).await.unwrap().version
}

web_test!(scan_review_merge_undo_and_bulk_in_the_browser, |app: &TestApp| async move {
    let east = app.team("华东").await;
    let west = app.team("华西").await;
    let boss_id = app.user("boss@example.com", Role::Manager, Some(east)).await;
    app.user("ada@example.com", Role::Member, Some(east)).await;
    app.user("wu@example.com", Role::Member, Some(west)).await;
    let boss = app.signed_in("boss@example.com", ZH).await;
    let ada = app.signed_in("ada@example.com", EN).await;
    let wu = app.signed_in("wu@example.com", EN).await;

    let a = create_contact(
        &boss,
        &[("display_name", "张伟"), ("phone", "+86 138 0013 8000"), ("job_title", "经理"), ("visibility", "team")],
    )
    .await;
    let b = create_contact(
        &boss,
        &[
            ("display_name", "張偉"),
            ("phone", "0086 138 0013 8000"),
            ("job_title", "销售总监"),
            ("visibility", "team"),
            ("confirm_duplicate", "1"),
        ],
    )
    .await;
    // Another team's private pair: nobody in the east sees it.
    for (name, phone) in [("李娜", "13900139000"), ("Lina", "+86 139 0013 9000")] {
        create_contact(
            &wu,
            &[("display_name", name), ("phone", phone), ("visibility", "private"), ("confirm_duplicate", "1")],
        )
        .await;
    }

    // Managers get the link and may scan; members neither.
    assert!(boss.html("/contacts").await.contains("href=\"/dedup?object=contacts\" id=\"dedup-link\""));
    assert!(boss.html("/companies").await.contains("href=\"/dedup?object=companies\""));
    assert!(!ada.html("/contacts").await.contains("id=\"dedup-link\""));
    assert_eq!(ada.post("/dedup/scans", &[("object", "contacts")]).await.status(), 403);
    assert!(!ada.html("/dedup").await.contains("id=\"start-scan\""));
    let r = boss.post_with("/dedup/scans", &[("object", "contacts")], &[("sec-fetch-site", "cross-site")]).await;
    assert_eq!(r.status(), 403, "CSRF: a cross-site post is refused");

    // A scan cut off by a restart (its heartbeat stopped) is shown as such, and a new one can start.
    let actor = Actor { user_id: boss_id, team_id: Some(east), role: Role::Manager, scope: TokenScope::ReadWrite };
    let cut =
        guanxi_store::dedup::start_scan(&app.db, &actor, guanxi_store::dedup::DedupObject::Contact).await.unwrap();
    let mut age = app.db.sql("UPDATE dedup_scans SET heartbeat_at = ");
    age.bind(guanxi_store::sql::Arg::Ts(chrono::Utc::now() - chrono::Duration::minutes(5)));
    age.push(" WHERE id = ").bind(guanxi_store::sql::Arg::Uuid(cut.id));
    app.db.execute(age).await.unwrap();
    let r = boss.get("/dedup?object=contacts").await;
    assert!(r.headers().get("refresh").is_none());
    assert!(r.text().await.unwrap().contains("扫描进行时服务器停止了"));

    let html = scan_to_end(&boss, "contacts").await;
    assert!(html.contains("2 对可能重复"), "the finished scan's figures: {html}");
    assert!(html.contains("手机号码相同：+8613800138000") && html.contains("张伟") && html.contains("張偉"));
    assert!(!html.contains("李娜"), "a pair of records the manager cannot see is not listed");
    let ids = candidate_ids(&html);
    assert_eq!(ids.len(), 1, "{html}");
    let pair = &ids[0];
    let theirs = wu.html("/dedup").await;
    assert!(theirs.contains("Lina") && !theirs.contains("张伟"), "members see only pairs they can see");
    assert!(theirs.contains("same phone number"), "reasons in the reader's language");
    assert_eq!(wu.get(&format!("/dedup/candidates/{pair}")).await.status(), 404);

    // The merge page: both records side by side, the older one kept by default, a choice per differing field.
    let page = boss.html(&format!("/dedup/candidates/{pair}")).await;
    assert!(page.contains("id=\"survivor-0\" checked") && page.contains("f.job_title"), "{page}");
    assert!(page.contains("id=\"f-job_title-0\" checked"), "the survivor's value by default");
    let choose =
        [("survivor", "0"), ("f.job_title", "1"), ("f.display_name", "0"), ("version0", "1"), ("version1", "1")];
    let r = boss.post(&format!("/dedup/candidates/{pair}/merge"), &choose).await;
    assert_eq!(r.status(), 200);
    let confirm = r.text().await.unwrap();
    assert!(confirm.contains("id=\"merge-now\"") && confirm.contains("<dd>销售总监</dd>"), "{confirm}");
    // Someone edits a record meanwhile: the merge is not done, the page says why.
    let stale = [choose.as_slice(), &[("confirm", "1")]].concat();
    let mut old = stale.clone();
    old[3] = ("version0", "0");
    let r = boss.post(&format!("/dedup/candidates/{pair}/merge"), &old).await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("打开本页后，两条记录之一已被修改"));
    let r = boss.post(&format!("/dedup/candidates/{pair}/merge"), &stale).await;
    assert_eq!(r.status(), 303);
    let to = location(&r);
    assert!(to.starts_with("/dedup/merges?object=contacts&merged="), "{to}");
    let done = boss.html(&to).await;
    assert!(
        done.contains("id=\"undo-merge\"") && done.contains(&format!("href=\"/contacts/{a}\" id=\"merged-survivor\""))
    );
    let survivor = boss.html(&format!("/contacts/{a}")).await;
    assert!(survivor.contains("销售总监") && !survivor.contains("经理"), "the chosen field came from the other record");
    assert_eq!(boss.get(&format!("/contacts/{b}")).await.status(), 404);

    // Undo from the page: both records are back.
    let merge_id = to.rsplit('=').next().unwrap().to_string();
    let r = boss.post(&format!("/dedup/merges/{merge_id}/undo"), &[]).await;
    assert_eq!(r.status(), 303);
    assert!(boss.html(&location(&r)).await.contains("合并已撤销"));
    assert_eq!(boss.get(&format!("/contacts/{b}")).await.status(), 200);
    assert!(boss.html(&format!("/contacts/{a}")).await.contains("经理"));

    // Bulk merge from the list, with a confirmation first.
    let r = boss.post("/dedup/merge", &[("object", "contacts"), ("candidate", pair)]).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("合并 1 对记录？"));
    let r = boss.post("/dedup/merge", &[("object", "contacts"), ("candidate", pair), ("confirm", "1")]).await;
    assert_eq!(r.status(), 200);
    let outcome = r.text().await.unwrap();
    assert!(outcome.contains("已合并"), "{outcome}");
    assert_eq!(boss.get(&format!("/contacts/{b}")).await.status(), 404);

    // The survivor changes after the merge: the undo is refused, readably.
    let v = version(app, boss_id, &a).await;
    let r = boss
        .post(
            &format!("/contacts/{a}/field"),
            &[("field", "job_title"), ("value", "总经理"), ("version", &v.to_string())],
        )
        .await;
    assert!(r.status().is_redirection() || r.status().is_success(), "{}", r.status());
    let history = boss.html("/dedup/merges?object=contacts").await;
    let bulk_merge = history.split("action=\"/dedup/merges/").nth(1).and_then(|s| s.split('/').next()).unwrap();
    let r = boss.post(&format!("/dedup/merges/{bulk_merge}/undo"), &[]).await;
    assert_eq!(r.status(), 409);
    let refused = r.text().await.unwrap();
    assert!(refused.contains("id=\"undo-error\"") && refused.contains("保留的记录在合并后被修改过"), "{refused}");
});
