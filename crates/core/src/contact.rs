//! Contacts: the people a business sells to and serves.

use crate::access::Visibility;
use crate::contact_point::{EmailAddress, PhoneNumber, Region};
use crate::custom_field::{CustomFieldDef, validate_custom_values};
use crate::person_name::{clean_name_part, display_name};
use crate::text_field::{clean_tags, clean_text};
use crate::{FieldError, ValidationErrors};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// Where a contact came from (seed 001: web forms, social, email, phone, events, third parties, imports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    WebForm,
    Import,
    Api,
    #[default]
    Manual,
    Event,
    Email,
    Phone,
    Social,
    ThirdParty,
    Referral,
}

impl Source {
    pub const ALL: [Source; 10] = [
        Source::WebForm,
        Source::Import,
        Source::Api,
        Source::Manual,
        Source::Event,
        Source::Email,
        Source::Phone,
        Source::Social,
        Source::ThirdParty,
        Source::Referral,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::WebForm => "web_form",
            Source::Import => "import",
            Source::Api => "api",
            Source::Manual => "manual",
            Source::Event => "event",
            Source::Email => "email",
            Source::Phone => "phone",
            Source::Social => "social",
            Source::ThirdParty => "third_party",
            Source::Referral => "referral",
        }
    }

    pub fn parse(s: &str) -> Option<Source> {
        Source::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    Female,
    Male,
    Other,
    Unknown,
}

impl Gender {
    pub fn as_str(self) -> &'static str {
        match self {
            Gender::Female => "female",
            Gender::Male => "male",
            Gender::Other => "other",
            Gender::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<Gender> {
        [Gender::Female, Gender::Male, Gender::Other, Gender::Unknown].into_iter().find(|g| g.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostalAddress {
    /// ISO 3166 alpha-2 country code, e.g. `CN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Province or state (省 / 州).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// District (区 / 县).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postcode: Option<String>,
}

impl PostalAddress {
    pub fn clean(&self, field: &str) -> Result<PostalAddress, ValidationErrors> {
        let mut errs = ValidationErrors::new();
        let country = errs.take(clean_text(self.country.as_deref(), &format!("{field}/country"), 2)).flatten();
        let country = match country {
            Some(c) if c.len() == 2 && c.chars().all(|ch| ch.is_ascii_alphabetic()) => Some(c.to_ascii_uppercase()),
            Some(_) => {
                errs.push(FieldError::new(
                    format!("{field}/country"),
                    "invalid_country",
                    "must be a two-letter ISO 3166 code such as CN",
                ));
                None
            }
            None => None,
        };
        let mut part = |v: &Option<String>, name: &str, max: usize| {
            errs.take(clean_text(v.as_deref(), &format!("{field}/{name}"), max)).flatten()
        };
        let addr = PostalAddress {
            country,
            province: part(&self.province, "province", 100),
            city: part(&self.city, "city", 100),
            district: part(&self.district, "district", 100),
            street: part(&self.street, "street", 300),
            postcode: part(&self.postcode, "postcode", 20),
        };
        errs.into_result().map(|_| addr)
    }

    pub fn is_empty(&self) -> bool {
        self == &PostalAddress::default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailEntry {
    pub address: String,
    #[serde(default)]
    pub primary: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneEntry {
    /// E.164 once stored (`+8613800138000`); any common spelling on input.
    pub number: String,
    #[serde(default)]
    pub primary: bool,
}

/// A contact as stored and returned by the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Contact {
    pub id: Uuid,
    pub family_name: Option<String>,
    pub given_name: Option<String>,
    pub display_name: String,
    pub emails: Vec<EmailEntry>,
    pub phones: Vec<PhoneEntry>,
    pub address: PostalAddress,
    pub company_id: Option<Uuid>,
    pub job_title: Option<String>,
    pub gender: Option<Gender>,
    pub birthday: Option<NaiveDate>,
    pub preferred_language: Option<String>,
    pub source: Source,
    pub source_detail: Option<String>,
    pub tags: Vec<String>,
    pub owner_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub visibility: Visibility,
    #[schema(value_type = Object)]
    pub custom: Map<String, Value>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Contact {
    pub fn primary_email(&self) -> Option<&str> {
        self.emails.iter().find(|e| e.primary).map(|e| e.address.as_str())
    }

    pub fn primary_phone(&self) -> Option<&str> {
        self.phones.iter().find(|p| p.primary).map(|p| p.number.as_str())
    }

    pub fn ownership(&self) -> crate::access::Ownership {
        crate::access::Ownership { owner_id: self.owner_id, team_id: self.team_id, visibility: self.visibility }
    }

    /// The writable fields of this contact, as an input that reproduces it; PATCH merges a partial input into it.
    pub fn to_input(&self) -> ContactInput {
        ContactInput {
            family_name: self.family_name.clone(),
            given_name: self.given_name.clone(),
            display_name: Some(self.display_name.clone()),
            emails: self.emails.clone(),
            phones: self.phones.clone(),
            address: self.address.clone(),
            company_id: self.company_id,
            job_title: self.job_title.clone(),
            gender: self.gender,
            birthday: self.birthday,
            preferred_language: self.preferred_language.clone(),
            source: Some(self.source),
            source_detail: self.source_detail.clone(),
            tags: self.tags.clone(),
            owner_id: self.owner_id,
            visibility: Some(self.visibility),
            custom: self.custom.clone(),
        }
    }
}

/// What a client sends to create or replace a contact. Unknown fields are rejected so typos are not lost.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    #[serde(default)]
    pub family_name: Option<String>,
    #[serde(default)]
    pub given_name: Option<String>,
    /// Derived from the name parts when absent: `张伟` for 张 + 伟, `Ada Lovelace` for Ada + Lovelace.
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub emails: Vec<EmailEntry>,
    #[serde(default)]
    pub phones: Vec<PhoneEntry>,
    #[serde(default)]
    pub address: PostalAddress,
    #[serde(default)]
    pub company_id: Option<Uuid>,
    #[serde(default)]
    pub job_title: Option<String>,
    #[serde(default)]
    pub gender: Option<Gender>,
    #[serde(default)]
    pub birthday: Option<NaiveDate>,
    /// BCP 47 tag such as `zh-CN` or `en`.
    #[serde(default)]
    pub preferred_language: Option<String>,
    #[serde(default)]
    pub source: Option<Source>,
    #[serde(default)]
    pub source_detail: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Defaults to the caller.
    #[serde(default)]
    pub owner_id: Option<Uuid>,
    #[serde(default)]
    pub visibility: Option<Visibility>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub custom: Map<String, Value>,
}

/// A validated, normalised contact ready to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactDraft {
    pub family_name: Option<String>,
    pub given_name: Option<String>,
    pub display_name: String,
    pub emails: Vec<EmailEntry>,
    pub phones: Vec<PhoneEntry>,
    pub address: PostalAddress,
    pub company_id: Option<Uuid>,
    pub job_title: Option<String>,
    pub gender: Option<Gender>,
    pub birthday: Option<NaiveDate>,
    pub preferred_language: Option<String>,
    pub source: Source,
    pub source_detail: Option<String>,
    pub tags: Vec<String>,
    pub owner_id: Option<Uuid>,
    pub visibility: Visibility,
    pub custom: Map<String, Value>,
}

impl ContactDraft {
    pub fn primary_email(&self) -> Option<&str> {
        self.emails.iter().find(|e| e.primary).map(|e| e.address.as_str())
    }

    pub fn primary_phone(&self) -> Option<&str> {
        self.phones.iter().find(|p| p.primary).map(|p| p.number.as_str())
    }
}

/// What validation needs besides the input itself.
pub struct ContactRules<'a> {
    pub default_region: Region,
    pub custom_fields: &'a [CustomFieldDef],
    pub today: NaiveDate,
}

impl ContactInput {
    /// Checks every field and collects every problem, so a form can show all of them at once.
    pub fn validate(&self, rules: &ContactRules<'_>) -> Result<ContactDraft, ValidationErrors> {
        let mut errs = ValidationErrors::new();
        let family_name =
            errs.take(clean_name_part(self.family_name.as_deref().unwrap_or(""), "family_name", 100)).flatten();
        let given_name =
            errs.take(clean_name_part(self.given_name.as_deref().unwrap_or(""), "given_name", 100)).flatten();
        let explicit_display = errs.take(clean_text(self.display_name.as_deref(), "display_name", 200)).flatten();

        let emails = validate_emails(&self.emails, &mut errs);
        let phones = validate_phones(&self.phones, rules.default_region, &mut errs);

        let display_name = explicit_display
            .or_else(|| display_name(family_name.as_deref(), given_name.as_deref()))
            .or_else(|| emails.iter().find(|e| e.primary).map(|e| e.address.clone()))
            .or_else(|| phones.iter().find(|p| p.primary).map(|p| p.number.clone()));
        if display_name.is_none() && errs.is_empty() {
            errs.push(FieldError::new(
                "display_name",
                "required",
                "a contact needs a name, an email or a phone number",
            ));
        }

        let address = match self.address.clean("address") {
            Ok(a) => a,
            Err(e) => {
                errs.errors.extend(e.errors);
                PostalAddress::default()
            }
        };
        let job_title = errs.take(clean_text(self.job_title.as_deref(), "job_title", 200)).flatten();
        if let Some(b) = self.birthday
            && (b > rules.today || b < NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(b))
        {
            errs.push(FieldError::new("birthday", "out_of_range", "must be between 1900-01-01 and today"));
        }
        let preferred_language = errs.take(clean_language(self.preferred_language.as_deref())).flatten();
        let source_detail = errs.take(clean_text(self.source_detail.as_deref(), "source_detail", 500)).flatten();
        let tags = errs.take(clean_tags(&self.tags, "tags")).unwrap_or_default();
        let custom = match validate_custom_values(&self.custom, rules.custom_fields) {
            Ok(c) => c,
            Err(e) => {
                errs.errors.extend(e.errors);
                Map::new()
            }
        };
        errs.into_result()?;
        Ok(ContactDraft {
            family_name,
            given_name,
            display_name: display_name.unwrap_or_default(),
            emails,
            phones,
            address,
            company_id: self.company_id,
            job_title,
            gender: self.gender,
            birthday: self.birthday,
            preferred_language,
            source: self.source.unwrap_or_default(),
            source_detail,
            tags,
            owner_id: self.owner_id,
            visibility: self.visibility.unwrap_or_default(),
            custom,
        })
    }
}

/// Exactly one primary: the one marked, else the first. Two marked is an error; repeated addresses are merged.
fn validate_emails(input: &[EmailEntry], errs: &mut ValidationErrors) -> Vec<EmailEntry> {
    if input.len() > 20 {
        errs.push(FieldError::new("emails", "too_many", "at most 20 email addresses"));
        return Vec::new();
    }
    let mut out: Vec<EmailEntry> = Vec::new();
    for (i, e) in input.iter().enumerate() {
        match EmailAddress::parse(&e.address) {
            Ok(addr) => {
                let address = addr.as_str().to_string();
                match out.iter_mut().find(|o| o.address == address) {
                    Some(existing) => existing.primary |= e.primary,
                    None => out.push(EmailEntry { address, primary: e.primary }),
                }
            }
            Err(err) => errs.push(err.under(&format!("emails/{i}/address"))),
        }
    }
    fix_primary(&mut out, |e| &mut e.primary, "emails", errs);
    out
}

fn validate_phones(input: &[PhoneEntry], region: Region, errs: &mut ValidationErrors) -> Vec<PhoneEntry> {
    if input.len() > 20 {
        errs.push(FieldError::new("phones", "too_many", "at most 20 phone numbers"));
        return Vec::new();
    }
    let mut out: Vec<PhoneEntry> = Vec::new();
    for (i, p) in input.iter().enumerate() {
        match PhoneNumber::parse(&p.number, region) {
            Ok(num) => {
                let number = num.to_string();
                match out.iter_mut().find(|o| o.number == number) {
                    Some(existing) => existing.primary |= p.primary,
                    None => out.push(PhoneEntry { number, primary: p.primary }),
                }
            }
            Err(err) => errs.push(err.under(&format!("phones/{i}/number"))),
        }
    }
    fix_primary(&mut out, |p| &mut p.primary, "phones", errs);
    out
}

fn fix_primary<T>(items: &mut [T], primary: impl Fn(&mut T) -> &mut bool, field: &str, errs: &mut ValidationErrors) {
    let marked = items.iter_mut().map(|i| *primary(i)).filter(|b| *b).count();
    if marked > 1 {
        errs.push(FieldError::new(field, "several_primary", "only one entry can be primary"));
    } else if marked == 0
        && let Some(first) = items.first_mut()
    {
        *primary(first) = true;
    }
}

fn clean_language(v: Option<&str>) -> Result<Option<String>, FieldError> {
    let Some(tag) = clean_text(v, "preferred_language", 35)? else { return Ok(None) };
    let mut parts = tag.split(['-', '_']);
    let lang_ok =
        parts.next().is_some_and(|p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()));
    let rest_ok = parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
    if !(lang_ok && rest_ok) {
        return Err(FieldError::new(
            "preferred_language",
            "invalid_language",
            "must be a language tag such as zh-CN or en",
        ));
    }
    // Canonical case: language lower, region upper (zh-cn -> zh-CN).
    let canon: Vec<String> = tag
        .split(['-', '_'])
        .enumerate()
        .map(|(i, p)| {
            if i == 0 {
                p.to_ascii_lowercase()
            } else if p.len() == 2 {
                p.to_ascii_uppercase()
            } else {
                p.to_string()
            }
        })
        .collect();
    Ok(Some(canon.join("-")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> ContactRules<'static> {
        ContactRules {
            default_region: Region::CN,
            custom_fields: &[],
            today: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
        }
    }

    #[test]
    fn chinese_name_is_derived_and_phone_normalised() {
        let input = ContactInput {
            family_name: Some("张".into()),
            given_name: Some("伟".into()),
            phones: vec![PhoneEntry { number: "138 0013 8000".into(), primary: false }],
            emails: vec![EmailEntry { address: "Zhang.Wei@Example.COM".into(), primary: false }],
            ..Default::default()
        };
        let d = input.validate(&rules()).unwrap();
        assert_eq!(d.display_name, "张伟");
        assert_eq!(d.primary_phone(), Some("+8613800138000"));
        assert_eq!(d.primary_email(), Some("zhang.wei@example.com"));
    }

    #[test]
    fn every_bad_field_is_reported() {
        let input = ContactInput {
            given_name: Some("Ada".into()),
            emails: vec![EmailEntry { address: "not-an-email".into(), primary: true }],
            phones: vec![PhoneEntry { number: "12".into(), primary: true }],
            preferred_language: Some("english please".into()),
            birthday: NaiveDate::from_ymd_opt(2030, 1, 1),
            ..Default::default()
        };
        let errs = input.validate(&rules()).unwrap_err();
        let fields: Vec<_> = errs.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["emails/0/address", "phones/0/number", "birthday", "preferred_language"]);
    }

    #[test]
    fn a_contact_needs_some_identity() {
        let errs = ContactInput::default().validate(&rules()).unwrap_err();
        assert_eq!(errs.errors[0].field, "display_name");
    }

    #[test]
    fn two_primaries_are_rejected() {
        let input = ContactInput {
            emails: vec![
                EmailEntry { address: "a@example.com".into(), primary: true },
                EmailEntry { address: "b@example.com".into(), primary: true },
            ],
            ..Default::default()
        };
        assert_eq!(input.validate(&rules()).unwrap_err().errors[0].code, "several_primary");
    }
}
