//! Store tests for products, orders, activities, the timeline and tasks: each runs on SQLite and on PostgreSQL.

use chrono::{DateTime, Duration, Utc};
use guanxi_core::access::{Actor, Role, TokenScope, Visibility};
use guanxi_core::activity::{ActivityInput, ActivityKind, TimelineEntry};
use guanxi_core::company::CompanyInput;
use guanxi_core::contact::{ContactInput, ContactRules};
use guanxi_core::contact_point::Region;
use guanxi_core::filter::{
    ACTIVITY_FIELDS, FieldSpec, ListParams, ListQuery, ORDER_FIELDS, PRODUCT_FIELDS, TASK_FIELDS, parse_list_query,
};
use guanxi_core::order::{OrderInput, OrderLineInput, OrderStatus, ProductInput};
use guanxi_core::task::TaskInput;
use guanxi_store::accounts::{self, NewUser};
use guanxi_store::activities::{self, TimelineParent};
use guanxi_store::contacts::BatchError;
use guanxi_store::{Db, StoreError, backend_test, companies, contacts, orders, products, tasks};
use std::collections::HashSet;
use uuid::Uuid;

async fn admin(db: &Db) -> Actor {
    let team = accounts::create_team(db, "Sales").await.unwrap();
    let u = accounts::create_user(
        db,
        &NewUser {
            email: "boss@example.com",
            display_name: "Boss",
            password_hash: "x",
            role: Role::Admin,
            team_id: Some(team.id),
            locale: None,
        },
    )
    .await
    .unwrap();
    Actor { user_id: u.id, team_id: Some(team.id), role: Role::Admin, scope: TokenScope::ReadWrite }
}

/// Another signed-in user with this role, in `team`.
async fn user(db: &Db, email: &str, role: Role, team: Option<Uuid>) -> Actor {
    let u = accounts::create_user(
        db,
        &NewUser { email, display_name: email, password_hash: "x", role, team_id: team, locale: None },
    )
    .await
    .unwrap();
    Actor { user_id: u.id, team_id: team, role, scope: TokenScope::ReadWrite }
}

fn rules() -> ContactRules<'static> {
    ContactRules { default_region: Region::CN, custom_fields: &[], today: Utc::now().date_naive() }
}

async fn contact(db: &Db, actor: &Actor, name: &str, visibility: Visibility) -> Uuid {
    let input = ContactInput { display_name: Some(name.into()), visibility: Some(visibility), ..Default::default() };
    contacts::create(db, actor, &input.validate(&rules()).unwrap()).await.unwrap().id
}

fn query(
    fields: &[FieldSpec],
    filters: &[&str],
    sort: Option<&str>,
    limit: u32,
    cursor: Option<&str>,
    me: Uuid,
) -> ListQuery {
    let filters: Vec<String> = filters.iter().map(|s| s.to_string()).collect();
    parse_list_query(&ListParams { filters: &filters, sort, limit: Some(limit), cursor, q: None }, fields, &[], me)
        .unwrap()
}

fn at(days: i64, secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 0).unwrap() + Duration::days(days) + Duration::seconds(secs)
}

fn field_codes(e: StoreError) -> Vec<(String, &'static str)> {
    match e {
        StoreError::Invalid(v) => v.errors.into_iter().map(|e| (e.field, e.code)).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn product_input(sku: &str, name: &str, price: i64) -> ProductInput {
    ProductInput { sku: Some(sku.into()), name: Some(name.into()), list_price_minor: Some(price), ..Default::default() }
}

backend_test!(product_crud_duplicate_sku_and_roles, |db: Db| async move {
    let boss = admin(&db).await;
    let member = user(&db, "m@example.com", Role::Member, boss.team_id).await;
    let manager = user(&db, "mgr@example.com", Role::Manager, boss.team_id).await;

    let d = product_input("TEA-001", "绿茶", 1999).validate(&[]).unwrap();
    let p = products::create(&db, &boss, &d).await.unwrap();
    assert_eq!((p.version, p.list_price_minor, p.active), (1, 1999, true));
    assert_eq!(products::get(&db, &member, p.id).await.unwrap(), p);

    assert!(matches!(products::create(&db, &manager, &d).await, Err(StoreError::Duplicate { field: "sku" })));
    assert!(matches!(
        products::create(&db, &member, &product_input("X-1", "x", 1).validate(&[]).unwrap()).await,
        Err(StoreError::Forbidden)
    ));

    let mut changed = d.clone();
    changed.name = "龙井".into();
    let p2 = products::update(&db, &manager, p.id, 1, &changed).await.unwrap();
    assert_eq!((p2.version, p2.name.as_str()), (2, "龙井"));
    assert!(matches!(
        products::update(&db, &boss, p.id, 1, &changed).await,
        Err(StoreError::VersionMismatch { current: 2 })
    ));
    assert!(matches!(products::update(&db, &member, p.id, 2, &changed).await, Err(StoreError::Forbidden)));
    assert!(matches!(products::delete(&db, &member, p.id, Some(2)).await, Err(StoreError::Forbidden)));

    let other =
        products::create(&db, &boss, &product_input("TEA-002", "红茶", 2999).validate(&[]).unwrap()).await.unwrap();
    let mut taken = changed.clone();
    taken.sku = "TEA-002".into();
    assert!(matches!(products::update(&db, &boss, p.id, 2, &taken).await, Err(StoreError::Duplicate { field: "sku" })));

    // A batch reports every clash by index and writes nothing.
    let batch: Vec<_> =
        ["B-1", "TEA-001", "B-1", "B-2"].iter().map(|s| product_input(s, s, 100).validate(&[]).unwrap()).collect();
    match products::create_batch(&db, &boss, &batch).await {
        Err(BatchError::Invalid(errs)) => assert_eq!(errs.iter().map(|e| e.0).collect::<Vec<_>>(), vec![1, 2]),
        other => panic!("unexpected {other:?}"),
    }
    let created = products::create_batch(&db, &boss, &batch[3..]).await.unwrap();
    assert_eq!(created.len(), 1);

    // Sorted by SKU, two per page, with a filter.
    let q = query(PRODUCT_FIELDS, &["active:eq:true"], Some("sku"), 2, None, member.user_id);
    let page = products::list(&db, &member, &q).await.unwrap();
    assert_eq!(page.total, 3);
    assert_eq!(page.items.iter().map(|p| p.sku.as_str()).collect::<Vec<_>>(), vec!["B-2", "TEA-001"]);
    let q = query(PRODUCT_FIELDS, &["active:eq:true"], Some("sku"), 2, page.next_cursor.as_deref(), member.user_id);
    let page = products::list(&db, &member, &q).await.unwrap();
    assert_eq!(page.items.iter().map(|p| p.sku.as_str()).collect::<Vec<_>>(), vec!["TEA-002"]);
    assert!(page.next_cursor.is_none());

    let facts = products::facts(&db, &[p.id, other.id, p.id, Uuid::now_v7()]).await.unwrap();
    assert_eq!(facts.len(), 2);
    assert!(facts.iter().any(|f| f.id == p.id && f.name == "龙井" && f.list_price_minor == 1999));

    products::delete(&db, &manager, p.id, Some(2)).await.unwrap();
    assert!(matches!(products::get(&db, &boss, p.id).await, Err(StoreError::NotFound)));
    assert!(matches!(products::delete(&db, &boss, p.id, None).await, Err(StoreError::NotFound)));
});

backend_test!(a_product_on_order_lines_is_not_deleted, |db: Db| async move {
    let boss = admin(&db).await;
    let cid = contact(&db, &boss, "王芳", Visibility::Team).await;
    let tea =
        products::create(&db, &boss, &product_input("TEA-001", "绿茶", 1999).validate(&[]).unwrap()).await.unwrap();
    let facts = products::facts(&db, &[tea.id]).await.unwrap();
    let line = OrderLineInput { product_id: Some(tea.id), quantity: Some(2), ..Default::default() };
    let d = OrderInput { contact_id: Some(cid), lines: vec![line], ..Default::default() }
        .validate(&facts, &[], Utc::now())
        .unwrap();
    let o = orders::create(&db, &boss, &d).await.unwrap();

    match products::delete(&db, &boss, tea.id, Some(1)).await {
        Err(StoreError::Conflict(why)) => assert!(why.contains("1 order line"), "{why}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // Nothing changed: the product and the line's link are still there.
    assert_eq!(products::get(&db, &boss, tea.id).await.unwrap(), tea);
    assert_eq!(orders::get(&db, &boss, o.id).await.unwrap().lines[0].product_id, Some(tea.id));
    // A stale version is still reported as such, before the lines are counted.
    assert!(matches!(
        products::delete(&db, &boss, tea.id, Some(7)).await,
        Err(StoreError::VersionMismatch { current: 1 })
    ));

    // Once no order points at it, it goes.
    orders::delete(&db, &boss, o.id, None).await.unwrap();
    products::delete(&db, &boss, tea.id, Some(1)).await.unwrap();
    assert!(matches!(products::get(&db, &boss, tea.id).await, Err(StoreError::NotFound)));
});

backend_test!(orders_with_lines_filters_and_three_pages, |db: Db| async move {
    let boss = admin(&db).await;
    let cid = contact(&db, &boss, "王芳", Visibility::Team).await;
    let tea =
        products::create(&db, &boss, &product_input("TEA-001", "绿茶", 1999).validate(&[]).unwrap()).await.unwrap();
    let facts = products::facts(&db, &[tea.id]).await.unwrap();

    let input = OrderInput {
        number: Some("SO-1".into()),
        contact_id: Some(cid),
        ordered_at: Some(at(0, 0)),
        lines: vec![
            OrderLineInput {
                product_id: Some(tea.id),
                quantity: Some(3),
                discount_minor: Some(97),
                ..Default::default()
            },
            OrderLineInput { description: Some("运费".into()), unit_price_minor: Some(1000), ..Default::default() },
        ],
        ..Default::default()
    };
    let d = input.validate(&facts, &[], Utc::now()).unwrap();
    let o = orders::create(&db, &boss, &d).await.unwrap();
    assert_eq!(o.total_minor, 3 * 1999 - 97 + 1000);
    assert_eq!(o.lines.len(), 2);
    assert_eq!(o.lines[0].description, "绿茶");
    assert_eq!(o.lines[0].line_total_minor, 3 * 1999 - 97);
    assert_eq!(orders::get(&db, &boss, o.id).await.unwrap(), o);
    assert!(matches!(orders::create(&db, &boss, &d).await, Err(StoreError::Duplicate { field: "number" })));

    // Update replaces the lines; a stale version is a mismatch.
    let mut input2 = input.clone();
    input2.lines = vec![OrderLineInput { product_id: Some(tea.id), quantity: Some(1), ..Default::default() }];
    let d2 = input2.validate(&facts, &[], Utc::now()).unwrap();
    let o2 = orders::update(&db, &boss, o.id, 1, &d2).await.unwrap();
    assert_eq!((o2.version, o2.total_minor, o2.lines.len()), (2, 1999, 1));
    assert_eq!(orders::get(&db, &boss, o.id).await.unwrap(), o2);
    assert!(matches!(orders::update(&db, &boss, o.id, 1, &d2).await, Err(StoreError::VersionMismatch { current: 2 })));
    orders::delete(&db, &boss, o.id, Some(2)).await.unwrap();
    assert!(matches!(orders::get(&db, &boss, o.id).await, Err(StoreError::NotFound)));

    // An unknown contact is a field error.
    let mut bad = d.clone();
    bad.contact_id = Uuid::now_v7();
    assert_eq!(
        field_codes(orders::create(&db, &boss, &bad).await.unwrap_err()),
        vec![("contact_id".to_string(), "not_found")]
    );

    // 30 orders, two per day (same ordered_at, so ties are broken by id), every fifth refunded.
    let drafts: Vec<_> = (0..30)
        .map(|i| {
            OrderInput {
                number: Some(format!("N-{i:02}")),
                contact_id: Some(cid),
                status: Some(if i % 5 == 4 { OrderStatus::Refunded } else { OrderStatus::Paid }),
                ordered_at: Some(at(i / 2, 0)),
                lines: vec![
                    OrderLineInput { product_id: Some(tea.id), quantity: Some(i + 1), ..Default::default() },
                    OrderLineInput {
                        description: Some("运费".into()),
                        unit_price_minor: Some(500),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }
            .validate(&facts, &[], Utc::now())
            .unwrap()
        })
        .collect();
    let created = orders::create_batch(&db, &boss, &drafts).await.unwrap();
    let mut expected: Vec<(DateTime<Utc>, Uuid)> = created
        .iter()
        .filter(|o| o.status == OrderStatus::Paid && o.ordered_at >= at(1, 0) && o.ordered_at <= at(13, 0))
        .map(|o| (o.ordered_at, o.id))
        .collect();
    expected.sort_by(|a, b| b.cmp(a));
    assert_eq!(expected.len(), 21);

    let from = at(1, 0).to_rfc3339();
    let to = at(13, 0).to_rfc3339();
    let range = format!("ordered_at:between:{from},{to}");
    let filters = ["status:eq:paid", range.as_str()];
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let q = query(ORDER_FIELDS, &filters, Some("-ordered_at"), 8, cursor.as_deref(), boss.user_id);
        let page = orders::list(&db, &boss, &q).await.unwrap();
        assert_eq!((page.total, page.total_is_estimate), (21, false));
        pages += 1;
        for o in &page.items {
            assert_eq!(o.lines.len(), 2, "lines are loaded for every order of the page");
            assert_eq!(o.lines[1].description, "运费");
        }
        seen.extend(page.items.iter().map(|o| (o.ordered_at, o.id)));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), seen.len(), "no order twice");
    assert_eq!(seen, expected, "every order once, newest first");

    // The default order (id, newest first) pages the same way.
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = query(ORDER_FIELDS, &["status:in:paid,refunded"], None, 11, cursor.as_deref(), boss.user_id);
        let page = orders::list(&db, &boss, &q).await.unwrap();
        ids.extend(page.items.iter().map(|o| o.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let mut all: Vec<Uuid> = created.iter().map(|o| o.id).collect();
    all.sort_by(|a, b| b.cmp(a));
    assert_eq!(ids, all);

    // A batch with a taken number reports it by index and writes nothing.
    let mut again = drafts[0].clone();
    again.number = Some("N-new".into());
    match orders::create_batch(&db, &boss, &[again, drafts[3].clone()]).await {
        Err(BatchError::Invalid(errs)) => assert_eq!(errs.iter().map(|e| e.0).collect::<Vec<_>>(), vec![1]),
        other => panic!("unexpected {other:?}"),
    }
    let q = query(ORDER_FIELDS, &["number:eq:N-new"], None, 10, None, boss.user_id);
    assert_eq!(orders::list(&db, &boss, &q).await.unwrap().total, 0);
});

backend_test!(orders_follow_the_visibility_of_their_contact, |db: Db| async move {
    let boss = admin(&db).await;
    let sales = boss.team_id;
    let support = accounts::create_team(&db, "Support").await.unwrap();
    let outsider = user(&db, "o@example.com", Role::Member, Some(support.id)).await;
    let colleague = user(&db, "c@example.com", Role::Member, sales).await;

    let private = contact(&db, &boss, "私密客户", Visibility::Private).await;
    let public = contact(&db, &boss, "公开客户", Visibility::Public).await;
    let line = || {
        vec![OrderLineInput { description: Some("咨询".into()), unit_price_minor: Some(100), ..Default::default() }]
    };
    let draft = |cid| {
        OrderInput { contact_id: Some(cid), lines: line(), ..Default::default() }
            .validate(&[], &[], Utc::now())
            .unwrap()
    };
    let hidden = orders::create(&db, &boss, &draft(private)).await.unwrap();
    let shown = orders::create(&db, &boss, &draft(public)).await.unwrap();

    for who in [&outsider, &colleague] {
        assert!(matches!(orders::get(&db, who, hidden.id).await, Err(StoreError::NotFound)));
        assert!(matches!(orders::delete(&db, who, hidden.id, None).await, Err(StoreError::NotFound)));
        let page = orders::list(&db, who, &query(ORDER_FIELDS, &[], None, 50, None, who.user_id)).await.unwrap();
        assert_eq!(page.items.iter().map(|o| o.id).collect::<Vec<_>>(), vec![shown.id]);
        assert_eq!(page.total, 1);
        // Nor can they attach an order to that contact.
        assert_eq!(
            field_codes(orders::create(&db, who, &draft(private)).await.unwrap_err()),
            vec![("contact_id".to_string(), "not_found")]
        );
    }
    // A public contact of another team is readable, not changeable.
    assert_eq!(orders::get(&db, &outsider, shown.id).await.unwrap().id, shown.id);
    assert!(matches!(orders::update(&db, &outsider, shown.id, 1, &draft(public)).await, Err(StoreError::Forbidden)));
    assert!(matches!(orders::delete(&db, &outsider, shown.id, Some(1)).await, Err(StoreError::Forbidden)));
    assert_eq!(
        field_codes(orders::create(&db, &outsider, &draft(public)).await.unwrap_err()),
        vec![("contact_id".to_string(), "not_found")]
    );
    // The owner's team may change it.
    orders::update(&db, &colleague, shown.id, 1, &draft(public)).await.unwrap();
});

backend_test!(timeline_merges_activities_and_orders_newest_first, |db: Db| async move {
    let boss = admin(&db).await;
    let cid = contact(&db, &boss, "李雷", Visibility::Team).await;
    let elsewhere = contact(&db, &boss, "韩梅梅", Visibility::Team).await;
    let kinds = [ActivityKind::Note, ActivityKind::Call, ActivityKind::Meeting];
    // 180 activities every 10 minutes and 60 orders every 30 minutes: every order shares its time with an
    // activity, so the merge must break ties by id across both sides.
    let acts: Vec<_> = (0..180)
        .map(|i| {
            ActivityInput {
                kind: Some(kinds[i % 3]),
                contact_id: Some(cid),
                occurred_at: Some(at(0, 600 * i as i64)),
                subject: Some(format!("第{i}次")),
                ..Default::default()
            }
            .validate(Utc::now())
            .unwrap()
        })
        .collect();
    let acts = activities::create_batch(&db, &boss, &acts).await.unwrap();
    let order_drafts: Vec<_> = (0..60)
        .map(|i| {
            OrderInput {
                contact_id: Some(cid),
                ordered_at: Some(at(0, 1800 * i)),
                lines: vec![OrderLineInput {
                    description: Some("茶".into()),
                    unit_price_minor: Some(100 + i),
                    ..Default::default()
                }],
                ..Default::default()
            }
            .validate(&[], &[], Utc::now())
            .unwrap()
        })
        .collect();
    let ords = orders::create_batch(&db, &boss, &order_drafts).await.unwrap();
    // Noise on another contact must not show up.
    let noise = ActivityInput { contact_id: Some(elsewhere), body: Some("别人".into()), ..Default::default() }
        .validate(Utc::now())
        .unwrap();
    activities::create(&db, &boss, &noise).await.unwrap();

    let mut expected: Vec<(DateTime<Utc>, Uuid)> =
        acts.iter().map(|a| (a.occurred_at, a.id)).chain(ords.iter().map(|o| (o.ordered_at, o.id))).collect();
    expected.sort_by(|a, b| b.cmp(a));

    let started = std::time::Instant::now();
    let mut seen = Vec::new();
    let mut before = None;
    let mut pages = 0;
    loop {
        let (entries, next) =
            activities::timeline(&db, &boss, TimelineParent::Contact(cid), None, true, before, 50).await.unwrap();
        pages += 1;
        for e in &entries {
            if let TimelineEntry::Order(o) = e {
                assert_eq!(o.lines.len(), 1);
            }
        }
        seen.extend(entries.iter().map(|e| (e.occurred_at(), e.id())));
        match next {
            Some(c) => before = Some(c),
            None => break,
        }
    }
    assert_eq!(pages, 5);
    assert_eq!(seen, expected, "all 240 entries once, newest first");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "timeline paging took {:?}", started.elapsed());

    // Only calls, with and without orders.
    let (calls, next) =
        activities::timeline(&db, &boss, TimelineParent::Contact(cid), Some(&[ActivityKind::Call]), false, None, 100)
            .await
            .unwrap();
    assert!(next.is_none());
    assert_eq!(calls.len(), 60);
    assert!(calls.iter().all(|e| matches!(e, TimelineEntry::Activity(a) if a.kind == ActivityKind::Call)));
    assert!(calls.windows(2).all(|w| (w[0].occurred_at(), w[0].id()) > (w[1].occurred_at(), w[1].id())));
    let (mixed, next) =
        activities::timeline(&db, &boss, TimelineParent::Contact(cid), Some(&[ActivityKind::Call]), true, None, 30)
            .await
            .unwrap();
    assert_eq!(mixed.len(), 30);
    assert!(next.is_some());
    assert!(mixed.iter().any(|e| matches!(e, TimelineEntry::Order(_))));
    assert!(mixed.iter().all(|e| match e {
        TimelineEntry::Activity(a) => a.kind == ActivityKind::Call,
        TimelineEntry::Order(_) => true,
    }));
    // The newest entry overall is a meeting; the newest call is newer than the newest order.
    assert_eq!(mixed[0].occurred_at(), at(0, 600 * 178));

    // Activities list with a kind filter, and a stale update.
    let q = query(
        ACTIVITY_FIELDS,
        &["kind:eq:meeting", &format!("contact_id:eq:{cid}")],
        Some("-occurred_at"),
        500,
        None,
        boss.user_id,
    );
    let page = activities::list(&db, &boss, &q).await.unwrap();
    assert_eq!(page.total, 60);
    assert_eq!(page.items[0].occurred_at, at(0, 600 * 179));
    let a = &acts[0];
    let mut d = a.to_input();
    d.body = Some("补充".into());
    let d = d.validate(Utc::now()).unwrap();
    let a2 = activities::update(&db, &boss, a.id, 1, &d).await.unwrap();
    assert_eq!((a2.version, a2.body.as_deref(), a2.actor_id), (2, Some("补充"), Some(boss.user_id)));
    assert!(matches!(
        activities::update(&db, &boss, a.id, 1, &d).await,
        Err(StoreError::VersionMismatch { current: 2 })
    ));

    // Someone who cannot see the contact sees neither its timeline nor its activities.
    let support = accounts::create_team(&db, "Support").await.unwrap();
    let outsider = user(&db, "o@example.com", Role::Member, Some(support.id)).await;
    assert!(matches!(
        activities::timeline(&db, &outsider, TimelineParent::Contact(cid), None, true, None, 10).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(activities::get(&db, &outsider, a.id).await, Err(StoreError::NotFound)));
    assert_eq!(
        field_codes(activities::create(&db, &outsider, &d).await.unwrap_err()),
        vec![("contact_id".to_string(), "not_found")]
    );
    activities::delete(&db, &boss, a.id, Some(2)).await.unwrap();
    assert!(matches!(activities::get(&db, &boss, a.id).await, Err(StoreError::NotFound)));
});

backend_test!(tasks_reminders_done_and_visibility, |db: Db| async move {
    let boss = admin(&db).await;
    let support = accounts::create_team(&db, "Support").await.unwrap();
    let helper = user(&db, "h@example.com", Role::Member, Some(support.id)).await;
    let stranger = user(&db, "s@example.com", Role::Member, Some(support.id)).await;
    let now = Utc::now();
    let task = |title: &str, remind: Option<i64>, assignee: Option<Uuid>, done: bool| {
        TaskInput {
            title: Some(title.into()),
            remind_at: remind.map(|m| now + Duration::minutes(m)),
            assignee_id: assignee,
            done: Some(done),
            ..Default::default()
        }
        .validate()
        .unwrap()
    };
    let late = tasks::create(&db, &boss, &task("回电话", Some(-60), None, false)).await.unwrap();
    let later = tasks::create(&db, &boss, &task("寄样品", Some(-5), None, false)).await.unwrap();
    tasks::create(&db, &boss, &task("明天", Some(60), None, false)).await.unwrap();
    tasks::create(&db, &boss, &task("已完成", Some(-30), None, true)).await.unwrap();
    tasks::create(&db, &boss, &task("没有提醒", None, None, false)).await.unwrap();
    let delegated = tasks::create(&db, &boss, &task("给同事", Some(-10), Some(helper.user_id), false)).await.unwrap();
    assert_eq!(late.assignee_id, Some(boss.user_id));
    assert_eq!(delegated.created_by, Some(boss.user_id));

    let due = tasks::reminders_due(&db, &boss, now).await.unwrap();
    assert_eq!(due.iter().map(|t| t.id).collect::<Vec<_>>(), vec![late.id, later.id]);
    let due = tasks::reminders_due(&db, &helper, now).await.unwrap();
    assert_eq!(due.iter().map(|t| t.id).collect::<Vec<_>>(), vec![delegated.id]);

    assert_eq!(
        field_codes(tasks::create(&db, &boss, &task("谁", None, Some(Uuid::now_v7()), false)).await.unwrap_err()),
        vec![("assignee_id".to_string(), "not_found")]
    );

    // The assignee may see and finish it; done stamps done_at once; a stale version is a mismatch.
    assert_eq!(tasks::get(&db, &helper, delegated.id).await.unwrap().id, delegated.id);
    assert!(matches!(tasks::get(&db, &stranger, delegated.id).await, Err(StoreError::NotFound)));
    let mut done = delegated.to_input();
    done.done = Some(true);
    let done = done.validate().unwrap();
    let t2 = tasks::update(&db, &helper, delegated.id, 1, &done).await.unwrap();
    assert!(t2.done && t2.done_at.is_some());
    assert!(matches!(
        tasks::update(&db, &helper, delegated.id, 1, &done).await,
        Err(StoreError::VersionMismatch { current: 2 })
    ));
    let t3 = tasks::update(&db, &boss, delegated.id, 2, &done).await.unwrap();
    assert_eq!(t3.done_at, t2.done_at);
    assert!(tasks::reminders_due(&db, &helper, now).await.unwrap().is_empty());
    let mut reopen = done.clone();
    reopen.done = false;
    let t4 = tasks::update(&db, &helper, delegated.id, 3, &reopen).await.unwrap();
    assert!(!t4.done && t4.done_at.is_none());
    assert!(matches!(tasks::delete(&db, &stranger, delegated.id, None).await, Err(StoreError::NotFound)));

    // A task on a contact is visible to whoever sees the contact.
    let cid = contact(&db, &boss, "张三", Visibility::Public).await;
    let mut on_contact = task("拜访", None, None, false);
    on_contact.contact_id = Some(cid);
    let visit = tasks::create(&db, &boss, &on_contact).await.unwrap();
    assert_eq!(tasks::get(&db, &stranger, visit.id).await.unwrap().id, visit.id);
    assert!(matches!(tasks::update(&db, &stranger, visit.id, 1, &on_contact).await, Err(StoreError::Forbidden)));

    // Sorted by reminder time, tasks without one last, two per page.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = query(TASK_FIELDS, &["assignee:eq:me"], Some("remind_at"), 2, cursor.as_deref(), boss.user_id);
        let page = tasks::list(&db, &boss, &q).await.unwrap();
        assert_eq!(page.total, 6);
        seen.extend(page.items.iter().map(|t| t.title.clone()));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6);
    assert_eq!(&seen[..4], &["回电话", "已完成", "寄样品", "明天"]);
    assert_eq!(seen[4..].iter().collect::<HashSet<_>>(), ["没有提醒".to_string(), "拜访".to_string()].iter().collect());
});

backend_test!(company_timeline_holds_its_activities_and_orders, |db: Db| async move {
    let boss = admin(&db).await;
    let company = CompanyInput { name: Some("茶叶公司".into()), ..Default::default() }.validate(&[]).unwrap();
    let company = companies::create(&db, &boss, &company).await.unwrap();
    let cid = contact(&db, &boss, "赵六", Visibility::Team).await;
    let on_company = ActivityInput {
        company_id: Some(company.id),
        occurred_at: Some(at(0, 10)),
        body: Some("拜访".into()),
        ..Default::default()
    };
    let visit = activities::create(&db, &boss, &on_company.validate(Utc::now()).unwrap()).await.unwrap();
    let on_contact = ActivityInput {
        contact_id: Some(cid),
        occurred_at: Some(at(0, 20)),
        body: Some("电话".into()),
        ..Default::default()
    };
    activities::create(&db, &boss, &on_contact.validate(Utc::now()).unwrap()).await.unwrap();
    let lines =
        vec![OrderLineInput { description: Some("茶".into()), unit_price_minor: Some(100), ..Default::default() }];
    let order = OrderInput {
        contact_id: Some(cid),
        company_id: Some(company.id),
        ordered_at: Some(at(0, 30)),
        lines,
        ..Default::default()
    };
    let order = orders::create(&db, &boss, &order.validate(&[], &[], Utc::now()).unwrap()).await.unwrap();

    let (entries, next) =
        activities::timeline(&db, &boss, TimelineParent::Company(company.id), None, true, None, 10).await.unwrap();
    assert!(next.is_none());
    assert_eq!(entries.iter().map(|e| e.id()).collect::<Vec<_>>(), vec![order.id, visit.id]);

    // An order may only name a company the caller may change.
    let support = accounts::create_team(&db, "Support").await.unwrap();
    let outsider = user(&db, "o@example.com", Role::Member, Some(support.id)).await;
    let own = contact(&db, &outsider, "自己的客户", Visibility::Team).await;
    let lines =
        vec![OrderLineInput { description: Some("茶".into()), unit_price_minor: Some(100), ..Default::default() }];
    let bad = OrderInput { contact_id: Some(own), company_id: Some(company.id), lines, ..Default::default() };
    let err = orders::create(&db, &outsider, &bad.validate(&[], &[], Utc::now()).unwrap()).await.unwrap_err();
    assert_eq!(field_codes(err), vec![("company_id".to_string(), "not_found")]);
});
