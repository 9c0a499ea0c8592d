//! A member of another team tries every path to a private or team record.

use crate::app_test;
use crate::helpers::*;
use crate::search::urlencode;
use guanxi_core::access::{Role, TokenScope};
use serde_json::{Value, json};

app_test!(members_never_reach_another_teams_records, |app: &TestApp| async move {
    let east = app.team("华东").await;
    let west = app.team("华西").await;
    let owner = app.user("owner@example.com", Role::Member, Some(east), TokenScope::ReadWrite).await;
    let mate = app.user("mate@example.com", Role::Member, Some(east), TokenScope::ReadWrite).await;
    let boss = app.user("boss@example.com", Role::Manager, Some(east), TokenScope::ReadWrite).await;
    let outsider = app.user("outsider@example.com", Role::Member, Some(west), TokenScope::ReadWrite).await;
    let west_boss = app.user("westboss@example.com", Role::Manager, Some(west), TokenScope::ReadWrite).await;

    let private = app.contact(&owner, json!({"family_name": "秘", "given_name": "密", "visibility": "private", "phones": [{"number": "13911112222"}]})).await;
    let team = app.contact(&owner, json!({"family_name": "团", "given_name": "队", "visibility": "team"})).await;
    let public = app.contact(&owner, json!({"family_name": "公", "given_name": "开", "visibility": "public"})).await;
    let company = app
        .post(&owner, "/api/v1/companies", &json!({"name": "秘密公司", "visibility": "private"}))
        .await
        .json::<Value>()
        .await
        .unwrap();

    let url = |c: &Value| format!("/api/v1/contacts/{}", c["id"].as_str().unwrap());
    for intruder in [&outsider, &west_boss] {
        for c in [&private, &team] {
            problem(app.get(intruder, &url(c)).await, 404).await;
            problem(app.patch(intruder, &url(c), Some(1), &json!({"job_title": "x"})).await, 404).await;
            problem(app.delete(intruder, &url(c)).await, 404).await;
        }
        let list: Value = app.get(intruder, "/api/v1/contacts").await.json().await.unwrap();
        assert_eq!(list["total"], 1, "only the public contact");
        assert_eq!(list["items"][0]["id"], public["id"]);
        for q in ["秘密", "团队", "2222"] {
            let r: Value = app.get(intruder, &format!("/api/v1/search?q={}", urlencode(q))).await.json().await.unwrap();
            assert!(r["contacts"].as_array().unwrap().is_empty(), "search {q} leaked");
            assert!(r["companies"].as_array().unwrap().is_empty(), "search {q} leaked a company");
            let l: Value =
                app.get(intruder, &format!("/api/v1/contacts?q={}", urlencode(q))).await.json().await.unwrap();
            assert_eq!(l["total"], 0);
        }
        problem(app.get(intruder, &format!("/api/v1/companies/{}", company["id"].as_str().unwrap())).await, 404).await;
        // Linking to an invisible company, in a single create or a batch, is refused as if it did not exist.
        let p = problem(
            app.post(intruder, "/api/v1/contacts", &json!({"given_name": "x", "company_id": company["id"]})).await,
            422,
        )
        .await;
        assert_eq!(fields(&p), vec!["company_id"]);
        let p = problem(
            app.post(
                intruder,
                "/api/v1/contacts/batch",
                &json!({"items": [{"given_name": "y"}, {"given_name": "x", "company_id": company["id"]}]}),
            )
            .await,
            422,
        )
        .await;
        assert_eq!(fields(&p), vec!["items/1/company_id"]);
        // Public records of another team are readable but not writable.
        assert_eq!(app.get(intruder, &url(&public)).await.status(), 200);
        problem(app.patch(intruder, &url(&public), Some(1), &json!({"job_title": "x"})).await, 403).await;
    }
    // The teammate sees the team record but not the private one; the manager sees both.
    assert_eq!(app.get(&mate, &url(&team)).await.status(), 200);
    problem(app.get(&mate, &url(&private)).await, 404).await;
    assert_eq!(app.get(&boss, &url(&private)).await.status(), 200);
    let list: Value = app.get(&boss, "/api/v1/contacts").await.json().await.unwrap();
    assert_eq!(list["total"], 3);
});
