//! Custom fields on the forms and record pages, the company of a contact chosen on its page, and deleting one
//! record after a confirmation.

use super::{EN, ZH, admin, create_contact};
use crate::helpers::{TestApp, created, location};
use crate::web_test;
use guanxi_core::access::Role;
use guanxi_core::custom_field::{CustomFieldInput, CustomFieldKind, ObjectType};

async fn field(app: &TestApp, object: ObjectType, key: &str, kind: CustomFieldKind, options: &[&str], required: bool) {
    let input = CustomFieldInput {
        object,
        key: key.into(),
        label: format!("L-{key}"),
        kind,
        options: options.iter().map(|o| o.to_string()).collect(),
        required,
        position: 0,
    };
    guanxi_store::custom_fields::create(&app.db, &input).await.expect("custom field");
}

fn edit<'a>(field: &'a str, values: &[&'a str], version: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![("field", field), ("version", version)];
    form.extend(values.iter().map(|v| ("value", *v)));
    form
}

web_test!(contact_custom_fields_are_inputs_by_type_with_errors_at_the_field, |app: &TestApp| async move {
    let b = admin(app, EN).await;
    use CustomFieldKind as K;
    field(app, ObjectType::Contact, "level", K::SingleSelect, &["gold", "silver"], true).await;
    field(app, ObjectType::Contact, "channels", K::MultiSelect, &["wechat", "phone", "email"], false).await;
    field(app, ObjectType::Contact, "budget", K::Money, &[], false).await;
    field(app, ObjectType::Contact, "since", K::Date, &[], false).await;
    field(app, ObjectType::Contact, "vip", K::Bool, &[], false).await;
    field(app, ObjectType::Contact, "score", K::Number, &[], false).await;
    field(app, ObjectType::Contact, "site", K::Url, &[], false).await;

    // The create form has an input per custom field, by type.
    let new = b.html("/contacts/new").await;
    assert!(new.contains("<select id=\"f-custom_level\" name=\"custom_level\""), "{new}");
    assert!(new.contains("name=\"custom_channels\" value=\"wechat\""), "one checkbox per option");
    assert!(new.contains("id=\"f-custom_budget\" name=\"custom_budget\" type=\"number\" value=\"\" step=\"0.01\""));
    assert!(new.contains("type=\"date\"") && new.contains("type=\"url\""));
    assert!(new.contains("id=\"f-custom_vip\" name=\"custom_vip\" value=\"1\""));

    // Missing required choice and a bad URL: errors at their inputs, the other values kept.
    let r = b
        .post(
            "/contacts/new",
            &[
                ("display_name", "Chen Jie"),
                ("custom_site", "not a url"),
                ("custom_channels", "phone"),
                ("custom_channels", "email"),
                ("custom_budget", "1,200.50"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"f-custom_level-error\">Required<"), "{html}");
    assert!(
        html.contains("id=\"f-custom_site-error\">Enter a web address starting with https:// or http://"),
        "{html}"
    );
    assert!(html.contains("name=\"custom_channels\" value=\"phone\" checked"));
    assert!(!html.contains("name=\"custom_channels\" value=\"wechat\" checked"));
    assert!(html.contains("value=\"1,200.50\""));
    // The same mistake in Chinese: a web-address message, not a generic type error.
    let z = app.signed_in("admin@example.com", ZH).await;
    let r = z
        .post("/contacts/new", &[("display_name", "陈杰"), ("custom_level", "gold"), ("custom_site", "www.chen.cn")])
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"f-custom_site-error\">请输入以 https:// 或 http:// 开头的网址"), "{html}");

    let id = create_contact(
        &b,
        &[
            ("display_name", "Chen Jie"),
            ("custom_level", "gold"),
            ("custom_channels", "phone"),
            ("custom_channels", "email"),
            ("custom_budget", "1,200.50"),
            ("custom_since", "2024-03-05"),
            ("custom_vip", "1"),
            ("custom_score", "42"),
            ("custom_site", "https://chen.example"),
        ],
    )
    .await;
    let page = b.html(&format!("/contacts/{id}")).await;
    // Shown by type and per locale; each is an inline-editable field.
    for shown in ["CN¥1,200.50", "5 Mar 2024", "phone, email", ">Yes<", ">42<", "href=\"https://chen.example\""] {
        assert!(page.contains(shown), "{shown}: {page}");
    }
    assert!(page.contains("id=\"edit-custom_level\""));
    assert!(page.contains("<option value=\"gold\" selected>gold</option>"));

    // Inline edit of a custom field: a bad value is an error at the field, nothing saved.
    let r = b.post(&format!("/contacts/{id}/field"), &edit("custom_level", &["bronze"], "1")).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"error-custom_level\""), "{html}");
    assert!(html.contains("class=\"field open\" id=\"field-custom_level\""));
    // Choices of a multiple choice are posted as one value each; an unchecked yes/no posts nothing.
    let r = b.post(&format!("/contacts/{id}/field"), &edit("custom_channels", &["wechat"], "1")).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), format!("/contacts/{id}?saved=1#field-custom_channels"));
    let r = b.post(&format!("/contacts/{id}/field"), &edit("custom_vip", &[], "2")).await;
    assert_eq!(r.status(), 303);
    let r = b.post(&format!("/contacts/{id}/field"), &edit("custom_budget", &["99"], "3")).await;
    assert_eq!(r.status(), 303);
    let stored = guanxi_store::contacts::get(&app.db, &crate::helpers::root(), id.parse().unwrap()).await.unwrap();
    assert_eq!(stored.custom["channels"], serde_json::json!(["wechat"]));
    assert_eq!(stored.custom["vip"], serde_json::json!(false));
    assert_eq!(stored.custom["budget"], serde_json::json!({"amount_minor": 9900, "currency": "CNY"}));
    assert_eq!(stored.custom["level"], serde_json::json!("gold"), "the refused value was not saved");
    // An unknown custom field is not a field of this page.
    let r = b.post(&format!("/contacts/{id}/field"), &edit("custom_nope", &["x"], "4")).await;
    assert_eq!(r.status(), 404);
});

web_test!(company_and_order_pages_show_and_edit_custom_values, |app: &TestApp| async move {
    let b = admin(app, ZH).await;
    use CustomFieldKind as K;
    field(app, ObjectType::Company, "credit", K::Money, &[], false).await;
    field(app, ObjectType::Company, "regions", K::MultiSelect, &["华东", "华南"], false).await;
    field(app, ObjectType::Order, "channel", K::SingleSelect, &["天猫", "线下"], false).await;
    field(app, ObjectType::Order, "signed", K::Date, &[], false).await;

    let r = b.post("/companies/new", &[("name", "远航物流"), ("custom_credit", "abc")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("id=\"f-custom_credit-error\""));
    let company = created(
        &b,
        "/companies/new",
        &[("name", "远航物流"), ("custom_credit", "50000"), ("custom_regions", "华东"), ("custom_regions", "华南")],
    )
    .await;
    let page = b.html(&format!("/companies/{company}")).await;
    assert!(page.contains("¥50,000.00") && page.contains("华东、华南"), "{page}");
    let form = b.html(&format!("/companies/{company}/edit")).await;
    assert!(form.contains("value=\"50000.00\"") && form.contains("value=\"华南\" checked"), "{form}");
    let r = b.post(&format!("/companies/{company}/edit"), &[("name", "远航物流"), ("version", "1")]).await;
    assert_eq!(r.status(), 303);
    let page = b.html(&format!("/companies/{company}")).await;
    assert!(!page.contains("华东、华南"), "unchecking every choice clears the value");

    let contact = create_contact(&b, &[("display_name", "赵敏")]).await;
    let order = [
        ("contact_id", contact.as_str()),
        ("status", "paid"),
        ("line_count", "1"),
        ("lines_0_description", "运费"),
        ("lines_0_unit_price_minor", "10"),
        ("custom_channel", "天猫"),
        ("custom_signed", "2026-02-30"),
    ];
    let r = b.post("/orders/new", &order).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("id=\"f-custom_signed-error\""));
    let mut good = order.to_vec();
    good.retain(|(k, _)| *k != "custom_signed");
    good.push(("custom_signed", "2026-02-28"));
    let id = created(&b, "/orders/new", &good).await;
    let page = b.html(&format!("/orders/{id}")).await;
    assert!(page.contains("天猫") && page.contains("2026年2月28日"), "{page}");
});

web_test!(a_contacts_company_is_chosen_on_its_page_without_script, |app: &TestApp| async move {
    let east = app.team("East").await;
    let west = app.team("West").await;
    app.user("owner@example.com", Role::Member, Some(east)).await;
    app.user("other@example.com", Role::Member, Some(west)).await;
    let b = app.signed_in("owner@example.com", EN).await;
    let other = app.signed_in("other@example.com", EN).await;
    let mine = created(&b, "/companies/new", &[("name", "Harbor Tea"), ("visibility", "team")]).await;
    let hidden = created(&other, "/companies/new", &[("name", "Harbor Secret"), ("visibility", "private")]).await;
    let id = create_contact(&b, &[("display_name", "Ma Lin")]).await;

    // The search (a GET of the page) opens the company field with a select of the companies the user may see.
    let page = b.html(&format!("/contacts/{id}?company_q=Harbor")).await;
    assert!(page.contains("class=\"field open\" id=\"field-company\""), "{page}");
    assert!(page.contains(&format!("<option value=\"{mine}\">Harbor Tea</option>")), "{page}");
    assert!(!page.contains("Harbor Secret"), "another team's private company is not offered");
    let none = b.html(&format!("/contacts/{id}?company_q=Nothing%20Like%20It")).await;
    assert!(none.contains("No company you can see matches."));

    let r = b.post(&format!("/contacts/{id}/field"), &edit("company", &[&mine], "1")).await;
    assert_eq!(r.status(), 303);
    let page = b.html(&format!("/contacts/{id}")).await;
    assert!(page.contains(&format!("<a href=\"/companies/{mine}\">Harbor Tea</a>")), "{page}");
    // A company the user cannot see is refused at the field; a malformed id too.
    let r = b.post(&format!("/contacts/{id}/field"), &edit("company", &[&hidden], "2")).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("id=\"error-company\">No such record<"));
    let r = b.post(&format!("/contacts/{id}/field"), &edit("company", &["x"], "2")).await;
    assert_eq!(r.status(), 422);
    // "No company" clears it.
    let r = b.post(&format!("/contacts/{id}/field"), &edit("company", &[""], "2")).await;
    assert_eq!(r.status(), 303);
    assert!(!b.html(&format!("/contacts/{id}")).await.contains(&format!("href=\"/companies/{mine}\"")));
    // A post without a version cannot prove it saw the current contact: a conflict, nothing saved.
    let r = b.post(&format!("/contacts/{id}/field"), &[("field", "company"), ("value", &mine)]).await;
    assert_eq!(r.status(), 409);
});

web_test!(records_are_deleted_after_a_confirmation_and_refusals_are_explained, |app: &TestApp| async move {
    let b = admin(app, EN).await;
    let contact = create_contact(&b, &[("display_name", "Sun Li")]).await;
    let company = created(&b, "/companies/new", &[("name", "Doomed Co")]).await;
    let product =
        created(&b, "/products/new", &[("sku", "DEL-1"), ("name", "Jasmine"), ("list_price_minor", "8")]).await;
    let r = b
        .post(
            "/orders/new",
            &[
                ("number", "SO-DEL"),
                ("contact_id", contact.as_str()),
                ("status", "paid"),
                ("line_count", "1"),
                ("lines_0_product_id", product.as_str()),
                ("lines_0_quantity", "1"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let order = location(&r).rsplit('/').next().unwrap().split('?').next().unwrap().to_string();
    let r = b.post("/activities/new", &[("kind", "note"), ("company_id", &company), ("body", "to go")]).await;
    assert_eq!(r.status(), 303);
    let r = b.post("/tasks/new", &[("title", "Doomed task"), ("contact_id", &contact)]).await;
    assert_eq!(r.status(), 303);
    let root = crate::helpers::root();
    let everything = crate::helpers::everything();
    let activity = guanxi_store::activities::list(&app.db, &root, &everything).await.unwrap().items[0].id;
    let task = guanxi_store::tasks::list(&app.db, &root, &everything).await.unwrap().items[0].id;

    // The pages link to the question; the question names the record and what goes with it.
    assert!(b.html(&format!("/products/{product}")).await.contains(&format!("href=\"/products/{product}/delete\"")));
    assert!(b.html(&format!("/tasks/{task}/edit")).await.contains(&format!("href=\"/tasks/{task}/delete\"")));
    let q = b.html(&format!("/products/{product}/delete")).await;
    assert!(q.contains("Delete “Jasmine (DEL-1)”?") && q.contains("A product already on orders is kept"), "{q}");
    assert!(q.contains("name=\"version\" value=\"1\""));

    // A member may see the catalogue but not change it: told so on the question page, nothing deleted.
    app.user("member@example.com", Role::Member, None).await;
    let m = app.signed_in("member@example.com", EN).await;
    let r = m.post(&format!("/products/{product}/delete"), &[("version", "1")]).await;
    assert_eq!(r.status(), 403);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"delete-refused\">You may see this record but not delete it."), "{html}");
    assert!(!html.contains("id=\"delete-confirm\""));
    // A stale version: asked again about what is stored now.
    let r = b.post(&format!("/companies/{company}/edit"), &[("name", "Doomed Co Ltd"), ("version", "1")]).await;
    assert_eq!(r.status(), 303);
    let r = b.post(&format!("/companies/{company}/delete"), &[("version", "1")]).await;
    assert_eq!(r.status(), 409);
    let html = r.text().await.unwrap();
    assert!(html.contains("Someone changed this record") && html.contains("name=\"version\" value=\"2\""), "{html}");
    assert!(html.contains("Delete “Doomed Co Ltd”?"));
    let r = b.post(&format!("/companies/{company}/delete"), &[]).await;
    assert_eq!(r.status(), 409, "no version, no delete");

    // A product on an order stays (past orders must not change): said so, without a button that would fail again.
    let r = b.post(&format!("/products/{product}/delete"), &[("version", "1")]).await;
    assert_eq!(r.status(), 409);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"delete-refused\">This product is on orders, so it was not deleted"), "{html}");
    assert!(!html.contains("id=\"delete-confirm\""));
    assert!(b.html(&format!("/orders/{order}")).await.contains(&format!("href=\"/products/{product}\"")));

    // Confirmed: deleted, back on the list with a notice (the order first, which frees its product).
    for (path, version, list) in [
        (format!("/orders/{order}/delete"), "1", "/orders"),
        (format!("/products/{product}/delete"), "1", "/products"),
        (format!("/activities/{activity}/delete"), "1", "/activities"),
        (format!("/tasks/{task}/delete"), "1", "/tasks"),
        (format!("/companies/{company}/delete"), "2", "/companies"),
        (format!("/contacts/{contact}/delete"), "1", "/contacts"),
    ] {
        let r = b.post(&path, &[("version", version)]).await;
        assert_eq!(r.status(), 303, "{path}: {}", r.text().await.unwrap_or_default());
        assert_eq!(location(&r), format!("{list}?deleted=1"));
        let html = b.html(&format!("{list}?deleted=1")).await;
        assert!(html.contains("id=\"list-notice\">Deleted.<"), "{list}: {html}");
        let r = b.get(&path).await;
        assert_eq!(r.status(), 404, "{path} is gone");
    }
    assert!(!b.html("/companies?deleted=1").await.contains("?deleted=1&amp;cursor"), "the notice is not paged on");
});

web_test!(another_teams_private_records_cannot_be_deleted_or_even_asked_about, |app: &TestApp| async move {
    let east = app.team("East").await;
    let west = app.team("West").await;
    app.user("owner@example.com", Role::Member, Some(east)).await;
    app.user("other@example.com", Role::Member, Some(west)).await;
    let owner = app.signed_in("owner@example.com", ZH).await;
    let company = created(&owner, "/companies/new", &[("name", "私密公司"), ("visibility", "private")]).await;
    let public = created(&owner, "/companies/new", &[("name", "公开公司"), ("visibility", "public")]).await;
    let other = app.signed_in("other@example.com", ZH).await;
    for r in [
        other.get(&format!("/companies/{company}/delete")).await,
        other.post(&format!("/companies/{company}/delete"), &[("version", "1")]).await,
        other.get("/companies/not-an-id/delete").await,
    ] {
        assert_eq!(r.status(), 404);
        assert!(!r.text().await.unwrap().contains("私密公司"));
    }
    // Another team's member sees a public company but may not delete it: said so, in Chinese.
    assert_eq!(other.get(&format!("/companies/{public}/delete")).await.status(), 200);
    let r = other.post(&format!("/companies/{public}/delete"), &[("version", "1")]).await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("您可以查看此记录，但无权删除。"));
    assert!(owner.html(&format!("/companies/{company}")).await.contains("私密公司"));
    assert!(owner.html(&format!("/companies/{public}")).await.contains("公开公司"));
    // Cross-site posts are refused before anything else.
    let r = owner.post_with(&format!("/companies/{company}/delete"), &[("version", "1")], &[]).await;
    assert_eq!(r.status(), 403);
    assert!(owner.html(&format!("/companies/{company}")).await.contains("私密公司"));
});

web_test!(the_contact_list_filters_by_owner_days_and_custom_fields, |app: &TestApp| async move {
    let b = admin(app, EN).await;
    field(app, ObjectType::Contact, "level", CustomFieldKind::SingleSelect, &["gold", "silver"], false).await;
    field(app, ObjectType::Contact, "langs", CustomFieldKind::MultiSelect, &["zh", "en"], false).await;
    create_contact(&b, &[("display_name", "Gold Zh"), ("custom_level", "gold"), ("custom_langs", "zh")]).await;
    create_contact(&b, &[("display_name", "Silver En"), ("custom_level", "silver"), ("custom_langs", "en")]).await;
    let list = b.html("/contacts").await;
    assert!(list.contains("<select id=\"f-cf_level\" name=\"cf_level\""), "{list}");
    assert!(list.contains("<select id=\"f-owner\" name=\"owner\"") && list.contains("id=\"f-updated_from\""));
    let gold = b.html("/contacts?cf_level=gold").await;
    assert!(gold.contains("Gold Zh") && !gold.contains("Silver En"), "{gold}");
    let en = b.html("/contacts?cf_langs=en").await;
    assert!(en.contains("Silver En") && !en.contains("Gold Zh"));
    assert!(en.contains("filter=custom.langs%3Ahas_tag%3Aen"), "the export link carries the condition");
    let later = b.html("/contacts?updated_from=2999-01-01").await;
    assert!(!later.contains("Gold Zh") && later.contains("0 contacts"), "{later}");
    let today = chrono::Utc::now().date_naive().to_string();
    let mine = b.html(&format!("/contacts?owner=me&updated_to={today}&updated_from=2000-01-01")).await;
    assert!(mine.contains("Gold Zh") && mine.contains("Silver En"), "{mine}");
    // A bad value is explained above the list, not an error page.
    let r = b.get("/contacts?owner=nobody").await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("role=\"alert\""));
});
