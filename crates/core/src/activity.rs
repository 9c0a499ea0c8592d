//! Activities: the typed entries of a contact's or company's timeline.

use crate::text_field::clean_text;
use crate::{FieldError, ValidationErrors};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    Note,
    Call,
    Meeting,
    Visit,
    Email,
    EventAttendance,
    Complaint,
    Feedback,
    WebVisit,
    /// Written by Guanxi itself (stage changes, merges, imports).
    System,
}

impl ActivityKind {
    pub const ALL: [ActivityKind; 10] = [
        ActivityKind::Note,
        ActivityKind::Call,
        ActivityKind::Meeting,
        ActivityKind::Visit,
        ActivityKind::Email,
        ActivityKind::EventAttendance,
        ActivityKind::Complaint,
        ActivityKind::Feedback,
        ActivityKind::WebVisit,
        ActivityKind::System,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActivityKind::Note => "note",
            ActivityKind::Call => "call",
            ActivityKind::Meeting => "meeting",
            ActivityKind::Visit => "visit",
            ActivityKind::Email => "email",
            ActivityKind::EventAttendance => "event_attendance",
            ActivityKind::Complaint => "complaint",
            ActivityKind::Feedback => "feedback",
            ActivityKind::WebVisit => "web_visit",
            ActivityKind::System => "system",
        }
    }

    pub fn parse(s: &str) -> Option<ActivityKind> {
        ActivityKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Activity {
    pub id: Uuid,
    pub kind: ActivityKind,
    pub contact_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub subject: Option<String>,
    pub body: Option<String>,
    #[schema(value_type = Object)]
    pub metadata: Map<String, Value>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Activity {
    pub fn to_input(&self) -> ActivityInput {
        ActivityInput {
            kind: Some(self.kind),
            contact_id: self.contact_id,
            company_id: self.company_id,
            occurred_at: Some(self.occurred_at),
            subject: self.subject.clone(),
            body: self.body.clone(),
            metadata: self.metadata.clone(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityInput {
    #[serde(default)]
    pub kind: Option<ActivityKind>,
    #[serde(default)]
    pub contact_id: Option<Uuid>,
    #[serde(default)]
    pub company_id: Option<Uuid>,
    /// Defaults to now.
    #[serde(default)]
    pub occurred_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    /// Structured details (call duration, meeting place, page URL, …); at most 16 KB.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub metadata: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActivityDraft {
    pub kind: ActivityKind,
    pub contact_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub metadata: Map<String, Value>,
}

impl ActivityInput {
    pub fn validate(&self, now: DateTime<Utc>) -> Result<ActivityDraft, ValidationErrors> {
        let mut errs = ValidationErrors::new();
        let kind = self.kind.unwrap_or(ActivityKind::Note);
        if self.contact_id.is_none() && self.company_id.is_none() {
            errs.push(FieldError::new("contact_id", "required", "an activity belongs to a contact or a company"));
        }
        let subject = errs.take(clean_text(self.subject.as_deref(), "subject", 300)).flatten();
        let body = errs.take(clean_text(self.body.as_deref(), "body", 20_000)).flatten();
        if subject.is_none() && body.is_none() && self.metadata.is_empty() {
            errs.push(FieldError::new("body", "required", "write something"));
        }
        if serde_json::to_vec(&self.metadata).map(|v| v.len()).unwrap_or(usize::MAX) > 16 * 1024 {
            errs.push(FieldError::new("metadata", "too_long", "must be at most 16 KB of JSON"));
        }
        errs.into_result()?;
        Ok(ActivityDraft {
            kind,
            contact_id: self.contact_id,
            company_id: self.company_id,
            occurred_at: self.occurred_at.unwrap_or(now),
            subject,
            body,
            metadata: self.metadata.clone(),
        })
    }
}

/// One entry of a timeline: an activity or an order, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TimelineEntry {
    Activity(Activity),
    Order(crate::order::Order),
}

impl TimelineEntry {
    pub fn occurred_at(&self) -> DateTime<Utc> {
        match self {
            TimelineEntry::Activity(a) => a.occurred_at,
            TimelineEntry::Order(o) => o.ordered_at,
        }
    }

    pub fn id(&self) -> Uuid {
        match self {
            TimelineEntry::Activity(a) => a.id,
            TimelineEntry::Order(o) => o.id,
        }
    }
}
