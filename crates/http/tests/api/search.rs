use crate::app_test;
use crate::helpers::*;
use serde_json::{Value, json};

app_test!(search_finds_chinese_names_latin_prefixes_emails_and_phone_suffixes, |app: &TestApp| async move {
    let admin = app.admin().await;
    let r = app
        .post(&admin, "/api/v1/companies", &json!({"name": "北京字节跳动科技有限公司", "domain": "bytedance.com"}))
        .await;
    assert_eq!(r.status(), 201);
    let company: Value = r.json().await.unwrap();
    let zw = app
        .contact(&admin, json!({"family_name": "张", "given_name": "伟", "phones": [{"number": "13800138000"}], "company_id": company["id"]}))
        .await;
    app.contact(&admin, json!({"family_name": "张", "given_name": "伟明"})).await;
    app.contact(&admin, json!({"family_name": "王", "given_name": "伟"})).await;
    let ada = app
        .contact(
            &admin,
            json!({"given_name": "Ada", "family_name": "Lovelace", "emails": [{"address": "ada@analytical.engine"}]}),
        )
        .await;
    app.contact(&admin, json!({"given_name": "Adam", "family_name": "Smith"})).await;

    let names = |v: &Value| -> Vec<String> {
        v["contacts"].as_array().unwrap().iter().map(|c| c["display_name"].as_str().unwrap().to_string()).collect()
    };

    let r = search(app, &admin, "张伟").await;
    assert_eq!(names(&r)[0], "张伟", "exact 2-character name ranks first");
    assert_eq!(names(&r).len(), 2, "张伟 and 张伟明, not 王伟");
    assert_eq!(r["contacts"][0]["id"], zw["id"]);
    assert_eq!(names(&search(app, &admin, "ada").await), vec!["Ada Lovelace", "Adam Smith"]);
    assert_eq!(search(app, &admin, "ada@analytical.engine").await["contacts"][0]["id"], ada["id"]);
    assert_eq!(names(&search(app, &admin, "8000").await), vec!["张伟"]);
    assert_eq!(names(&search(app, &admin, "+86 138-0013-8000").await), vec!["张伟"]);
    let r = search(app, &admin, "字节跳动").await;
    assert_eq!(r["companies"][0]["name"], "北京字节跳动科技有限公司");
    assert_eq!(names(&r), vec!["张伟"], "contacts are found by their company's name");
    // The contact list takes the same search.
    let list: Value = app.get(&admin, &format!("/api/v1/contacts?q={}", urlencode("张伟"))).await.json().await.unwrap();
    assert_eq!(list["total"], 2);
    assert!(search(app, &admin, "zzzz-no-such").await["contacts"].as_array().unwrap().is_empty());
    problem(app.get(&admin, "/api/v1/search?q=").await, 422).await;
});

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn search(app: &TestApp, user: &TestUser, q: &str) -> Value {
    let r = app.get(user, &format!("/api/v1/search?q={}", urlencode(q))).await;
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()
}
