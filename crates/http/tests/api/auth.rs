use crate::app_test;
use crate::client::Method;
use crate::helpers::*;
use guanxi_core::access::{Role, TokenScope};
use serde_json::{Value, json};

app_test!(password_login_issues_tokens_and_failures_are_throttled, |app: &TestApp| async move {
    let admin = app.admin().await;
    let token = |email: &str, password: &str| {
        app.req(None, Method::POST, "/api/v1/auth/token").json(&json!({"email": email, "password": password})).send()
    };
    let r = token(&admin.email, PASSWORD).await.unwrap();
    assert_eq!(r.status(), 201);
    let t: Value = r.json().await.unwrap();
    let secret = t["token"].as_str().unwrap().to_string();
    let me: Value =
        app.req(None, Method::GET, "/api/v1/me").bearer_auth(&secret).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["email"], admin.email);

    problem(token(&admin.email, "wrong password").await.unwrap(), 401).await;
    problem(token("nobody@example.com", PASSWORD).await.unwrap(), 401).await;
    problem(app.req(None, Method::GET, "/api/v1/contacts").send().await.unwrap(), 401).await;
    problem(app.req(None, Method::GET, "/api/v1/contacts").bearer_auth("gx_forged").send().await.unwrap(), 401).await;
    for _ in 0..4 {
        problem(token(&admin.email, "wrong password").await.unwrap(), 401).await;
    }
    // Five failures: even the right password is refused for a while.
    let r = token(&admin.email, PASSWORD).await.unwrap();
    assert!(r.headers().contains_key("retry-after"));
    problem(r, 429).await;
});

app_test!(read_only_tokens_cannot_write_and_revoked_tokens_stop_working, |app: &TestApp| async move {
    let admin = app.admin().await;
    let reader = app.user("reader@example.com", Role::Admin, admin.team_id, TokenScope::Read).await;
    assert_eq!(app.get(&reader, "/api/v1/contacts").await.status(), 200);
    problem(app.post(&reader, "/api/v1/contacts", &json!({"given_name": "x"})).await, 403).await;

    let r = app.post(&admin, "/api/v1/tokens", &json!({"name": "script"})).await;
    assert_eq!(r.status(), 201);
    let t: Value = r.json().await.unwrap();
    let secret = t["token"].as_str().unwrap();
    assert_eq!(app.req(None, Method::GET, "/api/v1/me").bearer_auth(secret).send().await.unwrap().status(), 200);
    let tokens: Value = app.get(&admin, "/api/v1/tokens").await.json().await.unwrap();
    assert!(tokens.to_string().find(secret).is_none(), "token secrets are never listed");
    assert_eq!(app.delete(&admin, &format!("/api/v1/tokens/{}", t["id"].as_str().unwrap())).await.status(), 204);
    assert_eq!(app.req(None, Method::GET, "/api/v1/me").bearer_auth(secret).send().await.unwrap().status(), 401);
});

app_test!(health_and_openapi_answer, |app: &TestApp| async move {
    let r = app.req(None, Method::GET, "/healthz").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let doc: Value = app.req(None, Method::GET, "/api/openapi.json").send().await.unwrap().json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
});

app_test!(cookie_sessions_cannot_write_cross_site, |app: &TestApp| async move {
    let admin = app.admin().await;
    let secret = guanxi_http::auth::new_secret();
    let expires = chrono::Utc::now() + chrono::Duration::hours(1);
    guanxi_store::accounts::create_session(
        &app.db,
        &guanxi_http::auth::secret_hash(&secret),
        admin_id(app, &admin).await,
        expires,
    )
    .await
    .unwrap();
    let cookie = format!("{}={secret}", guanxi_http::auth::SESSION_COOKIE);
    let get = app.req(None, Method::GET, "/api/v1/contacts").header("cookie", &cookie).send().await.unwrap();
    assert_eq!(get.status(), 200, "reads work with the session cookie");
    let body = json!({"given_name": "x"});
    let cross = app
        .req(None, Method::POST, "/api/v1/contacts")
        .header("cookie", &cookie)
        .header("sec-fetch-site", "cross-site")
        .json(&body)
        .send()
        .await
        .unwrap();
    problem(cross, 403).await;
    let bare =
        app.req(None, Method::POST, "/api/v1/contacts").header("cookie", &cookie).json(&body).send().await.unwrap();
    problem(bare, 403).await;
    let same = app
        .req(None, Method::POST, "/api/v1/contacts")
        .header("cookie", &cookie)
        .header("sec-fetch-site", "same-origin")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), 201);
});

async fn admin_id(app: &TestApp, user: &TestUser) -> uuid::Uuid {
    let me: Value = app.get(user, "/api/v1/me").await.json().await.unwrap();
    me["id"].as_str().unwrap().parse().unwrap()
}
