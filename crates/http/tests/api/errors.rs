//! No input, however malformed, produces a 500: every bad request gets a problem+json answer.

use crate::app_test;
use crate::client::Method;
use crate::helpers::*;
use serde_json::json;

app_test!(malformed_bodies_are_client_errors, |app: &TestApp| async move {
    let admin = app.admin().await;
    let raw = |body: Vec<u8>, ct: &'static str| {
        app.req(Some(&admin), Method::POST, "/api/v1/contacts").header("content-type", ct).body(body).send()
    };

    problem(raw(b"{not json".to_vec(), "application/json").await.unwrap(), 400).await;
    problem(raw(b"".to_vec(), "application/json").await.unwrap(), 400).await;
    problem(raw(vec![b'{', b'"', 0xff, 0xfe, b'"', b':', b'1', b'}'], "application/json").await.unwrap(), 400).await;
    problem(raw(b"[1,2,3]".to_vec(), "application/json").await.unwrap(), 422).await;
    problem(raw(b"given_name=x".to_vec(), "application/x-www-form-urlencoded").await.unwrap(), 415).await;
    let p = problem(raw(br#"{"given_name": 42}"#.to_vec(), "application/json").await.unwrap(), 422).await;
    assert_eq!(fields(&p), vec!["given_name"]);
    let p =
        problem(raw(br#"{"given_name": "x", "shoe_size": 42}"#.to_vec(), "application/json").await.unwrap(), 422).await;
    assert_eq!(p["errors"][0]["code"], "unknown_field");
    let p = problem(raw(br#"{"emails": [{"address": 5}]}"#.to_vec(), "application/json").await.unwrap(), 422).await;
    assert_eq!(fields(&p), vec!["emails/0/address"]);
    let deep = format!("{{\"custom\": {{\"a\": {}{}}}}}", "[".repeat(10_000), "]".repeat(10_000));
    problem(raw(deep.into_bytes(), "application/json").await.unwrap(), 400).await;

    // A 10 MB string is refused before it is parsed; a 1 MB one is a field error.
    let huge = json!({"given_name": "x".repeat(10 * 1024 * 1024)}).to_string().into_bytes();
    // The server answers 413 as soon as the declared length is over the limit and closes the connection; the client
    // may still be uploading and then sees the reset instead of the answer. Either way nothing was stored and the
    // server keeps serving (the requests below).
    if let Ok(r) = raw(huge, "application/json").await {
        problem(r, 413).await;
    }
    let big = json!({"given_name": "x".repeat(1024 * 1024)}).to_string().into_bytes();
    let p = problem(raw(big, "application/json").await.unwrap(), 422).await;
    assert_eq!(p["errors"][0]["code"], "too_long");

    // Bad ids, bad headers, unknown routes.
    problem(app.get(&admin, "/api/v1/contacts/not-a-uuid").await, 404).await;
    problem(app.get(&admin, "/api/v1/contacts/00000000-0000-0000-0000-000000000000").await, 404).await;
    let c = app.contact(&admin, json!({"given_name": "x"})).await;
    let url = format!("/api/v1/contacts/{}", c["id"].as_str().unwrap());
    let r =
        app.req(Some(&admin), Method::PATCH, &url).header("if-match", "banana").json(&json!({})).send().await.unwrap();
    problem(r, 400).await;
    let r = app.patch(&admin, &url, Some(1), &json!("a string")).await;
    problem(r, 400).await;
    let r = app
        .req(Some(&admin), Method::POST, "/api/v1/contacts")
        .header("idempotency-key", "x".repeat(300))
        .json(&json!({"given_name": "x"}))
        .send()
        .await
        .unwrap();
    problem(r, 400).await;
    problem(app.get(&admin, "/api/v1/contacts?limit=abc").await, 422).await;
    // Invalid percent-encoded UTF-8 in a search is read lossily and simply finds nothing.
    let r = app.get(&admin, &format!("/api/v1/contacts?q={}", "%FF%FE".repeat(10))).await;
    assert_eq!(r.status(), 200);
});
