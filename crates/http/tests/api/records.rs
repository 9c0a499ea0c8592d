//! Products, orders, activities, timelines and tasks through the API.

use crate::app_test;
use crate::helpers::*;
use guanxi_core::access::{Role, TokenScope};
use serde_json::{Value, json};

app_test!(orders_and_activities_share_one_timeline, |app: &TestApp| async move {
    let admin = app.admin().await;
    let p = app.post(&admin, "/api/v1/products", &json!({"sku": "TEA-001", "name": "西湖龙井", "category": "茶叶", "list_price_minor": 12800, "currency": "CNY"})).await;
    assert_eq!(p.status(), 201);
    let product: Value = p.json().await.unwrap();
    problem(app.post(&admin, "/api/v1/products", &json!({"sku": "TEA-001", "name": "dup"})).await, 422).await;
    let c = app.contact(&admin, json!({"family_name": "李", "given_name": "娜"})).await;
    let cid = c["id"].as_str().unwrap();

    let o = app
        .post(
            &admin,
            "/api/v1/orders",
            &json!({"contact_id": cid, "ordered_at": "2026-01-05T10:00:00Z", "lines": [{"product_id": product["id"], "quantity": 2, "discount_minor": 600}, {"description": "运费", "unit_price_minor": 1000}]}),
        )
        .await;
    assert_eq!(o.status(), 201);
    let order: Value = o.json().await.unwrap();
    assert_eq!(order["total_minor"], 2 * 12800 - 600 + 1000);
    assert_eq!(order["lines"][0]["description"], "西湖龙井");
    let p = problem(
        app.post(
            &admin,
            "/api/v1/orders",
            &json!({"contact_id": cid, "lines": [{"product_id": uuid::Uuid::nil(), "quantity": 0}]}),
        )
        .await,
        422,
    )
    .await;
    assert!(fields(&p).contains(&"lines/0/product_id".to_string()));

    for (kind, at) in
        [("call", "2026-01-01T09:00:00Z"), ("visit", "2026-01-06T09:00:00Z"), ("complaint", "2026-01-07T09:00:00Z")]
    {
        let r = app
            .post(
                &admin,
                "/api/v1/activities",
                &json!({"kind": kind, "contact_id": cid, "occurred_at": at, "body": format!("{kind} 记录")}),
            )
            .await;
        assert_eq!(r.status(), 201);
    }
    let tl: Value = app.get(&admin, &format!("/api/v1/contacts/{cid}/timeline")).await.json().await.unwrap();
    let types: Vec<String> = tl["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| if e["type"] == "order" { "order".to_string() } else { e["kind"].as_str().unwrap().to_string() })
        .collect();
    assert_eq!(types, vec!["complaint", "visit", "order", "call"]);
    let calls: Value =
        app.get(&admin, &format!("/api/v1/contacts/{cid}/timeline?kind=call")).await.json().await.unwrap();
    assert_eq!(calls["items"].as_array().unwrap().len(), 1);
    let page1: Value = app.get(&admin, &format!("/api/v1/contacts/{cid}/timeline?limit=2")).await.json().await.unwrap();
    let cursor = page1["next_cursor"].as_str().unwrap();
    let page2: Value = app
        .get(&admin, &format!("/api/v1/contacts/{cid}/timeline?limit=2&before={cursor}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page2["items"].as_array().unwrap().len(), 2);
    assert_eq!(page2["items"][1]["kind"], "call");

    let paid: Value = app
        .get(&admin, "/api/v1/orders?filter=status:eq:paid&filter=ordered_at:between:2026-01-01,2026-01-31")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(paid["total"], 1);
    let batch = app
        .post(
            &admin,
            "/api/v1/orders/batch",
            &json!({"items": [{"contact_id": cid, "lines": [{"description": "x", "unit_price_minor": 1}]}]}),
        )
        .await;
    assert_eq!(batch.status(), 201);

    // The product is on the order: deleting it would rewrite that purchase, so it is refused and stays.
    let product_url = format!("/api/v1/products/{}", product["id"].as_str().unwrap());
    let p = problem(app.delete(&admin, &product_url).await, 409).await;
    assert!(p["detail"].as_str().unwrap().contains("on 1 order line"), "{p}");
    assert_eq!(app.get(&admin, &product_url).await.status(), 200);
    let order_url = format!("/api/v1/orders/{}", order["id"].as_str().unwrap());
    assert_eq!(app.delete(&admin, &order_url).await.status(), 204);
    assert_eq!(app.delete(&admin, &product_url).await.status(), 204);
    problem(app.get(&admin, &product_url).await, 404).await;
});

app_test!(tasks_remind_their_assignee, |app: &TestApp| async move {
    let admin = app.admin().await;
    let other = app.user("other@example.com", Role::Member, admin.team_id, TokenScope::ReadWrite).await;
    let due = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let later = (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339();
    let r = app.post(&admin, "/api/v1/tasks", &json!({"title": "回访张伟", "due_at": due})).await;
    assert_eq!(r.status(), 201);
    let task: Value = r.json().await.unwrap();
    app.post(&admin, "/api/v1/tasks", &json!({"title": "later", "due_at": later})).await;
    app.post(&other, "/api/v1/tasks", &json!({"title": "not mine", "due_at": due})).await;
    let due_now: Value = app.get(&admin, "/api/v1/tasks/reminders").await.json().await.unwrap();
    let titles: Vec<&str> = due_now.as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap()).collect();
    assert_eq!(titles, vec!["回访张伟"]);
    let url = format!("/api/v1/tasks/{}", task["id"].as_str().unwrap());
    let done: Value = app.patch(&admin, &url, Some(1), &json!({"done": true})).await.json().await.unwrap();
    assert_eq!(done["done"], true);
    assert!(done["done_at"].is_string());
    let due_now: Value = app.get(&admin, "/api/v1/tasks/reminders").await.json().await.unwrap();
    assert!(due_now.as_array().unwrap().is_empty());
    problem(app.post(&admin, "/api/v1/tasks", &json!({"title": "  "})).await, 422).await;
});

app_test!(orders_and_activities_of_hidden_contacts_stay_hidden, |app: &TestApp| async move {
    let east = app.team("east").await;
    let west = app.team("west").await;
    let owner = app.user("o@example.com", Role::Member, Some(east), TokenScope::ReadWrite).await;
    let outsider = app.user("x@example.com", Role::Member, Some(west), TokenScope::ReadWrite).await;
    let c = app.contact(&owner, json!({"given_name": "hidden", "visibility": "private"})).await;
    let cid = c["id"].as_str().unwrap();
    let o: Value = app
        .post(
            &owner,
            "/api/v1/orders",
            &json!({"contact_id": cid, "lines": [{"description": "x", "unit_price_minor": 100}]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let a: Value = app
        .post(&owner, "/api/v1/activities", &json!({"contact_id": cid, "body": "secret note"}))
        .await
        .json()
        .await
        .unwrap();
    problem(app.get(&outsider, &format!("/api/v1/orders/{}", o["id"].as_str().unwrap())).await, 404).await;
    problem(app.get(&outsider, &format!("/api/v1/activities/{}", a["id"].as_str().unwrap())).await, 404).await;
    problem(app.get(&outsider, &format!("/api/v1/contacts/{cid}/timeline")).await, 404).await;
    for path in ["/api/v1/orders", "/api/v1/activities"] {
        let l: Value = app.get(&outsider, path).await.json().await.unwrap();
        assert_eq!(l["total"], 0, "{path} leaked");
    }
    let p = problem(
        app.post(
            &outsider,
            "/api/v1/orders",
            &json!({"contact_id": cid, "lines": [{"description": "x", "unit_price_minor": 1}]}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(fields(&p), vec!["contact_id"]);
    let p = problem(
        app.post(&outsider, "/api/v1/activities/batch", &json!({"items": [{"contact_id": cid, "body": "x"}]})).await,
        422,
    )
    .await;
    assert_eq!(fields(&p), vec!["items/0/contact_id"]);
    // Members may not change the catalogue.
    problem(app.post(&outsider, "/api/v1/products", &json!({"sku": "X", "name": "x"})).await, 403).await;
});
