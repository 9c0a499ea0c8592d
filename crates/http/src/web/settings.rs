//! Settings: the language (everyone); users, teams, roles, custom fields and API tokens (admins).

use super::i18n::LANG_COOKIE;
use super::session::{self, VisitorLocale};
use super::{Cx, Locale, Page, WebResult, WebUser, page, render, see_other};
use crate::AppState;
use axum::Form;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct LanguageForm {
    #[serde(default)]
    locale: String,
    #[serde(default)]
    next: Option<String>,
}

/// Switches the language: saved on the user when signed in, and in a cookie for the login page.
pub async fn set_language(
    State(state): State<AppState>,
    headers: HeaderMap,
    VisitorLocale(fallback): VisitorLocale,
    Form(form): Form<LanguageForm>,
) -> WebResult<Response> {
    let Some(locale) = Locale::parse(&form.locale) else {
        return Err(super::WebError::NotFound(fallback));
    };
    if let Some(u) = session::current(&state, &headers).await? {
        guanxi_store::accounts::set_user_locale(&state.db, u.user.id, locale.tag())
            .await
            .map_err(|e| super::WebError::store(e, locale))?;
    }
    let next = form.next.filter(|n| session::is_local_path(n)).unwrap_or_else(|| "/".into());
    let mut resp = see_other(&next);
    let cookie = format!("{LANG_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age=31536000", locale.tag());
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

#[derive(askama::Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    cx: Cx,
    is_admin: bool,
}
page!(SettingsPage);

pub async fn page(w: WebUser, OriginalUri(uri): OriginalUri) -> WebResult<Response> {
    let is_admin = w.actor.is_admin();
    let cx = Cx::for_user(&w, "settings", uri.path(), w.locale.t("nav.settings").to_string());
    Ok(render(StatusCode::OK, &SettingsPage { cx, is_admin }))
}

// ---------------------------------------------------------------------------------------------------------------
// Administration: users and teams, roles, custom fields, API tokens. Admins only; others get the 403 page.

use super::form::{FormData, Input, Opt, attach_errors, parse_uuid, record_id};
use super::{OrPage, WebError};
use guanxi_core::access::{Role, TokenScope};
use guanxi_core::custom_field::{CustomFieldDef, CustomFieldInput, CustomFieldKind, ObjectType};
use guanxi_core::{FieldError, ValidationErrors};
use guanxi_store::StoreError;
use guanxi_store::accounts;

fn admin_only(w: &WebUser) -> WebResult<()> {
    if !w.actor.is_admin() {
        return Err(WebError::Forbidden(w.locale));
    }
    Ok(())
}

const ROLES: [Role; 3] = [Role::Member, Role::Manager, Role::Admin];
const OBJECTS: [ObjectType; 4] = [ObjectType::Contact, ObjectType::Company, ObjectType::Product, ObjectType::Order];
const KINDS: [CustomFieldKind; 8] = [
    CustomFieldKind::Text,
    CustomFieldKind::Number,
    CustomFieldKind::Money,
    CustomFieldKind::Date,
    CustomFieldKind::Bool,
    CustomFieldKind::SingleSelect,
    CustomFieldKind::MultiSelect,
    CustomFieldKind::Url,
];

fn role_options(current: &str, locale: Locale) -> Vec<Opt> {
    ROLES.iter().map(|r| Opt::new(r.as_str(), locale.t(&format!("role.{}", r.as_str())), current)).collect()
}

fn team_options(teams: &[accounts::Team], current: &str, locale: Locale) -> Vec<Opt> {
    let mut opts = vec![Opt::new("", locale.t("settings.no_team"), current)];
    opts.extend(teams.iter().map(|t| Opt::new(t.id.to_string(), t.name.clone(), current)));
    opts
}

/// One user row of the users page, with the inputs of its role/team form.
pub struct UserRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub active: bool,
    pub is_me: bool,
    pub role: Input,
    pub team: Input,
}

#[derive(askama::Template)]
#[template(path = "settings_users.html")]
struct UsersPage {
    cx: Cx,
    users: Vec<UserRow>,
    new_user: Vec<Input>,
    new_team: Vec<Input>,
    teams: Vec<String>,
    errors: Vec<&'static str>,
    notice: Option<&'static str>,
}
page!(UsersPage);

fn new_user_inputs(f: Option<&FormData>, teams: &[accounts::Team], locale: Locale) -> Vec<Input> {
    let v = |k: &str| f.map(|f| f.get(k).to_string()).unwrap_or_default();
    let role = f.map(|f| f.get("role").to_string()).unwrap_or_else(|| "member".into());
    vec![
        Input::new("email", locale.t("login.email"), "email", v("email")).required(),
        Input::text("display_name", locale.t("field.name"), v("display_name")).required(),
        Input::new("password", locale.t("login.password"), "password", "")
            .required()
            .hint(locale.t("settings.password_hint")),
        Input::select("role", locale.t("settings.role"), role_options(&role, locale)),
        Input::select("team_id", locale.t("settings.team"), team_options(teams, &v("team_id"), locale)),
    ]
}

async fn users_page(
    state: &AppState,
    w: &WebUser,
    new_user: Option<Vec<Input>>,
    new_team: Option<Vec<Input>>,
    errors: Vec<&'static str>,
    notice: Option<&'static str>,
    status: StatusCode,
) -> WebResult<Response> {
    let locale = w.locale;
    let users = accounts::list_users(&state.db).await.or_page(locale)?;
    let teams = accounts::list_teams(&state.db).await.or_page(locale)?;
    let rows = users
        .iter()
        .map(|u| {
            let team = u.team_id.map(|t| t.to_string()).unwrap_or_default();
            UserRow {
                id: u.id.to_string(),
                name: u.display_name.clone(),
                email: u.email.clone(),
                active: u.active,
                is_me: u.id == w.user.id,
                role: Input::select(
                    &format!("role-{}", u.id),
                    locale.t("settings.role"),
                    role_options(u.role.as_str(), locale),
                ),
                team: Input::select(
                    &format!("team-{}", u.id),
                    locale.t("settings.team"),
                    team_options(&teams, &team, locale),
                ),
            }
        })
        .collect();
    let page = UsersPage {
        cx: Cx::for_user(w, "settings", "/settings/users", locale.t("settings.users").to_string()),
        users: rows,
        new_user: new_user.unwrap_or_else(|| new_user_inputs(None, &teams, locale)),
        new_team: new_team.unwrap_or_else(|| vec![Input::text("name", locale.t("settings.team_name"), "").required()]),
        teams: teams.iter().map(|t| t.name.clone()).collect(),
        errors,
        notice,
    };
    Ok(render(status, &page))
}

/// The users page again with why a change to a user was refused (no input to point at: the change came from a
/// row's own small form).
async fn users_refused(state: &AppState, w: &WebUser, messages: Vec<&'static str>) -> WebResult<Response> {
    users_page(state, w, None, None, messages, None, StatusCode::UNPROCESSABLE_ENTITY).await
}

pub async fn users(State(state): State<AppState>, w: WebUser, OriginalUri(uri): OriginalUri) -> WebResult<Response> {
    admin_only(&w)?;
    let notice = uri.query().is_some_and(|q| q.contains("saved=1")).then_some("edit.saved");
    users_page(&state, &w, None, None, vec![], notice, StatusCode::OK).await
}

pub async fn create_user(
    State(state): State<AppState>,
    w: WebUser,
    Form(f): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    admin_only(&w)?;
    let locale = w.locale;
    let f = FormData(f);
    let teams = accounts::list_teams(&state.db).await.or_page(locale)?;
    let mut errs = ValidationErrors::new();
    let email =
        errs.take(guanxi_core::contact_point::EmailAddress::parse(f.get("email")).map_err(|e| e.under("email")));
    let name = errs.take(guanxi_core::text_field::required_text(Some(f.get("display_name")), "display_name", 100));
    let password = f.get("password").to_string();
    if crate::api::check_password(&password).is_err() {
        errs.push(FieldError::new("password", "weak_password", "use 10 to 1024 characters"));
    }
    let role = Role::parse(f.get("role"));
    if role.is_none() {
        errs.push(FieldError::new("role", "invalid_option", "not a role"));
    }
    let team = match f.get("team_id") {
        "" => None,
        t => parse_uuid(t).filter(|id| teams.iter().any(|x| x.id == *id)).or_else(|| {
            errs.push(FieldError::new("team_id", "invalid_option", "not a team"));
            None
        }),
    };
    let failed = |e: ValidationErrors| {
        let mut ins = new_user_inputs(Some(&f), &teams, locale);
        let mut refs: Vec<&mut Input> = ins.iter_mut().collect();
        let other = attach_errors(&mut refs, &e, locale);
        (ins, other)
    };
    let (Some(email), Some(name), Some(role), true) = (email, name, role, errs.is_empty()) else {
        let (ins, other) = failed(errs);
        return users_page(&state, &w, Some(ins), None, other, None, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let hash = crate::auth::hash_password(password).await.map_err(|e| WebError::Internal(locale, e.to_string()))?;
    let new = accounts::NewUser {
        email: email.as_str(),
        display_name: &name,
        password_hash: &hash,
        role,
        team_id: team,
        locale: None,
    };
    match accounts::create_user(&state.db, &new).await {
        Ok(_) => Ok(see_other("/settings/users?saved=1")),
        Err(StoreError::Duplicate { .. }) => {
            let (ins, other) =
                failed(ValidationErrors::from(FieldError::new("email", "duplicate", "is already in use")));
            users_page(&state, &w, Some(ins), None, other, None, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(WebError::store(e, locale)),
    }
}

pub async fn update_user(
    State(state): State<AppState>,
    w: WebUser,
    Path(raw_id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    admin_only(&w)?;
    let locale = w.locale;
    let id = record_id(&raw_id, &w)?;
    let f = FormData(f);
    let role = Role::parse(f.get(&format!("role-{id}")));
    let team = match f.get(&format!("team-{id}")) {
        "" => Some(None),
        t => parse_uuid(t).map(Some),
    };
    let (Some(role), Some(team)) = (role, team) else {
        return users_refused(&state, &w, vec![locale.error("invalid_option")]).await;
    };
    // An admin cannot take away their own admin role: there would be no one left to give it back.
    if id == w.user.id && role != Role::Admin {
        return users_refused(&state, &w, vec![locale.t("settings.keep_own_admin")]).await;
    }
    match accounts::set_user_access(&state.db, id, role, team).await {
        Ok(_) => {
            state.auth_cache.clear();
            Ok(see_other("/settings/users?saved=1"))
        }
        Err(StoreError::Invalid(e)) => {
            let msgs = e.errors.iter().map(|e| locale.error(e.code)).collect();
            users_refused(&state, &w, msgs).await
        }
        Err(e) => Err(WebError::store(e, locale)),
    }
}

pub async fn set_active(
    State(state): State<AppState>,
    w: WebUser,
    Path(raw_id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    admin_only(&w)?;
    let locale = w.locale;
    let id = record_id(&raw_id, &w)?;
    let active = FormData(f).get("active") == "1";
    if id == w.user.id && !active {
        return users_refused(&state, &w, vec![locale.t("settings.keep_own_admin")]).await;
    }
    accounts::set_user_active(&state.db, id, active).await.or_page(locale)?;
    state.auth_cache.clear();
    Ok(see_other("/settings/users?saved=1"))
}

pub async fn create_team(
    State(state): State<AppState>,
    w: WebUser,
    Form(f): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    admin_only(&w)?;
    let locale = w.locale;
    let f = FormData(f);
    let result = match guanxi_core::text_field::required_text(Some(f.get("name")), "name", 100) {
        Ok(name) => accounts::create_team(&state.db, &name).await.map(|_| ()),
        Err(e) => Err(StoreError::Invalid(e.into())),
    };
    let code = match result {
        Ok(()) => return Ok(see_other("/settings/users?saved=1")),
        Err(StoreError::Invalid(e)) => e.errors.first().map(|e| e.code).unwrap_or("invalid"),
        Err(StoreError::Duplicate { .. }) => "duplicate",
        Err(e) => return Err(WebError::store(e, locale)),
    };
    let mut input = Input::text("name", locale.t("settings.team_name"), f.get("name")).required();
    input.error = Some(locale.error(code));
    users_page(&state, &w, None, Some(vec![input]), vec![], None, StatusCode::UNPROCESSABLE_ENTITY).await
}

#[derive(askama::Template)]
#[template(path = "settings_roles.html")]
struct RolesPage {
    cx: Cx,
    roles: Vec<(&'static str, &'static str, &'static str)>,
}
page!(RolesPage);

/// What each role may see and change (the rule of `guanxi_core::access`, in words).
pub async fn roles(w: WebUser) -> WebResult<Response> {
    admin_only(&w)?;
    let locale = w.locale;
    let roles = ROLES
        .iter()
        .rev()
        .map(|r| {
            let k = r.as_str();
            (
                locale.t(&format!("role.{k}")),
                locale.t(&format!("role.{k}.sees")),
                locale.t(&format!("role.{k}.changes")),
            )
        })
        .collect();
    let cx = Cx::for_user(&w, "settings", "/settings/roles", locale.t("settings.roles").to_string());
    Ok(render(StatusCode::OK, &RolesPage { cx, roles }))
}

// Custom fields

pub struct FieldRow {
    pub id: String,
    pub object: &'static str,
    pub key: String,
    pub label: String,
    pub kind: &'static str,
    pub options: String,
    pub required: bool,
}

#[derive(askama::Template)]
#[template(path = "settings_fields.html")]
struct FieldsPage {
    cx: Cx,
    fields: Vec<FieldRow>,
    heading: String,
    action: String,
    inputs: Vec<Input>,
    other_errors: Vec<&'static str>,
    editing: bool,
    confirm_delete: Option<FieldRow>,
}
page!(FieldsPage);

fn field_row(d: &CustomFieldDef, locale: Locale) -> FieldRow {
    FieldRow {
        id: d.id.to_string(),
        object: locale.t(&format!("object.{}", d.object.as_str())),
        key: d.key.clone(),
        label: d.label.clone(),
        kind: locale.t(&format!("kind.{}", d.kind.as_str())),
        options: d.options.join(", "),
        required: d.required,
    }
}

fn field_inputs(d: Option<&CustomFieldDef>, f: Option<&FormData>, locale: Locale) -> Vec<Input> {
    let v = |k: &str, stored: String| f.map(|f| f.get(k).to_string()).unwrap_or(stored);
    let object = v("object", d.map(|d| d.object.as_str()).unwrap_or("contact").to_string());
    let kind = v("kind", d.map(|d| d.kind.as_str()).unwrap_or("text").to_string());
    let mut out = Vec::new();
    if d.is_none() {
        // Object, key and kind are fixed once values may be stored under them.
        out.push(Input::select(
            "object",
            locale.t("settings.field_object"),
            OBJECTS
                .iter()
                .map(|o| Opt::new(o.as_str(), locale.t(&format!("object.{}", o.as_str())), &object))
                .collect(),
        ));
        out.push(
            Input::text("key", locale.t("settings.field_key"), v("key", String::new()))
                .required()
                .hint(locale.t("settings.key_hint")),
        );
        out.push(Input::select(
            "kind",
            locale.t("settings.field_kind"),
            KINDS.iter().map(|k| Opt::new(k.as_str(), locale.t(&format!("kind.{}", k.as_str())), &kind)).collect(),
        ));
    }
    out.push(
        Input::text(
            "label",
            locale.t("settings.field_label"),
            v("label", d.map(|d| d.label.clone()).unwrap_or_default()),
        )
        .required(),
    );
    out.push(
        Input::text(
            "options",
            locale.t("settings.field_options"),
            v("options", d.map(|d| d.options.join(", ")).unwrap_or_default()),
        )
        .hint(locale.t("settings.options_hint")),
    );
    out.push(Input::new(
        "position",
        locale.t("settings.field_position"),
        "number",
        v("position", d.map(|d| d.position.to_string()).unwrap_or_else(|| "0".into())),
    ));
    let required = match f {
        Some(f) => f.get("required").to_string(),
        None => {
            if d.is_some_and(|d| d.required) {
                "1".into()
            } else {
                String::new()
            }
        }
    };
    out.push(Input::new("required", locale.t("settings.field_required"), "checkbox", required));
    out
}

async fn fields_page(
    state: &AppState,
    w: &WebUser,
    editing: Option<&CustomFieldDef>,
    inputs: Vec<Input>,
    other_errors: Vec<&'static str>,
    confirm_delete: Option<&CustomFieldDef>,
    status: StatusCode,
) -> WebResult<Response> {
    let locale = w.locale;
    let defs = guanxi_store::custom_fields::list(&state.db, None).await.or_page(locale)?;
    let (heading, action) = match editing {
        Some(d) => (locale.t1("companies.edit", &d.label), format!("/settings/fields/{}", d.id)),
        None => (locale.t("settings.new_field").to_string(), "/settings/fields".into()),
    };
    let page = FieldsPage {
        cx: Cx::for_user(w, "settings", "/settings/fields", locale.t("settings.fields").to_string()),
        fields: defs.iter().map(|d| field_row(d, locale)).collect(),
        heading,
        action,
        inputs,
        other_errors,
        editing: editing.is_some(),
        confirm_delete: confirm_delete.map(|d| field_row(d, locale)),
    };
    Ok(render(status, &page))
}

pub async fn fields(State(state): State<AppState>, w: WebUser) -> WebResult<Response> {
    admin_only(&w)?;
    fields_page(&state, &w, None, field_inputs(None, None, w.locale), vec![], None, StatusCode::OK).await
}

async fn find_field(state: &AppState, w: &WebUser, raw_id: &str) -> WebResult<CustomFieldDef> {
    let id = parse_uuid(raw_id).ok_or(WebError::NotFound(w.locale))?;
    let defs = guanxi_store::custom_fields::list(&state.db, None).await.or_page(w.locale)?;
    defs.into_iter().find(|d| d.id == id).ok_or(WebError::NotFound(w.locale))
}

pub async fn edit_field_form(
    State(state): State<AppState>,
    w: WebUser,
    Path(raw_id): Path<String>,
) -> WebResult<Response> {
    admin_only(&w)?;
    let d = find_field(&state, &w, &raw_id).await?;
    fields_page(&state, &w, Some(&d), field_inputs(Some(&d), None, w.locale), vec![], None, StatusCode::OK).await
}

fn field_input(
    f: &FormData,
    current: Option<&CustomFieldDef>,
    errs: &mut ValidationErrors,
) -> Option<CustomFieldInput> {
    let object = match current {
        Some(d) => Some(d.object),
        None => ObjectType::parse(f.get("object")),
    };
    let kind = match current {
        Some(d) => Some(d.kind),
        None => CustomFieldKind::parse(f.get("kind")),
    };
    if object.is_none() {
        errs.push(FieldError::new("object", "invalid_option", "not an object"));
    }
    if kind.is_none() {
        errs.push(FieldError::new("kind", "invalid_option", "not a kind"));
    }
    let position = match f.get("position").trim() {
        "" => 0,
        p => p.parse::<i32>().unwrap_or_else(|_| {
            errs.push(FieldError::new("position", "invalid_value", "not a whole number"));
            0
        }),
    };
    Some(CustomFieldInput {
        object: object?,
        key: current.map(|d| d.key.clone()).unwrap_or_else(|| f.get("key").trim().to_string()),
        label: f.get("label").to_string(),
        kind: kind?,
        options: super::contacts::split_tags(f.get("options")),
        required: f.checked("required"),
        position,
    })
}

async fn save_field(
    state: &AppState,
    w: &WebUser,
    current: Option<CustomFieldDef>,
    f: FormData,
) -> WebResult<Response> {
    let locale = w.locale;
    let mut errs = ValidationErrors::new();
    let input = field_input(&f, current.as_ref(), &mut errs);
    let result = match input {
        Some(i) if errs.is_empty() => match &current {
            Some(d) => guanxi_store::custom_fields::update(&state.db, d.id, &i).await.map(|_| ()),
            None => guanxi_store::custom_fields::create(&state.db, &i).await.map(|_| ()),
        },
        _ => Err(StoreError::Invalid(errs)),
    };
    let e = match result {
        Ok(()) => return Ok(see_other("/settings/fields")),
        Err(StoreError::Invalid(e)) => e,
        Err(StoreError::Duplicate { .. }) => {
            ValidationErrors::from(FieldError::new("key", "duplicate", "is already in use"))
        }
        Err(e) => return Err(WebError::store(e, locale)),
    };
    let mut ins = field_inputs(current.as_ref(), Some(&f), locale);
    let mut refs: Vec<&mut Input> = ins.iter_mut().collect();
    let other = attach_errors(&mut refs, &e, locale);
    fields_page(state, w, current.as_ref(), ins, other, None, StatusCode::UNPROCESSABLE_ENTITY).await
}

pub async fn create_field(
    State(state): State<AppState>,
    w: WebUser,
    Form(f): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    admin_only(&w)?;
    save_field(&state, &w, None, FormData(f)).await
}

pub async fn update_field(
    State(state): State<AppState>,
    w: WebUser,
    Path(raw_id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    admin_only(&w)?;
    let d = find_field(&state, &w, &raw_id).await?;
    save_field(&state, &w, Some(d), FormData(f)).await
}

/// Deleting asks first (a second post with `confirm=1`): values stored under the field stop being shown.
pub async fn delete_field(
    State(state): State<AppState>,
    w: WebUser,
    Path(raw_id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    admin_only(&w)?;
    let d = find_field(&state, &w, &raw_id).await?;
    if !FormData(f).checked("confirm") {
        return fields_page(&state, &w, None, field_inputs(None, None, w.locale), vec![], Some(&d), StatusCode::OK)
            .await;
    }
    guanxi_store::custom_fields::delete(&state.db, d.id).await.or_page(w.locale)?;
    Ok(see_other("/settings/fields"))
}

// API tokens

pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub scope: &'static str,
    pub created: String,
    pub last_used: String,
    pub revoked: bool,
}

#[derive(askama::Template)]
#[template(path = "settings_tokens.html")]
struct TokensPage {
    cx: Cx,
    tokens: Vec<TokenRow>,
    inputs: Vec<Input>,
    /// The secret of a token just created: shown on this one page and never again.
    new_secret: Option<String>,
}
page!(TokensPage);

fn token_inputs(f: Option<&FormData>, error: Option<&'static str>, locale: Locale) -> Vec<Input> {
    let scope = f.map(|f| f.get("scope").to_string()).unwrap_or_else(|| "read_write".into());
    let mut name =
        Input::text("name", locale.t("settings.token_name"), f.map(|f| f.get("name")).unwrap_or("")).required();
    name.error = error;
    vec![
        name,
        Input::select(
            "scope",
            locale.t("settings.token_scope"),
            vec![
                Opt::new("read_write", locale.t("scope.read_write"), &scope),
                Opt::new("read", locale.t("scope.read"), &scope),
            ],
        ),
    ]
}

async fn tokens_page(
    state: &AppState,
    w: &WebUser,
    inputs: Vec<Input>,
    new_secret: Option<String>,
    status: StatusCode,
) -> WebResult<Response> {
    let locale = w.locale;
    let tokens = accounts::list_tokens(&state.db, w.user.id).await.or_page(locale)?;
    let rows = tokens
        .iter()
        .map(|t| TokenRow {
            id: t.id.to_string(),
            name: t.name.clone(),
            scope: locale.t(&format!("scope.{}", t.scope.as_str())),
            created: locale.datetime(t.created_at),
            last_used: t.last_used_at.map(|d| locale.datetime(d)).unwrap_or_default(),
            revoked: t.revoked_at.is_some(),
        })
        .collect();
    let cx = Cx::for_user(w, "settings", "/settings/tokens", locale.t("settings.tokens").to_string());
    let mut resp = render(status, &TokensPage { cx, tokens: rows, inputs, new_secret });
    // The page with a secret must not be kept by any cache (the layer sets no-store only when absent).
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

pub async fn tokens(State(state): State<AppState>, w: WebUser) -> WebResult<Response> {
    admin_only(&w)?;
    tokens_page(&state, &w, token_inputs(None, None, w.locale), None, StatusCode::OK).await
}

pub async fn create_token(
    State(state): State<AppState>,
    w: WebUser,
    Form(f): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    admin_only(&w)?;
    let locale = w.locale;
    let f = FormData(f);
    let name = match guanxi_core::text_field::required_text(Some(f.get("name")), "name", 100) {
        Ok(n) => n,
        Err(e) => {
            return tokens_page(
                &state,
                &w,
                token_inputs(Some(&f), Some(locale.error(e.code)), locale),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let Some(scope) = TokenScope::parse(f.get("scope")) else {
        return tokens_page(&state, &w, token_inputs(Some(&f), None, locale), None, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    };
    let secret = crate::auth::new_secret();
    accounts::create_token(&state.db, w.user.id, &name, scope, &crate::auth::secret_hash(&secret))
        .await
        .or_page(locale)?;
    tokens_page(&state, &w, token_inputs(None, None, locale), Some(secret), StatusCode::CREATED).await
}

pub async fn revoke_token(
    State(state): State<AppState>,
    w: WebUser,
    Path(raw_id): Path<String>,
) -> WebResult<Response> {
    admin_only(&w)?;
    let id = record_id(&raw_id, &w)?;
    accounts::revoke_token(&state.db, w.user.id, id).await.or_page(w.locale)?;
    state.auth_cache.clear();
    Ok(see_other("/settings/tokens"))
}
