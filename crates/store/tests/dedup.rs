//! Duplicate scans, candidates, merges and undo: each runs on SQLite and on PostgreSQL.

use chrono::Utc;
use guanxi_core::access::{Actor, Role, TokenScope, Visibility};
use guanxi_core::activity::{ActivityInput, ActivityKind, TimelineEntry};
use guanxi_core::company::CompanyInput;
use guanxi_core::contact::{Contact, ContactInput, ContactRules, EmailEntry, PhoneEntry, PostalAddress};
use guanxi_core::contact_point::Region;
use guanxi_core::order::{OrderInput, OrderLineInput};
use guanxi_core::task::TaskInput;
use guanxi_store::accounts::{self, NewUser};
use guanxi_store::activities::{self, TimelineParent};
use guanxi_store::dedup::{self, DedupObject};
use guanxi_store::merges::{self, MergeRequest, Side};
use guanxi_store::{Db, StoreError, backend_test, companies, contacts, orders, tasks};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

async fn user(db: &Db, email: &str, role: Role, team: Option<Uuid>) -> Actor {
    let u = accounts::create_user(
        db,
        &NewUser { email, display_name: email, password_hash: "x", role, team_id: team, locale: None },
    )
    .await
    .unwrap();
    Actor { user_id: u.id, team_id: team, role, scope: TokenScope::ReadWrite }
}

async fn admin(db: &Db) -> Actor {
    let team = accounts::create_team(db, "Sales").await.unwrap();
    user(db, "boss@example.com", Role::Admin, Some(team.id)).await
}

fn rules() -> ContactRules<'static> {
    ContactRules { default_region: Region::CN, custom_fields: &[], today: Utc::now().date_naive() }
}

#[derive(Default)]
struct Person<'a> {
    name: &'a str,
    email: Option<&'a str>,
    phone: Option<&'a str>,
    company: Option<Uuid>,
    city: Option<&'a str>,
    tags: &'a [&'a str],
}

async fn person(db: &Db, actor: &Actor, p: Person<'_>) -> Contact {
    let input = ContactInput {
        display_name: Some(p.name.into()),
        emails: p.email.map(|e| vec![EmailEntry { address: e.into(), primary: true }]).unwrap_or_default(),
        phones: p.phone.map(|n| vec![PhoneEntry { number: n.into(), primary: true }]).unwrap_or_default(),
        company_id: p.company,
        address: PostalAddress { city: p.city.map(String::from), ..Default::default() },
        tags: p.tags.iter().map(|t| t.to_string()).collect(),
        ..Default::default()
    };
    contacts::create(db, actor, &input.validate(&rules()).unwrap()).await.unwrap()
}

async fn company(db: &Db, actor: &Actor, name: &str, domain: Option<&str>) -> Uuid {
    let input = CompanyInput { name: Some(name.into()), domain: domain.map(String::from), ..Default::default() };
    companies::create(db, actor, &input.validate(&[]).unwrap()).await.unwrap().id
}

/// Open candidate pairs as (name, name) sorted, with their reason codes.
async fn pairs(db: &Db, actor: &Actor, object: DedupObject) -> BTreeMap<(String, String), Vec<String>> {
    let page = dedup::list_candidates(db, actor, object, None, None, 100).await.unwrap();
    page.items
        .into_iter()
        .map(|c| {
            let mut names = [c.records[0].name.clone(), c.records[1].name.clone()];
            names.sort();
            let [a, b] = names;
            ((a, b), c.reasons.iter().map(|r| r.code().to_string()).collect())
        })
        .collect()
}

fn pair(a: &str, b: &str) -> (String, String) {
    if a <= b { (a.into(), b.into()) } else { (b.into(), a.into()) }
}

backend_test!(contact_scan_finds_each_reason_and_not_different_people, |db: Db| async move {
    let boss = admin(&db).await;
    let bytedance = company(&db, &boss, "北京字节跳动科技有限公司", None).await;
    let other = company(&db, &boss, "腾讯", None).await;
    person(&db, &boss, Person { name: "張偉", company: Some(bytedance), ..Default::default() }).await;
    person(&db, &boss, Person { name: "张伟", company: Some(bytedance), ..Default::default() }).await;
    // Same name, another company, nothing else shared: another person.
    person(&db, &boss, Person { name: "张伟", company: Some(other), phone: Some("13700137000"), ..Default::default() })
        .await;
    person(&db, &boss, Person { name: "李娜", phone: Some("+86 138-0013-8000"), ..Default::default() }).await;
    person(&db, &boss, Person { name: "Nina", phone: Some("13800138000"), ..Default::default() }).await;
    person(&db, &boss, Person { name: "王伟", email: Some("Wei.Wang@Acme.cn"), ..Default::default() }).await;
    person(&db, &boss, Person { name: "王大伟", email: Some("wei.wang@acme.cn"), ..Default::default() }).await;
    person(&db, &boss, Person { name: "章伟", company: Some(other), ..Default::default() }).await;
    person(&db, &boss, Person { name: "Jonathan Smith", email: Some("jon@globex.com"), ..Default::default() }).await;
    person(&db, &boss, Person { name: "Jonathon Smith", email: Some("j.smith@globex.com"), ..Default::default() })
        .await;
    // Two 王芳 in one city with their own numbers: two people.
    person(&db, &boss, Person { name: "王芳", city: Some("上海"), phone: Some("13900139000"), ..Default::default() })
        .await;
    person(&db, &boss, Person { name: "王芳", city: Some("上海"), phone: Some("13600136000"), ..Default::default() })
        .await;

    let scan = dedup::run_scan(&db, &boss, DedupObject::Contact, Region::CN).await.unwrap();
    assert_eq!((scan.status.as_str(), scan.records, scan.pairs), ("succeeded", 12, 5), "{scan:?}");
    let found = pairs(&db, &boss, DedupObject::Contact).await;
    let expected: BTreeMap<(String, String), Vec<String>> = [
        (pair("張偉", "张伟"), vec!["traditional_simplified_name", "same_company"]),
        (pair("李娜", "Nina"), vec!["same_phone"]),
        (pair("王伟", "王大伟"), vec!["same_email"]),
        (pair("章伟", "张伟"), vec!["pinyin_name", "same_company"]),
        (pair("Jonathan Smith", "Jonathon Smith"), vec!["similar_name", "same_email_domain"]),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(found, expected);

    // A dismissed pair stays dismissed through the next scan; the others come back open.
    let page = dedup::list_candidates(&db, &boss, DedupObject::Contact, None, None, 100).await.unwrap();
    let phone_pair = page.items.iter().find(|c| c.reasons[0].code() == "same_phone").unwrap();
    dedup::dismiss_candidate(&db, &boss, phone_pair.id).await.unwrap();
    let again = dedup::run_scan(&db, &boss, DedupObject::Contact, Region::CN).await.unwrap();
    assert_eq!(again.pairs, 5);
    let open = pairs(&db, &boss, DedupObject::Contact).await;
    assert_eq!(open.len(), 4);
    assert!(!open.contains_key(&pair("李娜", "Nina")));
    let dismissed =
        dedup::list_candidates(&db, &boss, DedupObject::Contact, Some("dismissed"), None, 10).await.unwrap();
    assert_eq!(dismissed.items.len(), 1);
    assert_eq!(dismissed.total, 1);

    // Paging: two per page, best first, every pair once.
    let mut seen = BTreeSet::new();
    let mut cursor = None;
    let mut last_score = i64::MAX;
    loop {
        let page = dedup::list_candidates(&db, &boss, DedupObject::Contact, None, cursor.as_ref(), 2).await.unwrap();
        assert_eq!(page.total, 4);
        for c in &page.items {
            assert!(c.score <= last_score);
            last_score = c.score;
            assert!(seen.insert(c.id));
        }
        match page.next_cursor {
            Some(n) => cursor = Some(guanxi_core::filter::Cursor::decode(&n).unwrap()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 4);
});

backend_test!(company_scan_strips_legal_forms_and_places, |db: Db| async move {
    let boss = admin(&db).await;
    company(&db, &boss, "北京字节跳动科技有限公司", None).await;
    company(&db, &boss, "字节跳动", None).await;
    company(&db, &boss, "Acme Inc.", None).await;
    company(&db, &boss, "ACME", None).await;
    company(&db, &boss, "腾讯", Some("tencent.com")).await;
    company(&db, &boss, "阿里巴巴", Some("alibaba.com")).await;
    let scan = dedup::run_scan(&db, &boss, DedupObject::Company, Region::CN).await.unwrap();
    assert_eq!(scan.records, 6);
    let found = pairs(&db, &boss, DedupObject::Company).await;
    assert_eq!(
        found.keys().cloned().collect::<Vec<_>>(),
        [pair("ACME", "Acme Inc."), pair("北京字节跳动科技有限公司", "字节跳动")]
    );
    assert!(found.values().all(|r| r == &["same_company_name"]));
});

async fn timeline(db: &Db, actor: &Actor, id: Uuid) -> Vec<TimelineEntry> {
    activities::timeline(db, actor, TimelineParent::Contact(id), None, true, None, 200).await.unwrap().0
}

fn without_version(c: &Contact) -> serde_json::Value {
    let mut v = serde_json::to_value(c).unwrap();
    v.as_object_mut().unwrap().remove("version");
    v.as_object_mut().unwrap().remove("updated_at");
    v
}

async fn order_for(db: &Db, actor: &Actor, contact: Uuid, price: i64) -> Uuid {
    let d = OrderInput {
        contact_id: Some(contact),
        lines: vec![OrderLineInput {
            description: Some("茶".into()),
            unit_price_minor: Some(price),
            ..Default::default()
        }],
        ..Default::default()
    }
    .validate(&[], &[], Utc::now())
    .unwrap();
    orders::create(db, actor, &d).await.unwrap().id
}

async fn activity_for(db: &Db, actor: &Actor, contact: Uuid, subject: &str) -> Uuid {
    let d = ActivityInput {
        kind: Some(ActivityKind::Call),
        contact_id: Some(contact),
        subject: Some(subject.into()),
        ..Default::default()
    }
    .validate(Utc::now())
    .unwrap();
    activities::create(db, actor, &d).await.unwrap().id
}

async fn task_for(db: &Db, actor: &Actor, contact: Uuid, title: &str) -> Uuid {
    let d =
        TaskInput { title: Some(title.into()), contact_id: Some(contact), ..Default::default() }.validate().unwrap();
    tasks::create(db, actor, &d).await.unwrap().id
}

backend_test!(merge_moves_every_link_and_undo_restores_exactly, |db: Db| async move {
    let boss = admin(&db).await;
    let acme = company(&db, &boss, "Acme", None).await;
    let s = person(
        &db,
        &boss,
        Person { name: "张伟", email: Some("zw@acme.cn"), company: Some(acme), tags: &["vip"], ..Default::default() },
    )
    .await;
    let m = person(
        &db,
        &boss,
        Person {
            name: "張偉",
            email: Some("zhang.wei@qq.com"),
            phone: Some("+86 138 0013 8000"),
            city: Some("北京"),
            company: Some(acme),
            tags: &["展会", "vip"],
        },
    )
    .await;
    let s_order = order_for(&db, &boss, s.id, 100).await;
    let m_orders = [order_for(&db, &boss, m.id, 200).await, order_for(&db, &boss, m.id, 300).await];
    activity_for(&db, &boss, s.id, "老客户来电").await;
    let m_acts = [activity_for(&db, &boss, m.id, "展会认识").await, activity_for(&db, &boss, m.id, "回访").await];
    let m_task = task_for(&db, &boss, m.id, "寄样品").await;
    dedup::run_scan(&db, &boss, DedupObject::Contact, Region::CN).await.unwrap();
    assert_eq!(pairs(&db, &boss, DedupObject::Contact).await.len(), 1);

    let s_before = contacts::get(&db, &boss, s.id).await.unwrap();
    let m_before = contacts::get(&db, &boss, m.id).await.unwrap();
    let s_timeline = timeline(&db, &boss, s.id).await;
    let m_timeline = timeline(&db, &boss, m.id).await;
    assert_eq!((s_timeline.len(), m_timeline.len()), (2, 4));

    let req = MergeRequest {
        survivor_id: s.id,
        merged_id: m.id,
        fields: [("display_name".to_string(), Side::Merged)].into_iter().collect(),
        survivor_version: Some(s.version),
        ..Default::default()
    };
    let (merge, survivor) = merges::merge_contacts(&db, &boss, &req).await.unwrap();
    assert_eq!((merge.moved.orders, merge.moved.activities, merge.moved.tasks), (2, 2, 1));
    assert!(matches!(contacts::get(&db, &boss, m.id).await, Err(StoreError::NotFound)));
    assert_eq!(survivor.display_name, "張偉");
    assert_eq!(survivor.company_id, Some(acme), "the survivor's company stays");
    assert_eq!(survivor.address.city.as_deref(), Some("北京"), "empty fields are filled from the merged record");
    let emails: Vec<(&str, bool)> = survivor.emails.iter().map(|e| (e.address.as_str(), e.primary)).collect();
    assert_eq!(emails, [("zw@acme.cn", true), ("zhang.wei@qq.com", false)]);
    assert_eq!(survivor.phones.len(), 1);
    assert_eq!(survivor.tags, ["vip", "展会"]);
    assert_eq!(survivor.version, s.version + 1);
    for o in m_orders {
        assert_eq!(orders::get(&db, &boss, o).await.unwrap().contact_id, s.id);
    }
    for a in m_acts {
        assert_eq!(activities::get(&db, &boss, a).await.unwrap().contact_id, Some(s.id));
    }
    assert_eq!(tasks::get(&db, &boss, m_task).await.unwrap().contact_id, Some(s.id));
    assert_eq!(timeline(&db, &boss, s.id).await.len(), 6);
    // The survivor is found by the merged record's phone and email now.
    let found = contacts::find_by_contact_points(&db, &boss, &[], &["+8613800138000".into()]).await.unwrap();
    assert_eq!(found.iter().map(|c| c.id).collect::<Vec<_>>(), [s.id]);
    // The candidate pair is resolved.
    assert!(pairs(&db, &boss, DedupObject::Contact).await.is_empty());
    let log = merges::list_merges(&db, &boss, Some(DedupObject::Contact), None, 10).await.unwrap();
    assert_eq!(log.items.len(), 1);
    assert_eq!(log.items[0].merged_by, Some(boss.user_id));

    let undone = merges::undo(&db, &boss, merge.id).await.unwrap();
    assert!(undone.undone_at.is_some());
    let m_after = contacts::get(&db, &boss, m.id).await.unwrap();
    assert_eq!(serde_json::to_value(&m_after).unwrap(), serde_json::to_value(&m_before).unwrap());
    let s_after = contacts::get(&db, &boss, s.id).await.unwrap();
    assert_eq!(without_version(&s_after), without_version(&s_before));
    assert_eq!(s_after.version, s_before.version + 2, "the restore is a new version");
    assert_eq!(
        serde_json::to_value(timeline(&db, &boss, s.id).await).unwrap(),
        serde_json::to_value(&s_timeline).unwrap()
    );
    assert_eq!(
        serde_json::to_value(timeline(&db, &boss, m.id).await).unwrap(),
        serde_json::to_value(&m_timeline).unwrap()
    );
    assert_eq!(orders::get(&db, &boss, s_order).await.unwrap().contact_id, s.id);
    assert_eq!(tasks::get(&db, &boss, m_task).await.unwrap().contact_id, Some(m.id));
    let found = contacts::find_by_contact_points(&db, &boss, &[], &["+8613800138000".into()]).await.unwrap();
    assert_eq!(found.iter().map(|c| c.id).collect::<Vec<_>>(), [m.id]);
    let by_name = contacts::search(&db, &boss, "張偉", 10).await.unwrap();
    assert!(by_name.iter().any(|(c, _)| c.id == m.id), "the restored contact is searchable again");
    // The pair is open again, and a second undo is refused.
    assert_eq!(pairs(&db, &boss, DedupObject::Contact).await.len(), 1);
    assert!(matches!(merges::undo(&db, &boss, merge.id).await, Err(StoreError::Conflict(_))));
});

backend_test!(undo_is_refused_once_the_survivor_changed, |db: Db| async move {
    let boss = admin(&db).await;
    let s = person(&db, &boss, Person { name: "王芳", phone: Some("13900139000"), ..Default::default() }).await;
    let m = person(&db, &boss, Person { name: "王芳", phone: Some("139 0013 9000"), ..Default::default() }).await;
    let req = MergeRequest { survivor_id: s.id, merged_id: m.id, ..Default::default() };
    let (merge, survivor) = merges::merge_contacts(&db, &boss, &req).await.unwrap();
    let mut input = survivor.to_input();
    input.job_title = Some("经理".into());
    contacts::update(&db, &boss, s.id, survivor.version, &input.validate(&rules()).unwrap()).await.unwrap();
    match merges::undo(&db, &boss, merge.id).await {
        Err(StoreError::Conflict(why)) => assert!(why.contains("changed after the merge"), "{why}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(matches!(contacts::get(&db, &boss, m.id).await, Err(StoreError::NotFound)), "nothing was restored");
    // A stale version and a merge into itself are refused up front.
    let third = person(&db, &boss, Person { name: "王芳", ..Default::default() }).await;
    let stale =
        MergeRequest { survivor_id: s.id, merged_id: third.id, survivor_version: Some(1), ..Default::default() };
    assert!(matches!(merges::merge_contacts(&db, &boss, &stale).await, Err(StoreError::VersionMismatch { .. })));
    let itself = MergeRequest { survivor_id: s.id, merged_id: s.id, ..Default::default() };
    assert!(matches!(merges::merge_contacts(&db, &boss, &itself).await, Err(StoreError::Invalid(_))));
    let unknown = MergeRequest {
        survivor_id: s.id,
        merged_id: third.id,
        fields: [("tags".to_string(), Side::Merged)].into_iter().collect(),
        ..Default::default()
    };
    match merges::merge_contacts(&db, &boss, &unknown).await {
        Err(StoreError::Invalid(v)) => assert_eq!(v.errors[0].field, "fields/tags"),
        other => panic!("expected a field error, got {other:?}"),
    }
});

backend_test!(members_merge_and_see_only_what_they_may, |db: Db| async move {
    let boss = admin(&db).await;
    let team_a = accounts::create_team(&db, "A").await.unwrap();
    let team_b = accounts::create_team(&db, "B").await.unwrap();
    let alice = user(&db, "alice@example.com", Role::Member, Some(team_a.id)).await;
    let bob = user(&db, "bob@example.com", Role::Member, Some(team_b.id)).await;
    let a1 = person(&db, &alice, Person { name: "刘洋", phone: Some("13500135000"), ..Default::default() }).await;
    let a2 = person(&db, &alice, Person { name: "劉洋", phone: Some("135 0013 5000"), ..Default::default() }).await;
    dedup::run_scan(&db, &boss, DedupObject::Contact, Region::CN).await.unwrap();
    assert_eq!(pairs(&db, &alice, DedupObject::Contact).await.len(), 1);
    assert!(pairs(&db, &bob, DedupObject::Contact).await.is_empty(), "bob cannot see team A's records");
    let cand = dedup::list_candidates(&db, &alice, DedupObject::Contact, None, None, 10).await.unwrap().items[0].id;
    assert!(matches!(dedup::get_candidate(&db, &bob, cand).await, Err(StoreError::NotFound)));
    assert!(matches!(dedup::dismiss_candidate(&db, &bob, cand).await, Err(StoreError::NotFound)));
    let req = MergeRequest { survivor_id: a1.id, merged_id: a2.id, candidate_id: Some(cand), ..Default::default() };
    assert!(matches!(merges::merge_contacts(&db, &bob, &req).await, Err(StoreError::NotFound)));
    // A public record of team A is visible to bob but not his to change.
    let public =
        ContactInput {
            display_name: Some("刘洋".into()), visibility: Some(Visibility::Public), ..Default::default()
        };
    let p = contacts::create(&db, &alice, &public.validate(&rules()).unwrap()).await.unwrap();
    let bobs = person(&db, &bob, Person { name: "刘洋", ..Default::default() }).await;
    let req_b = MergeRequest { survivor_id: bobs.id, merged_id: p.id, ..Default::default() };
    assert!(matches!(merges::merge_contacts(&db, &bob, &req_b).await, Err(StoreError::Forbidden)));
    let (merge, _) = merges::merge_contacts(&db, &alice, &req).await.unwrap();
    assert_eq!(merge.candidate_id, Some(cand));
    assert!(matches!(merges::get_merge(&db, &bob, merge.id).await, Err(StoreError::NotFound)));
    assert!(matches!(merges::undo(&db, &bob, merge.id).await, Err(StoreError::NotFound)));
    merges::undo(&db, &alice, merge.id).await.unwrap();
});

backend_test!(company_merge_moves_contacts_and_undo_puts_them_back, |db: Db| async move {
    let boss = admin(&db).await;
    let s = company(&db, &boss, "字节跳动", None).await;
    let m = company(&db, &boss, "北京字节跳动科技有限公司", Some("bytedance.com")).await;
    let staff = person(&db, &boss, Person { name: "陈静", company: Some(m), ..Default::default() }).await;
    let s_before = companies::get(&db, &boss, s).await.unwrap();
    let m_before = companies::get(&db, &boss, m).await.unwrap();
    let staff_before = contacts::get(&db, &boss, staff.id).await.unwrap();
    let req = MergeRequest { survivor_id: s, merged_id: m, ..Default::default() };
    let (merge, survivor) = merges::merge_companies(&db, &boss, &req).await.unwrap();
    assert_eq!(survivor.domain.as_deref(), Some("bytedance.com"));
    assert_eq!(merge.moved.contacts, 1);
    assert_eq!(contacts::get(&db, &boss, staff.id).await.unwrap().company_id, Some(s));
    assert!(matches!(companies::get(&db, &boss, m).await, Err(StoreError::NotFound)));
    merges::undo(&db, &boss, merge.id).await.unwrap();
    assert_eq!(
        serde_json::to_value(companies::get(&db, &boss, m).await.unwrap()).unwrap(),
        serde_json::to_value(&m_before).unwrap()
    );
    let s_after = companies::get(&db, &boss, s).await.unwrap();
    assert_eq!((s_after.name.as_str(), s_after.domain.as_deref()), (s_before.name.as_str(), None));
    assert_eq!(
        serde_json::to_value(contacts::get(&db, &boss, staff.id).await.unwrap()).unwrap(),
        serde_json::to_value(&staff_before).unwrap()
    );
});

backend_test!(create_check_finds_similar_records, |db: Db| async move {
    let boss = admin(&db).await;
    let x = company(&db, &boss, "北京字节跳动科技有限公司", None).await;
    let stored = person(&db, &boss, Person { name: "張偉", company: Some(x), ..Default::default() }).await;
    let phone =
        person(&db, &boss, Person { name: "李娜", phone: Some("+86 138-0013-8000"), ..Default::default() }).await;
    let draft = ContactInput {
        display_name: Some("张伟".into()),
        company_id: Some(x),
        phones: vec![PhoneEntry { number: "13800138000".into(), primary: true }],
        ..Default::default()
    }
    .validate(&rules())
    .unwrap();
    let found = dedup::similar_contacts(&db, &boss, &draft, None, Region::CN).await.unwrap();
    let ids: BTreeSet<Uuid> = found.iter().map(|s| s.record.id).collect();
    assert_eq!(ids, BTreeSet::from([stored.id, phone.id]));
    let again = dedup::similar_contacts(&db, &boss, &draft, None, Region::CN).await.unwrap();
    assert!(again.iter().all(|s| s.score >= guanxi_dedup::MIN_SCORE));
    let c = CompanyInput { name: Some("字节跳动有限公司".into()), ..Default::default() }.validate(&[]).unwrap();
    let similar = dedup::similar_companies(&db, &boss, &c, None).await.unwrap();
    assert_eq!(similar.iter().map(|s| s.record.id).collect::<Vec<_>>(), [x]);
});

backend_test!(scans_are_jobs_one_per_object_and_interrupted_ones_fail, |db: Db| async move {
    let boss = admin(&db).await;
    person(&db, &boss, Person { name: "李娜", phone: Some("+86 138-0013-8000"), ..Default::default() }).await;
    let nina =
        person(&db, &boss, Person { name: "Nina", phone: Some("0086 138 0013 8000"), ..Default::default() }).await;

    let first = dedup::start_scan(&db, &boss, DedupObject::Contact).await.unwrap();
    assert_eq!((first.status.as_str(), first.phase.as_str()), ("running", "reading"));
    // One running scan per object; companies are another object.
    let err = dedup::start_scan(&db, &boss, DedupObject::Contact).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict(m) if m.contains("already running")), "{err:?}");
    let companies = dedup::start_scan(&db, &boss, DedupObject::Company).await.unwrap();
    let done = dedup::execute_scan(&db, companies.id, DedupObject::Company, Region::CN).await.unwrap();
    assert_eq!((done.status.as_str(), done.phase.as_str(), done.records), ("succeeded", "done", 0));

    // The process running `first` died: once its heartbeat is old it shows as failed, and a new scan may start
    // (which marks it failed for good).
    let mut age = db.sql("UPDATE dedup_scans SET heartbeat_at = ");
    age.bind(guanxi_store::sql::Arg::Ts(Utc::now() - dedup::SCAN_STALE_AFTER - chrono::Duration::seconds(1)));
    age.push(" WHERE id = ").bind(guanxi_store::sql::Arg::Uuid(first.id));
    db.execute(age).await.unwrap();
    let shown = dedup::get_scan(&db, first.id).await.unwrap();
    assert_eq!(shown.status, "failed");
    assert!(shown.error.as_deref().unwrap_or("").contains("interrupted"), "{shown:?}");
    let second = dedup::start_scan(&db, &boss, DedupObject::Contact).await.unwrap();
    let finished = dedup::execute_scan(&db, second.id, DedupObject::Contact, Region::CN).await.unwrap();
    assert_eq!((finished.status.as_str(), finished.records, finished.pairs), ("succeeded", 2, 1), "{finished:?}");
    assert_eq!((finished.progress_done, finished.progress_total), (1, 1));
    let recent = dedup::recent_scans(&db, DedupObject::Contact, 10).await.unwrap();
    let states: Vec<&str> = recent.iter().map(|s| s.status.as_str()).collect();
    assert_eq!(states, ["succeeded", "failed"]);
    // A pair the next scan does not find again is removed with it (pairs are written in short transactions, the
    // stale ones go last).
    let open = || async {
        let sql = db.sql("SELECT COUNT(*) FROM dedup_candidates WHERE status = 'open'");
        db.fetch_scalar::<i64>(sql).await.unwrap()
    };
    assert_eq!(open().await, 1);
    contacts::delete(&db, &boss, nina.id, None).await.unwrap();
    let rescan = dedup::run_scan(&db, &boss, DedupObject::Contact, Region::CN).await.unwrap();
    assert_eq!((rescan.records, rescan.pairs), (1, 0));
    assert_eq!(open().await, 0);

    // At server start, a scan still marked running was cut off: on SQLite at once (one process serves it), on
    // PostgreSQL once its heartbeat is old (another instance may be running it).
    let third = dedup::start_scan(&db, &boss, DedupObject::Contact).await.unwrap();
    let failed = dedup::fail_abandoned_scans(&db).await.unwrap();
    let expected = if db.dialect() == guanxi_store::Dialect::Sqlite { 1 } else { 0 };
    assert_eq!(failed, expected);
    assert_eq!(dedup::get_scan(&db, third.id).await.unwrap().status == "failed", expected == 1);
});
