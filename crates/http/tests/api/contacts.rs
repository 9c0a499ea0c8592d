use crate::app_test;
use crate::helpers::*;
use serde_json::{Value, json};

app_test!(create_read_update_delete_with_etags, |app: &TestApp| async move {
    let admin = app.admin().await;
    let r = app
        .post(
            &admin,
            "/api/v1/contacts",
            &json!({"family_name": "欧阳", "given_name": "娜娜", "phones": [{"number": "0086 138-0013-8000"}], "emails": [{"address": "NaNa@Example.com"}], "tags": ["vip"]}),
        )
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["etag"], "\"1\"");
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let c: Value = r.json().await.unwrap();
    assert_eq!(c["display_name"], "欧阳娜娜");
    assert_eq!(c["phones"], json!([{"number": "+8613800138000", "primary": true}]));
    assert_eq!(c["emails"], json!([{"address": "nana@example.com", "primary": true}]));
    for key in [
        "id",
        "family_name",
        "given_name",
        "company_id",
        "job_title",
        "tags",
        "owner_id",
        "source",
        "custom",
        "version",
        "created_at",
        "updated_at",
    ] {
        assert!(c.get(key).is_some(), "missing {key}");
    }
    assert_eq!(location, format!("/api/v1/contacts/{}", c["id"].as_str().unwrap()));

    let got: Value = app.get(&admin, &location).await.json().await.unwrap();
    assert_eq!(got, c);

    // No If-Match: 428. Stale: 412 with the current version. Right version: 200 and version + 1.
    problem(app.patch(&admin, &location, None, &json!({"job_title": "CEO"})).await, 428).await;
    let p = problem(app.patch(&admin, &location, Some(7), &json!({"job_title": "CEO"})).await, 412).await;
    assert_eq!(p["current_version"], 1);
    let r = app.patch(&admin, &location, Some(1), &json!({"job_title": "CEO", "address": {"city": "上海"}})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["etag"], "\"2\"");
    let u: Value = r.json().await.unwrap();
    assert_eq!(u["job_title"], "CEO");
    assert_eq!(u["address"]["city"], "上海");
    assert_eq!(u["display_name"], "欧阳娜娜");
    // The first writer's change is not lost by a second writer holding version 1.
    problem(app.patch(&admin, &location, Some(1), &json!({"job_title": "CTO"})).await, 412).await;

    assert_eq!(app.delete(&admin, &location).await.status(), 204);
    problem(app.get(&admin, &location).await, 404).await;
});

app_test!(idempotency_key_prevents_duplicates, |app: &TestApp| async move {
    let admin = app.admin().await;
    let body = json!({"given_name": "Ada", "family_name": "Lovelace"});
    let send = |b: Value| {
        app.req(Some(&admin), crate::client::Method::POST, "/api/v1/contacts")
            .header("idempotency-key", "k-1")
            .json(&b)
            .send()
    };
    let first = send(body.clone()).await.unwrap();
    assert_eq!(first.status(), 201);
    let a: Value = first.json().await.unwrap();
    let second = send(body.clone()).await.unwrap();
    assert_eq!(second.status(), 201);
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    let b: Value = second.json().await.unwrap();
    assert_eq!(a["id"], b["id"]);
    let list: Value = app.get(&admin, "/api/v1/contacts").await.json().await.unwrap();
    assert_eq!(list["total"], 1);
    let p = problem(send(json!({"given_name": "Grace"})).await.unwrap(), 422).await;
    assert_eq!(p["errors"][0]["code"], "key_reused");
});

app_test!(batch_is_all_or_nothing_with_per_record_errors, |app: &TestApp| async move {
    let admin = app.admin().await;
    let items: Vec<Value> = (0..50)
        .map(|i| json!({"given_name": format!("P{i}"), "emails": [{"address": format!("p{i}@example.com")}]}))
        .collect();
    let mut bad = items.clone();
    bad[3] = json!({"given_name": "x", "emails": [{"address": "nope"}]});
    bad[7] = json!({"phones": [{"number": "12"}]});
    let p = problem(app.post(&admin, "/api/v1/contacts/batch", &json!({"items": bad})).await, 422).await;
    assert_eq!(fields(&p), vec!["items/3/emails/0/address", "items/7/phones/0/number"]);
    let list: Value = app.get(&admin, "/api/v1/contacts").await.json().await.unwrap();
    assert_eq!(list["total"], 0, "nothing was written");

    let r = app.post(&admin, "/api/v1/contacts/batch", &json!({"items": items})).await;
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    assert_eq!(created["items"].as_array().unwrap().len(), 50);
    let too_many: Vec<Value> = (0..1001).map(|i| json!({"given_name": format!("Q{i}")})).collect();
    problem(app.post(&admin, "/api/v1/contacts/batch", &json!({"items": too_many})).await, 422).await;
});

app_test!(list_filters_sorts_and_pages, |app: &TestApp| async move {
    let admin = app.admin().await;
    let cities = ["北京", "上海", "深圳"];
    let items: Vec<Value> = (0..45)
        .map(|i| json!({"given_name": format!("N{i:02}"), "address": {"city": cities[i % 3]}, "tags": if i % 5 == 0 { vec!["vip"] } else { vec![] }, "source": if i % 2 == 0 { "event" } else { "import" }}))
        .collect();
    assert_eq!(app.post(&admin, "/api/v1/contacts/batch", &json!({"items": items})).await.status(), 201);

    let page: Value = app.get(&admin, "/api/v1/contacts?filter=address.city:eq:%E5%8C%97%E4%BA%AC&filter=source:eq:event&sort=display_name&limit=3").await.json().await.unwrap();
    assert_eq!(page["total"], 8);
    let names: Vec<&str> =
        page["items"].as_array().unwrap().iter().map(|c| c["display_name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["N00", "N06", "N12"]);

    // Walk all pages: every match exactly once, in order.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("/api/v1/contacts?sort=-display_name&limit=7&cursor={c}"),
            None => "/api/v1/contacts?sort=-display_name&limit=7".to_string(),
        };
        let page: Value = app.get(&admin, &url).await.json().await.unwrap();
        for c in page["items"].as_array().unwrap() {
            seen.push(c["display_name"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let mut expected: Vec<String> = (0..45).map(|i| format!("N{i:02}")).collect();
    expected.reverse();
    assert_eq!(seen, expected);

    let vip: Value = app.get(&admin, "/api/v1/contacts?filter=tags:has_tag:vip").await.json().await.unwrap();
    assert_eq!(vip["total"], 9);
    let contains: Value = app.get(&admin, "/api/v1/contacts?filter=given_name:contains:n1").await.json().await.unwrap();
    assert_eq!(contains["total"], 10);
    let in_: Value = app
        .get(&admin, "/api/v1/contacts?filter=address.city:in:%E5%8C%97%E4%BA%AC,%E4%B8%8A%E6%B5%B7")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(in_["total"], 30);
    let today = chrono::Utc::now().date_naive();
    let created: Value = app
        .get(&admin, &format!("/api/v1/contacts?filter=created_at:between:{today},{today}&filter=owner:eq:me"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(created["total"], 45);
    let p = problem(app.get(&admin, "/api/v1/contacts?filter=shoe_size:eq:42&sort=nope&limit=0").await, 422).await;
    assert_eq!(fields(&p), vec!["filter/0", "sort", "limit"]);
    problem(app.get(&admin, "/api/v1/contacts?cursor=garbage").await, 422).await;
});

app_test!(custom_fields_are_validated_and_filterable, |app: &TestApp| async move {
    let admin = app.admin().await;
    let r = app.post(&admin, "/api/v1/custom-fields", &json!({"object": "contact", "key": "level", "label": "会员等级", "kind": "single_select", "options": ["gold", "silver"]})).await;
    assert_eq!(r.status(), 201);
    let r = app
        .post(
            &admin,
            "/api/v1/custom-fields",
            &json!({"object": "contact", "key": "budget", "label": "Budget", "kind": "number"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    app.contact(&admin, json!({"given_name": "A", "custom": {"level": "gold", "budget": 1000}})).await;
    app.contact(&admin, json!({"given_name": "B", "custom": {"level": "silver", "budget": 10}})).await;
    let p = problem(
        app.post(&admin, "/api/v1/contacts", &json!({"given_name": "C", "custom": {"level": "bronze", "nope": 1}}))
            .await,
        422,
    )
    .await;
    assert_eq!(fields(&p), vec!["custom/level", "custom/nope"]);
    let gold: Value = app.get(&admin, "/api/v1/contacts?filter=custom.level:eq:gold").await.json().await.unwrap();
    assert_eq!(gold["total"], 1);
    let rich: Value = app.get(&admin, "/api/v1/contacts?filter=custom.budget:gt:100").await.json().await.unwrap();
    assert_eq!(rich["total"], 1);
    assert_eq!(rich["items"][0]["given_name"], "A");
});
