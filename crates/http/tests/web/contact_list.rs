//! The contacts list: chosen columns, the export link, saved views and bulk actions.

use super::{EN, ZH, admin, create_contact};
use crate::helpers::location;
use crate::web_test;
use guanxi_core::access::Role;

fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    html.split(start).nth(1).and_then(|s| s.split(end).next()).unwrap_or("")
}

web_test!(columns_are_chosen_and_the_view_exports, |app: &TestApp| async move {
    let b = admin(app, EN).await;
    create_contact(
        &b,
        &[("display_name", "Ada"), ("email", "ada@example.com"), ("city", "北京"), ("job_title", "CTO")],
    )
    .await;
    let html = b.html("/contacts?col=email&col=source&city=%E5%8C%97%E4%BA%AC&sort=-created_at").await;
    let head = between(&html, "<thead>", "</thead>");
    assert!(head.contains(">Email<") && head.contains(">Source<") && !head.contains(">Job title<"), "{head}");
    assert!(html.contains("ada@example.com") && !html.contains(">CTO<"));
    assert!(
        html.contains("id=\"col-email\" value=\"email\" checked")
            && !html.contains("id=\"col-job_title\" value=\"job_title\" checked")
    );
    let before_id = html.split("\" id=\"export-link\"").next().unwrap_or("");
    let export = before_id.rsplit("href=\"").next().unwrap_or("").replace("&#38;", "&").replace("&amp;", "&");
    assert_eq!(
        export, "/api/v1/contacts/export?format=csv&filter=address.city%3Aeq%3A%E5%8C%97%E4%BA%AC&sort=-created_at",
        "the export carries the same conditions as filter-model parameters"
    );
    // Default columns without `col`.
    assert!(between(&b.html("/contacts").await, "<thead>", "</thead>").contains(">Job title<"));
});

web_test!(saved_views_are_personal_or_shared, |app: &TestApp| async move {
    let east = app.team("East").await;
    app.user("ada@example.com", Role::Member, Some(east)).await;
    app.user("bob@example.com", Role::Member, Some(east)).await;
    let ada = app.signed_in("ada@example.com", ZH).await;
    let bob = app.signed_in("bob@example.com", ZH).await;

    let r = ada.post("/contacts/views", &[("name", " "), ("query", "city=%E4%B8%8A%E6%B5%B7")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("id=\"view-error\">此项必填<"));
    let r = ada.post("/contacts/views", &[("name", "上海客户"), ("query", "city=%E4%B8%8A%E6%B5%B7&cursor=abc")]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/contacts?city=%E4%B8%8A%E6%B5%B7&view_saved=1");
    let r = ada.post("/contacts/views", &[("name", "VIP"), ("query", "tag=vip&col=email"), ("shared", "1")]).await;
    assert_eq!(r.status(), 303);
    let r = ada.post("/contacts/views", &[("name", "VIP"), ("query", "tag=x")]).await;
    assert_eq!(r.status(), 422, "names are unique per user");

    let mine = ada.html("/contacts?city=%E4%B8%8A%E6%B5%B7").await;
    assert!(mine.contains("href=\"/contacts?city=%E4%B8%8A%E6%B5%B7\" aria-current=\"page\">上海客户<"), "{mine}");
    assert!(mine.contains(">VIP</a> <span class=\"badge\">共享</span>"));
    let theirs = bob.html("/contacts").await;
    assert!(theirs.contains(">VIP<") && !theirs.contains("上海客户"), "personal views stay personal");

    // Bob may use the shared view but not delete it; Ada deletes her own.
    let views =
        guanxi_store::saved_views::list(&app.db, &actor(app, "ada@example.com").await, "contacts").await.unwrap();
    let shared = views.iter().find(|v| v.shared).unwrap();
    assert_eq!(bob.post(&format!("/contacts/views/{}/delete", shared.id), &[]).await.status(), 403);
    let personal = views.iter().find(|v| !v.shared).unwrap();
    assert_eq!(bob.post(&format!("/contacts/views/{}/delete", personal.id), &[]).await.status(), 404);
    let r = ada.post(&format!("/contacts/views/{}/delete", shared.id), &[("back", "/contacts?tag=vip")]).await;
    assert_eq!(location(&r), "/contacts?tag=vip");
    assert!(!bob.html("/contacts").await.contains(">VIP<"));
});

async fn actor(app: &crate::helpers::TestApp, email: &str) -> guanxi_core::access::Actor {
    let users = guanxi_store::accounts::list_users(&app.db).await.unwrap();
    let u = users.into_iter().find(|u| u.email == email).unwrap();
    guanxi_core::access::Actor {
        user_id: u.id,
        team_id: u.team_id,
        role: u.role,
        scope: guanxi_core::access::TokenScope::ReadWrite,
    }
}

web_test!(bulk_actions_change_all_or_nothing, |app: &TestApp| async move {
    let east = app.team("East").await;
    let west = app.team("West").await;
    app.user("ada@example.com", Role::Member, Some(east)).await;
    let wes_id = app.user("wes@example.com", Role::Member, Some(west)).await;
    let ada = app.signed_in("ada@example.com", EN).await;
    let wes = app.signed_in("wes@example.com", EN).await;
    let a1 = create_contact(&ada, &[("display_name", "Alpha One")]).await;
    let a2 = create_contact(&ada, &[("display_name", "Alpha Two")]).await;
    let w1 = create_contact(&wes, &[("display_name", "West Public"), ("visibility", "public")]).await;

    // Nothing selected: explained on the list.
    let r = ada.post("/contacts/bulk", &[("action", "tag"), ("tag", "expo")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Select at least one contact first."));

    // Tagging two contacts, then back to the same list with a notice.
    let r = ada
        .post(
            "/contacts/bulk",
            &[("action", "tag"), ("tag", "expo"), ("id", &a1), ("id", &a2), ("back", "/contacts?sort=display_name")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/contacts?sort=display_name&bulk_done=2");
    let html = ada.html("/contacts?tag=expo").await;
    assert!(html.contains("2 contacts") && html.contains("Alpha One") && html.contains("Alpha Two"), "{html}");
    assert!(ada.html("/contacts?sort=display_name&bulk_done=2").await.contains("2 contacts changed."));

    // A selection with a contact Ada may see but not change: refused as a whole, the row named.
    let r = ada.post("/contacts/bulk", &[("action", "tag"), ("tag", "hot"), ("id", &a1), ("id", &w1)]).await;
    assert_eq!(r.status(), 403);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Nothing was changed") && html.contains(&format!("href=\"/contacts/{w1}\">West Public<")),
        "{html}"
    );
    assert!(ada.html("/contacts?tag=hot").await.contains("0 contacts"), "not even Alpha One was tagged");

    // Assigning an owner moves the contact to the owner's team.
    let owner = wes_id.to_string();
    let r = ada.post("/contacts/bulk", &[("action", "owner"), ("owner", &owner), ("id", &a2)]).await;
    assert_eq!(r.status(), 303);
    assert!(wes.html(&format!("/contacts/{a2}")).await.contains("Alpha Two"));

    // Delete asks first; the confirmation deletes.
    let r = ada.post("/contacts/bulk", &[("action", "delete"), ("id", &a1)]).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Delete 1 contacts with their timelines?")
            && html.contains(&format!("name=\"id\" value=\"{a1}\""))
    );
    assert_eq!(ada.get(&format!("/contacts/{a1}")).await.status(), 200, "not deleted before confirming");
    let r = ada.post("/contacts/bulk", &[("action", "delete"), ("confirm", "1"), ("id", &a1)]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(ada.get(&format!("/contacts/{a1}")).await.status(), 404);
});
