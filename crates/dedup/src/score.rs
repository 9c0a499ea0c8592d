//! Pair scoring: which reasons two records share and how much they add up to.

use crate::frequencies::{Counted, Frequencies};
use crate::normalise::{
    FREE_MAIL_DOMAINS, company_key, domain_key, email_key, name_key, phone_key, pinyin_of_name_key, plain_name_key,
};
use crate::reason::{Reason, combine, to_score, weight};
use guanxi_core::contact_point::Region;
use uuid::Uuid;

/// Pairs scoring below this are not candidates. A shared email or phone passes alone; a name passes only with
/// an attribute that narrows it down (same company, birthday or company email domain): two 张伟 in one city
/// are usually two people.
pub const MIN_SCORE: u8 = 50;

/// How many other names one edit away a name is taken to have (`Jonathan`: `Jonathon`, `Johnathan`…; `王明`:
/// `王敏`…) when weighing a similar name against the size of a group.
const SIMILAR_NAMES: u32 = 10;

/// Shared contact points reported per pair (a pair sharing ten numbers needs no ten reasons).
const MAX_POINT_REASONS: usize = 3;

/// What the engine compares of a contact, as stored or as typed (normalisation happens in [`ContactKeys::new`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContactFacts {
    pub display_name: String,
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    pub company_id: Option<Uuid>,
    /// `YYYY-MM-DD`.
    pub birthday: Option<String>,
    pub city: Option<String>,
    /// The emails and phones are already in the form the store keeps them: validated by `guanxi-core`
    /// (normalised email, E.164 phone with an optional `;ext=`). Their keys are then read off rather than
    /// parsed again, which is most of the cost of a record's keys (a phone parse takes tens of microseconds).
    pub points_validated: bool,
}

/// A contact's comparable forms, computed once per record.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactKeys {
    pub display_name: Box<str>,
    pub name: Box<str>,
    pub pinyin: Box<str>,
    pub emails: Box<[Box<str>]>,
    pub phones: Box<[Box<str>]>,
    /// Domains of the emails that are not free-mail providers.
    pub email_domains: Box<[Box<str>]>,
    pub company_id: Option<Uuid>,
    pub birthday: Option<Box<str>>,
    pub city: Option<Box<str>>,
}

impl ContactKeys {
    /// `region` reads phone numbers written without a country code.
    pub fn new(f: &ContactFacts, region: Region) -> ContactKeys {
        let email = |e: &String| if f.points_validated { e.clone() } else { email_key(e) };
        let phone = |p: &String| if f.points_validated { validated_phone_key(p, region) } else { phone_key(p, region) };
        let mut emails: Vec<Box<str>> = f.emails.iter().map(email).filter(|e| !e.is_empty()).map(Into::into).collect();
        emails.sort();
        emails.dedup();
        let mut phones: Vec<Box<str>> = f.phones.iter().map(phone).filter(|p| p.len() >= 5).map(Into::into).collect();
        phones.sort();
        phones.dedup();
        let mut email_domains: Vec<Box<str>> = emails
            .iter()
            .filter_map(|e| e.rsplit_once('@').map(|(_, d)| d))
            .filter(|d| !d.is_empty() && !FREE_MAIL_DOMAINS.contains(d))
            .map(Into::into)
            .collect();
        email_domains.sort();
        email_domains.dedup();
        let city = f.city.as_deref().map(name_key).filter(|c| !c.is_empty()).map(|c| {
            // 北京市 and 北京 are one city.
            c.strip_suffix('市').filter(|r| !r.is_empty()).unwrap_or(&c).into()
        });
        let name = name_key(&f.display_name);
        ContactKeys {
            display_name: f.display_name.trim().into(),
            pinyin: pinyin_of_name_key(&name).into(),
            name: name.into(),
            emails: emails.into(),
            phones: phones.into(),
            email_domains: email_domains.into(),
            company_id: f.company_id,
            birthday: f.birthday.as_deref().filter(|b| !b.is_empty()).map(Into::into),
            city,
        }
    }
}

/// The key of a phone number as `guanxi-core` stores it (`+8613800138000;ext=12`): the E.164 part, which is
/// what [`phone_key`] makes of it. Anything else is parsed.
fn validated_phone_key(p: &str, region: Region) -> String {
    let number = p.split_once(";ext=").map_or(p, |(n, _)| n);
    match number.strip_prefix('+') {
        Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => number.to_string(),
        _ => phone_key(p, region),
    }
}

/// A scored candidate pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    /// 0–100; see [`combine`].
    pub score: u8,
    pub reasons: Vec<Reason>,
}

fn shared<'a>(a: &'a [Box<str>], b: &[Box<str>]) -> impl Iterator<Item = &'a str> {
    // Both lists are sorted and short; a linear probe is cheaper than a set.
    a.iter().filter(|x| b.contains(x)).map(|x| &**x)
}

/// The edit distance under which two sound-alike keys of this length count as similar: one edit for short
/// names, two from 12 letters on. Names shorter than 5 letters never count (`li` / `lu`).
fn similar_distance(a: &str, b: &str) -> Option<u32> {
    let n = a.len().max(b.len());
    if a.len().min(b.len()) < 5 {
        return None;
    }
    let allowed = if n >= 12 { 2 } else { 1 };
    if a.len().abs_diff(b.len()) > allowed {
        return None;
    }
    let d = strsim::levenshtein(a, b);
    (d > 0 && d <= allowed).then_some(d as u32)
}

/// Scores two contacts; `None` when they are not a candidate pair (below [`MIN_SCORE`]). Every name and
/// attribute counts as rare: this is the check of one record against a few; a scan weighs with the
/// [`Frequencies`] of its data set ([`score_contacts_in`]).
///
/// ```
/// use guanxi_core::contact_point::Region;
/// use guanxi_dedup::{ContactFacts, ContactKeys, score_contacts};
/// let a = ContactKeys::new(&ContactFacts { display_name: "张伟".into(), phones: vec!["+86 138-0013-8000".into()], ..Default::default() }, Region::CN);
/// let b = ContactKeys::new(&ContactFacts { display_name: "張偉".into(), phones: vec!["13800138000".into()], ..Default::default() }, Region::CN);
/// let m = score_contacts(&a, &b).unwrap();
/// assert_eq!(m.reasons.iter().map(|r| r.code()).collect::<Vec<_>>(), ["same_phone", "traditional_simplified_name"]);
/// ```
pub fn score_contacts(a: &ContactKeys, b: &ContactKeys) -> Option<Match> {
    score_contacts_in(a, b, &Frequencies::default())
}

/// How two names match, before it becomes a [`Reason`].
#[derive(Clone, Copy)]
enum NameMatch {
    /// Equal once folded and simplified.
    Same,
    Pinyin,
    Similar(u32),
}

/// Scores two contacts of a data set whose frequencies are `freq`: a shared company, birthday, company email
/// domain or city counts next to a name only as far as the coincidence is unlikely in this data set (see
/// [`Frequencies`]); a shared email or phone always counts in full. `None` below [`MIN_SCORE`].
///
/// The score is computed before any reason is built, so that the many pairs blocking proposes and scoring
/// rejects cost no allocation.
pub fn score_contacts_in(a: &ContactKeys, b: &ContactKeys, freq: &Frequencies) -> Option<Match> {
    let emails = shared(&a.emails, &b.emails).take(MAX_POINT_REASONS).count();
    let phones = shared(&a.phones, &b.phones).take(MAX_POINT_REASONS).count();
    let mut miss = (1.0 - weight::SAME_EMAIL).powi(emails as i32) * (1.0 - weight::SAME_PHONE).powi(phones as i32);

    // Two known, different birthdays: two people, whatever their names say.
    let birthdays_differ = matches!((&a.birthday, &b.birthday), (Some(x), Some(y)) if x != y);
    let name = if birthdays_differ {
        None
    } else if !a.name.is_empty() && a.name == b.name {
        Some(NameMatch::Same)
    } else if !a.pinyin.is_empty() && a.pinyin == b.pinyin {
        Some(NameMatch::Pinyin)
    } else {
        similar_distance(&a.pinyin, &b.pinyin).map(NameMatch::Similar)
    };
    let company = a.company_id.filter(|c| b.company_id == Some(*c));
    let birthday = a.birthday.as_deref().filter(|x| b.birthday.as_deref() == Some(*x));
    // The domain says nothing more once an address is shared.
    let domain = if emails == 0 { shared(&a.email_domains, &b.email_domains).next() } else { None };
    let city = a.city.as_deref().filter(|x| b.city.as_deref() == Some(*x));
    if let Some(name) = name {
        let (name_weight, holders) = match name {
            NameMatch::Same => (weight::SAME_NAME, freq.count(Counted::Name, &*a.name)),
            NameMatch::Pinyin => (weight::PINYIN_NAME, freq.count(Counted::Pinyin, &*a.pinyin)),
            // A group holds a name like these when it holds either or one of their neighbours.
            NameMatch::Similar(_) => {
                let both = freq.count(Counted::Pinyin, &*a.pinyin) + freq.count(Counted::Pinyin, &*b.pinyin);
                (weight::SIMILAR_NAME, (both * SIMILAR_NAMES).saturating_sub(1))
            }
        };
        miss *= 1.0 - name_weight;
        let mut attribute = |w: f64, group: u32| miss *= 1.0 - w * freq.specificity(group, holders);
        if let Some(c) = &company {
            attribute(weight::SAME_COMPANY, freq.company(c));
        }
        if let Some(x) = birthday {
            attribute(weight::SAME_BIRTHDAY, freq.count(Counted::Birthday, x));
        }
        if let Some(d) = domain {
            attribute(weight::SAME_EMAIL_DOMAIN, freq.count(Counted::EmailDomain, d));
        }
        if let Some(x) = city {
            attribute(weight::SAME_CITY, freq.count(Counted::City, x));
        }
    }
    let score = to_score(miss);
    if score < MIN_SCORE {
        return None;
    }
    let mut reasons = Vec::new();
    reasons.extend(shared(&a.emails, &b.emails).take(MAX_POINT_REASONS).map(|e| Reason::SameEmail { email: e.into() }));
    reasons.extend(shared(&a.phones, &b.phones).take(MAX_POINT_REASONS).map(|p| Reason::SamePhone { phone: p.into() }));
    if let Some(name) = name {
        let (x, y) = (a.display_name.to_string(), b.display_name.to_string());
        reasons.push(match name {
            // Compared as written only here, for the few pairs that pass: folding allocates.
            NameMatch::Same if x == y || plain_name_key(&x) == plain_name_key(&y) => Reason::SameName { name: x },
            NameMatch::Same => Reason::TraditionalSimplifiedName { a: x, b: y },
            NameMatch::Pinyin => Reason::PinyinName { a: x, b: y, pinyin: a.pinyin.to_string() },
            NameMatch::Similar(distance) => Reason::SimilarName { a: x, b: y, distance },
        });
        if company.is_some() {
            reasons.push(Reason::SameCompany);
        }
        if let Some(x) = birthday {
            reasons.push(Reason::SameBirthday { birthday: x.to_string() });
        }
        if let Some(d) = domain {
            reasons.push(Reason::SameEmailDomain { domain: d.to_string() });
        }
        if let Some(x) = city {
            reasons.push(Reason::SameCity { city: x.to_string() });
        }
    }
    Some(Match { score, reasons })
}

/// What the engine compares of a company.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompanyFacts {
    pub name: String,
    pub domain: Option<String>,
    pub city: Option<String>,
}

/// A company's comparable forms.
#[derive(Debug, Clone, PartialEq)]
pub struct CompanyKeys {
    pub name: Box<str>,
    /// The name without legal form, trade words and places ([`company_key`]).
    pub core: Box<str>,
    pub domain: Option<Box<str>>,
    pub city: Option<Box<str>>,
}

impl CompanyKeys {
    pub fn new(f: &CompanyFacts) -> CompanyKeys {
        let city = f
            .city
            .as_deref()
            .map(name_key)
            .filter(|c| !c.is_empty())
            .map(|c| c.strip_suffix('市').filter(|r| !r.is_empty()).unwrap_or(&c).into());
        CompanyKeys {
            name: f.name.trim().into(),
            core: company_key(&f.name).into(),
            domain: f.domain.as_deref().map(domain_key).filter(|d| d.contains('.')).map(Into::into),
            city,
        }
    }
}

/// Scores two companies; `None` below [`MIN_SCORE`].
///
/// ```
/// use guanxi_dedup::{CompanyFacts, CompanyKeys, score_companies};
/// let a = CompanyKeys::new(&CompanyFacts { name: "北京字节跳动科技有限公司".into(), ..Default::default() });
/// let b = CompanyKeys::new(&CompanyFacts { name: "字节跳动".into(), ..Default::default() });
/// assert_eq!(score_companies(&a, &b).unwrap().reasons[0].code(), "same_company_name");
/// ```
pub fn score_companies(a: &CompanyKeys, b: &CompanyKeys) -> Option<Match> {
    let mut reasons = Vec::new();
    if let (Some(x), Some(y)) = (&a.domain, &b.domain)
        && x == y
    {
        reasons.push(Reason::SameDomain { domain: x.to_string() });
    }
    let name = if !a.core.is_empty() && a.core == b.core {
        Some(Reason::SameCompanyName { a: a.name.to_string(), b: b.name.to_string(), core: a.core.to_string() })
    } else {
        similar_company(&a.core, &b.core).map(|distance| Reason::SimilarCompanyName {
            a: a.name.to_string(),
            b: b.name.to_string(),
            distance,
        })
    };
    if let Some(name) = name {
        reasons.push(name);
        if let (Some(x), Some(y)) = (&a.city, &b.city)
            && x == y
        {
            reasons.push(Reason::SameCity { city: x.to_string() });
        }
    }
    let score = combine(&reasons);
    (score >= MIN_SCORE).then_some(Match { score, reasons })
}

/// Company cores of at least 4 characters, one edit apart (two from 10 characters on).
fn similar_company(a: &str, b: &str) -> Option<u32> {
    let (na, nb) = (a.chars().count(), b.chars().count());
    if na.min(nb) < 4 {
        return None;
    }
    let allowed = if na.max(nb) >= 10 { 2 } else { 1 };
    if na.abs_diff(nb) > allowed {
        return None;
    }
    let d = strsim::levenshtein(a, b);
    (d > 0 && d <= allowed).then_some(d as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(name: &str) -> ContactFacts {
        ContactFacts { display_name: name.into(), ..Default::default() }
    }

    fn keys(f: ContactFacts) -> ContactKeys {
        ContactKeys::new(&f, Region::CN)
    }

    fn codes(m: &Option<Match>) -> Vec<&'static str> {
        m.as_ref().map(|m| m.reasons.iter().map(Reason::code).collect()).unwrap_or_default()
    }

    #[test]
    fn contact_points_alone_make_a_pair() {
        let a = keys(ContactFacts { emails: vec!["Wei.Zhang@Acme.cn".into()], ..contact("张伟") });
        let b = keys(ContactFacts { emails: vec!["wei.zhang@acme.cn".into()], ..contact("Wei") });
        assert_eq!(codes(&score_contacts(&a, &b)), ["same_email"]);
        let a = keys(ContactFacts { phones: vec!["+86 138-0013-8000".into()], ..contact("A") });
        let b = keys(ContactFacts { phones: vec!["13800138000".into()], ..contact("B") });
        assert_eq!(score_contacts(&a, &b).unwrap().score, 85);
    }

    #[test]
    fn names_need_an_attribute() {
        let company = Some(Uuid::from_u128(7));
        let a = keys(ContactFacts { company_id: company, city: Some("北京".into()), ..contact("張偉") });
        let b = keys(ContactFacts { company_id: company, city: Some("北京市".into()), ..contact("张伟") });
        assert_eq!(codes(&score_contacts(&a, &b)), ["traditional_simplified_name", "same_company", "same_city"]);
        // Same name, same city, nothing else: two people.
        let a = keys(ContactFacts { city: Some("北京".into()), ..contact("张伟") });
        let b = keys(ContactFacts { city: Some("北京".into()), ..contact("张伟") });
        assert_eq!(score_contacts(&a, &b), None);
        // Pinyin-equal names at the same company.
        let a = keys(ContactFacts { company_id: company, ..contact("章伟") });
        let b = keys(ContactFacts { company_id: company, ..contact("Zhang Wei") });
        assert_eq!(codes(&score_contacts(&a, &b)), ["pinyin_name", "same_company"]);
        // Similar Latin names sharing a company email domain.
        let a = keys(ContactFacts { emails: vec!["jon@acme.com".into()], ..contact("Jonathan Smith") });
        let b = keys(ContactFacts { emails: vec!["j.smith@acme.com".into()], ..contact("Jonathon Smith") });
        assert_eq!(codes(&score_contacts(&a, &b)), ["similar_name", "same_email_domain"]);
        // ... but not a free-mail domain.
        let a = keys(ContactFacts { emails: vec!["jon@qq.com".into()], ..contact("Jonathan Smith") });
        let b = keys(ContactFacts { emails: vec!["j.smith@qq.com".into()], ..contact("Jonathon Smith") });
        assert_eq!(score_contacts(&a, &b), None);
    }

    #[test]
    fn validated_points_give_the_keys_a_parse_gives() {
        use guanxi_core::contact_point::{EmailAddress, PhoneNumber};
        let emails = ["Wei.Zhang@Acme.cn", "ＡＤＡ@example.com", "li.na@163.com"];
        let phones = ["+86 138-0013-8000", "0086 139 0013 9000", "(010) 6552 9988 ext. 12", "+44 20 7946 0958"];
        let raw = ContactFacts {
            display_name: "张伟".into(),
            emails: emails.iter().map(|e| e.to_string()).collect(),
            phones: phones.iter().map(|p| p.to_string()).collect(),
            ..Default::default()
        };
        let stored = ContactFacts {
            emails: emails.iter().map(|e| EmailAddress::parse(e).unwrap().into_string()).collect(),
            phones: phones.iter().map(|p| PhoneNumber::parse(p, Region::CN).unwrap().to_string()).collect(),
            points_validated: true,
            ..raw.clone()
        };
        assert!(stored.phones.iter().any(|p| p.contains(";ext=")), "{:?}", stored.phones);
        assert_eq!(ContactKeys::new(&stored, Region::CN), ContactKeys::new(&raw, Region::CN));
    }

    #[test]
    fn different_birthdays_are_different_people() {
        let company = Some(Uuid::from_u128(7));
        let a = keys(ContactFacts { company_id: company, birthday: Some("1990-01-01".into()), ..contact("张伟") });
        let b = keys(ContactFacts { company_id: company, birthday: Some("1985-06-30".into()), ..contact("张伟") });
        assert_eq!(score_contacts(&a, &b), None);
    }

    #[test]
    fn companies() {
        let k = |n: &str| CompanyKeys::new(&CompanyFacts { name: n.into(), ..Default::default() });
        assert_eq!(codes(&score_companies(&k("Acme Inc."), &k("ACME"))), ["same_company_name"]);
        assert_eq!(score_companies(&k("字节跳动"), &k("腾讯")), None);
        let a = CompanyKeys::new(&CompanyFacts {
            name: "Globex".into(),
            domain: Some("https://www.globex.com/".into()),
            ..Default::default()
        });
        let b = CompanyKeys::new(&CompanyFacts {
            name: "Initech".into(),
            domain: Some("globex.com".into()),
            ..Default::default()
        });
        assert_eq!(codes(&score_companies(&a, &b)), ["same_domain"]);
        let a = CompanyKeys::new(&CompanyFacts {
            name: "Umbrella Corp".into(),
            city: Some("Shanghai".into()),
            ..Default::default()
        });
        let b = CompanyKeys::new(&CompanyFacts {
            name: "Umbrela Corp".into(),
            city: Some("shanghai".into()),
            ..Default::default()
        });
        assert_eq!(codes(&score_companies(&a, &b)), ["similar_company_name", "same_city"]);
    }
}
