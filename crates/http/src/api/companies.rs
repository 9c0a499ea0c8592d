//! `/api/v1/companies`

use super::Resource;
use crate::AppState;
use crate::error::ApiResult;
use guanxi_core::access::Actor;
use guanxi_core::company::{Company, CompanyDraft, CompanyInput};
use guanxi_core::custom_field::ObjectType;
use guanxi_core::filter::{COMPANY_FIELDS, FieldSpec, ListQuery};
use guanxi_store::contacts::BatchError;
use guanxi_store::{Db, Page, StoreError, companies};
use uuid::Uuid;

pub struct Companies;

impl Resource for Companies {
    type Record = Company;
    type Input = CompanyInput;
    type Draft = CompanyDraft;
    const PATH: &'static str = "companies";
    const FIELDS: &'static [FieldSpec] = COMPANY_FIELDS;
    const CUSTOM: Option<ObjectType> = Some(ObjectType::Company);

    fn id(r: &Company) -> Uuid {
        r.id
    }
    fn version(r: &Company) -> i64 {
        r.version
    }
    fn to_input(r: &Company) -> CompanyInput {
        r.to_input()
    }
    async fn validate(state: &AppState, _actor: &Actor, input: CompanyInput) -> ApiResult<CompanyDraft> {
        let defs = super::custom_defs(state, Self::CUSTOM).await?;
        Ok(input.validate(&defs)?)
    }
    async fn create(db: &Db, actor: &Actor, d: &CompanyDraft) -> Result<Company, StoreError> {
        companies::create(db, actor, d).await
    }
    async fn create_batch(db: &Db, actor: &Actor, d: &[CompanyDraft]) -> Result<Vec<Company>, BatchError> {
        companies::create_batch(db, actor, d).await
    }
    async fn get(db: &Db, actor: &Actor, id: Uuid) -> Result<Company, StoreError> {
        companies::get(db, actor, id).await
    }
    async fn update(db: &Db, actor: &Actor, id: Uuid, version: i64, d: &CompanyDraft) -> Result<Company, StoreError> {
        companies::update(db, actor, id, version, d).await
    }
    async fn delete(db: &Db, actor: &Actor, id: Uuid, version: Option<i64>) -> Result<(), StoreError> {
        companies::delete(db, actor, id, version).await
    }
    async fn list(db: &Db, actor: &Actor, q: &ListQuery) -> Result<Page<Company>, StoreError> {
        companies::list(db, actor, q).await
    }
}
