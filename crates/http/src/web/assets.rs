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

#[cfg(test)]
mod tests {
    /// A colour of app.css: a custom property (`--muted`) read from the stylesheet, or a literal `#fff`.
    fn colour(css: &str, name: &str) -> [f64; 3] {
        let value = if let Some(var) = name.strip_prefix("--") {
            let at = css.find(&format!("--{var}:")).unwrap_or_else(|| panic!("--{var} is not in app.css"));
            let rest = &css[at + var.len() + 3..];
            rest[..rest.find(';').expect("a declaration ends with ;")].trim()
        } else {
            name
        };
        let hex = value.strip_prefix('#').unwrap_or_else(|| panic!("{name} is not a hex colour: {value}"));
        let hex: String = if hex.len() == 3 { hex.chars().flat_map(|c| [c, c]).collect() } else { hex.to_string() };
        let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digits") as f64 / 255.0;
        [channel(0), channel(2), channel(4)]
    }

    /// WCAG 2.1 contrast ratio of two sRGB colours.
    fn contrast(a: [f64; 3], b: [f64; 3]) -> f64 {
        let luminance = |c: [f64; 3]| {
            let lin = |v: f64| if v <= 0.04045 { v / 12.92 } else { ((v + 0.055) / 1.055).powf(2.4) };
            0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2])
        };
        let (x, y) = (luminance(a), luminance(b));
        (x.max(y) + 0.05) / (x.min(y) + 0.05)
    }

    /// WCAG AA from the stylesheet's own colours: 4.5:1 for text (all of it is under 18 pt), 3:1 for the borders of
    /// inputs and the focus ring (non-text contrast). The pairs are those the rules of app.css put together.
    #[test]
    fn text_and_controls_meet_wcag_aa_contrast() {
        let css = include_str!("../../assets/app.css");
        let text = 4.5;
        let ui = 3.0;
        let pairs = [
            ("--text", "--bg", text, "body text"),
            ("--text", "--card", text, "text on cards and tables"),
            ("--muted", "--card", text, "secondary text, hints"),
            ("--muted", "--bg", text, "secondary text on the page"),
            ("--muted", "--head-bg", text, "table headings"),
            ("--muted", "--badge-bg", text, "badges"),
            ("--muted", "--picked", text, "detail of the chosen suggestion"),
            ("--text", "--picked", text, "the chosen suggestion"),
            ("--link", "--card", text, "links"),
            ("--link", "--bg", text, "links on the page"),
            ("--brand", "--card", text, "the product name"),
            ("#fff", "--brand", text, "primary buttons, the current section"),
            ("#fff", "--brand-dark", text, "primary buttons under the pointer"),
            ("--text", "--button", text, "buttons"),
            ("--text", "--button-hover", text, "buttons under the pointer"),
            ("--brand-dark", "--button", text, "delete buttons"),
            ("--brand-dark", "--tag-bg", text, "tags"),
            ("--ok", "--ok-bg", text, "notices"),
            ("--err", "--err-bg", text, "error alerts"),
            ("--err", "--card", text, "field errors"),
            ("--warn", "--warn-bg", text, "conflict warnings"),
            ("--control", "--card", ui, "input borders"),
            ("--control", "--bg", ui, "input borders on the page"),
            ("--err", "--card", ui, "the border of an invalid input"),
            ("--focus", "--card", ui, "the focus ring"),
            ("--focus", "--bg", ui, "the focus ring on the page"),
        ];
        let failing: Vec<String> = pairs
            .iter()
            .map(|&(fg, bg, min, what)| (contrast(colour(css, fg), colour(css, bg)), min, fg, bg, what))
            .filter(|&(ratio, min, ..)| ratio < min)
            .map(|(ratio, min, fg, bg, what)| format!("{what}: {fg} on {bg} is {ratio:.2}:1, needs {min}:1"))
            .collect();
        assert!(failing.is_empty(), "{failing:#?}");
        // The check itself: black on white is 21:1, and a too-light grey fails.
        assert!((contrast(colour(css, "#000"), colour(css, "#fff")) - 21.0).abs() < 1e-9);
        assert!(contrast(colour(css, "#9aa1ab"), colour(css, "#fff")) < text);
    }
}
