//! `/api/v1/contacts`

use super::{Resource, resource_routes};
use crate::AppState;
use crate::error::ApiResult;
use axum::Router;
use guanxi_core::access::Actor;
use guanxi_core::contact::{Contact, ContactDraft, ContactInput, ContactRules};
use guanxi_core::custom_field::ObjectType;
use guanxi_core::filter::{CONTACT_FIELDS, FieldSpec, ListQuery};
use guanxi_store::contacts::BatchError;
use guanxi_store::{Db, Page, StoreError, contacts};
use uuid::Uuid;

pub struct Contacts;

pub fn routes() -> Router<AppState> {
    resource_routes::<Contacts>(Router::new())
}

impl Resource for Contacts {
    type Record = Contact;
    type Input = ContactInput;
    type Draft = ContactDraft;
    const PATH: &'static str = "contacts";
    const FIELDS: &'static [FieldSpec] = CONTACT_FIELDS;
    const CUSTOM: Option<ObjectType> = Some(ObjectType::Contact);

    fn id(r: &Contact) -> Uuid {
        r.id
    }
    fn version(r: &Contact) -> i64 {
        r.version
    }
    fn to_input(r: &Contact) -> ContactInput {
        r.to_input()
    }
    async fn validate(state: &AppState, _actor: &Actor, input: ContactInput) -> ApiResult<ContactDraft> {
        let defs = super::custom_defs(state, Self::CUSTOM).await?;
        let rules = ContactRules {
            default_region: state.config.default_region,
            custom_fields: &defs,
            today: chrono::Utc::now().date_naive(),
        };
        Ok(input.validate(&rules)?)
    }
    async fn create(db: &Db, actor: &Actor, d: &ContactDraft) -> Result<Contact, StoreError> {
        contacts::create(db, actor, d).await
    }
    async fn create_batch(db: &Db, actor: &Actor, d: &[ContactDraft]) -> Result<Vec<Contact>, BatchError> {
        contacts::create_batch(db, actor, d).await
    }
    async fn get(db: &Db, actor: &Actor, id: Uuid) -> Result<Contact, StoreError> {
        contacts::get(db, actor, id).await
    }
    async fn update(db: &Db, actor: &Actor, id: Uuid, version: i64, d: &ContactDraft) -> Result<Contact, StoreError> {
        contacts::update(db, actor, id, version, d).await
    }
    async fn delete(db: &Db, actor: &Actor, id: Uuid, version: Option<i64>) -> Result<(), StoreError> {
        contacts::delete(db, actor, id, version).await
    }
    async fn list(db: &Db, actor: &Actor, q: &ListQuery) -> Result<Page<Contact>, StoreError> {
        contacts::list(db, actor, q).await
    }
}
