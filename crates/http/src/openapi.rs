//! The OpenAPI 3.1 document served at `/api/openapi.json`.
//!
//! Component schemas come from the domain types (`#[derive(utoipa::ToSchema)]`); the operations of every record
//! type are generated from the same [`Resource`] description the generic handlers use, so the document cannot
//! drift from the routes. `tests` snapshot it.

use crate::api::Resource;
use crate::api::records::{Activities, Companies, Contacts, Orders, Products, Tasks};
use crate::error::Problem;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

fn add_schema<T: ToSchema>(schemas: &mut Map<String, Value>) {
    schemas.insert(T::name().to_string(), serde_json::to_value(T::schema()).unwrap_or(Value::Null));
    let mut nested = Vec::new();
    T::schemas(&mut nested);
    for (name, schema) in nested {
        schemas.insert(name, serde_json::to_value(schema).unwrap_or(Value::Null));
    }
}

fn r(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn problem_responses(codes: &[&str]) -> Map<String, Value> {
    let mut m = Map::new();
    for code in codes {
        let description = match *code {
            "400" => "Malformed request (bad JSON, bad header)",
            "401" => "Not signed in, or the token is invalid",
            "403" => "Not allowed (read-only token, role, or a record you may read but not change)",
            "404" => "No such record, or not visible to the caller",
            "409" => {
                "Conflict: a request with the same Idempotency-Key is still running, possible duplicates with ?duplicates=reject, or the record's state does not allow this (see detail)"
            }
            "412" => "The record changed since it was read; the problem carries `current_version`",
            "413" => "Request body too large",
            "415" => "The body is not JSON",
            "422" => "Invalid input; `errors` lists every field with a code and a message",
            "428" => "If-Match is required",
            "429" => "Too many attempts; see Retry-After",
            _ => "Error",
        };
        m.insert(
            code.to_string(),
            json!({"description": description, "content": {"application/problem+json": {"schema": r("Problem")}}}),
        );
    }
    m
}

fn with_problems(mut ok: Map<String, Value>, codes: &[&str]) -> Value {
    ok.extend(problem_responses(codes));
    Value::Object(ok)
}

fn json_response(code: &str, description: &str, schema: Value) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(code.into(), json!({"description": description, "content": {"application/json": {"schema": schema}}}));
    m
}

fn list_params() -> Value {
    json!([
        {"name": "filter", "in": "query", "description": "Repeatable `FIELD:OP:VALUE` condition, AND-ed. OP is one of eq, ne, lt, gt, between (FROM,TO), contains, in (a,b,c), is_empty (true|false), has_tag. `owner:eq:me` means the caller; `custom.KEY` filters a custom field.", "schema": {"type": "array", "items": {"type": "string"}}, "style": "form", "explode": true},
        {"name": "sort", "in": "query", "description": "A sortable field, `-field` for descending; default newest first.", "schema": {"type": "string"}},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}},
        {"name": "cursor", "in": "query", "description": "`next_cursor` of the previous page.", "schema": {"type": "string"}},
        {"name": "q", "in": "query", "description": "Search text (contacts and companies).", "schema": {"type": "string"}}
    ])
}

fn id_param() -> Value {
    json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}})
}

/// The import routes: preview, start (resumable by content hash), progress, errors, cancel, undo, mappings.
fn add_imports(paths: &mut Map<String, Value>, schemas: &mut Map<String, Value>) {
    add_schema::<guanxi_store::imports::ImportJob>(schemas);
    add_schema::<guanxi_store::imports::ImportRowError>(schemas);
    add_schema::<guanxi_store::imports::UndoSummary>(schemas);
    add_schema::<guanxi_store::imports::SavedMapping>(schemas);
    let tag = ["imports"];
    let file_body = json!({"required": true, "description": "The file itself: CSV (UTF-8 with or without BOM, UTF-16, GBK/GB18030; comma, semicolon or tab) or XLSX",
        "content": {"text/csv": {"schema": {"type": "string"}}, "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}});
    let q = |name: &str, description: &str| json!({"name": name, "in": "query", "description": description, "schema": {"type": "string"}});
    let ty = json!({"name": "type", "in": "query", "description": "orders: one row per order line; consecutive rows with one order number are one order, stored whole or not at all",
        "schema": {"type": "string", "enum": ["contacts", "companies", "products", "orders", "activities"], "default": "contacts"}});
    let mapping =
        q("mapping", "A mapping as JSON: {\"columns\": {\"手机\": \"phone\", …}}; default: proposed from the headers");
    let mapping_name = q("mapping_name", "A saved mapping");
    paths.insert("/api/v1/imports/preview".into(), json!({"post": {"tags": tag, "summary": "Detected encoding and delimiter, the proposed mapping (Chinese/English headers, Zoho/HubSpot/Salesforce presets) and the first 20 rows as they would be stored, with their errors",
        "parameters": [ty, mapping, mapping_name], "requestBody": file_body,
        "responses": with_problems(json_response("200", "Preview", json!({"type": "object"})), &["401", "403", "413", "422"])}}));
    paths.insert("/api/v1/imports".into(), json!({
        "get": {"tags": tag, "summary": "The caller's imports, newest first", "responses": with_problems(json_response("200", "Jobs", json!({"type": "array", "items": r("ImportJob")})), &["401"])},
        "post": {"tags": tag, "summary": "Start an import in the background, or resume the caller's earlier import of the same file (same content hash and policy)",
            "parameters": [ty, mapping, mapping_name,
                {"name": "policy", "in": "query", "schema": {"type": "string", "enum": ["create_only", "update_only", "create_or_update"], "default": "create_only"}},
                {"name": "match", "in": "query", "description": "contacts: external_id, email or phone; companies: external_id, domain or name (compared without 有限公司/Inc./city prefixes); products: sku; orders: number; activities: external_id. Default: the first of these the mapping fills", "schema": {"type": "string", "enum": ["external_id", "email", "phone", "domain", "name", "sku", "number", "none"]}},
                {"name": "dry_run", "in": "query", "schema": {"type": "boolean", "default": false}},
                q("file_name", "Shown in the job list")],
            "requestBody": file_body,
            "responses": with_problems({let mut m = Map::new(); m.insert("202".into(), json!({"description": "Started (or found); `resumed` says whether the job existed", "content": {"application/json": {"schema": r("ImportJob")}}})); m}, &["401", "403", "413", "422"])}
    }));
    paths.insert("/api/v1/imports/{id}".into(), json!({"get": {"tags": tag, "summary": "Progress: rows done, created, updated, rejected, rows per second", "parameters": [id_param()],
        "responses": with_problems(json_response("200", "The job", r("ImportJob")), &["401", "404"])}}));
    paths.insert("/api/v1/imports/{id}/errors".into(), json!({"get": {"tags": tag, "summary": "Every rejected row with its line, column and reason", "parameters": [id_param(),
            {"name": "after_line", "in": "query", "schema": {"type": "integer"}}, {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 5000, "default": 500}}],
        "responses": with_problems(json_response("200", "Errors in line order", json!({"type": "object", "properties": {"items": {"type": "array", "items": r("ImportRowError")}, "next_after_line": {"type": ["integer", "null"]}}})), &["401", "404", "422"])}}));
    paths.insert("/api/v1/imports/{id}/cancel".into(), json!({"post": {"tags": tag, "summary": "Stop after the current batch (committed rows stay and can be undone). Refused (409) once the import has ended or is being cancelled; the detail says why.", "parameters": [id_param()],
        "responses": with_problems(json_response("200", "The job", r("ImportJob")), &["401", "403", "404", "409"])}}));
    paths.insert("/api/v1/imports/{id}/undo".into(), json!({"post": {"tags": tag, "summary": "Remove the records the import created and restore those it updated (records changed since are kept). Refused (409) while the import is queued or running, once it is undone, and for a dry run; the detail says why.", "parameters": [id_param()],
        "responses": with_problems(json_response("200", "What was undone", r("UndoSummary")), &["401", "403", "404", "409"])}}));
    paths.insert("/api/v1/imports/mappings".into(), json!({"get": {"tags": tag, "parameters": [ty], "responses": with_problems(json_response("200", "Saved mappings", json!({"type": "array", "items": r("SavedMapping")})), &["401", "422"])}}));
    paths.insert("/api/v1/imports/mappings/{name}".into(), json!({"put": {"tags": tag, "summary": "Save a mapping under a name", "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}, ty],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "properties": {"columns": {"type": "object", "additionalProperties": {"type": "string"}}, "date_order": {"type": "string", "enum": ["month_first", "day_first"]}}}}}},
        "responses": with_problems(json_response("200", "Saved", r("SavedMapping")), &["401", "403", "415", "422"])}}));
}

/// `GET /api/v1/{path}/export`: the list parameters (without paging) plus `format`.
fn add_export(paths: &mut Map<String, Value>, path: &str, vcard: bool) {
    let mut params: Vec<Value> = list_params()
        .as_array()
        .map(|a| a.iter().filter(|p| p["name"] != "limit" && p["name"] != "cursor").cloned().collect())
        .unwrap_or_default();
    let formats: Vec<&str> = if vcard { vec!["csv", "xlsx", "jsonl", "vcard"] } else { vec!["csv", "xlsx", "jsonl"] };
    params.push(
        json!({"name": "format", "in": "query", "schema": {"type": "string", "enum": formats, "default": "csv"}}),
    );
    let mut ok = Map::new();
    ok.insert(
        "200".into(),
        json!({"description": "Every matching record the caller can see, streamed. CSV is UTF-8 with a BOM; cells a spreadsheet would run as a formula start with '. Orders have one row per line.",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {"type": "string", "format": "binary"}},
                "application/jsonl": {"schema": {"type": "string"}},
                "text/vcard": {"schema": {"type": "string"}}
            }}),
    );
    paths.insert(
        format!("/api/v1/{path}/export"),
        json!({"get": {"tags": [path], "operationId": format!("export_{path}"), "summary": format!("Export {path} (same filters as the list)"),
            "parameters": params, "responses": with_problems(ok, &["401", "422"])}}),
    );
}

fn add_resource<R: Resource>(paths: &mut Map<String, Value>, schemas: &mut Map<String, Value>, batch: bool) {
    add_schema::<R::Record>(schemas);
    add_schema::<R::Input>(schemas);
    let rec = R::Record::name().to_string();
    let input = R::Input::name().to_string();
    let tag = R::PATH;
    let page = json!({"type": "object", "required": ["items", "total", "total_is_estimate"], "properties": {
        "items": {"type": "array", "items": r(&rec)},
        "next_cursor": {"type": ["string", "null"]},
        "total": {"type": "integer", "description": "Exact up to 10,000; beyond that 10,000 with total_is_estimate"},
        "total_is_estimate": {"type": "boolean"}
    }});
    let mut delete_op = json!({"tags": [tag], "operationId": format!("delete_{}", R::PATH),
        "parameters": [{"name": "If-Match", "in": "header", "required": false, "schema": {"type": "string"}}],
        "responses": with_problems({let mut m = Map::new(); m.insert("204".into(), json!({"description": "Deleted"})); m},
            if R::DELETE_CONFLICT.is_some() { &["401", "403", "404", "409", "412"] } else { &["401", "403", "404", "412"] })});
    if let Some(why) = R::DELETE_CONFLICT {
        delete_op["description"] = json!(why);
    }
    let idem = json!({"name": "Idempotency-Key", "in": "header", "description": "A retry with the same key returns the first response instead of writing again.", "schema": {"type": "string", "maxLength": 255}});
    paths.insert(
        format!("/api/v1/{}", R::PATH),
        json!({
            "get": {"tags": [tag], "operationId": format!("list_{}", R::PATH), "summary": format!("List {} the caller can see", R::PATH),
                    "parameters": list_params(), "responses": with_problems(json_response("200", "A page", page), &["401", "422"])},
            "post": {"tags": [tag], "operationId": format!("create_{}", R::PATH), "summary": format!("Create one of {}", R::PATH),
                     "parameters": [idem.clone(), {"name": "duplicates", "in": "query", "description": "Contacts and companies are checked for look-alikes: `warn` (default) creates and lists their ids in the Possible-Duplicates response header; `reject` answers 409 instead of creating.", "schema": {"enum": ["warn", "reject"], "default": "warn"}}],
                     "requestBody": {"required": true, "content": {"application/json": {"schema": r(&input)}}},
                     "responses": with_problems(json_response("201", "Created; ETag carries the version", r(&rec)), &["400", "401", "403", "409", "413", "415", "422"])}
        }),
    );
    if batch {
        paths.insert(
            format!("/api/v1/{}/batch", R::PATH),
            json!({"post": {"tags": [tag], "operationId": format!("batch_create_{}", R::PATH),
                "summary": "Create up to 1,000 records, all or nothing; errors are reported per record under items/<index>/…",
                "parameters": [idem],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "maxItems": 1000, "items": r(&input)}}}}}},
                "responses": with_problems(json_response("201", "Created", json!({"type": "object", "properties": {"items": {"type": "array", "items": r(&rec)}}})), &["400", "401", "403", "409", "413", "415", "422"])}}),
        );
    }
    let if_match = json!({"name": "If-Match", "in": "header", "required": true, "description": "The ETag (version) the change is based on.", "schema": {"type": "string"}});
    paths.insert(
        format!("/api/v1/{}/{{id}}", R::PATH),
        json!({
            "parameters": [id_param()],
            "get": {"tags": [tag], "operationId": format!("get_{}", R::PATH), "responses": with_problems(json_response("200", "The record; ETag carries the version", r(&rec)), &["401", "404"])},
            "patch": {"tags": [tag], "operationId": format!("update_{}", R::PATH), "summary": "JSON Merge Patch (RFC 7396) of the writable fields",
                      "parameters": [if_match],
                      "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
                      "responses": with_problems(json_response("200", "Updated", r(&rec)), &["400", "401", "403", "404", "412", "415", "422", "428"])},
            "delete": delete_op
        }),
    );
}

pub fn document() -> Value {
    let mut paths = Map::new();
    let mut schemas = Map::new();
    add_schema::<Problem>(&mut schemas);
    add_resource::<Contacts>(&mut paths, &mut schemas, true);
    add_resource::<Companies>(&mut paths, &mut schemas, true);
    add_resource::<Products>(&mut paths, &mut schemas, true);
    add_resource::<Orders>(&mut paths, &mut schemas, true);
    add_resource::<Activities>(&mut paths, &mut schemas, true);
    add_resource::<Tasks>(&mut paths, &mut schemas, false);
    add_imports(&mut paths, &mut schemas);
    for (path, vcard) in
        [("contacts", true), ("companies", false), ("products", false), ("orders", false), ("activities", false)]
    {
        add_export(&mut paths, path, vcard);
    }
    add_schema::<guanxi_core::activity::TimelineEntry>(&mut schemas);
    add_schema::<guanxi_core::custom_field::CustomFieldDef>(&mut schemas);
    add_schema::<guanxi_core::custom_field::CustomFieldInput>(&mut schemas);
    add_schema::<crate::api::accounts::TokenRequest>(&mut schemas);
    add_schema::<crate::api::accounts::TokenResponse>(&mut schemas);

    let timeline = json!({"get": {"tags": ["timeline"], "parameters": [id_param(),
            {"name": "kind", "in": "query", "description": "Comma-separated activity kinds", "schema": {"type": "string"}},
            {"name": "orders", "in": "query", "schema": {"type": "boolean", "default": true}},
            {"name": "before", "in": "query", "description": "next_cursor of the previous page", "schema": {"type": "string"}},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 200, "default": 50}}],
        "responses": with_problems(json_response("200", "Activities and orders, newest first", json!({"type": "object", "properties": {"items": {"type": "array", "items": r("TimelineEntry")}, "next_cursor": {"type": ["string", "null"]}}})), &["401", "404", "422"])}});
    paths.insert("/api/v1/contacts/{id}/timeline".into(), timeline.clone());
    paths.insert("/api/v1/companies/{id}/timeline".into(), timeline);
    paths.insert(
        "/api/v1/tasks/reminders".into(),
        json!({"get": {"tags": ["tasks"], "summary": "The caller's open tasks whose reminder is due", "responses": with_problems(json_response("200", "Tasks", json!({"type": "array", "items": r("Task")})), &["401"])}}),
    );
    paths.insert(
        "/api/v1/search".into(),
        json!({"get": {"tags": ["search"], "summary": "Ranked search across contacts and companies: Chinese names (also 2 characters), Latin prefixes, emails, phone numbers by their last 4+ digits",
            "parameters": [{"name": "q", "in": "query", "required": true, "schema": {"type": "string"}}, {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 100, "default": 20}}],
            "responses": with_problems(json_response("200", "Matches with a score", json!({"type": "object", "properties": {
                "contacts": {"type": "array", "items": {"allOf": [r("Contact"), {"type": "object", "properties": {"score": {"type": "integer"}}}]}},
                "companies": {"type": "array", "items": {"allOf": [r("Company"), {"type": "object", "properties": {"score": {"type": "integer"}}}]}}}})), &["401", "422"])}}),
    );
    paths.insert(
        "/api/v1/auth/token".into(),
        json!({"post": {"tags": ["auth"], "security": [], "summary": "Exchange email and password for a bearer token (throttled after 5 failures in 15 minutes)",
            "requestBody": {"required": true, "content": {"application/json": {"schema": r("TokenRequest")}}},
            "responses": with_problems(json_response("201", "The token, shown once", r("TokenResponse")), &["400", "401", "422", "429"])}}),
    );
    paths.insert("/api/v1/me".into(), json!({"get": {"tags": ["auth"], "responses": with_problems(json_response("200", "The signed-in user", json!({"type": "object"})), &["401"])}}));
    paths.insert(
        "/api/v1/tokens".into(),
        json!({"get": {"tags": ["auth"], "summary": "The caller's API tokens (never their secrets)", "responses": with_problems(json_response("200", "Tokens", json!({"type": "array", "items": {"type": "object"}})), &["401"])},
               "post": {"tags": ["auth"], "summary": "Create a token; the secret is shown once", "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "scope": {"enum": ["read", "read_write"]}}}}}},
                        "responses": with_problems(json_response("201", "Created", r("TokenResponse")), &["401", "403", "422"])}}),
    );
    paths.insert("/api/v1/tokens/{id}".into(), json!({"delete": {"tags": ["auth"], "summary": "Revoke a token", "parameters": [id_param()], "responses": with_problems({let mut m = Map::new(); m.insert("204".into(), json!({"description": "Revoked"})); m}, &["401", "404"])}}));
    paths.insert(
        "/api/v1/users".into(),
        json!({"get": {"tags": ["admin"], "responses": with_problems(json_response("200", "Users", json!({"type": "array", "items": {"type": "object"}})), &["401"])},
               "post": {"tags": ["admin"], "summary": "Add a user (admins)", "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["email", "display_name", "password", "role"], "properties": {"email": {"type": "string"}, "display_name": {"type": "string"}, "password": {"type": "string", "minLength": 10}, "role": {"enum": ["admin", "manager", "member"]}, "team_id": {"type": ["string", "null"], "format": "uuid"}, "locale": {"type": ["string", "null"]}}}}}},
                        "responses": with_problems(json_response("201", "Created", json!({"type": "object"})), &["401", "403", "422"])}}),
    );
    paths.insert(
        "/api/v1/teams".into(),
        json!({"get": {"tags": ["admin"], "responses": with_problems(json_response("200", "Teams", json!({"type": "array", "items": {"type": "object"}})), &["401"])},
               "post": {"tags": ["admin"], "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}}}}, "responses": with_problems(json_response("201", "Created", json!({"type": "object"})), &["401", "403", "422"])}}),
    );
    paths.insert(
        "/api/v1/custom-fields".into(),
        json!({"get": {"tags": ["admin"], "parameters": [{"name": "object", "in": "query", "schema": {"enum": ["contact", "company", "product", "order"]}}], "responses": with_problems(json_response("200", "Definitions", json!({"type": "array", "items": r("CustomFieldDef")})), &["401", "422"])},
               "post": {"tags": ["admin"], "requestBody": {"required": true, "content": {"application/json": {"schema": r("CustomFieldInput")}}}, "responses": with_problems(json_response("201", "Created", r("CustomFieldDef")), &["401", "403", "422"])}}),
    );
    paths.insert("/api/v1/custom-fields/{id}".into(), json!({"delete": {"tags": ["admin"], "parameters": [id_param()], "responses": with_problems({let mut m = Map::new(); m.insert("204".into(), json!({"description": "Deleted"})); m}, &["401", "403", "404"])}}));
    paths.insert("/healthz".into(), json!({"get": {"tags": ["operations"], "security": [], "responses": {"200": {"description": "The database answers"}, "503": {"description": "The database does not answer"}}}}));
    add_analytics(&mut paths, &mut schemas);
    add_dedup(&mut paths, &mut schemas);
    paths.insert("/livez".into(), json!({"get": {"tags": ["operations"], "security": [], "responses": {"200": {"description": "The process is up"}}}}));

    json!({
        "openapi": "3.1.0",
        "info": {"title": "Guanxi API", "version": env!("CARGO_PKG_VERSION"), "description": "The JSON API of Guanxi (关系), a self-hosted CRM.", "license": {"name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later"}},
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "A token from POST /api/v1/auth/token or POST /api/v1/tokens"}}}
    })
}

/// The customer analytics routes (`crate::api::analytics`) and their schemas, written out by hand because the
/// store's metrics and run types carry no schema derive.
fn add_analytics(paths: &mut Map<String, Value>, schemas: &mut Map<String, Value>) {
    let tiers = json!(["vip", "important", "ordinary"]);
    let stages = json!(["prospect", "first_time", "repeat", "loyal", "churned"]);
    let segments = json!([
        "champions",
        "loyal",
        "potential_loyalists",
        "new_customers",
        "promising",
        "need_attention",
        "about_to_sleep",
        "at_risk",
        "cannot_lose",
        "hibernating",
        "lost"
    ]);
    let reason = json!({"type": "object", "description": "Why, with a stable code and parameters for translation and an English text",
        "properties": {"code": {"type": "string"}, "params": {"type": "object", "additionalProperties": {"type": "string"}}, "text": {"type": "string"}}});
    schemas.insert("AnalyticsReason".into(), reason);
    let int_or_null = json!({"type": ["integer", "null"]});
    let num_or_null = json!({"type": ["number", "null"]});
    let date = json!({"type": "string", "format": "date"});
    let date_or_null = json!({"type": ["string", "null"], "format": "date"});
    schemas.insert("CustomerMetrics".into(), json!({"type": "object",
        "required": ["contact_id", "as_of", "frequency", "monetary_total_minor", "monetary_mean_minor", "tier", "tier_reason",
                     "lifecycle_stage", "stage_since", "stage_reason", "churn_reasons", "recommendations", "run_id", "updated_at"],
        "properties": {
            "contact_id": {"type": "string", "format": "uuid"},
            "as_of": date, "first_order_on": date_or_null, "last_order_on": date_or_null,
            "recency_days": int_or_null, "frequency": {"type": "integer", "description": "Paid order-days"},
            "monetary_total_minor": {"type": "integer"}, "monetary_mean_minor": {"type": "integer"},
            "r_score": int_or_null, "f_score": int_or_null, "m_score": int_or_null,
            "rfm_segment": {"type": ["string", "null"], "enum": segments.as_array().cloned().unwrap_or_default().into_iter().chain([Value::Null]).collect::<Vec<_>>()},
            "tier": {"type": "string", "enum": tiers},
            "tier_rule": {"type": ["integer", "null"], "description": "Index into the run's params.tier_rules; null for the Ordinary fallback"},
            "tier_reason": r("AnalyticsReason"),
            "lifecycle_stage": {"type": "string", "enum": stages},
            "stage_since": date, "stage_reason": r("AnalyticsReason"),
            "p_alive": num_or_null, "expected_purchases_90d": num_or_null,
            "predicted_clv_12m_minor": int_or_null,
            "churn_risk": {"type": ["number", "null"], "description": "Probability of no purchase in the next 90 days"},
            "churn_reasons": {"type": "array", "maxItems": 3, "items": r("AnalyticsReason")},
            "cluster": int_or_null,
            "recommendations": {"type": "array", "items": {"type": "object", "properties": {
                "product_id": {"type": ["string", "null"], "format": "uuid"}, "name": {"type": "string"},
                "confidence": {"type": "number"}, "lift": {"type": "number"}, "support": {"type": "number"}, "reason": r("AnalyticsReason")}}},
            "run_id": {"type": "string", "format": "uuid"},
            "updated_at": {"type": "string", "format": "date-time"}
        }}));
    schemas.insert("ModelRun".into(), json!({"type": "object", "required": ["id", "started_at", "customers", "orders", "params", "status"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "started_at": {"type": "string", "format": "date-time"}, "finished_at": {"type": ["string", "null"], "format": "date-time"},
            "duration_ms": int_or_null, "data_from": date_or_null, "data_to": date_or_null,
            "customers": {"type": "integer"}, "orders": {"type": "integer"},
            "params": {"type": "object", "description": "as_of, models (bgnbd, gamma_gamma, churn, clusters, cross_sell: status, fitted parameters, standard errors, log-likelihoods, AUC/Brier, cluster profiles, or the reason a model could not be fitted), tier_rules, lifecycle_rules, association_rules, stage_counts, tier_counts"},
            "status": {"type": "string", "enum": ["running", "succeeded", "insufficient_data", "failed"]},
            "error": {"type": ["string", "null"]}
        }}));
    let tag = json!(["analytics"]);
    paths.insert("/api/v1/contacts/{id}/metrics".into(), json!({"get": {"tags": tag, "summary": "A contact's RFM, tier, lifecycle stage, CLV, churn risk, cluster and recommendations from the latest analysis",
        "parameters": [id_param()],
        "responses": with_problems(json_response("200", "The metrics", r("CustomerMetrics")), &["401", "404"])}}));
    paths.insert("/api/v1/contacts/{id}/metrics/explain".into(), json!({"get": {"tags": tag, "summary": "The contact's metrics in plain words: tier rule, stage rule, top three churn reasons, recommendation reasons",
        "parameters": [id_param()],
        "responses": with_problems(json_response("200", "Explanations", json!({"type": "object", "properties": {
            "contact_id": {"type": "string", "format": "uuid"}, "as_of": {"type": "string", "format": "date"},
            "tier": {"type": "object"}, "stage": {"type": "object"}, "churn": {"type": "object"}, "value": {"type": "object"},
            "recommendations": {"type": "array", "items": {"type": "object"}}}})), &["401", "404"])}}));
    paths.insert("/api/v1/analytics/metrics".into(), json!({"get": {"tags": tag, "summary": "Metrics of the contacts the caller can see, by contact id",
        "parameters": [
            {"name": "tier", "in": "query", "schema": {"type": "string", "enum": ["vip", "important", "ordinary"]}},
            {"name": "stage", "in": "query", "schema": {"type": "string", "enum": ["prospect", "first_time", "repeat", "loyal", "churned"]}},
            {"name": "segment", "in": "query", "schema": {"type": "string", "enum": segments}},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}},
            {"name": "cursor", "in": "query", "description": "`next_cursor` of the previous page.", "schema": {"type": "string"}}],
        "responses": with_problems(json_response("200", "A page", json!({"type": "object", "required": ["items", "total", "total_is_estimate"], "properties": {
            "items": {"type": "array", "items": r("CustomerMetrics")}, "next_cursor": {"type": ["string", "null"]},
            "total": {"type": "integer"}, "total_is_estimate": {"type": "boolean"}}})), &["401", "422"])}}));
    paths.insert(
        "/api/v1/analytics/runs/latest".into(),
        json!({"get": {"tags": tag, "summary": "The most recent analysis run, with fitted parameters and model quality",
        "responses": with_problems(json_response("200", "The run", r("ModelRun")), &["401", "404"])}}),
    );
    paths.insert("/api/v1/analytics/rules".into(), json!({"get": {"tags": tag, "summary": "Cross-sell association rules of the latest completed run, strongest first",
        "responses": with_problems(json_response("200", "Rules", json!({"type": "object", "properties": {"run_id": {"type": "string", "format": "uuid"},
            "items": {"type": "array", "items": {"type": "object", "properties": {
                "antecedent": {"type": "array", "items": {"type": "object", "properties": {"product_id": {"type": ["string", "null"], "format": "uuid"}, "name": {"type": "string"}}}},
                "consequent": {"type": "array", "items": {"type": "object", "properties": {"product_id": {"type": ["string", "null"], "format": "uuid"}, "name": {"type": "string"}}}},
                "support": {"type": "number"}, "confidence": {"type": "number"}, "lift": {"type": "number"}, "count": {"type": "integer"}}}}}})), &["401", "404"])}}));
    paths.insert("/api/v1/analytics/clusters".into(), json!({"get": {"tags": tag, "summary": "Customer clusters of the latest completed run, largest first, described in business terms",
        "responses": with_problems(json_response("200", "Clusters", json!({"type": "object", "properties": {"run_id": {"type": "string", "format": "uuid"}, "k": {"type": ["integer", "null"]},
            "items": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "integer"}, "size": {"type": "integer"}, "share": {"type": "number"},
                "median_spend_minor": {"type": "integer"}, "median_orders": {"type": "number"}, "median_recency_days": {"type": "number"}, "description": {"type": "string"}}}}}})), &["401", "404"])}}));
    paths.insert(
        "/api/v1/analytics/run".into(),
        json!({"post": {"tags": tag, "summary": "Run the analysis now (admins); answers when it has finished",
        "responses": with_problems(json_response("200", "The finished run", r("ModelRun")), &["401", "403", "409"])}}),
    );
}

/// The duplicate and merge routes (`crate::api::dedup`), written out by hand like the analytics ones.
fn add_dedup(paths: &mut Map<String, Value>, schemas: &mut Map<String, Value>) {
    let uuid = json!({"type": "string", "format": "uuid"});
    let ts = json!({"type": "string", "format": "date-time"});
    let object_q =
        json!({"name": "object", "in": "query", "required": true, "schema": {"enum": ["contacts", "companies"]}});
    let lang_q = json!({"name": "lang", "in": "query", "description": "Language of reason texts (zh or en); else Accept-Language, else English.", "schema": {"enum": ["zh", "en"]}});
    schemas.insert("DuplicateReason".into(), json!({"type": "object", "required": ["code", "text"],
        "description": "Why two records look like one customer: a stable code, the values that matched, and a sentence",
        "properties": {"code": {"enum": ["same_email", "same_phone", "same_name", "traditional_simplified_name", "pinyin_name",
            "similar_name", "same_company", "same_birthday", "same_email_domain", "same_city", "same_domain",
            "same_company_name", "similar_company_name"]}, "text": {"type": "string"}},
        "additionalProperties": {"type": ["string", "integer"]}}));
    schemas.insert("DuplicateScan".into(), json!({"type": "object", "required": ["id", "object", "status", "phase", "progress_done", "progress_total", "started_at", "records", "compared", "pairs", "oversized_blocks"],
        "description": "A scan job. While it runs, records, compared and pairs grow and phase/progress_done/progress_total say how far the current phase is; a running scan whose process stopped (no heartbeat for 30 s) shows as failed.",
        "properties": {"id": uuid, "object": {"enum": ["contact", "company"]}, "status": {"enum": ["running", "succeeded", "failed"]},
            "phase": {"enum": ["reading", "comparing", "writing", "done"]},
            "progress_done": {"type": "integer", "description": "Units of the current phase done: records read, pairs compared or candidates written"},
            "progress_total": {"type": "integer", "description": "Units of the current phase in all"},
            "started_by": {"type": ["string", "null"], "format": "uuid"}, "started_at": ts, "finished_at": {"type": ["string", "null"], "format": "date-time"},
            "heartbeat_at": {"type": ["string", "null"], "format": "date-time", "description": "Last progress written by the process running the scan"},
            "records": {"type": "integer"}, "compared": {"type": "integer", "description": "Pairs compared after blocking"},
            "pairs": {"type": "integer"}, "oversized_blocks": {"type": "integer", "description": "Blocking keys shared by too many records to be evidence (placeholder emails, switchboards)"},
            "duration_ms": {"type": ["integer", "null"]}, "error": {"type": ["string", "null"]}}}));
    schemas.insert("DuplicateCandidate".into(), json!({"type": "object", "required": ["id", "object", "score", "status", "reasons", "records"],
        "properties": {"id": uuid, "object": {"enum": ["contact", "company"]}, "score": {"type": "integer", "minimum": 0, "maximum": 100},
            "status": {"enum": ["open", "dismissed", "merged"]}, "reasons": {"type": "array", "items": r("DuplicateReason")},
            "records": {"type": "array", "minItems": 2, "maxItems": 2, "description": "Older first (the default survivor)", "items": {"type": "object",
                "properties": {"id": uuid, "name": {"type": "string"}, "detail": {"type": ["string", "null"]}, "version": {"type": "integer"}}}},
            "created_at": ts}}));
    let choice = json!({"enum": ["survivor", "merged"]});
    schemas.insert("MergeInput".into(), json!({"type": "object", "required": ["survivor_id", "merged_id"],
        "properties": {"survivor_id": uuid, "merged_id": uuid,
            "fields": {"type": "object", "additionalProperties": choice, "description": "Field (or custom.KEY) -> whose value wins. Unnamed fields keep the survivor's value, or take the merged record's where the survivor has none. Emails, phones and tags are always combined (for emails and phones the choice says whose primary stays primary)."},
            "candidate_id": {"type": ["string", "null"], "format": "uuid"},
            "survivor_version": {"type": ["integer", "null"]}, "merged_version": {"type": ["integer", "null"]}}}));
    schemas.insert("Merge".into(), json!({"type": "object", "required": ["id", "object", "survivor_id", "merged_id", "merged_at", "fields", "survivor_version", "moved", "merged_record"],
        "properties": {"id": uuid, "object": {"enum": ["contact", "company"]}, "survivor_id": uuid, "merged_id": uuid,
            "candidate_id": {"type": ["string", "null"], "format": "uuid"}, "merged_by": {"type": ["string", "null"], "format": "uuid"}, "merged_at": ts,
            "fields": {"type": "object", "additionalProperties": choice}, "survivor_version": {"type": "integer", "description": "The survivor's version right after the merge; undo needs it unchanged"},
            "moved": {"type": "object", "properties": {"orders": {"type": "integer"}, "activities": {"type": "integer"}, "tasks": {"type": "integer"}, "contacts": {"type": "integer"}, "metrics": {"type": "boolean"}}},
            "merged_record": {"type": "object", "description": "The merged-away record as it was"},
            "undone_at": {"type": ["string", "null"], "format": "date-time"}, "undone_by": {"type": ["string", "null"], "format": "uuid"}}}));
    let page = |item: Value| {
        json!({"type": "object", "required": ["items", "total", "total_is_estimate"], "properties": {
        "items": {"type": "array", "items": item}, "next_cursor": {"type": ["string", "null"]}, "total": {"type": "integer"}, "total_is_estimate": {"type": "boolean"}}})
    };
    let tag = json!(["duplicates"]);
    paths.insert("/api/v1/dedup/scans".into(), json!({
        "get": {"tags": tag, "summary": "The latest duplicate scans of contacts or companies", "parameters": [object_q],
                "responses": with_problems(json_response("200", "Scans, newest first", json!({"type": "array", "items": r("DuplicateScan")})), &["401", "422"])},
        "post": {"tags": tag, "summary": "Start a background scan of every contact or company for duplicate pairs (admins and managers); poll the scan at its Location. 409 while a scan of the same records runs.",
                 "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["object"], "properties": {"object": {"enum": ["contacts", "companies"]}}}}}},
                 "responses": with_problems(json_response("202", "The scan, running", r("DuplicateScan")), &["401", "403", "409", "422"])}}));
    paths.insert(
        "/api/v1/dedup/scans/{id}".into(),
        json!({"get": {"tags": tag, "summary": "One scan with its progress",
        "parameters": [id_param()],
        "responses": with_problems(json_response("200", "The scan", r("DuplicateScan")), &["401", "404"])}}),
    );
    paths.insert("/api/v1/dedup/candidates".into(), json!({"get": {"tags": tag, "summary": "Candidate pairs whose two records the caller can see, best first",
        "parameters": [object_q, {"name": "status", "in": "query", "schema": {"enum": ["open", "dismissed", "merged"], "default": "open"}},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}},
            {"name": "cursor", "in": "query", "schema": {"type": "string"}}, lang_q],
        "responses": with_problems(json_response("200", "A page", page(r("DuplicateCandidate"))), &["401", "422"])}}));
    paths.insert(
        "/api/v1/dedup/candidates/{id}".into(),
        json!({"get": {"tags": tag, "parameters": [id_param(), lang_q],
        "responses": with_problems(json_response("200", "The pair", r("DuplicateCandidate")), &["401", "404"])}}),
    );
    paths.insert("/api/v1/dedup/candidates/{id}/dismiss".into(), json!({"post": {"tags": tag, "summary": "Not a duplicate: later scans will not offer the pair again (needs change rights on both records)",
        "parameters": [id_param(), lang_q],
        "responses": with_problems(json_response("200", "The dismissed pair", r("DuplicateCandidate")), &["401", "403", "404", "409"])}}));
    paths.insert("/api/v1/dedup/candidates/merge".into(), json!({"post": {"tags": tag, "summary": "Merge up to 100 candidate pairs, each in its own transaction; every item reports its own outcome",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "maxItems": 100, "items": {"type": "object", "required": ["candidate_id"], "properties": {
            "candidate_id": uuid, "survivor_id": {"type": ["string", "null"], "format": "uuid", "description": "Default: the older record"}, "fields": {"type": "object", "additionalProperties": choice}}}}}}}}},
        "responses": with_problems(json_response("200", "One outcome per item", json!({"type": "array", "items": {"type": "object", "properties": {
            "candidate_id": uuid, "status": {"type": "integer"}, "merge": r("Merge"), "problem": r("Problem")}}})), &["401", "403", "422"])}}));
    paths.insert("/api/v1/dedup/check".into(), json!({"post": {"tags": tag, "summary": "Visible records that look like a record about to be created (forms and import warn with it)",
        "parameters": [lang_q],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["object", "record"], "properties": {
            "object": {"enum": ["contacts", "companies"]}, "record": {"oneOf": [r("ContactInput"), r("CompanyInput")]}, "exclude_id": {"type": ["string", "null"], "format": "uuid"}}}}}},
        "responses": with_problems(json_response("200", "Look-alikes with score and reasons", json!({"type": "object", "properties": {
            "contacts": {"type": "array", "items": {"type": "object", "properties": {"record": r("Contact"), "score": {"type": "integer"}, "reasons": {"type": "array", "items": r("DuplicateReason")}}}},
            "companies": {"type": "array", "items": {"type": "object", "properties": {"record": r("Company"), "score": {"type": "integer"}, "reasons": {"type": "array", "items": r("DuplicateReason")}}}}}})), &["401", "422"])}}));
    for (path, rec) in [("contacts", "Contact"), ("companies", "Company")] {
        paths.insert(format!("/api/v1/{path}/merge"), json!({"post": {"tags": tag, "summary": format!("Merge one of {path} into another: links move to the survivor, the merge is logged and can be undone"),
            "requestBody": {"required": true, "content": {"application/json": {"schema": r("MergeInput")}}},
            "responses": with_problems(json_response("201", "The log entry and the survivor", json!({"type": "object", "properties": {"merge": r("Merge"), "survivor": r(rec)}})), &["400", "401", "403", "404", "412", "422"])}}));
    }
    paths.insert("/api/v1/merges".into(), json!({"get": {"tags": tag, "summary": "The merge log, newest first (admins: all; others: their merges and those whose survivor they can see)",
        "parameters": [{"name": "object", "in": "query", "schema": {"enum": ["contacts", "companies"]}},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}},
            {"name": "cursor", "in": "query", "schema": {"type": "string"}}],
        "responses": with_problems(json_response("200", "A page; total counts this page, total_is_estimate says more follow", page(r("Merge"))), &["401", "422"])}}));
    paths.insert(
        "/api/v1/merges/{id}".into(),
        json!({"get": {"tags": tag, "parameters": [id_param()],
        "responses": with_problems(json_response("200", "The log entry", r("Merge")), &["401", "404"])}}),
    );
    paths.insert("/api/v1/merges/{id}/undo".into(), json!({"post": {"tags": tag, "summary": "Undo a merge: the merged record returns with its id and links, the survivor gets its old values. Refused (409) once the survivor changed after the merge or a moved link was deleted or moved since.",
        "parameters": [id_param()],
        "responses": with_problems(json_response("200", "The log entry, now undone", r("Merge")), &["401", "403", "404", "409"])}}));
}

#[cfg(test)]
mod tests {
    #[test]
    fn openapi_document_snapshot() {
        insta::assert_json_snapshot!("openapi", super::document());
    }

    #[test]
    fn every_schema_reference_resolves() {
        let doc = super::document();
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for part in text.split("\"#/components/schemas/").skip(1) {
            let name = &part[..part.find('"').unwrap()];
            assert!(schemas.contains_key(name), "dangling $ref to {name}");
        }
    }
}
