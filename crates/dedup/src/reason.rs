//! Why two records look like one: a typed reason with the values that matched, a stable code for clients and
//! a sentence in Chinese or English.

use serde::{Deserialize, Serialize};

/// One piece of evidence that two records are the same customer.
///
/// ```
/// use guanxi_dedup::{Lang, Reason};
/// let r = Reason::SamePhone { phone: "+8613800138000".into() };
/// assert_eq!(r.code(), "same_phone");
/// assert_eq!(r.text(Lang::En), "same phone number +8613800138000");
/// assert_eq!(r.text(Lang::Zh), "手机号码相同：+8613800138000");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Reason {
    /// An email address both use (normalised).
    SameEmail { email: String },
    /// A phone number both use (E.164).
    SamePhone { phone: String },
    /// The same name, spelled the same way.
    SameName { name: String },
    /// The same name, one in traditional and one in simplified characters.
    TraditionalSimplifiedName { a: String, b: String },
    /// Names that sound the same (equal pinyin), e.g. `章伟` / `张伟` / `Zhang Wei`.
    PinyinName { a: String, b: String, pinyin: String },
    /// Names a few edits apart, e.g. `Jonathan` / `Jonathon`.
    SimilarName { a: String, b: String, distance: u32 },
    /// Both work for the same company.
    SameCompany,
    /// Both have the same birthday (`YYYY-MM-DD`).
    SameBirthday { birthday: String },
    /// Both have an email at the same company domain (free-mail domains never count).
    SameEmailDomain { domain: String },
    /// Both are in the same city.
    SameCity { city: String },
    /// Companies with the same web domain.
    SameDomain { domain: String },
    /// Company names equal once legal forms, trade words and place names are removed.
    SameCompanyName { a: String, b: String, core: String },
    /// Company names a few edits apart once legal forms are removed.
    SimilarCompanyName { a: String, b: String, distance: u32 },
}

/// The weights of the contact reasons, shared with the contact scorer (which weighs before it builds reasons).
pub(crate) mod weight {
    pub const SAME_EMAIL: f64 = 0.9;
    pub const SAME_PHONE: f64 = 0.85;
    pub const SAME_NAME: f64 = 0.4;
    pub const PINYIN_NAME: f64 = 0.3;
    pub const SIMILAR_NAME: f64 = 0.25;
    pub const SAME_COMPANY: f64 = 0.4;
    pub const SAME_BIRTHDAY: f64 = 0.4;
    pub const SAME_EMAIL_DOMAIN: f64 = 0.35;
    pub const SAME_CITY: f64 = 0.15;
}

/// The language of reason texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    /// `zh…` is Chinese, everything else English.
    pub fn from_tag(tag: &str) -> Lang {
        if tag.to_ascii_lowercase().starts_with("zh") { Lang::Zh } else { Lang::En }
    }
}

impl Reason {
    pub fn code(&self) -> &'static str {
        match self {
            Reason::SameEmail { .. } => "same_email",
            Reason::SamePhone { .. } => "same_phone",
            Reason::SameName { .. } => "same_name",
            Reason::TraditionalSimplifiedName { .. } => "traditional_simplified_name",
            Reason::PinyinName { .. } => "pinyin_name",
            Reason::SimilarName { .. } => "similar_name",
            Reason::SameCompany => "same_company",
            Reason::SameBirthday { .. } => "same_birthday",
            Reason::SameEmailDomain { .. } => "same_email_domain",
            Reason::SameCity { .. } => "same_city",
            Reason::SameDomain { .. } => "same_domain",
            Reason::SameCompanyName { .. } => "same_company_name",
            Reason::SimilarCompanyName { .. } => "similar_company_name",
        }
    }

    /// How strongly this reason alone says "same customer", as a probability; reasons combine as independent
    /// evidence (see [`crate::combine`]). Attribute reasons (company, birthday, city, email domain) count only
    /// next to a name reason, which the scorers enforce; in a scan they also count for less when the data set
    /// makes the coincidence likely (see [`crate::Frequencies`]).
    pub fn weight(&self) -> f64 {
        match self {
            Reason::SameEmail { .. } => weight::SAME_EMAIL,
            Reason::SamePhone { .. } => weight::SAME_PHONE,
            Reason::SameName { .. } | Reason::TraditionalSimplifiedName { .. } => weight::SAME_NAME,
            Reason::PinyinName { .. } => weight::PINYIN_NAME,
            Reason::SimilarName { .. } => weight::SIMILAR_NAME,
            Reason::SameCompany => weight::SAME_COMPANY,
            Reason::SameBirthday { .. } => weight::SAME_BIRTHDAY,
            Reason::SameEmailDomain { .. } => weight::SAME_EMAIL_DOMAIN,
            Reason::SameCity { .. } => weight::SAME_CITY,
            Reason::SameDomain { .. } => 0.9,
            Reason::SameCompanyName { .. } => 0.8,
            Reason::SimilarCompanyName { .. } => 0.45,
        }
    }

    /// A sentence for people, in `lang`.
    pub fn text(&self, lang: Lang) -> String {
        match (self, lang) {
            (Reason::SameEmail { email }, Lang::En) => format!("same email address {email}"),
            (Reason::SameEmail { email }, Lang::Zh) => format!("邮箱相同：{email}"),
            (Reason::SamePhone { phone }, Lang::En) => format!("same phone number {phone}"),
            (Reason::SamePhone { phone }, Lang::Zh) => format!("手机号码相同：{phone}"),
            (Reason::SameName { name }, Lang::En) => format!("same name {name}"),
            (Reason::SameName { name }, Lang::Zh) => format!("姓名相同：{name}"),
            (Reason::TraditionalSimplifiedName { a, b }, Lang::En) => {
                format!("same name in traditional and simplified characters: {a} / {b}")
            }
            (Reason::TraditionalSimplifiedName { a, b }, Lang::Zh) => format!("姓名繁简体相同：{a} / {b}"),
            (Reason::PinyinName { a, b, pinyin }, Lang::En) => format!("names sound the same ({pinyin}): {a} / {b}"),
            (Reason::PinyinName { a, b, pinyin }, Lang::Zh) => format!("姓名拼音相同（{pinyin}）：{a} / {b}"),
            (Reason::SimilarName { a, b, distance }, Lang::En) => {
                format!("similar names ({distance} edits apart): {a} / {b}")
            }
            (Reason::SimilarName { a, b, distance }, Lang::Zh) => format!("姓名相近（相差 {distance} 处）：{a} / {b}"),
            (Reason::SameCompany, Lang::En) => "same company".to_string(),
            (Reason::SameCompany, Lang::Zh) => "同一公司".to_string(),
            (Reason::SameBirthday { birthday }, Lang::En) => format!("same birthday {birthday}"),
            (Reason::SameBirthday { birthday }, Lang::Zh) => format!("生日相同：{birthday}"),
            (Reason::SameEmailDomain { domain }, Lang::En) => format!("emails at the same company domain {domain}"),
            (Reason::SameEmailDomain { domain }, Lang::Zh) => format!("邮箱属于同一企业域名：{domain}"),
            (Reason::SameCity { city }, Lang::En) => format!("same city {city}"),
            (Reason::SameCity { city }, Lang::Zh) => format!("城市相同：{city}"),
            (Reason::SameDomain { domain }, Lang::En) => format!("same website {domain}"),
            (Reason::SameDomain { domain }, Lang::Zh) => format!("网站域名相同：{domain}"),
            (Reason::SameCompanyName { a, b, core }, Lang::En) => {
                format!("same company name without legal form and place ({core}): {a} / {b}")
            }
            (Reason::SameCompanyName { a, b, core }, Lang::Zh) => {
                format!("去掉公司类型和地名后名称相同（{core}）：{a} / {b}")
            }
            (Reason::SimilarCompanyName { a, b, distance }, Lang::En) => {
                format!("similar company names ({distance} edits apart): {a} / {b}")
            }
            (Reason::SimilarCompanyName { a, b, distance }, Lang::Zh) => {
                format!("公司名称相近（相差 {distance} 处）：{a} / {b}")
            }
        }
    }
}

/// Combines independent pieces of evidence: the chance that at least one of them is right ("noisy or"),
/// as a score from 0 to 100.
///
/// ```
/// use guanxi_dedup::{Reason, combine};
/// assert_eq!(combine(&[Reason::SameEmail { email: "a@b.cn".into() }]), 90);
/// assert_eq!(combine(&[]), 0);
/// ```
pub fn combine(reasons: &[Reason]) -> u8 {
    to_score(reasons.iter().map(|r| 1.0 - r.weight()).product())
}

/// A score from the chance that every piece of evidence is wrong.
pub(crate) fn to_score(miss: f64) -> u8 {
    ((1.0 - miss) * 100.0).round().clamp(0.0, 100.0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_round_trip_as_json_with_their_code() {
        let r = Reason::SimilarName { a: "Jonathan".into(), b: "Jonathon".into(), distance: 1 };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["code"], "similar_name");
        assert_eq!(v["distance"], 1);
        assert_eq!(serde_json::from_value::<Reason>(v).unwrap(), r);
        assert_eq!(serde_json::to_value(Reason::SameCompany).unwrap(), serde_json::json!({"code": "same_company"}));
    }

    #[test]
    fn every_reason_has_both_texts() {
        let all = [
            Reason::SameEmail { email: "a@b.cn".into() },
            Reason::SamePhone { phone: "+86".into() },
            Reason::SameName { name: "x".into() },
            Reason::TraditionalSimplifiedName { a: "張偉".into(), b: "张伟".into() },
            Reason::PinyinName { a: "章伟".into(), b: "张伟".into(), pinyin: "zhangwei".into() },
            Reason::SimilarName { a: "a".into(), b: "b".into(), distance: 1 },
            Reason::SameCompany,
            Reason::SameBirthday { birthday: "1990-01-01".into() },
            Reason::SameEmailDomain { domain: "acme.com".into() },
            Reason::SameCity { city: "北京".into() },
            Reason::SameDomain { domain: "acme.com".into() },
            Reason::SameCompanyName { a: "a".into(), b: "b".into(), core: "c".into() },
            Reason::SimilarCompanyName { a: "a".into(), b: "b".into(), distance: 1 },
        ];
        for r in all {
            assert!(!r.text(Lang::Zh).is_empty() && !r.text(Lang::En).is_empty());
            assert!(r.text(Lang::Zh) != r.text(Lang::En), "{}", r.code());
            assert!(r.weight() > 0.0 && r.weight() < 1.0);
        }
    }
}
