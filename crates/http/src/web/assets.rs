//! The UI's own CSS and JS, compiled into the binary and served under content-hashed names
//! (`/assets/app.3f2a9c1b7d.css`) so browsers may cache them forever.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

pub struct Asset {
    /// `app.css`
    pub name: &'static str,
    /// `app.<hash>.css`
    pub hashed: String,
    pub body: &'static [u8],
    pub content_type: &'static str,
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    [
        ("app.css", include_bytes!("../../assets/app.css").as_slice(), "text/css; charset=utf-8"),
        ("app.js", include_bytes!("../../assets/app.js").as_slice(), "text/javascript; charset=utf-8"),
        ("favicon.svg", include_bytes!("../../assets/favicon.svg").as_slice(), "image/svg+xml"),
    ]
    .into_iter()
    .map(|(name, body, content_type)| {
        let hash = hex::encode(&Sha256::digest(body)[..5]);
        let hashed = match name.rsplit_once('.') {
            Some((stem, ext)) => format!("{stem}.{hash}.{ext}"),
            None => format!("{name}.{hash}"),
        };
        Asset { name, hashed, body, content_type }
    })
    .collect()
});

/// The URL of an asset by its plain name (`app.css` -> `/assets/app.<hash>.css`).
pub fn url(name: &str) -> String {
    ASSETS.iter().find(|a| a.name == name).map(|a| format!("/assets/{}", a.hashed)).unwrap_or_default()
}

pub async fn serve(Path(file): Path<String>) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.hashed == file || a.name == file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // Only the hashed name is immutable; the plain name may change with the next release.
    let cache = if asset.hashed == file {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=300, must-revalidate"
    };
    let mut resp = asset.body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    resp
}
