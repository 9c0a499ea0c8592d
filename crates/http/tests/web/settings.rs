//! Settings: users and teams, roles, custom fields and API tokens are for admins; everyone else gets the 403 page.

use super::{EN, ZH, admin};
use crate::helpers::{PASSWORD, location};
use crate::web_test;
use guanxi_core::access::Role;

web_test!(administration_is_for_admins_only, |app: &TestApp| async move {
    app.user("member@example.com", Role::Member, None).await;
    app.user("boss@example.com", Role::Manager, None).await;
    for email in ["member@example.com", "boss@example.com"] {
        let b = app.signed_in(email, EN).await;
        let own = b.html("/settings").await;
        assert!(own.contains("Language") && !own.contains("/settings/users"), "{email}");
        for path in ["/settings/users", "/settings/roles", "/settings/fields", "/settings/tokens"] {
            let r = b.get(path).await;
            assert_eq!(r.status(), 403, "{email} {path}");
            assert!(r.text().await.unwrap().contains("Not allowed"));
        }
        for (path, form) in [
            (
                "/settings/users",
                vec![
                    ("email", "x@example.com"),
                    ("display_name", "X"),
                    ("password", "long enough pw"),
                    ("role", "admin"),
                ],
            ),
            ("/settings/teams", vec![("name", "Mine")]),
            ("/settings/fields", vec![("object", "contact"), ("key", "x"), ("label", "X"), ("kind", "text")]),
            ("/settings/tokens", vec![("name", "t"), ("scope", "read")]),
        ] {
            assert_eq!(b.post(path, &form).await.status(), 403, "{email} POST {path}");
        }
    }
    let a = admin(app, EN).await;
    assert!(a.html("/settings").await.contains("href=\"/settings/users\""));
    let roles = a.html("/settings/roles").await;
    assert!(roles.contains("Administrator") && roles.contains("All records of their team"));
});

web_test!(admins_add_users_set_roles_and_deactivate, |app: &TestApp| async move {
    let a = admin(app, ZH).await;
    let r = a
        .post(
            "/settings/users",
            &[("email", "not-an-email"), ("display_name", ""), ("password", "short"), ("role", "member")],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"f-email-error\">请输入有效的邮箱地址<"), "{html}");
    assert!(html.contains("id=\"f-display_name-error\">此项必填<"));
    assert!(html.contains("id=\"f-password-error\">至少 10 个字符<"));
    assert!(!html.contains("value=\"short\""), "a password is never echoed back");

    let r = a.post("/settings/teams", &[("name", "华南销售")]).await;
    assert_eq!(r.status(), 303);
    let r = a.post("/settings/teams", &[("name", "华南销售")]).await;
    assert_eq!(r.status(), 422, "team names are unique");
    let r = a
        .post(
            "/settings/users",
            &[("email", "Li.Lei@Example.com"), ("display_name", "李雷"), ("password", PASSWORD), ("role", "member")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = a
        .post(
            "/settings/users",
            &[("email", "li.lei@example.com"), ("display_name", "李雷 2"), ("password", PASSWORD), ("role", "member")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("id=\"f-email-error\""));

    let users = guanxi_store::accounts::list_users(&app.db).await.unwrap();
    let li = users.iter().find(|u| u.email == "li.lei@example.com").unwrap().clone();
    let team =
        guanxi_store::accounts::list_teams(&app.db).await.unwrap().into_iter().find(|t| t.name == "华南销售").unwrap();
    let lei = app.signed_in("li.lei@example.com", ZH).await;
    assert_eq!(lei.get("/settings/users").await.status(), 403);

    let (rk, tk) = (format!("role-{}", li.id), format!("team-{}", li.id));
    let team_id = team.id.to_string();
    let r = a
        .post(&format!("/settings/users/{}", li.id), &[(rk.as_str(), "manager"), (tk.as_str(), team_id.as_str())])
        .await;
    assert_eq!(r.status(), 303);
    let changed = guanxi_store::accounts::get_user(&app.db, li.id).await.unwrap();
    assert_eq!((changed.role, changed.team_id), (Role::Manager, Some(team.id)));
    let page = a.html("/settings/users?saved=1").await;
    assert!(page.contains("李雷") && page.contains("华南销售") && page.contains("已保存"));

    // Deactivating ends the user's session at once; an admin cannot deactivate themself.
    let r = a.post(&format!("/settings/users/{}/active", li.id), &[("active", "0")]).await;
    assert_eq!(r.status(), 303);
    let r = lei.get("/contacts").await;
    assert_eq!(r.status(), 303);
    assert!(location(&r).starts_with("/login"));
    let me = users.iter().find(|u| u.email == "admin@example.com").unwrap();
    let r = a.post(&format!("/settings/users/{}/active", me.id), &[("active", "0")]).await;
    assert_eq!(r.status(), 422);
    assert!(guanxi_store::accounts::get_user(&app.db, me.id).await.unwrap().active);
});

web_test!(custom_fields_are_defined_and_appear_on_forms, |app: &TestApp| async move {
    let a = admin(app, EN).await;
    let r = a
        .post(
            "/settings/fields",
            &[("object", "company"), ("key", "Level!"), ("label", "Level"), ("kind", "single_select"), ("options", "")],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("id=\"f-key-error\">Use a-z, 0-9 and _") && html.contains("id=\"f-options-error\">Required<"),
        "{html}"
    );
    let r = a
        .post(
            "/settings/fields",
            &[
                ("object", "company"),
                ("key", "level"),
                ("label", "Level"),
                ("kind", "single_select"),
                ("options", "gold, silver"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let def = guanxi_store::custom_fields::list(&app.db, None).await.unwrap().remove(0);
    let r = a
        .post(
            &format!("/settings/fields/{}", def.id),
            &[("label", "Account level"), ("options", "gold, silver, bronze"), ("required", "1")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let list = a.html("/settings/fields").await;
    assert!(list.contains("Account level") && list.contains("gold, silver, bronze"), "{list}");

    // The company form now has the field, and a required value is checked at it.
    let form = a.html("/companies/new").await;
    assert!(form.contains("name=\"custom_level\"") && form.contains(">bronze<"));
    let r = a.post("/companies/new", &[("name", "Acme"), ("custom_level", "")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("id=\"f-custom_level-error\""));
    let r = a.post("/companies/new", &[("name", "Acme"), ("custom_level", "silver")]).await;
    assert_eq!(r.status(), 303);

    // Deleting asks first.
    let r = a.post(&format!("/settings/fields/{}/delete", def.id), &[]).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("id=\"confirm-delete\""));
    assert_eq!(guanxi_store::custom_fields::list(&app.db, None).await.unwrap().len(), 1);
    let r = a.post(&format!("/settings/fields/{}/delete", def.id), &[("confirm", "1")]).await;
    assert_eq!(r.status(), 303);
    assert!(guanxi_store::custom_fields::list(&app.db, None).await.unwrap().is_empty());
});

web_test!(api_tokens_are_shown_once_and_can_be_revoked, |app: &TestApp| async move {
    let a = admin(app, EN).await;
    let r = a.post("/settings/tokens", &[("name", " "), ("scope", "read")]).await;
    assert_eq!(r.status(), 422);
    let r = a.post("/settings/tokens", &[("name", "ERP sync"), ("scope", "read")]).await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers().get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    let html = r.text().await.unwrap();
    let secret = html
        .split("id=\"token-secret\" class=\"secret\" readonly value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or("")
        .to_string();
    assert!(secret.starts_with("gx_"), "{html}");

    let api = |token: String| {
        let addr = a.addr.clone();
        async move {
            let client = crate::client::Client::new();
            client
                .get(format!("{addr}/api/v1/me"))
                .header("authorization", format!("Bearer {token}"))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(api(secret.clone()).await, 200);
    let list = a.html("/settings/tokens").await;
    assert!(list.contains("ERP sync") && list.contains("Read only") && !list.contains(&secret), "never shown again");
    let token =
        guanxi_store::accounts::list_tokens(&app.db, guanxi_store::accounts::list_users(&app.db).await.unwrap()[0].id)
            .await
            .unwrap();
    let r = a.post(&format!("/settings/tokens/{}/revoke", token[0].id), &[]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(api(secret).await, 401);
    assert!(a.html("/settings/tokens").await.contains("Revoked"));
});
