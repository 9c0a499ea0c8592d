//! Analytics storage: metrics round trips, visibility, timeline events, run records. Each test runs on SQLite
//! and on PostgreSQL.

use chrono::NaiveDate;
use guanxi_core::access::{Actor, Role, TokenScope, Visibility};
use guanxi_core::activity::{ActivityKind, TimelineEntry};
use guanxi_core::contact::{ContactInput, ContactRules};
use guanxi_core::contact_point::Region;
use guanxi_store::accounts::{self, NewUser};
use guanxi_store::activities::{TimelineParent, timeline};
use guanxi_store::analytics::{self, CustomerMetrics, MetricsFilter, ModelRun, SystemEvent};
use guanxi_store::{Db, StoreError, backend_test, contacts};
use serde_json::json;
use uuid::Uuid;

async fn user(db: &Db, email: &str, role: Role, team: Uuid) -> Actor {
    let u = accounts::create_user(
        db,
        &NewUser { email, display_name: email, password_hash: "x", role, team_id: Some(team), locale: None },
    )
    .await
    .unwrap();
    Actor { user_id: u.id, team_id: Some(team), role, scope: TokenScope::ReadWrite }
}

async fn contact(db: &Db, actor: &Actor, name: &str, visibility: Visibility) -> Uuid {
    let rules = ContactRules { default_region: Region::CN, custom_fields: &[], today: chrono::Utc::now().date_naive() };
    let input = ContactInput { given_name: Some(name.into()), visibility: Some(visibility), ..Default::default() };
    contacts::create(db, actor, &input.validate(&rules).unwrap()).await.unwrap().id
}

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, m, d).unwrap()
}

fn metrics(contact_id: Uuid, run_id: Uuid, tier: &str, stage: &str) -> CustomerMetrics {
    CustomerMetrics {
        contact_id,
        as_of: day(6, 30),
        first_order_on: Some(day(1, 2)),
        last_order_on: Some(day(6, 20)),
        recency_days: Some(10),
        frequency: 3,
        monetary_total_minor: 21_000,
        monetary_mean_minor: 7_000,
        r_score: Some(5),
        f_score: Some(4),
        m_score: Some(5),
        rfm_segment: Some("champions".into()),
        tier: tier.into(),
        tier_rule: Some(1),
        tier_reason: json!({"code": "segment_in", "params": {}, "text": "in the Champions segment"}),
        lifecycle_stage: stage.into(),
        stage_since: day(6, 30),
        stage_reason: json!({"code": "repeat_orders", "params": {"orders": "3"}, "text": "3 orders"}),
        p_alive: Some(0.875),
        expected_purchases_90d: Some(1.25),
        predicted_clv_12m_minor: Some(43_210),
        churn_risk: Some(0.125),
        churn_reasons: json!([{"code": "recent_order", "params": {}, "text": "bought 10 days ago"}]),
        cluster: Some(2),
        recommendations: json!([]),
        run_id,
        // Whole microseconds: both backends keep those exactly.
        updated_at: chrono::DateTime::from_timestamp_micros(1_751_000_000_123_456).unwrap(),
    }
}

backend_test!(metrics_round_trip_and_upsert, |db: Db| async move {
    let team = accounts::create_team(&db, "HQ").await.unwrap();
    let admin = user(&db, "admin@example.com", Role::Admin, team.id).await;
    let a = contact(&db, &admin, "A", Visibility::Public).await;
    let b = contact(&db, &admin, "B", Visibility::Public).await;
    let run = analytics::start_run(&db, chrono::Utc::now()).await.unwrap();

    let ma = metrics(a, run, "vip", "repeat");
    let mb =
        CustomerMetrics { p_alive: None, churn_risk: None, cluster: None, ..metrics(b, run, "ordinary", "first_time") };
    analytics::write_metrics(&db, &[ma.clone(), mb.clone()], &[]).await.unwrap();
    assert_eq!(analytics::get(&db, &admin, a).await.unwrap(), ma);
    assert_eq!(analytics::get(&db, &admin, b).await.unwrap(), mb);

    // A second write replaces the row.
    let ma2 = CustomerMetrics { tier: "important".into(), frequency: 4, ..ma.clone() };
    analytics::write_metrics(&db, std::slice::from_ref(&ma2), &[]).await.unwrap();
    assert_eq!(analytics::get(&db, &admin, a).await.unwrap(), ma2);

    let vip = MetricsFilter { tier: Some("important".into()), ..Default::default() };
    let page = analytics::list(&db, &admin, &vip, None, 10).await.unwrap();
    assert_eq!(page.items.iter().map(|m| m.contact_id).collect::<Vec<_>>(), vec![a]);
    assert_eq!(page.total, 1);
    // Paging by contact id.
    let first = analytics::list(&db, &admin, &MetricsFilter::default(), None, 1).await.unwrap();
    assert_eq!(first.total, 2);
    let after = first.next_cursor.as_deref().map(|c| Uuid::parse_str(c).unwrap());
    let second = analytics::list(&db, &admin, &MetricsFilter::default(), after, 1).await.unwrap();
    assert_eq!(second.items.len(), 1);
    assert_ne!(second.items[0].contact_id, first.items[0].contact_id);
    assert!(second.next_cursor.is_none());

    // Run records.
    assert_eq!(analytics::latest_run(&db).await.unwrap().unwrap().status, "running");
    assert!(analytics::latest_completed_run(&db).await.unwrap().is_none());
    let done = ModelRun {
        id: run,
        started_at: chrono::Utc::now(),
        finished_at: Some(chrono::Utc::now()),
        duration_ms: Some(1234),
        data_from: Some(day(1, 2)),
        data_to: Some(day(6, 20)),
        customers: 2,
        orders: 7,
        params: json!({"models": {"bgnbd": {"status": "insufficient_data"}}}),
        status: analytics::RUN_INSUFFICIENT_DATA.into(),
        error: None,
    };
    analytics::finish_run(&db, &done).await.unwrap();
    let latest = analytics::latest_completed_run(&db).await.unwrap().unwrap();
    assert_eq!((latest.id, latest.customers, latest.orders, latest.duration_ms), (run, 2, 7, Some(1234)));
    assert_eq!(latest.params, done.params);
    assert_eq!(analytics::previous_states(&db, a.min(b), a.max(b)).await.unwrap().len(), 2);
});

backend_test!(metrics_follow_contact_visibility, |db: Db| async move {
    let east = accounts::create_team(&db, "East").await.unwrap();
    let west = accounts::create_team(&db, "West").await.unwrap();
    let owner = user(&db, "owner@example.com", Role::Member, east.id).await;
    let outsider = user(&db, "outsider@example.com", Role::Member, west.id).await;
    let private = contact(&db, &owner, "Private", Visibility::Private).await;
    let public = contact(&db, &owner, "Public", Visibility::Public).await;
    let run = analytics::start_run(&db, chrono::Utc::now()).await.unwrap();
    analytics::write_metrics(&db, &[metrics(private, run, "vip", "loyal"), metrics(public, run, "vip", "loyal")], &[])
        .await
        .unwrap();

    assert!(analytics::get(&db, &owner, private).await.is_ok());
    assert!(matches!(analytics::get(&db, &outsider, private).await, Err(StoreError::NotFound)));
    assert!(analytics::get(&db, &outsider, public).await.is_ok());
    let seen = analytics::list(&db, &outsider, &MetricsFilter::default(), None, 50).await.unwrap();
    assert_eq!(seen.items.iter().map(|m| m.contact_id).collect::<Vec<_>>(), vec![public]);
    assert_eq!(seen.total, 1);
    let mine = analytics::list(&db, &owner, &MetricsFilter::default(), None, 50).await.unwrap();
    assert_eq!(mine.total, 2);
});

backend_test!(change_events_land_on_the_timeline, |db: Db| async move {
    let team = accounts::create_team(&db, "HQ").await.unwrap();
    let admin = user(&db, "admin@example.com", Role::Admin, team.id).await;
    let c = contact(&db, &admin, "C", Visibility::Public).await;
    let run = analytics::start_run(&db, chrono::Utc::now()).await.unwrap();
    let at = day(7, 1).and_hms_opt(0, 0, 0).unwrap().and_utc();
    let event = SystemEvent {
        contact_id: c,
        occurred_at: at,
        subject: "Lifecycle stage: repeat → churned".into(),
        body: "no purchase for 200 days".into(),
        metadata: json!({"event": "lifecycle_stage_changed", "from": "repeat", "to": "churned"}),
    };
    analytics::write_metrics(&db, &[metrics(c, run, "ordinary", "churned")], &[event]).await.unwrap();
    let (entries, _) =
        timeline(&db, &admin, TimelineParent::Contact(c), Some(&[ActivityKind::System]), false, None, 50)
            .await
            .unwrap();
    assert_eq!(entries.len(), 1);
    let TimelineEntry::Activity(a) = &entries[0] else { panic!("expected an activity") };
    assert_eq!((a.kind, a.occurred_at), (ActivityKind::System, at));
    assert_eq!(a.metadata["to"], "churned");
    assert_eq!(a.actor_id, None);
});

backend_test!(run_lock_is_exclusive, |db: Db| async move {
    let first = analytics::try_run_lock(&db).await.unwrap().expect("free");
    assert!(analytics::try_run_lock(&db).await.unwrap().is_none(), "held by the first");
    first.release().await.unwrap();
    let again = analytics::try_run_lock(&db).await.unwrap().expect("free again");
    drop(again);
    // Dropping closes the connection, which releases the lock too (once the server has seen the close).
    let mut freed = false;
    for _ in 0..50 {
        if let Some(l) = analytics::try_run_lock(&db).await.unwrap() {
            l.release().await.unwrap();
            freed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(freed);
});
