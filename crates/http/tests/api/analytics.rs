//! Customer analytics end to end: a generated order history, `POST /api/v1/analytics/run`, and every read
//! endpoint, with access rules.

use crate::app_test;
use crate::helpers::*;
use guanxi_core::access::{Role, TokenScope};
use serde_json::{Value, json};

/// A deterministic order history: 200 contacts, 40 of whom never buy, and the orders of 160 customers from
/// the analytics crate's synthetic shop (BG/NBD-like buying, Gamma-Gamma-like spend, baskets from product
/// families), moved so that the data end today.
async fn shop(app: &TestApp, admin: &TestUser) -> Vec<String> {
    use guanxi_analytics::orders::OrderStatus;
    use guanxi_analytics::synthetic::{SyntheticSettings, generate};
    let items: Vec<Value> =
        (0..200).map(|i| json!({"given_name": format!("Customer {i}"), "visibility": "public"})).collect();
    let r = app.post(admin, "/api/v1/contacts/batch", &json!({"items": items})).await;
    assert_eq!(r.status(), 201);
    let contacts: Vec<String> = r.json::<Value>().await.unwrap()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    let settings = SyntheticSettings { customers: 160, products: 10, family_size: 5, ..Default::default() };
    let products: Vec<Value> = (0..settings.products)
        .map(|i| json!({"sku": format!("SKU-{i}"), "name": format!("Tea {i}"), "list_price_minor": 1000, "currency": "CNY"}))
        .collect();
    let r = app.post(admin, "/api/v1/products/batch", &json!({"items": products})).await;
    assert_eq!(r.status(), 201);
    let products: Vec<String> = r.json::<Value>().await.unwrap()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();

    let data = generate(&settings);
    let shift = chrono::Utc::now().date_naive() - settings.end;
    let mut orders = Vec::new();
    for (t, basket) in data.transactions.iter().zip(&data.baskets) {
        // Customer k (1..=160) is contact k + (k - 1) / 4: every fifth contact, from the first, never buys.
        let k = t.customer as usize;
        let contact = &contacts[k + (k - 1) / 4];
        let day = (t.date + shift).and_hms_opt(10, 0, 0).unwrap().and_utc();
        let each = t.amount_minor.max(basket.len() as i64) / basket.len().max(1) as i64;
        let lines: Vec<Value> = basket
            .iter()
            .map(|&item| json!({"product_id": products[item as usize], "quantity": 1, "unit_price_minor": each}))
            .collect();
        let status = match t.status {
            OrderStatus::Paid => "paid",
            OrderStatus::Refunded => "refunded",
            _ => "cancelled",
        };
        orders.push(json!({"contact_id": contact, "status": status, "currency": "CNY", "ordered_at": day.to_rfc3339(), "lines": lines}));
    }
    for chunk in orders.chunks(1000) {
        let r = app.post(admin, "/api/v1/orders/batch", &json!({"items": chunk})).await;
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    }
    contacts
}

async fn get_json(app: &TestApp, user: &TestUser, path: &str) -> Value {
    let r = app.get(user, path).await;
    assert_eq!(r.status(), 200, "GET {path}");
    r.json().await.unwrap()
}

/// The `system` activities on a contact's timeline, and how many of them are lifecycle stage changes.
async fn system_events(app: &TestApp, user: &TestUser, contact: &str) -> (usize, usize) {
    let t = get_json(app, user, &format!("/api/v1/contacts/{contact}/timeline?kind=system&orders=false")).await;
    let items = t["items"].as_array().unwrap();
    let stages = items.iter().filter(|a| a["metadata"]["event"] == "lifecycle_stage_changed").count();
    (items.len(), stages)
}

app_test!(analysis_fills_metrics_for_every_contact, |app: &TestApp| async move {
    let admin = app.admin().await;
    let contacts = shop(app, &admin).await;
    // Nothing before the first run.
    problem(app.get(&admin, "/api/v1/analytics/runs/latest").await, 404).await;
    problem(app.get(&admin, &format!("/api/v1/contacts/{}/metrics", contacts[1])).await, 404).await;

    let r = app.post(&admin, "/api/v1/analytics/run", &json!({})).await;
    assert_eq!(r.status(), 200);
    let run: Value = r.json().await.unwrap();
    assert!(["succeeded", "insufficient_data"].contains(&run["status"].as_str().unwrap()), "{run}");
    assert_eq!(run["customers"], 200);
    assert!(run["orders"].as_i64().unwrap() > 200, "{run}");
    assert_eq!(get_json(app, &admin, "/api/v1/analytics/runs/latest").await["id"], run["id"]);
    assert_eq!(run["params"]["models"]["bgnbd"]["status"], "fitted", "{}", run["params"]["models"]);

    let all = get_json(app, &admin, "/api/v1/analytics/metrics?limit=500").await;
    let items = all["items"].as_array().unwrap();
    assert_eq!(items.len(), 200);
    let mut tiers = std::collections::BTreeSet::new();
    for m in items {
        let tier = m["tier"].as_str().unwrap();
        let stage = m["lifecycle_stage"].as_str().unwrap();
        tiers.insert(tier.to_string());
        assert!(["vip", "important", "ordinary"].contains(&tier));
        assert!(["prospect", "first_time", "repeat", "loyal", "churned"].contains(&stage));
        if stage == "prospect" {
            assert_eq!(m["frequency"], 0);
            assert_eq!(tier, "ordinary");
            continue;
        }
        assert!(m["frequency"].as_i64().unwrap() >= 1);
        assert!(m["monetary_total_minor"].as_i64().unwrap() > 0);
        assert!(m["rfm_segment"].is_string());
        let p = m["p_alive"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p));
        assert!(m["predicted_clv_12m_minor"].as_i64().unwrap() >= 0);
        assert!(m["expected_purchases_90d"].as_f64().unwrap() >= 0.0);
        if let Some(risk) = m["churn_risk"].as_f64() {
            assert!((0.0..=1.0).contains(&risk));
            assert!(m["churn_reasons"].as_array().unwrap().len() <= 3);
        }
    }
    assert!(tiers.contains("vip") && tiers.contains("ordinary"), "{tiers:?}");
    // 40 contacts never ordered; a few synthetic customers' only orders were refunded or cancelled.
    let prospects = get_json(app, &admin, "/api/v1/analytics/metrics?stage=prospect&limit=500").await;
    let n = prospects["total"].as_u64().unwrap();
    assert!((40..60).contains(&n), "{n} prospects");
    let vips = get_json(app, &admin, "/api/v1/analytics/metrics?tier=vip").await;
    assert!(vips["items"].as_array().unwrap().iter().all(|m| m["tier"] == "vip"));
    problem(app.get(&admin, "/api/v1/analytics/metrics?tier=gold").await, 422).await;

    let buyer = &contacts[1];
    let m = get_json(app, &admin, &format!("/api/v1/contacts/{buyer}/metrics")).await;
    assert_eq!(m["contact_id"].as_str().unwrap(), buyer);
    let e = get_json(app, &admin, &format!("/api/v1/contacts/{buyer}/metrics/explain")).await;
    assert!(!e["tier"]["text"].as_str().unwrap().is_empty());
    assert!(!e["stage"]["text"].as_str().unwrap().is_empty());
    assert!(e["churn"]["reasons"].as_array().unwrap().len() <= 3);
    assert!(!e["value"]["text"].as_str().unwrap().is_empty());

    let rules = get_json(app, &admin, "/api/v1/analytics/rules").await;
    let first = &rules["items"][0];
    assert!(first["lift"].as_f64().unwrap() > 0.0 && first["confidence"].as_f64().unwrap() > 0.0, "{rules}");
    assert!(first["antecedent"][0]["name"].as_str().unwrap().starts_with("Tea"));
    let clusters = get_json(app, &admin, "/api/v1/analytics/clusters").await;
    assert!(clusters["items"].as_array().unwrap().len() >= 2, "{clusters}");

    // The first run records starting stages silently; a change later is one event, and only one.
    let prospect = &contacts[0];
    assert_eq!(
        get_json(app, &admin, &format!("/api/v1/contacts/{prospect}/metrics")).await["lifecycle_stage"],
        "prospect"
    );
    assert_eq!(system_events(app, &admin, prospect).await, (0, 0));
    let order = json!({"contact_id": prospect, "status": "paid", "currency": "CNY",
                       "lines": [{"description": "Tea", "quantity": 1, "unit_price_minor": 5000}]});
    assert_eq!(app.post(&admin, "/api/v1/orders", &order).await.status(), 201);
    assert_eq!(app.post(&admin, "/api/v1/analytics/run", &json!({})).await.status(), 200);
    let m = get_json(app, &admin, &format!("/api/v1/contacts/{prospect}/metrics")).await;
    assert_eq!(m["lifecycle_stage"], "first_time");
    let after_change = system_events(app, &admin, prospect).await;
    assert_eq!(after_change.1, 1, "one stage change");
    assert_eq!(app.post(&admin, "/api/v1/analytics/run", &json!({})).await.status(), 200);
    assert_eq!(system_events(app, &admin, prospect).await, after_change, "nothing new without a change");
});

app_test!(analytics_respects_access, |app: &TestApp| async move {
    let admin = app.admin().await;
    let east = app.team("East").await;
    let west = app.team("West").await;
    let owner = app.user("owner@example.com", Role::Member, Some(east), TokenScope::ReadWrite).await;
    let outsider = app.user("outsider@example.com", Role::Member, Some(west), TokenScope::ReadWrite).await;
    let private = app.contact(&owner, json!({"given_name": "Private", "visibility": "private"})).await;
    let public = app.contact(&owner, json!({"given_name": "Public", "visibility": "public"})).await;
    for c in [&private, &public] {
        let order = json!({"contact_id": c["id"], "status": "paid", "currency": "CNY",
                           "lines": [{"description": "Tea", "quantity": 1, "unit_price_minor": 5000}]});
        assert_eq!(app.post(&owner, "/api/v1/orders", &order).await.status(), 201);
    }
    // Members may not start a run.
    problem(app.post(&owner, "/api/v1/analytics/run", &json!({})).await, 403).await;
    // Two customers are too few for the models: metrics are still written, the run says why.
    let r = app.post(&admin, "/api/v1/analytics/run", &json!({})).await;
    assert_eq!(r.status(), 200);
    let run: Value = r.json().await.unwrap();
    assert_eq!(run["status"], "insufficient_data");
    assert_eq!(run["params"]["models"]["bgnbd"]["status"], "insufficient_data");

    let private_path = format!("/api/v1/contacts/{}/metrics", private["id"].as_str().unwrap());
    assert_eq!(get_json(app, &owner, &private_path).await["lifecycle_stage"], "first_time");
    problem(app.get(&outsider, &private_path).await, 404).await;
    problem(app.get(&outsider, &format!("{private_path}/explain")).await, 404).await;
    let seen = get_json(app, &outsider, "/api/v1/analytics/metrics").await;
    assert_eq!(seen["total"], 1);
    assert_eq!(seen["items"][0]["contact_id"], public["id"]);
    problem(app.get(&outsider, "/api/v1/contacts/not-a-uuid/metrics").await, 404).await;
});
