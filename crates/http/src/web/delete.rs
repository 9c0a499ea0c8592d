//! Deleting one record from its page: `GET /{section}/{id}/delete` asks first (the record's name and what goes
//! with it), `POST` to the same address deletes it with the version the question was asked about. The store
//! decides who may delete what (and scopes the lookup like every read); a refusal is shown as a readable message on
//! the question page, never as a bare error. Several contacts at once are deleted from the list (`contact_list`).

use super::form::{FormData, record_id};
use super::{Cx, OrPage, Page, WebError, WebResult, WebUser, page, render, see_other};
use crate::AppState;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{MethodRouter, get};
use guanxi_store::StoreError;
use uuid::Uuid;

/// The kinds of record a page can delete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Doomed {
    Contact,
    Company,
    Product,
    Order,
    Activity,
    Task,
}

/// What the question page says about the record.
struct Record {
    name: String,
    version: i64,
}

impl Doomed {
    /// The path segment of the record's pages, also the catalog key of its consequences (`delete.body.<it>`).
    fn section(self) -> &'static str {
        match self {
            Doomed::Contact => "contacts",
            Doomed::Company => "companies",
            Doomed::Product => "products",
            Doomed::Order => "orders",
            Doomed::Activity => "activities",
            Doomed::Task => "tasks",
        }
    }

    /// Why a record that other records still point at was not deleted.
    fn in_use_message(self) -> &'static str {
        match self {
            Doomed::Product => "delete.refused.in_use.products",
            _ => "delete.refused.in_use",
        }
    }

    /// The nav entry that stays lit (tasks live under activities).
    fn nav(self) -> &'static str {
        match self {
            Doomed::Task => "activities",
            other => other.section(),
        }
    }

    /// The record's own page (activities and tasks are shown by their edit form).
    fn record_url(self, id: Uuid) -> String {
        match self {
            Doomed::Activity | Doomed::Task => format!("/{}/{id}/edit", self.section()),
            _ => format!("/{}/{id}", self.section()),
        }
    }

    async fn load(self, state: &AppState, w: &WebUser, id: Uuid) -> Result<Record, StoreError> {
        let (db, actor, locale) = (&state.db, &w.actor, w.locale);
        Ok(match self {
            Doomed::Contact => {
                let c = guanxi_store::contacts::get(db, actor, id).await?;
                Record { name: c.display_name, version: c.version }
            }
            Doomed::Company => {
                let c = guanxi_store::companies::get(db, actor, id).await?;
                Record { name: c.name, version: c.version }
            }
            Doomed::Product => {
                let p = guanxi_store::products::get(db, actor, id).await?;
                Record { name: format!("{} ({})", p.name, p.sku), version: p.version }
            }
            Doomed::Order => {
                let o = guanxi_store::orders::get(db, actor, id).await?;
                let name = o.number.unwrap_or_else(|| locale.t("orders.no_number").to_string());
                Record { name, version: o.version }
            }
            Doomed::Activity => {
                let a = guanxi_store::activities::get(db, actor, id).await?;
                let kind = locale.t(&format!("activity.{}", a.kind.as_str()));
                let name = match a.subject {
                    Some(s) => format!("{kind}: {s}"),
                    None => format!("{kind} · {}", locale.datetime(a.occurred_at)),
                };
                Record { name, version: a.version }
            }
            Doomed::Task => {
                let t = guanxi_store::tasks::get(db, actor, id).await?;
                Record { name: t.title, version: t.version }
            }
        })
    }

    async fn delete(self, state: &AppState, w: &WebUser, id: Uuid, version: i64) -> Result<(), StoreError> {
        let (db, actor, v) = (&state.db, &w.actor, Some(version));
        match self {
            Doomed::Contact => guanxi_store::contacts::delete(db, actor, id, v).await,
            Doomed::Company => guanxi_store::companies::delete(db, actor, id, v).await,
            Doomed::Product => guanxi_store::products::delete(db, actor, id, v).await,
            Doomed::Order => guanxi_store::orders::delete(db, actor, id, v).await,
            Doomed::Activity => guanxi_store::activities::delete(db, actor, id, v).await,
            Doomed::Task => guanxi_store::tasks::delete(db, actor, id, v).await,
        }
    }
}

/// The GET (question) and POST (delete) handlers of `/{section}/{id}/delete` for one kind of record.
pub fn routes(kind: Doomed) -> MethodRouter<AppState> {
    get(move |State(state): State<AppState>, w: WebUser, Path(raw_id): Path<String>| async move {
        let id = record_id(&raw_id, &w)?;
        let record = kind.load(&state, &w, id).await.or_page(w.locale)?;
        Ok::<_, WebError>(question(&w, kind, id, &record, None, StatusCode::OK))
    })
    .post(
        move |State(state): State<AppState>,
              w: WebUser,
              Path(raw_id): Path<String>,
              Form(f): Form<Vec<(String, String)>>| async move {
            let id = record_id(&raw_id, &w)?;
            delete(&state, &w, kind, id, &FormData(f)).await
        },
    )
}

async fn delete(state: &AppState, w: &WebUser, kind: Doomed, id: Uuid, f: &FormData) -> WebResult<Response> {
    let locale = w.locale;
    // The record as it is now: also what the question shows again after a refusal.
    let record = kind.load(state, w, id).await.or_page(locale)?;
    // Without the version the question was asked about, nobody confirmed deleting what is stored now.
    let Ok(version) = f.get("version").trim().parse::<i64>() else {
        return Ok(question(w, kind, id, &record, Some(Refused::Changed), StatusCode::CONFLICT));
    };
    match kind.delete(state, w, id, version).await {
        Ok(()) => Ok(see_other(&format!("/{}?deleted=1", kind.section()))),
        Err(StoreError::Forbidden) => {
            Ok(question(w, kind, id, &record, Some(Refused::Forbidden), StatusCode::FORBIDDEN))
        }
        Err(StoreError::VersionMismatch { .. }) => {
            Ok(question(w, kind, id, &record, Some(Refused::Changed), StatusCode::CONFLICT))
        }
        Err(StoreError::Conflict(_)) => Ok(question(w, kind, id, &record, Some(Refused::InUse), StatusCode::CONFLICT)),
        Err(e) => Err(WebError::store(e, locale)),
    }
}

/// Why the store did not delete.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Refused {
    /// The user can see the record but may not delete it.
    Forbidden,
    /// It changed since the question was asked: ask again about what is stored now.
    Changed,
    /// Something still depends on it.
    InUse,
}

#[derive(askama::Template)]
#[template(path = "record_delete.html")]
struct QuestionPage {
    cx: Cx,
    heading: String,
    consequence: &'static str,
    refused: Option<&'static str>,
    /// Whether the page offers to delete (not after a refusal that asking again cannot change).
    can_confirm: bool,
    action: String,
    back: String,
    version: i64,
}
page!(QuestionPage);

fn question(
    w: &WebUser,
    kind: Doomed,
    id: Uuid,
    record: &Record,
    refused: Option<Refused>,
    status: StatusCode,
) -> Response {
    let locale = w.locale;
    let heading = locale.t1("delete.title", &record.name);
    let action = format!("/{}/{id}/delete", kind.section());
    let page = QuestionPage {
        cx: Cx::for_user(w, kind.nav(), &action, heading.clone()),
        heading,
        consequence: locale.t(&format!("delete.body.{}", kind.section())),
        refused: refused.map(|r| {
            locale.t(match r {
                Refused::Forbidden => "delete.refused.forbidden",
                Refused::Changed => "delete.refused.changed",
                Refused::InUse => kind.in_use_message(),
            })
        }),
        // Confirming again would be refused again: the user cannot change permissions or dependants from here.
        can_confirm: !matches!(refused, Some(Refused::Forbidden | Refused::InUse)),
        action,
        back: kind.record_url(id),
        version: record.version,
    };
    render(status, &page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::Locale;

    #[test]
    fn every_kind_has_its_consequences_in_both_languages() {
        for kind in [Doomed::Contact, Doomed::Company, Doomed::Product, Doomed::Order, Doomed::Activity, Doomed::Task] {
            for locale in Locale::ALL {
                let key = format!("delete.body.{}", kind.section());
                assert_ne!(locale.t(&key), "?", "{key} in {}", locale.tag());
                assert_ne!(locale.t(kind.in_use_message()), "?", "{} in {}", kind.in_use_message(), locale.tag());
            }
        }
    }
}
