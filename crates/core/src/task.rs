//! Tasks: follow-ups assigned to users, with reminders.

use crate::text_field::{clean_text, required_text};
use crate::{FieldError, ValidationErrors};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Task {
    pub id: Uuid,
    pub title: String,
    pub notes: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
    pub remind_at: Option<DateTime<Utc>>,
    pub assignee_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    pub done: bool,
    pub done_at: Option<DateTime<Utc>>,
    pub created_by: Option<Uuid>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Task {
    pub fn to_input(&self) -> TaskInput {
        TaskInput {
            title: Some(self.title.clone()),
            notes: self.notes.clone(),
            due_at: self.due_at,
            remind_at: self.remind_at,
            assignee_id: self.assignee_id,
            contact_id: self.contact_id,
            company_id: self.company_id,
            done: Some(self.done),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskInput {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub due_at: Option<DateTime<Utc>>,
    /// When the assignee should be reminded; defaults to the due time.
    #[serde(default)]
    pub remind_at: Option<DateTime<Utc>>,
    /// Defaults to the caller.
    #[serde(default)]
    pub assignee_id: Option<Uuid>,
    #[serde(default)]
    pub contact_id: Option<Uuid>,
    #[serde(default)]
    pub company_id: Option<Uuid>,
    #[serde(default)]
    pub done: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskDraft {
    pub title: String,
    pub notes: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
    pub remind_at: Option<DateTime<Utc>>,
    pub assignee_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    pub done: bool,
}

impl TaskInput {
    pub fn validate(&self) -> Result<TaskDraft, ValidationErrors> {
        let mut errs = ValidationErrors::new();
        let title = errs.take(required_text(self.title.as_deref(), "title", 300));
        let notes = errs.take(clean_text(self.notes.as_deref(), "notes", 10_000)).flatten();
        if let (Some(r), Some(d)) = (self.remind_at, self.due_at)
            && r > d
        {
            errs.push(FieldError::new("remind_at", "out_of_range", "a reminder comes before the due time"));
        }
        errs.into_result()?;
        Ok(TaskDraft {
            title: title.unwrap_or_default(),
            notes,
            due_at: self.due_at,
            remind_at: self.remind_at.or(self.due_at),
            assignee_id: self.assignee_id,
            contact_id: self.contact_id,
            company_id: self.company_id,
            done: self.done.unwrap_or(false),
        })
    }
}
