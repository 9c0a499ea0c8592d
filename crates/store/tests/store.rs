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
