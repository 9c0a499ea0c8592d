//! Company, product, order, activity and task pages: forms with field errors, record pages, lists, and a member
//! refused another team's private records on every page.

use super::{EN, ZH, admin, create_contact};
use crate::helpers::{created, everything, location, root};
use crate::web_test;
use guanxi_core::access::{Actor, Role, TokenScope};

web_test!(companies_have_a_page_with_contacts_orders_and_timeline, |app: &TestApp| async move {
    let b = admin(app, EN).await;
    // Field errors are shown at the field, with the values kept.
    let r = b.post("/companies/new", &[("name", " "), ("domain", "not a domain"), ("industry", "Retail")]).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"f-name-error\">Required<"), "{html}");
    assert!(html.contains("id=\"f-domain-error\">Enter a domain such as example.com<"));
    assert!(html.contains("value=\"Retail\""));

    let id = created(
        &b,
        "/companies/new",
        &[("name", "华星贸易"), ("domain", "huaxing.example"), ("address_city", "上海"), ("tags", "key, 展会")],
    )
    .await;
    // The contact form finds the company by name; an unknown one is an error at that input.
    let r = b.post("/contacts/new", &[("display_name", "王芳"), ("company", "没有这家公司")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("id=\"new-company-error\">No such record<"));
    let contact =
        create_contact(&b, &[("display_name", "王芳"), ("phone", "13900139000"), ("company", "华星贸易")]).await;
    let r = b
        .post(
            "/orders/new",
            &[
                ("number", "SO-1001"),
                ("contact_id", "王芳"),
                ("company_id", "华星贸易"),
                ("status", "paid"),
                ("currency", "CNY"),
                ("line_count", "2"),
                ("lines_0_description", "茶叶礼盒"),
                ("lines_0_quantity", "2"),
                ("lines_0_unit_price_minor", "199.50"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    let r = b.post("/activities/new", &[("kind", "visit"), ("company_id", &id), ("subject", "上门拜访")]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), format!("/companies/{id}#timeline"));

    let html = b.html(&format!("/companies/{id}")).await;
    assert!(html.contains("<h1 id=\"record-name\">华星贸易</h1>"), "{html}");
    assert!(html.contains("SO-1001") && html.contains("CN¥399.00"), "the order and its total");
    assert!(html.contains("上门拜访"), "the timeline");
    let person = b.html(&format!("/contacts/{contact}")).await;
    assert!(person.contains(&format!("<a href=\"/companies/{id}\">华星贸易</a>")), "the contact links its company");
    assert!(person.contains(&format!("href=\"/orders/new?contact={contact}\"")));
    assert!(html.contains(&format!("<a href=\"/contacts/{contact}\">王芳</a>")), "its contacts");

    // Edit keeps the version: a stale one is a conflict, not an overwrite.
    let r = b
        .post(&format!("/companies/{id}/edit"), &[("name", "华星贸易集团"), ("address_city", "上海"), ("version", "1")])
        .await;
    assert_eq!(r.status(), 303);
    let r = b.post(&format!("/companies/{id}/edit"), &[("name", "Stale"), ("version", "1")]).await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("Someone else changed this"));
    let list = b.html("/companies?city=%E4%B8%8A%E6%B5%B7").await;
    assert!(list.contains("华星贸易集团") && list.contains("1 companies"), "{list}");
    assert!(b.html("/companies?filter=nope:eq:1").await.contains("Cannot filter by this field"));
    // The search leads to the company's own page now.
    let r = b.get(&format!("/search/suggest?q={}", crate::urlencode("华星"))).await;
    let json: serde_json::Value = r.json().await.unwrap();
    assert!(json["items"].as_array().unwrap().iter().any(|h| h["url"] == format!("/companies/{id}")), "{json}");
});

web_test!(products_are_managed_by_managers_and_admins, |app: &TestApp| async move {
    let b = admin(app, ZH).await;
    let r = b.post("/products/new", &[("sku", "TEA 01"), ("name", "龙井"), ("list_price_minor", "abc")]).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"f-sku-error\">不能包含空格<"), "{html}");
    assert!(html.contains("id=\"f-list_price_minor-error\""));
    let id = created(
        &b,
        "/products/new",
        &[
            ("sku", "TEA-01"),
            ("name", "龙井"),
            ("category", "茶"),
            ("list_price_minor", "1,288"),
            ("currency", "CNY"),
            ("active", "1"),
        ],
    )
    .await;
    let html = b.html(&format!("/products/{id}")).await;
    assert!(html.contains("龙井") && html.contains("¥1,288.00") && html.contains("在售"), "{html}");
    // The same SKU again is a field error.
    let r = b.post("/products/new", &[("sku", "TEA-01"), ("name", "龙井 2")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("id=\"f-sku-error\""));
    assert!(b.html("/products?category=%E8%8C%B6").await.contains("龙井"));

    app.user("member@example.com", Role::Member, None).await;
    let m = app.signed_in("member@example.com", ZH).await;
    assert!(m.html("/products").await.contains("龙井"), "everyone reads the catalogue");
    assert_eq!(m.get("/products/new").await.status(), 403);
    assert_eq!(m.get(&format!("/products/{id}/edit")).await.status(), 403);
    let r = m.post("/products/new", &[("sku", "X-1"), ("name", "x")]).await;
    assert_eq!(r.status(), 403);
});

web_test!(orders_take_lines_and_show_errors_at_the_line, |app: &TestApp| async move {
    let b = admin(app, EN).await;
    let product = created(
        &b,
        "/products/new",
        &[("sku", "P-1"), ("name", "Oolong"), ("list_price_minor", "50"), ("active", "1")],
    )
    .await;
    let contact = create_contact(&b, &[("display_name", "Lin Tao")]).await;
    let new = b.html(&format!("/orders/new?contact={contact}")).await;
    assert!(new.contains("value=\"Lin Tao\"") && new.contains(&format!("value=\"{product}\"")), "{new}");

    // A bad quantity on the second line is shown on that line; nothing is saved.
    let bad = [
        ("contact_id", "Lin Tao"),
        ("status", "paid"),
        ("currency", "CNY"),
        ("line_count", "3"),
        ("lines_0_product_id", product.as_str()),
        ("lines_0_quantity", "3"),
        ("lines_2_description", "Gift wrap"),
        ("lines_2_quantity", "0"),
        ("lines_2_unit_price_minor", "5"),
    ];
    let r = b.post("/orders/new", &bad).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"f-lines_2_quantity-error\">Out of range<"), "{html}");
    assert!(b.html("/orders").await.contains("0 orders"));

    // "More lines" adds blank lines and saves nothing.
    let mut more = bad.to_vec();
    more.push(("more", "1"));
    let r = b.post("/orders/new", &more).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("name=\"lines_5_quantity\""));

    let mut good = bad.to_vec();
    good.retain(|(k, _)| *k != "lines_2_quantity");
    let id = created(&b, "/orders/new", &good).await;
    let html = b.html(&format!("/orders/{id}")).await;
    // 3 × 50.00 from the catalogue + 1 × 5.00
    assert!(html.contains("CN¥155.00") && html.contains("Oolong") && html.contains("Gift wrap"), "{html}");
    assert!(html.contains(&format!("href=\"/contacts/{contact}\"")));
    // The order is on the contact's timeline.
    assert!(b.html(&format!("/contacts/{contact}")).await.contains("CN¥155.00"));
    // An unknown contact name is a field error.
    let r = b
        .post(
            "/orders/new",
            &[
                ("contact_id", "Nobody Here"),
                ("status", "paid"),
                ("line_count", "1"),
                ("lines_0_description", "x"),
                ("lines_0_unit_price_minor", "1"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("id=\"f-contact_id-error\">No such record<"));
    let edit = b.html(&format!("/orders/{id}/edit")).await;
    assert!(edit.contains("name=\"version\" value=\"1\"") && edit.contains("value=\"Gift wrap\""));
});

web_test!(activities_and_tasks_are_logged_and_listed, |app: &TestApp| async move {
    let b = admin(app, EN).await;
    let contact = create_contact(&b, &[("display_name", "Zhou Min")]).await;
    let r = b.post("/activities/new", &[("kind", "call"), ("contact_id", &contact), ("body", "")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("id=\"f-body-error\">Required<"));
    let r = b
        .post(
            "/activities/new",
            &[
                ("kind", "call"),
                ("contact_id", &contact),
                ("subject", "Follow-up call"),
                ("occurred_at", "2026-11-20T09:30"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let list = b.html("/activities?kind=call").await;
    assert!(list.contains("Follow-up call") && list.contains("20 Nov 2026, 09:30"), "{list}");
    assert!(!b.html("/activities?kind=visit").await.contains("Follow-up call"));

    let r = b.post("/tasks/new", &[("title", ""), ("contact_id", "Zhou Min")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("id=\"f-title-error\">Required<"));
    let r = b
        .post("/tasks/new", &[("title", "Send the quote"), ("contact_id", "Zhou Min"), ("due_at", "2026-12-01T10:00")])
        .await;
    assert_eq!(r.status(), 303);
    let tasks = b.html("/tasks").await;
    assert!(tasks.contains("Send the quote") && tasks.contains("Zhou Min"), "{tasks}");
    let task = guanxi_store::tasks::list(&app.db, &root(), &everything()).await.unwrap().items[0].id;
    assert!(b.html(&format!("/tasks/{task}/edit")).await.contains("value=\"2026-12-01T10:00\""));
    let r =
        b.post(&format!("/tasks/{task}/edit"), &[("title", "Send the quote"), ("done", "1"), ("version", "1")]).await;
    assert_eq!(r.status(), 303);
    assert!(!b.html("/tasks").await.contains("Send the quote"), "done tasks leave the open list");
    assert!(b.html("/tasks?state=done").await.contains("Send the quote"));
});

web_test!(members_are_refused_another_teams_private_records_everywhere, |app: &TestApp| async move {
    let east = app.team("East").await;
    let west = app.team("West").await;
    let owner_id = app.user("owner@example.com", Role::Member, Some(east)).await;
    app.user("other@example.com", Role::Member, Some(west)).await;
    let owner = app.signed_in("owner@example.com", EN).await;
    let company = created(&owner, "/companies/new", &[("name", "Secret Co"), ("visibility", "private")]).await;
    let contact = create_contact(&owner, &[("display_name", "Secret Person"), ("visibility", "private")]).await;
    let r = owner
        .post(
            "/orders/new",
            &[
                ("contact_id", &contact),
                ("status", "paid"),
                ("line_count", "1"),
                ("lines_0_description", "Secret item"),
                ("lines_0_unit_price_minor", "9"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let order = location(&r).rsplit('/').next().unwrap_or("").split('?').next().unwrap_or("").to_string();
    owner.post("/activities/new", &[("kind", "note"), ("contact_id", &contact), ("body", "Secret note")]).await;
    owner
        .post(
            "/tasks/new",
            &[("title", "Secret task"), ("contact_id", &contact), ("assignee_id", &owner_id.to_string())],
        )
        .await;
    let actor = Actor { user_id: owner_id, team_id: Some(east), role: Role::Member, scope: TokenScope::ReadWrite };
    let activity = guanxi_store::activities::list(&app.db, &actor, &everything()).await.unwrap().items[0].id;
    let task = guanxi_store::tasks::list(&app.db, &actor, &everything()).await.unwrap().items[0].id;

    let other = app.signed_in("other@example.com", EN).await;
    for path in [
        format!("/companies/{company}"),
        format!("/companies/{company}/edit"),
        format!("/orders/{order}"),
        format!("/orders/{order}/edit"),
        format!("/activities/{activity}/edit"),
        format!("/tasks/{task}/edit"),
    ] {
        let r = other.get(&path).await;
        assert_eq!(r.status(), 404, "{path}");
        assert!(!r.text().await.unwrap().contains("Secret"), "{path}");
    }
    let r = other.post(&format!("/companies/{company}/edit"), &[("name", "Mine now"), ("version", "1")]).await;
    assert_eq!(r.status(), 404);
    for list in ["/companies", "/orders", "/activities", "/tasks?state=all"] {
        assert!(!other.html(list).await.contains("Secret"), "{list}");
    }
    // Naming the private contact in a form finds nothing.
    let r = other.post("/activities/new", &[("kind", "note"), ("contact_id", "Secret Person"), ("body", "hi")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("id=\"f-contact_id-error\""));
    let r = other.post("/activities/new", &[("kind", "note"), ("contact_id", &contact), ("body", "hi")]).await;
    assert_eq!(r.status(), 422, "an id of an invisible contact is refused too");
    assert!(owner.html(&format!("/companies/{company}")).await.contains("Secret Co"));
});
