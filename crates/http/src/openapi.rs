//! The OpenAPI 3.1 document served at `/api/openapi.json`.

pub fn document() -> serde_json::Value {
    serde_json::json!({"openapi": "3.1.0"})
}
