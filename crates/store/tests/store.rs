//! Store tests: each runs on SQLite and on PostgreSQL.

use guanxi_core::access::{Actor, Role, TokenScope};
use guanxi_core::contact::{ContactInput, ContactRules, EmailEntry, PhoneEntry};
use guanxi_core::contact_point::Region;
use guanxi_core::filter::{CONTACT_FIELDS, ListParams, parse_list_query};
use guanxi_store::accounts::{self, NewUser};
use guanxi_store::{Db, backend_test, contacts};

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

fn rules() -> ContactRules<'static> {
    ContactRules { default_region: Region::CN, custom_fields: &[], today: chrono::Utc::now().date_naive() }
}

backend_test!(contact_round_trip_and_search, |db: Db| async move {
    let actor = admin(&db).await;
    let input = ContactInput {
        family_name: Some("张".into()),
        given_name: Some("伟".into()),
        emails: vec![EmailEntry { address: "zhang.wei@example.com".into(), primary: true }],
        phones: vec![PhoneEntry { number: "13800138000".into(), primary: true }],
        tags: vec!["vip".into()],
        ..Default::default()
    };
    let draft = input.validate(&rules()).unwrap();
    let c = contacts::create(&db, &actor, &draft).await.unwrap();
    assert_eq!(c.display_name, "张伟");
    let got = contacts::get(&db, &actor, c.id).await.unwrap();
    assert_eq!(got, c);

    for q in ["张伟", "8000", "zhang", "zhang.wei@example.com", "+86 138 0013 8000"] {
        let hits = contacts::search(&db, &actor, q, 10).await.unwrap();
        assert_eq!(hits.len(), 1, "query {q:?}");
    }
    let filters = vec!["tags:has_tag:vip".to_string()];
    let lq = parse_list_query(
        &ListParams { filters: &filters, sort: Some("display_name"), limit: None, cursor: None, q: None },
        CONTACT_FIELDS,
        &[],
        actor.user_id,
    )
    .unwrap();
    let page = contacts::list(&db, &actor, &lq).await.unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.items[0].id, c.id);

    let mut changed = draft.clone();
    changed.job_title = Some("经理".into());
    let updated = contacts::update(&db, &actor, c.id, 1, &changed).await.unwrap();
    assert_eq!(updated.version, 2);
    assert!(matches!(
        contacts::update(&db, &actor, c.id, 1, &changed).await,
        Err(guanxi_store::StoreError::VersionMismatch { current: 2 })
    ));
    contacts::delete(&db, &actor, c.id, Some(2)).await.unwrap();
    assert!(contacts::search(&db, &actor, "张伟", 10).await.unwrap().is_empty());
});

// The hot reads run on rusqlite on SQLite: every field must come back exactly as sqlx decodes it, through get,
// list (with a cursor and a count) and search.
backend_test!(both_read_paths_return_the_same_contacts, |db: Db| async move {
    use guanxi_core::contact::{Gender, PostalAddress};
    let actor = admin(&db).await;
    let slow = db.with_sqlx_reads();
    assert_eq!(db.has_fast_reads(), db.dialect() == guanxi_store::Dialect::Sqlite);
    assert!(!slow.has_fast_reads());
    let company = guanxi_store::companies::create(
        &db,
        &actor,
        &guanxi_core::company::CompanyInput {
            name: Some("杭州云栖科技有限公司".into()), ..Default::default()
        }
        .validate(&[])
        .unwrap(),
    )
    .await
    .unwrap();
    let full = ContactInput {
        family_name: Some("欧阳".into()),
        given_name: Some("娜娜".into()),
        emails: vec![
            EmailEntry { address: "nana@example.com".into(), primary: true },
            EmailEntry { address: "ouyang@example.cn".into(), primary: false },
        ],
        phones: vec![PhoneEntry { number: "13800138000".into(), primary: true }],
        address: PostalAddress {
            country: Some("CN".into()),
            province: Some("浙江".into()),
            city: Some("杭州".into()),
            district: Some("西湖区".into()),
            street: Some("文三路 1 号".into()),
            postcode: Some("310000".into()),
        },
        company_id: Some(company.id),
        job_title: Some("经理".into()),
        gender: Some(Gender::Female),
        birthday: Some(chrono::NaiveDate::from_ymd_opt(1990, 2, 28).unwrap()),
        preferred_language: Some("zh-CN".into()),
        source_detail: Some("展会 2026".into()),
        tags: vec!["vip".into(), "华东".into()],
        owner_id: Some(actor.user_id),
        ..Default::default()
    };
    let a = contacts::create(&db, &actor, &full.validate(&rules()).unwrap()).await.unwrap();
    let sparse = ContactInput { given_name: Some("Ada".into()), ..Default::default() };
    let b = contacts::create(&db, &actor, &sparse.validate(&rules()).unwrap()).await.unwrap();
    for id in [a.id, b.id] {
        let fast = contacts::get(&db, &actor, id).await.unwrap();
        assert_eq!(fast, contacts::get(&slow, &actor, id).await.unwrap());
        assert_eq!(fast, if id == a.id { a.clone() } else { b.clone() });
    }
    let filters = vec!["created_at:gt:2000-01-01T00:00:00Z".to_string()];
    let lq = parse_list_query(
        &ListParams { filters: &filters, sort: Some("display_name"), limit: Some(1), cursor: None, q: None },
        CONTACT_FIELDS,
        &[],
        actor.user_id,
    )
    .unwrap();
    let (p1, p2) = (contacts::list(&db, &actor, &lq).await.unwrap(), contacts::list(&slow, &actor, &lq).await.unwrap());
    assert_eq!((p1.items.clone(), p1.total, p1.next_cursor.clone()), (p2.items, p2.total, p2.next_cursor));
    assert_eq!(p1.total, 2);
    for q in ["欧阳", "nana", "8000", "ada"] {
        let fast = contacts::search(&db, &actor, q, 10).await.unwrap();
        assert_eq!(fast, contacts::search(&slow, &actor, q, 10).await.unwrap(), "{q}");
        assert_eq!(fast.len(), 1, "{q}");
    }
});

backend_test!(search_index_of_an_older_version_is_rebuilt_at_start, |db: Db| async move {
    let actor = admin(&db).await;
    let company = guanxi_core::company::CompanyInput {
        name: Some("北京字节跳动科技有限公司".into()),
        ..Default::default()
    };
    let company = guanxi_store::companies::create(&db, &actor, &company.validate(&[]).unwrap()).await.unwrap();
    let input = ContactInput {
        family_name: Some("欧阳".into()),
        given_name: Some("娜娜".into()),
        phones: vec![PhoneEntry { number: "13800138000".into(), primary: true }],
        company_id: Some(company.id),
        ..Default::default()
    };
    contacts::create(&db, &actor, &input.validate(&rules()).unwrap()).await.unwrap();
    // Pretend the tokens were written by an older version: the index is empty and marked stale.
    let clear: &[&str] = match db.dialect() {
        guanxi_store::Dialect::Sqlite => &[
            "INSERT INTO contact_fts(contact_fts) VALUES ('delete-all')",
            "INSERT INTO company_fts(company_fts) VALUES ('delete-all')",
        ],
        guanxi_store::Dialect::Postgres => &["TRUNCATE contact_fts", "TRUNCATE company_fts"],
    };
    for sql in clear.iter().chain(&["UPDATE search_index_state SET version = 1"]) {
        db.execute(db.sql(sql)).await.unwrap();
    }
    assert!(contacts::search(&db, &actor, "娜娜", 10).await.unwrap().is_empty());
    db.migrate().await.unwrap();
    for q in ["欧阳娜娜", "8000", "138 0013 8000", "字节跳动"] {
        assert_eq!(contacts::search(&db, &actor, q, 10).await.unwrap().len(), 1, "query {q:?}");
    }
    assert_eq!(guanxi_store::companies::search(&db, &actor, "字节", 10).await.unwrap().len(), 1);
    // Up to date now: a second start does not rebuild (the tokens written since stay).
    db.migrate().await.unwrap();
    assert_eq!(contacts::search(&db, &actor, "娜娜", 10).await.unwrap().len(), 1);
});
