//! Duplicates over HTTP: scan, candidates with reasons, create warnings, merge, bulk merge, undo and scope.

use crate::app_test;
use crate::helpers::*;
use guanxi_core::access::{Role, TokenScope};
use serde_json::{Value, json};

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

/// Starts a scan (202 with the running scan and its Location) and polls it until it ends.
async fn scan(app: &TestApp, user: &TestUser, object: &str) -> Value {
    let r = app.post(user, "/api/v1/dedup/scans", &json!({ "object": object })).await;
    assert_eq!(r.status(), 202);
    let location = r.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let started: Value = r.json().await.unwrap();
    assert_eq!(location, format!("/api/v1/dedup/scans/{}", id(&started)));
    assert_eq!(started["status"], "running");
    for _ in 0..1200 {
        let now: Value = app.get(user, &location).await.json().await.unwrap();
        if now["status"] != "running" {
            return now;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the scan did not finish: {location}");
}

app_test!(scan_merge_and_undo_through_the_api, |app: &TestApp| async move {
    let east = app.team("华东").await;
    let west = app.team("华西").await;
    let boss = app.user("boss@example.com", Role::Manager, Some(east), TokenScope::ReadWrite).await;
    let member = app.user("member@example.com", Role::Member, Some(east), TokenScope::ReadWrite).await;
    let outsider = app.user("outsider@example.com", Role::Member, Some(west), TokenScope::ReadWrite).await;

    let a = app
        .contact(&member, json!({"display_name": "张伟", "phones": [{"number": "+86 138-0013-8000", "primary": true}]}))
        .await;
    // The create answers with the look-alike's id in a header, and can refuse instead.
    let r = app
        .post(&member, "/api/v1/contacts", &json!({"display_name": "張偉", "phones": [{"number": "13800138000"}]}))
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers().get("possible-duplicates").and_then(|v| v.to_str().ok()), Some(id(&a)));
    let b: Value = r.json().await.unwrap();
    let p = problem(
        app.req(Some(&member), crate::client::Method::POST, "/api/v1/contacts?duplicates=reject")
            .json(&json!({"display_name": "张伟", "phones": [{"number": "13800138000"}]}))
            .send()
            .await
            .unwrap(),
        409,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains(id(&a)));
    let check: Value = app
        .post(&member, "/api/v1/dedup/check?lang=zh", &json!({"object": "contacts", "record": {"display_name": "章伟", "phones": [{"number": "0086 138 0013 8000"}]}}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(check["contacts"].as_array().unwrap().len(), 2);
    assert_eq!(check["contacts"][0]["reasons"][0]["code"], "same_phone");
    assert_eq!(check["contacts"][0]["reasons"][0]["text"], "手机号码相同：+8613800138000");
    let p = problem(
        app.post(
            &member,
            "/api/v1/dedup/check",
            &json!({"object": "contacts", "record": {"emails": [{"address": "nope"}]}}),
        )
        .await,
        422,
    )
    .await;
    assert!(fields(&p).iter().all(|f| f.starts_with("record/")), "{p}");

    // Scans are for managers and admins.
    problem(app.post(&member, "/api/v1/dedup/scans", &json!({"object": "contacts"})).await, 403).await;
    problem(app.post(&boss, "/api/v1/dedup/scans", &json!({"object": "people"})).await, 422).await;
    let scan = scan(app, &boss, "contacts").await;
    assert_eq!((scan["status"].as_str(), scan["pairs"].as_i64()), (Some("succeeded"), Some(1)), "{scan}");
    assert_eq!((scan["phase"].as_str(), scan["records"].as_i64()), (Some("done"), Some(2)), "{scan}");
    let scans: Value = app.get(&boss, "/api/v1/dedup/scans?object=contacts").await.json().await.unwrap();
    assert_eq!(scans[0]["id"], scan["id"]);
    problem(app.get(&boss, "/api/v1/dedup/scans/not-a-scan").await, 404).await;

    let list: Value = app.get(&member, "/api/v1/dedup/candidates?object=contacts&lang=en").await.json().await.unwrap();
    assert_eq!(list["total"], 1);
    let cand = &list["items"][0];
    let codes: Vec<&str> = cand["reasons"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["same_phone", "traditional_simplified_name"]);
    assert_eq!(cand["records"][0]["id"], a["id"], "older first");
    let empty: Value = app.get(&outsider, "/api/v1/dedup/candidates?object=contacts").await.json().await.unwrap();
    assert_eq!(empty["total"], 0, "another team sees no pair of records it cannot see");
    problem(app.get(&outsider, &format!("/api/v1/dedup/candidates/{}", id(cand))).await, 404).await;
    problem(app.post(&outsider, &format!("/api/v1/dedup/candidates/{}/dismiss", id(cand)), &json!({})).await, 404)
        .await;
    problem(
        app.post(&outsider, "/api/v1/contacts/merge", &json!({"survivor_id": a["id"], "merged_id": b["id"]})).await,
        404,
    )
    .await;

    // Merge through the API, then undo.
    let before_b: Value = app.get(&member, &format!("/api/v1/contacts/{}", id(&b))).await.json().await.unwrap();
    let r = app
        .post(&member, "/api/v1/contacts/merge", &json!({"survivor_id": a["id"], "merged_id": b["id"], "fields": {"display_name": "merged"}, "survivor_version": 1}))
        .await;
    assert_eq!(r.status(), 201);
    let merged: Value = r.json().await.unwrap();
    assert_eq!(merged["survivor"]["display_name"], "張偉");
    assert_eq!(merged["merge"]["candidate_id"], cand["id"]);
    problem(app.get(&member, &format!("/api/v1/contacts/{}", id(&b))).await, 404).await;
    let log: Value = app.get(&member, "/api/v1/merges?object=contacts").await.json().await.unwrap();
    assert_eq!(log["items"][0]["id"], merged["merge"]["id"]);
    let outsiders_log: Value = app.get(&outsider, "/api/v1/merges").await.json().await.unwrap();
    assert!(outsiders_log["items"].as_array().unwrap().is_empty());
    let merge_id = merged["merge"]["id"].as_str().unwrap();
    problem(app.post(&outsider, &format!("/api/v1/merges/{merge_id}/undo"), &json!({})).await, 404).await;
    let undone: Value =
        app.post(&member, &format!("/api/v1/merges/{merge_id}/undo"), &json!({})).await.json().await.unwrap();
    assert!(undone["undone_at"].is_string());
    let back: Value = app.get(&member, &format!("/api/v1/contacts/{}", id(&b))).await.json().await.unwrap();
    assert_eq!(back, before_b);
    let p = problem(app.post(&member, &format!("/api/v1/merges/{merge_id}/undo"), &json!({})).await, 409).await;
    assert!(p["detail"].as_str().unwrap().contains("already undone"));

    // Bulk merge from the candidate list (the pair is open again after the undo).
    let r: Value = app
        .post(
            &member,
            "/api/v1/dedup/candidates/merge",
            &json!({"items": [{"candidate_id": cand["id"]}, {"candidate_id": cand["id"]}]}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r[0]["status"], 201);
    assert_eq!(r[0]["merge"]["survivor_id"], a["id"]);
    assert_eq!(r[1]["status"], 404, "the second item finds one record of the pair merged away: {r}");
    // The survivor changed since the merge: undo is refused with the reason.
    let survivor: Value = app.get(&member, &format!("/api/v1/contacts/{}", id(&a))).await.json().await.unwrap();
    let v = survivor["version"].as_i64().unwrap();
    assert_eq!(
        app.patch(&member, &format!("/api/v1/contacts/{}", id(&a)), Some(v), &json!({"job_title": "经理"}))
            .await
            .status(),
        200
    );
    let second = r[0]["merge"]["id"].as_str().unwrap();
    let p = problem(app.post(&member, &format!("/api/v1/merges/{second}/undo"), &json!({})).await, 409).await;
    assert!(p["detail"].as_str().unwrap().contains("changed after the merge"), "{p}");
});

app_test!(company_merge_and_field_errors, |app: &TestApp| async move {
    let admin = app.admin().await;
    let c1: Value = app.post(&admin, "/api/v1/companies", &json!({"name": "Acme Inc."})).await.json().await.unwrap();
    let r = app.post(&admin, "/api/v1/companies", &json!({"name": "ACME"})).await;
    assert_eq!(r.headers().get("possible-duplicates").and_then(|v| v.to_str().ok()), Some(id(&c1)));
    let c2: Value = r.json().await.unwrap();
    let p = problem(
        app.post(
            &admin,
            "/api/v1/companies/merge",
            &json!({"survivor_id": c1["id"], "merged_id": c2["id"], "fields": {"colour": "merged"}}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&p), ["fields/colour"]);
    problem(
        app.post(&admin, "/api/v1/companies/merge", &json!({"survivor_id": c1["id"], "merged_id": c1["id"]})).await,
        422,
    )
    .await;
    problem(
        app.post(
            &admin,
            "/api/v1/companies/merge",
            &json!({"survivor_id": c1["id"], "merged_id": c2["id"], "fields": {"name": "maybe"}}),
        )
        .await,
        422,
    )
    .await;
    let r = app
        .post(
            &admin,
            "/api/v1/companies/merge",
            &json!({"survivor_id": c1["id"], "merged_id": c2["id"], "fields": {"name": "merged"}}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let m: Value = r.json().await.unwrap();
    assert_eq!(m["survivor"]["name"], "ACME");
    problem(app.get(&admin, "/api/v1/dedup/candidates?object=contacts&status=gone").await, 422).await;
    problem(app.get(&admin, "/api/v1/dedup/candidates").await, 422).await;
});
