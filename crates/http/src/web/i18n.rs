//! The UI's two languages: message catalogs (one `key = text` file per locale under `locales/`, compiled in),
//! the choice of language for a request, and locale-aware dates, numbers and money.
//!
//! Templates never contain words of their own; they call `t("key")`, so a page is in one language only. A key
//! missing from a catalog shows as the key itself (and a unit test keeps both catalogs complete).

use axum::http::{HeaderMap, header};
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Offset, Timelike, Utc};
use guanxi_core::money::Currency;
use std::collections::HashMap;
use std::sync::LazyLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    ZhCn,
    En,
}

/// The cookie that remembers the language of a visitor who is not signed in.
pub const LANG_COOKIE: &str = "guanxi_lang";

const ZH_CN: &str = include_str!("../../locales/zh-CN.txt");
const EN: &str = include_str!("../../locales/en.txt");

static CATALOGS: LazyLock<[HashMap<&'static str, &'static str>; 2]> = LazyLock::new(|| [parse(ZH_CN), parse(EN)]);

/// `key = text` lines; `#` starts a comment line; `\n` in a text is a line break.
fn parse(src: &'static str) -> HashMap<&'static str, &'static str> {
    src.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.trim(), v.trim())))
        .collect()
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::ZhCn, Locale::En];

    /// The BCP 47 tag, as stored in `users.locale` and written in `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Locale::ZhCn => "zh-CN",
            Locale::En => "en",
        }
    }

    pub fn parse(tag: &str) -> Option<Locale> {
        let tag = tag.trim().to_ascii_lowercase();
        if tag == "zh" || tag.starts_with("zh-") || tag.starts_with("zh_") {
            Some(Locale::ZhCn)
        } else if tag == "en" || tag.starts_with("en-") || tag.starts_with("en_") {
            Some(Locale::En)
        } else {
            None
        }
    }

    /// The most preferred supported language of an `Accept-Language` header.
    pub fn from_accept_language(value: &str) -> Option<Locale> {
        let mut best: Option<(f32, Locale)> = None;
        for part in value.split(',').take(20) {
            let mut it = part.split(';');
            let tag = it.next().unwrap_or("").trim();
            let q =
                it.find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok())).unwrap_or(1.0);
            if let Some(l) = Locale::parse(tag)
                && q > 0.0
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, l));
            }
        }
        best.map(|(_, l)| l)
    }

    /// The language of a request: the user's saved preference, else the language cookie, else the browser's
    /// `Accept-Language`, else Chinese.
    pub fn negotiate(user_pref: Option<&str>, headers: &HeaderMap) -> Locale {
        user_pref
            .and_then(Locale::parse)
            .or_else(|| cookie(headers, LANG_COOKIE).and_then(|v| Locale::parse(&v)))
            .or_else(|| {
                headers
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(Locale::from_accept_language)
            })
            .unwrap_or(Locale::ZhCn)
    }

    fn catalog(self) -> &'static HashMap<&'static str, &'static str> {
        match self {
            Locale::ZhCn => &CATALOGS[0],
            Locale::En => &CATALOGS[1],
        }
    }

    /// The text of a message key.
    pub fn t(self, key: &str) -> &'static str {
        match self.catalog().get(key) {
            Some(v) => v,
            None => {
                tracing::warn!(key, locale = self.tag(), "missing UI message");
                // Leak-free fallback: the key is shown through the catalog's own storage when possible.
                self.other().catalog().get(key).copied().unwrap_or("?")
            }
        }
    }

    fn other(self) -> Locale {
        match self {
            Locale::ZhCn => Locale::En,
            Locale::En => Locale::ZhCn,
        }
    }

    /// A message with `{0}` replaced.
    pub fn t1(self, key: &str, arg: &str) -> String {
        self.t(key).replace("{0}", arg)
    }

    /// The message for a validation error code (`err.invalid_email`), with a generic fallback.
    pub fn error(self, code: &str) -> &'static str {
        let key = format!("err.{code}");
        match self.catalog().get(key.as_str()) {
            Some(v) => v,
            None => self.t("err.invalid"),
        }
    }

    /// Groups thousands: `12,345` (Chinese UIs group by three as well).
    pub fn int(self, n: u64) -> String {
        let s = n.to_string();
        let mut out = String::with_capacity(s.len() + s.len() / 3);
        for (i, ch) in s.chars().enumerate() {
            if i > 0 && (s.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(ch);
        }
        out
    }

    /// `2026年11月23日` / `23 Nov 2026`.
    pub fn date(self, d: NaiveDate) -> String {
        match self {
            Locale::ZhCn => format!("{}年{}月{}日", d.year(), d.month(), d.day()),
            Locale::En => {
                let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
                format!("{} {} {}", d.day(), months[d.month0() as usize], d.year())
            }
        }
    }

    /// The day of a moment in the display time zone (a record changed at 01:00 in Beijing shows that day, not the
    /// previous one in UTC).
    pub fn day(self, t: DateTime<Utc>) -> String {
        self.date(t.with_timezone(&display_offset()).date_naive())
    }

    /// Items of a list in a sentence: `微信、邮件` / `WeChat, email`.
    pub fn join<S: AsRef<str>>(self, items: &[S]) -> String {
        let sep = if self == Locale::ZhCn { "、" } else { ", " };
        items.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(sep)
    }

    /// A moment in the display time zone: `2026年11月23日 14:05` / `23 Nov 2026, 14:05`.
    pub fn datetime(self, t: DateTime<Utc>) -> String {
        let local = t.with_timezone(&display_offset());
        let hm = format!("{:02}:{:02}", local.hour(), local.minute());
        match self {
            Locale::ZhCn => format!("{} {hm}", self.date(local.date_naive())),
            Locale::En => format!("{}, {hm}", self.date(local.date_naive())),
        }
    }

    /// Money from integer minor units: `¥1,234.56` / `CN¥1,234.56`; other currencies show their code.
    pub fn money(self, minor: i64, currency: &Currency) -> String {
        let digits = currency.minor_digits();
        let scale = 10u64.pow(digits);
        let abs = minor.unsigned_abs();
        let whole = self.int(abs / scale);
        let amount = if digits == 0 { whole } else { format!("{whole}.{:0w$}", abs % scale, w = digits as usize) };
        let sign = if minor < 0 { "-" } else { "" };
        let symbol = match (self, currency.as_str()) {
            (Locale::ZhCn, "CNY") => "¥".to_string(),
            (Locale::En, "CNY") => "CN¥".to_string(),
            (Locale::ZhCn, "USD") => "US$".to_string(),
            (Locale::En, "USD") => "$".to_string(),
            (_, "EUR") => "€".to_string(),
            (_, code) => format!("{code} "),
        };
        format!("{sign}{symbol}{amount}")
    }
}

/// A moment as the value of a `datetime-local` input, in the display time zone: `2026-11-23T14:05`.
pub fn local_input(t: DateTime<Utc>) -> String {
    t.with_timezone(&display_offset()).format("%Y-%m-%dT%H:%M").to_string()
}

/// The value of a `datetime-local` input (display time zone) as a UTC moment; `None` when it is not one.
pub fn from_local_input(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    let naive = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M"))
        .ok()?;
    naive.and_local_timezone(display_offset()).single().map(|t| t.with_timezone(&Utc))
}

/// Times are shown in China Standard Time until users can choose a time zone.
fn display_offset() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| Utc.fix())
}

/// One cookie's value.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name && !v.is_empty()).then(|| v.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn catalogs_have_the_same_keys() {
        let zh: BTreeSet<_> = CATALOGS[0].keys().collect();
        let en: BTreeSet<_> = CATALOGS[1].keys().collect();
        let only_zh: Vec<_> = zh.difference(&en).collect();
        let only_en: Vec<_> = en.difference(&zh).collect();
        assert!(only_zh.is_empty() && only_en.is_empty(), "only zh-CN: {only_zh:?}; only en: {only_en:?}");
    }

    /// Every `t("...")`/`t1("..."` key a template or handler uses exists in the catalogs.
    #[test]
    fn every_used_key_exists() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        collect(&root.join("templates"), &mut files);
        collect(&root.join("src/web"), &mut files);
        let mut missing = Vec::new();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            for pat in ["t(\"", "t1(\""] {
                for (i, _) in text.match_indices(pat) {
                    // `t(` as a call of its own, not the end of `get(` or `text(`.
                    if text[..i].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_') {
                        continue;
                    }
                    let rest = &text[i + pat.len()..];
                    let key = rest.split('"').next().unwrap_or("");
                    // Catalog keys are dotted (`nav.contacts`); this skips examples in comments.
                    let is_key = key.contains('.')
                        && !key.starts_with('.')
                        && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.');
                    if is_key && !CATALOGS[0].contains_key(key) {
                        missing.push(format!("{}: {key}", f.display()));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "keys missing from the catalogs: {missing:#?}");
    }

    /// Templates hold no words of their own: once tags, expressions and statements are removed, no letters are
    /// left, and user-visible attributes are expressions.
    #[test]
    fn templates_have_no_literal_text() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut files = Vec::new();
        collect(&root, &mut files);
        assert!(!files.is_empty());
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            let stripped = strip_between(&strip_between(&strip_between(&text, "{{", "}}"), "{%", "%}"), "{#", "#}");
            let stripped = strip_between(&stripped, "<", ">");
            let letters: String = stripped.chars().filter(|c| c.is_alphabetic()).collect();
            assert!(letters.is_empty(), "{}: literal text {letters:?}", f.display());
            for attr in ["placeholder=\"", "title=\"", "aria-label=\"", "alt=\""] {
                for (i, _) in text.match_indices(attr) {
                    assert!(text[i + attr.len()..].starts_with("{{"), "{}: literal {attr}", f.display());
                }
            }
        }
    }

    fn strip_between(s: &str, open: &str, close: &str) -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find(open) {
            out.push_str(&rest[..i]);
            match rest[i..].find(close) {
                Some(j) => rest = &rest[i + j + close.len()..],
                None => return out,
            }
        }
        out.push_str(rest);
        out
    }

    fn collect(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                collect(&p, out);
            } else {
                out.push(p);
            }
        }
    }

    #[test]
    fn accept_language_picks_the_best_supported() {
        assert_eq!(Locale::from_accept_language("fr-FR,en-US;q=0.8,zh-CN;q=0.9"), Some(Locale::ZhCn));
        assert_eq!(Locale::from_accept_language("en-GB,en;q=0.9"), Some(Locale::En));
        assert_eq!(Locale::from_accept_language("fr"), None);
        assert_eq!(Locale::from_accept_language("zh-TW;q=0,en;q=0.1"), Some(Locale::En));
    }

    #[test]
    fn formats_follow_the_locale() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        assert_eq!(Locale::ZhCn.date(d), "2026年11月23日");
        assert_eq!(Locale::En.date(d), "23 Nov 2026");
        assert_eq!(Locale::En.int(10_000), "10,000");
        assert_eq!(Locale::En.int(999), "999");
        let cny = Currency::parse("CNY", "c").unwrap();
        let usd = Currency::parse("USD", "c").unwrap();
        assert_eq!(Locale::ZhCn.money(123_456_789, &cny), "¥1,234,567.89");
        assert_eq!(Locale::En.money(123_456_789, &cny), "CN¥1,234,567.89");
        assert_eq!(Locale::En.money(-5, &usd), "-$0.05");
        let t = d.and_hms_opt(6, 5, 0).unwrap().and_utc();
        assert_eq!(Locale::ZhCn.datetime(t), "2026年11月23日 14:05");
        assert_eq!(Locale::En.datetime(t), "23 Nov 2026, 14:05");
        assert_eq!(local_input(t), "2026-11-23T14:05");
        // 20:30 UTC is already the next day in Beijing, and the day shown is Beijing's.
        let late = d.and_hms_opt(20, 30, 0).unwrap().and_utc();
        assert_eq!((Locale::ZhCn.day(late), Locale::En.day(late)), ("2026年11月24日".into(), "24 Nov 2026".into()));
        assert_eq!(
            (Locale::ZhCn.join(&["VIP", "展会"]), Locale::En.join(&["VIP", "fair"])),
            ("VIP、展会".into(), "VIP, fair".into())
        );
        assert_eq!(from_local_input("2026-11-23T14:05"), Some(t));
        assert_eq!(from_local_input("tomorrow"), None);
    }
}
