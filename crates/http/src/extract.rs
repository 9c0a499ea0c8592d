//! Request extractors that turn every malformed input into a problem+json answer, never a panic or a 500.

use crate::error::ApiError;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use guanxi_core::FieldError;
use serde::de::DeserializeOwned;

/// A JSON body: checks the content type, reads at most the route's body limit, and reports a bad field by its
/// path (`emails/0/address`) as a 422 with field errors; syntax errors and invalid UTF-8 are 400.
pub struct JsonBody<T>(pub T, pub bytes::Bytes);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if !(mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))) {
            return Err(ApiError::UnsupportedMediaType("send the body as application/json"));
        }
        let bytes = bytes::Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::BadRequest("could not read the request body".into())
            }
        })?;
        let value = parse_json::<T>(&bytes)?;
        Ok(JsonBody(value, bytes))
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    // serde_json's own recursion limit (128) guards against deeply nested bodies.
    let result: Result<T, _> = serde_path_to_error::deserialize(&mut de);
    match result {
        Ok(v) => {
            de.end().map_err(|e| ApiError::BadRequest(format!("invalid JSON after the value: {e}")))?;
            Ok(v)
        }
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            use serde_json::error::Category;
            match inner.classify() {
                Category::Data => {
                    let field = json_pointerish(&path);
                    let msg = short_serde_message(&inner.to_string());
                    let code = if msg.starts_with("unknown field") { "unknown_field" } else { "invalid_type" };
                    Err(ApiError::Invalid(FieldError::new(field, code, msg).into()))
                }
                Category::Syntax | Category::Eof | Category::Io => {
                    Err(ApiError::BadRequest(format!("the body is not valid JSON: {inner}")))
                }
            }
        }
    }
}

/// `emails[0].address` -> `emails/0/address`; `.` (the root) -> ``.
fn json_pointerish(path: &str) -> String {
    if path == "." {
        return String::new();
    }
    path.replace('[', "/").replace("].", "/").replace(']', "").replace('.', "/")
}

/// serde's messages end with " at line 1 column 42"; the field path already says where.
fn short_serde_message(m: &str) -> String {
    let m = match m.rfind(" at line ") {
        Some(i) => &m[..i],
        None => m,
    };
    // Never echo more than a little of the input back.
    m.chars().take(300).collect()
}

/// The version from `If-Match: "3"` (also `W/"3"` and a bare `3`); absent -> None.
pub struct IfMatch(pub Option<i64>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let Some(v) = parts.headers.get(header::IF_MATCH) else { return Ok(IfMatch(None)) };
        let s = v.to_str().map_err(|_| ApiError::BadRequest("If-Match must be an ETag such as \"3\"".into()))?.trim();
        let s = s.strip_prefix("W/").unwrap_or(s).trim_matches('"');
        s.parse::<i64>()
            .map(|n| IfMatch(Some(n)))
            .map_err(|_| ApiError::BadRequest("If-Match must be an ETag such as \"3\"".into()))
    }
}

impl IfMatch {
    pub fn required(&self) -> Result<i64, ApiError> {
        self.0.ok_or(ApiError::PreconditionRequired)
    }
}

/// The raw list parameters: repeated `filter`, `sort`, `limit`, `cursor`, `q` (and any others, kept by name).
#[derive(Debug, Default)]
pub struct RawQuery {
    pub filters: Vec<String>,
    pub sort: Option<String>,
    pub limit: Option<String>,
    pub cursor: Option<String>,
    pub q: Option<String>,
    pub other: Vec<(String, String)>,
}

impl<S: Send + Sync> FromRequestParts<S> for RawQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let mut out = RawQuery::default();
        let Some(query) = parts.uri.query() else { return Ok(out) };
        if query.len() > 16 * 1024 {
            return Err(ApiError::BadRequest("the query string is too long".into()));
        }
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "filter" => out.filters.push(v.into_owned()),
                "sort" => out.sort = Some(v.into_owned()),
                "limit" => out.limit = Some(v.into_owned()),
                "cursor" => out.cursor = Some(v.into_owned()),
                "q" => out.q = Some(v.into_owned()),
                _ => out.other.push((k.into_owned(), v.into_owned())),
            }
        }
        Ok(out)
    }
}

impl RawQuery {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.other.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn limit(&self) -> Result<Option<u32>, ApiError> {
        match &self.limit {
            None => Ok(None),
            Some(s) => s
                .trim()
                .parse::<u32>()
                .map(Some)
                .map_err(|_| ApiError::invalid_field("limit", "invalid_value", "must be a whole number")),
        }
    }

    pub fn list_params(&self) -> Result<guanxi_core::filter::ListParams<'_>, ApiError> {
        Ok(guanxi_core::filter::ListParams {
            filters: &self.filters,
            sort: self.sort.as_deref(),
            limit: self.limit()?,
            cursor: self.cursor.as_deref(),
            q: self.q.as_deref(),
        })
    }
}

/// RFC 7396 JSON Merge Patch: objects merge recursively, `null` removes, anything else replaces.
pub fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    match patch {
        serde_json::Value::Object(p) => {
            if !target.is_object() {
                *target = serde_json::Value::Object(Default::default());
            }
            if let serde_json::Value::Object(t) = target {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        merge_patch(t.entry(k.clone()).or_insert(serde_json::Value::Null), v);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_field_names() {
        assert_eq!(json_pointerish("emails[0].address"), "emails/0/address");
        assert_eq!(json_pointerish("."), "");
        assert_eq!(json_pointerish("address.city"), "address/city");
    }

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut t = serde_json::json!({"a": 1, "address": {"city": "北京", "street": "x"}, "tags": ["a"]});
        merge_patch(&mut t, &serde_json::json!({"a": null, "address": {"city": "上海"}, "tags": ["b"]}));
        assert_eq!(t, serde_json::json!({"address": {"city": "上海", "street": "x"}, "tags": ["b"]}));
    }
}
