//! Web UI tests: the real server on SQLite and PostgreSQL, driven like a browser (cookies, form posts,
//! fetch-metadata headers).

#[path = "../support/client.rs"]
mod client;

mod contact_list;
mod dedup;
mod editing;
mod helpers;
mod imports;
mod records;
mod settings;

use guanxi_core::access::Role;
use helpers::{Browser, TestApp, location};

const ZH: &str = "zh-CN,zh;q=0.9";
const EN: &str = "en-US,en;q=0.9";

/// Creates a contact through the form and returns its id.
async fn create_contact(b: &Browser, form: &[(&str, &str)]) -> String {
    let r = b.post("/contacts/new", form).await;
    assert_eq!(r.status(), 303, "create: {}", r.text().await.unwrap_or_default());
    let loc = location(&r);
    loc.strip_prefix("/contacts/").expect("contact location").to_string()
}

async fn admin(app: &TestApp, lang: &str) -> Browser {
    let team = app.team("华东销售").await;
    app.user("admin@example.com", Role::Admin, Some(team)).await;
    app.signed_in("admin@example.com", lang).await
}

web_test!(pages_need_a_session_and_login_sets_a_safe_cookie, |app: &TestApp| async move {
    app.user("ada@example.com", Role::Member, None).await;
    let mut b = app.browser(EN);
    let r = b.get("/contacts?city=x").await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/login?next=%2Fcontacts%3Fcity%3Dx");

    let r =
        b.post("/login", &[("email", "ada@example.com"), ("password", "wrong password"), ("next", "/contacts")]).await;
    assert_eq!(r.status(), 401);
    assert!(r.text().await.unwrap().contains("The email or password is wrong."));

    let r = b
        .post("/login", &[("email", "ada@example.com"), ("password", helpers::PASSWORD), ("next", "//evil.example")])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/contacts", "next must stay on this site");
    let cookie = r.headers().get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    for part in ["guanxi_session=gx_", "HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(cookie.contains(part), "{part} missing from {cookie}");
    }
    assert!(!cookie.contains("Secure"), "not Secure without secure_cookies");
    b.take_cookie(&r);

    let r = b.get("/contacts").await;
    assert_eq!(r.status(), 200);
    let csp = r.headers().get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    assert!(csp.contains("default-src 'self'") && csp.contains("script-src 'self'"), "{csp}");
    assert_eq!(r.headers().get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    let timing = r.headers().get("server-timing").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let ms: f64 = timing.strip_prefix("app;dur=").and_then(|d| d.parse().ok()).unwrap_or(-1.0);
    assert!(ms >= 0.0, "pages report their server time: {timing:?}");
    assert!(r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").starts_with("text/html"));

    // Signing out ends the session in the database: the old cookie no longer works.
    let old = b.cookie.clone();
    let r = b.post("/logout", &[]).await;
    assert_eq!(r.status(), 303);
    b.cookie = old;
    assert_eq!(b.get("/contacts").await.status(), 303);
});

web_test!(repeated_failures_are_throttled_with_a_clear_message, |app: &TestApp| async move {
    app.user("ada@example.com", Role::Member, None).await;
    let b = app.browser(ZH);
    for _ in 0..5 {
        let r = b.post("/login", &[("email", "ada@example.com"), ("password", "nope nope nope")]).await;
        assert_eq!(r.status(), 401);
    }
    let r = b.post("/login", &[("email", "ada@example.com"), ("password", helpers::PASSWORD)]).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let body = r.text().await.unwrap();
    assert!(body.contains("登录失败次数过多，请在 15 分钟后再试。"), "{body}");
});

web_test!(posts_from_other_sites_are_refused, |app: &TestApp| async move {
    let b = admin(app, EN).await;
    let form = [("given_name", "Ada")];
    for headers in [
        vec![],
        vec![("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "same-site")],
        vec![("origin", "http://evil.example")],
        vec![("origin", "null")],
    ] {
        let r = b.post_with("/contacts/new", &form, &headers).await;
        assert_eq!(r.status(), 403, "{headers:?}");
        let csp = r.headers().get("content-security-policy").is_some();
        assert!(csp && r.text().await.unwrap().contains("Request refused"));
    }
    // A matching Origin (browsers without fetch metadata) is accepted.
    let host = b.addr.clone();
    let r = b.post_with("/contacts/new", &form, &[("origin", host.as_str())]).await;
    assert_eq!(r.status(), 303);
    // Login is protected too (login CSRF).
    let anon = app.browser(EN);
    let r = anon.post_with("/login", &[("email", "admin@example.com"), ("password", helpers::PASSWORD)], &[]).await;
    assert_eq!(r.status(), 403);
});

web_test!(user_data_is_escaped, |app: &TestApp| async move {
    let b = admin(app, EN).await;
    let evil = "<script>alert(1)</script>";
    let id = create_contact(&b, &[("display_name", evil), ("job_title", "\"><img src=x onerror=alert(2)>")]).await;
    for path in [format!("/contacts/{id}"), "/contacts".to_string()] {
        let html = b.html(&path).await;
        assert!(!html.contains(evil), "{path} has raw user HTML");
        assert!(!html.contains("<img src=x"), "{path} has a raw attribute break-out");
        assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62;") || html.contains("&lt;script&gt;"));
    }
    let r = b.get("/search/suggest?q=alert").await;
    let json: serde_json::Value = r.json().await.unwrap();
    assert_eq!(json["items"][0]["label"], evil, "JSON carries the text; the script inserts it as text");
});

web_test!(create_form_shows_field_errors_and_duplicates, |app: &TestApp| async move {
    let b = admin(app, ZH).await;
    let r = b.post("/contacts/new", &[("family_name", "张"), ("given_name", "伟"), ("email", "not-an-email")]).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("请输入有效的邮箱地址"), "{html}");
    assert!(
        html.contains("id=\"new-email\" name=\"email\" type=\"email\" value=\"not-an-email\" aria-invalid=\"true\"")
    );
    assert!(html.contains("value=\"张\""), "values are kept");

    let id = create_contact(
        &b,
        &[("family_name", "张"), ("given_name", "伟"), ("email", "zhang.wei@example.com"), ("phone", "138 0013 8000")],
    )
    .await;
    // Same phone, written differently: a duplicate warning linking to the existing contact.
    let again = [("family_name", "张"), ("given_name", "伟"), ("phone", "+86 13800138000")];
    let r = b.post("/contacts/new", &again).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("可能重复") && html.contains(&format!("href=\"/contacts/{id}\"")), "{html}");
    let mut confirmed = again.to_vec();
    confirmed.push(("confirm_duplicate", "1"));
    let r = b.post("/contacts/new", &confirmed).await;
    assert_eq!(r.status(), 303);
    assert_ne!(location(&r), format!("/contacts/{id}"));
});

web_test!(an_edit_conflict_is_shown_not_overwritten, |app: &TestApp| async move {
    let a = admin(app, EN).await;
    let b = app.signed_in("admin@example.com", EN).await;
    let id = create_contact(&a, &[("given_name", "Ada"), ("job_title", "Engineer")]).await;
    let page = a.html(&format!("/contacts/{id}")).await;
    assert!(page.contains("name=\"version\" value=\"1\""));

    let r =
        b.post(&format!("/contacts/{id}/field"), &[("field", "job_title"), ("value", "CTO"), ("version", "1")]).await;
    assert_eq!(r.status(), 303);
    let r =
        a.post(&format!("/contacts/{id}/field"), &[("field", "job_title"), ("value", "CEO"), ("version", "1")]).await;
    assert_eq!(r.status(), 409);
    let html = r.text().await.unwrap();
    assert!(html.contains("Edit conflict") && html.contains("<b class=\"current-value\">CTO</b>"), "{html}");
    assert!(html.contains("value=\"CEO\""), "the user's value is kept in the form");
    assert!(html.contains("name=\"version\" value=\"2\""));
    assert!(b.html(&format!("/contacts/{id}")).await.contains("CTO"));

    // Choosing to save over it is an explicit second post with the new version.
    let r =
        a.post(&format!("/contacts/{id}/field"), &[("field", "job_title"), ("value", "CEO"), ("version", "2")]).await;
    assert_eq!(r.status(), 303);
    // A bad value is a field error.
    let r = a.post(&format!("/contacts/{id}/field"), &[("field", "email"), ("value", "nope"), ("version", "3")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Enter a valid email address"));
});

web_test!(notes_are_logged_on_the_timeline, |app: &TestApp| async move {
    let b = admin(app, ZH).await;
    let id = create_contact(&b, &[("family_name", "李"), ("given_name", "娜")]).await;
    let r = b.post(&format!("/contacts/{id}/activities"), &[("kind", "note"), ("body", "")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("此项必填"));
    let r = b
        .post(
            &format!("/contacts/{id}/activities"),
            &[("kind", "call"), ("subject", "回访"), ("body", "客户想要报价单")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let html = b.html(&format!("/contacts/{id}")).await;
    assert!(html.contains("客户想要报价单") && html.contains("回访"));
    // The type filter hides calls when only notes are asked for.
    let html = b.html(&format!("/contacts/{id}?kind=note")).await;
    assert!(!html.contains("客户想要报价单"));
});

web_test!(members_cannot_open_another_teams_private_contact, |app: &TestApp| async move {
    let east = app.team("East").await;
    let west = app.team("West").await;
    app.user("owner@example.com", Role::Member, Some(east)).await;
    app.user("other@example.com", Role::Member, Some(west)).await;
    let owner = app.signed_in("owner@example.com", EN).await;
    let id = create_contact(&owner, &[("given_name", "Secret"), ("visibility", "private")]).await;
    let other = app.signed_in("other@example.com", EN).await;
    let r = other.get(&format!("/contacts/{id}")).await;
    assert_eq!(r.status(), 404);
    let html = r.text().await.unwrap();
    assert!(!html.contains("Secret") && html.contains("Not found"));
    let r = other.post(&format!("/contacts/{id}/activities"), &[("kind", "note"), ("body", "hi")]).await;
    assert_eq!(r.status(), 404);
    assert!(!other.html("/contacts").await.contains("Secret"));
    assert_eq!(other.get("/contacts/not-a-uuid").await.status(), 404);
});

web_test!(language_follows_the_browser_then_the_users_choice, |app: &TestApp| async move {
    let b = admin(app, EN).await;
    let html = b.html("/contacts").await;
    assert!(html.contains("<html lang=\"en\">") && html.contains(">Contacts<"));
    let r = b.post("/language", &[("locale", "zh-CN"), ("next", "/contacts?city=%E5%8C%97%E4%BA%AC")]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/contacts?city=%E5%8C%97%E4%BA%AC");
    // Saved on the user: it wins over the browser's English.
    let html = b.html("/contacts").await;
    assert!(html.contains("<html lang=\"zh-CN\">") && html.contains(">联系人<") && !html.contains(">Contacts<"));
    let r = b.post("/language", &[("locale", "en"), ("next", "https://evil.example")]).await;
    assert_eq!(location(&r), "/");
    assert!(b.html("/contacts").await.contains("<html lang=\"en\">"));
});

web_test!(list_filters_totals_and_pages, |app: &TestApp| async move {
    let b = admin(app, EN).await;
    for i in 0..3 {
        let name = format!("Person {i}");
        let city = if i == 0 { "上海" } else { "北京" };
        create_contact(&b, &[("display_name", name.as_str()), ("city", city), ("tags", "vip")]).await;
    }
    let html = b.html("/contacts").await;
    assert!(html.contains("3 contacts"));
    let html = b.html("/contacts?city=%E5%8C%97%E4%BA%AC").await;
    assert!(html.contains("2 contacts") && !html.contains("Person 0"));
    let html = b.html("/contacts?sort=display_name&limit=2").await;
    assert!(html.contains("Person 0") && html.contains("Person 1") && !html.contains("Person 2"));
    let next = html.split("rel=\"next\"").next().and_then(|s| s.rsplit("href=\"").next()).unwrap_or("");
    let next = next.split('"').next().unwrap_or("").replace("&#38;", "&").replace("&amp;", "&");
    let page2 = b.html(&next).await;
    assert!(page2.contains("Person 2") && !page2.contains("Person 0"), "{next}");
    // The API's filter syntax works in the URL too; a bad one is explained, not a 500.
    assert!(b.html("/contacts?filter=tags:has_tag:vip").await.contains("3 contacts"));
    let html = b.html("/contacts?filter=nope:eq:1").await;
    assert!(html.contains("Cannot filter by this field"));
});

web_test!(typeahead_finds_names_and_phone_endings, |app: &TestApp| async move {
    let b = admin(app, ZH).await;
    let id = create_contact(&b, &[("family_name", "张"), ("given_name", "伟"), ("phone", "13800138000")]).await;
    for q in ["张伟", "8000"] {
        let r = b.get(&format!("/search/suggest?q={}", urlencode(q))).await;
        assert_eq!(r.status(), 200);
        let json: serde_json::Value = r.json().await.unwrap();
        assert_eq!(json["items"][0]["url"], format!("/contacts/{id}"), "{q}: {json}");
        assert_eq!(json["items"][0]["kind_label"], "联系人");
    }
    let html = b.html(&format!("/search?q={}", urlencode("张伟"))).await;
    assert!(html.contains(&format!("/contacts/{id}")));
});

web_test!(assets_are_hashed_and_immutable, |app: &TestApp| async move {
    let b = app.browser(EN);
    let html = b.html("/login").await;
    let css = html.split("href=\"/assets/app.").nth(1).and_then(|s| s.split('"').next()).unwrap_or("");
    let r = b.get(&format!("/assets/app.{css}")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers().get("cache-control").and_then(|v| v.to_str().ok()),
        Some("public, max-age=31536000, immutable")
    );
    assert!(r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").starts_with("text/css"));
    assert_eq!(b.get("/assets/nope.js").await.status(), 404);
    assert!(!html.contains("<script>") && !html.contains("style=\""), "no inline script or style");
});

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
