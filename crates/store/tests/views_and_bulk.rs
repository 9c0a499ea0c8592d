//! Saved views, bulk actions on contacts and the account changes of the settings pages; each test runs on SQLite
//! and on PostgreSQL.

use guanxi_core::access::{Actor, Role, TokenScope, Visibility};
use guanxi_core::contact::{ContactInput, ContactRules};
use guanxi_core::contact_point::Region;
use guanxi_core::custom_field::{CustomFieldInput, CustomFieldKind, ObjectType};
use guanxi_core::filter::{CONTACT_FIELDS, ListParams, parse_list_query};
use guanxi_store::accounts::{self, NewUser};
use guanxi_store::bulk::{self, BulkAction, BulkError};
use guanxi_store::saved_views::{self, NewView};
use guanxi_store::{Db, StoreError, backend_test, contacts, custom_fields};
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

async fn contact(db: &Db, actor: &Actor, name: &str, visibility: Visibility) -> Uuid {
    let rules = ContactRules { default_region: Region::CN, custom_fields: &[], today: chrono::Utc::now().date_naive() };
    let input = ContactInput { display_name: Some(name.into()), visibility: Some(visibility), ..Default::default() };
    contacts::create(db, actor, &input.validate(&rules).unwrap()).await.unwrap().id
}

async fn tagged(db: &Db, actor: &Actor, tag: &str) -> u64 {
    let filters = vec![format!("tags:has_tag:{tag}")];
    let params = ListParams { filters: &filters, sort: None, limit: None, cursor: None, q: None };
    let lq = parse_list_query(&params, CONTACT_FIELDS, &[], actor.user_id).unwrap();
    contacts::list(db, actor, &lq).await.unwrap().total
}

backend_test!(personal_views_are_private_and_shared_views_are_for_everyone, |db: Db| async move {
    let ada = user(&db, "ada@example.com", Role::Member, None).await;
    let bob = user(&db, "bob@example.com", Role::Member, None).await;
    let admin = user(&db, "root@example.com", Role::Admin, None).await;
    let mine = saved_views::create(
        &db,
        &ada,
        &NewView { object: "contacts", name: "北京 VIP", query: "?city=北京&tag=vip", shared: false },
    )
    .await
    .unwrap();
    assert_eq!(mine.query, "city=北京&tag=vip", "the leading ? is dropped");
    let shared = saved_views::create(
        &db,
        &ada,
        &NewView { object: "contacts", name: "All", query: "sort=-created_at", shared: true },
    )
    .await
    .unwrap();
    let names = |v: Vec<saved_views::SavedView>| v.into_iter().map(|v| v.name).collect::<Vec<_>>();
    assert_eq!(names(saved_views::list(&db, &ada, "contacts").await.unwrap()), vec!["All", "北京 VIP"]);
    assert_eq!(names(saved_views::list(&db, &bob, "contacts").await.unwrap()), vec!["All"]);
    assert!(saved_views::list(&db, &bob, "companies").await.unwrap().is_empty());
    assert!(matches!(saved_views::get(&db, &bob, mine.id).await, Err(StoreError::NotFound)));

    // Names are unique per owner and list; bad input is a field error.
    let dup =
        saved_views::create(&db, &ada, &NewView { object: "contacts", name: "All", query: "", shared: false }).await;
    assert!(matches!(dup, Err(StoreError::Duplicate { field: "name" })), "{dup:?}");
    let blank =
        saved_views::create(&db, &ada, &NewView { object: "contacts", name: " ", query: "", shared: false }).await;
    assert!(matches!(blank, Err(StoreError::Invalid(e)) if e.errors[0].field == "name"));
    let bad = saved_views::create(&db, &ada, &NewView { object: "users", name: "x", query: "", shared: false }).await;
    assert!(matches!(bad, Err(StoreError::Invalid(e)) if e.errors[0].field == "object"));

    // Only the owner or an admin deletes; another user sees the shared view but may not delete it.
    assert!(matches!(saved_views::delete(&db, &bob, shared.id).await, Err(StoreError::Forbidden)));
    assert!(matches!(saved_views::delete(&db, &bob, mine.id).await, Err(StoreError::NotFound)));
    saved_views::delete(&db, &admin, shared.id).await.unwrap();
    saved_views::delete(&db, &ada, mine.id).await.unwrap();
    assert!(saved_views::list(&db, &ada, "contacts").await.unwrap().is_empty());
});

backend_test!(bulk_actions_are_all_or_nothing_and_scoped, |db: Db| async move {
    let east = accounts::create_team(&db, "East").await.unwrap().id;
    let west = accounts::create_team(&db, "West").await.unwrap().id;
    let ada = user(&db, "ada@example.com", Role::Member, Some(east)).await;
    let wes = user(&db, "wes@example.com", Role::Member, Some(west)).await;
    let a1 = contact(&db, &ada, "A1", Visibility::Team).await;
    let a2 = contact(&db, &ada, "A2", Visibility::Private).await;
    let w_public = contact(&db, &wes, "W public", Visibility::Public).await;

    // Ada sees West's public contact but may not change it: the whole action fails and names that row.
    let r = bulk::contacts(&db, &ada, &[a1, a2, w_public], &BulkAction::AddTag("展会".into())).await;
    assert!(matches!(&r, Err(BulkError::Refused(ids)) if ids == &vec![w_public]), "{r:?}");
    assert_eq!(tagged(&db, &ada, "展会").await, 0, "nothing was tagged");

    // An unknown id is refused the same way (no hint whether it exists).
    let r = bulk::contacts(&db, &ada, &[a1, Uuid::now_v7()], &BulkAction::Delete).await;
    assert!(matches!(r, Err(BulkError::Refused(ids)) if ids.len() == 1));
    assert!(contacts::get(&db, &ada, a1).await.is_ok());

    // Her own contacts: tagged once (a repeat changes nothing), versions bumped.
    assert_eq!(bulk::contacts(&db, &ada, &[a1, a2, a1], &BulkAction::AddTag(" 展会 ".into())).await.unwrap(), 2);
    assert_eq!(bulk::contacts(&db, &ada, &[a1, a2], &BulkAction::AddTag("展会".into())).await.unwrap(), 0);
    assert_eq!(tagged(&db, &ada, "展会").await, 2);
    let c = contacts::get(&db, &ada, a2).await.unwrap();
    assert_eq!((c.tags.clone(), c.version), (vec!["展会".to_string()], 2));
    let r = bulk::contacts(&db, &ada, &[a1], &BulkAction::AddTag("  ".into())).await;
    assert!(matches!(r, Err(BulkError::Store(StoreError::Invalid(_)))));

    // Assigning an owner moves the contacts to the owner's team: West now sees the team contact.
    assert_eq!(bulk::contacts(&db, &ada, &[a1], &BulkAction::AssignOwner(wes.user_id)).await.unwrap(), 1);
    let moved = contacts::get(&db, &wes, a1).await.unwrap();
    assert_eq!((moved.owner_id, moved.team_id), (Some(wes.user_id), Some(west)));
    let r = bulk::contacts(&db, &wes, &[a1], &BulkAction::AssignOwner(Uuid::now_v7())).await;
    assert!(matches!(r, Err(BulkError::Store(StoreError::Invalid(_)))));

    // Delete removes the rows with their tags and search tokens.
    assert_eq!(bulk::contacts(&db, &ada, &[a2], &BulkAction::Delete).await.unwrap(), 1);
    assert!(matches!(contacts::get(&db, &ada, a2).await, Err(StoreError::NotFound)));
    assert!(contacts::search(&db, &ada, "A2", 10).await.unwrap().is_empty());
    assert_eq!(tagged(&db, &wes, "展会").await, 1);
    let r = bulk::contacts(&db, &ada, &[], &BulkAction::Delete).await;
    assert!(matches!(r, Err(BulkError::Store(StoreError::Invalid(_)))));
});

backend_test!(users_change_role_team_and_activity, |db: Db| async move {
    let team = accounts::create_team(&db, "East").await.unwrap().id;
    let u = user(&db, "ada@example.com", Role::Member, None).await;
    let changed = accounts::set_user_access(&db, u.user_id, Role::Manager, Some(team)).await.unwrap();
    assert_eq!((changed.role, changed.team_id), (Role::Manager, Some(team)));
    let r = accounts::set_user_access(&db, u.user_id, Role::Member, Some(Uuid::now_v7())).await;
    assert!(matches!(r, Err(StoreError::Invalid(_))));
    assert!(matches!(
        accounts::set_user_access(&db, Uuid::now_v7(), Role::Member, None).await,
        Err(StoreError::NotFound)
    ));

    let hash = [7u8; 32];
    let expires = guanxi_core::ids::now() + chrono::Duration::hours(1);
    accounts::create_session(&db, &hash, u.user_id, expires).await.unwrap();
    assert!(accounts::actor_for_session(&db, &hash).await.unwrap().is_some());
    assert!(!accounts::set_user_active(&db, u.user_id, false).await.unwrap().active);
    assert!(accounts::actor_for_session(&db, &hash).await.unwrap().is_none(), "sessions end");
    assert!(accounts::set_user_active(&db, u.user_id, true).await.unwrap().active);
});

backend_test!(custom_field_definitions_are_edited_in_place, |db: Db| async move {
    let def = custom_fields::create(
        &db,
        &CustomFieldInput {
            object: ObjectType::Contact,
            key: "level".into(),
            label: "Level".into(),
            kind: CustomFieldKind::SingleSelect,
            options: vec!["gold".into()],
            required: false,
            position: 0,
        },
    )
    .await
    .unwrap();
    let edit = CustomFieldInput {
        object: ObjectType::Company,
        key: "ignored".into(),
        label: "等级".into(),
        kind: CustomFieldKind::Text,
        options: vec!["gold".into(), "silver".into()],
        required: true,
        position: 3,
    };
    let got = custom_fields::update(&db, def.id, &edit).await.unwrap();
    assert_eq!((got.object, got.key.as_str(), got.kind), (ObjectType::Contact, "level", CustomFieldKind::SingleSelect));
    assert_eq!((got.label.as_str(), got.options.len(), got.required, got.position), ("等级", 2, true, 3));
    assert_eq!(custom_fields::list(&db, Some(ObjectType::Contact)).await.unwrap(), vec![got]);
    let empty = CustomFieldInput { options: vec![], ..edit.clone() };
    assert!(matches!(custom_fields::update(&db, def.id, &empty).await, Err(StoreError::Invalid(_))));
    assert!(matches!(custom_fields::update(&db, Uuid::now_v7(), &edit).await, Err(StoreError::NotFound)));
});
