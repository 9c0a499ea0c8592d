//! Companies (accounts): the organisations contacts work for.

use crate::access::Visibility;
use crate::contact::PostalAddress;
use crate::custom_field::{CustomFieldDef, validate_custom_values};
use crate::text_field::{clean_tags, clean_text, required_text};
use crate::{FieldError, ValidationErrors};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// Head-count band, as sales teams usually segment accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum SizeBand {
    #[serde(rename = "1-10")]
    Micro,
    #[serde(rename = "11-50")]
    Small,
    #[serde(rename = "51-200")]
    Medium,
    #[serde(rename = "201-1000")]
    Large,
    #[serde(rename = "1001+")]
    Enterprise,
}

impl SizeBand {
    pub const ALL: [SizeBand; 5] =
        [SizeBand::Micro, SizeBand::Small, SizeBand::Medium, SizeBand::Large, SizeBand::Enterprise];

    pub fn as_str(self) -> &'static str {
        match self {
            SizeBand::Micro => "1-10",
            SizeBand::Small => "11-50",
            SizeBand::Medium => "51-200",
            SizeBand::Large => "201-1000",
            SizeBand::Enterprise => "1001+",
        }
    }

    pub fn parse(s: &str) -> Option<SizeBand> {
        SizeBand::ALL.into_iter().find(|b| b.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Company {
    pub id: Uuid,
    pub name: String,
    pub domain: Option<String>,
    pub industry: Option<String>,
    pub size_band: Option<SizeBand>,
    pub address: PostalAddress,
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

impl Company {
    pub fn ownership(&self) -> crate::access::Ownership {
        crate::access::Ownership { owner_id: self.owner_id, team_id: self.team_id, visibility: self.visibility }
    }

    pub fn to_input(&self) -> CompanyInput {
        CompanyInput {
            name: Some(self.name.clone()),
            domain: self.domain.clone(),
            industry: self.industry.clone(),
            size_band: self.size_band,
            address: self.address.clone(),
            tags: self.tags.clone(),
            owner_id: self.owner_id,
            visibility: Some(self.visibility),
            custom: self.custom.clone(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanyInput {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub industry: Option<String>,
    #[serde(default)]
    pub size_band: Option<SizeBand>,
    #[serde(default)]
    pub address: PostalAddress,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub owner_id: Option<Uuid>,
    #[serde(default)]
    pub visibility: Option<Visibility>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub custom: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CompanyDraft {
    pub name: String,
    pub domain: Option<String>,
    pub industry: Option<String>,
    pub size_band: Option<SizeBand>,
    pub address: PostalAddress,
    pub tags: Vec<String>,
    pub owner_id: Option<Uuid>,
    pub visibility: Visibility,
    pub custom: Map<String, Value>,
}

impl CompanyInput {
    pub fn validate(&self, custom_fields: &[CustomFieldDef]) -> Result<CompanyDraft, ValidationErrors> {
        let mut errs = ValidationErrors::new();
        let name = errs.take(required_text(self.name.as_deref(), "name", 200));
        let domain = errs.take(clean_domain(self.domain.as_deref())).flatten();
        let industry = errs.take(clean_text(self.industry.as_deref(), "industry", 100)).flatten();
        let address = match self.address.clean("address") {
            Ok(a) => a,
            Err(e) => {
                errs.errors.extend(e.errors);
                PostalAddress::default()
            }
        };
        let tags = errs.take(clean_tags(&self.tags, "tags")).unwrap_or_default();
        let custom = validate_custom_values(&self.custom, custom_fields).unwrap_or_else(|e| {
            errs.errors.extend(e.errors);
            Map::new()
        });
        errs.into_result()?;
        Ok(CompanyDraft {
            name: name.unwrap_or_default(),
            domain,
            industry,
            size_band: self.size_band,
            address,
            tags,
            owner_id: self.owner_id,
            visibility: self.visibility.unwrap_or_default(),
            custom,
        })
    }
}

/// A web domain, lower-cased, without scheme, `www.` or path: `https://www.Example.com/about` -> `example.com`.
fn clean_domain(v: Option<&str>) -> Result<Option<String>, FieldError> {
    let Some(d) = clean_text(v, "domain", 253)? else { return Ok(None) };
    let d = d.to_lowercase();
    let d = d.strip_prefix("https://").or_else(|| d.strip_prefix("http://")).unwrap_or(&d);
    let d = d.split(['/', '?', '#']).next().unwrap_or("");
    let d = d.strip_prefix("www.").unwrap_or(d);
    let ok = d.contains('.')
        && d.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    if ok {
        Ok(Some(d.to_string()))
    } else {
        Err(FieldError::new("domain", "invalid_domain", "must be a domain such as example.com"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_is_normalised() {
        assert_eq!(clean_domain(Some("https://www.Example.com/about")).unwrap().as_deref(), Some("example.com"));
        assert_eq!(clean_domain(Some("阿里巴巴.中国")).unwrap().as_deref(), Some("阿里巴巴.中国"));
        assert!(clean_domain(Some("not a domain")).is_err());
    }

    #[test]
    fn name_is_required() {
        let errs = CompanyInput::default().validate(&[]).unwrap_err();
        assert_eq!(errs.errors[0].field, "name");
    }
}
