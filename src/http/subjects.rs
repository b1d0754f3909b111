//! Agencies, households, subjects, local-id links and case records over HTTP. The use cases
//! (and who may do them) are in [`crate::services::subjects`]; handlers parse, call, render.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use crate::domain::ids::LocalId;
use crate::domain::{HouseholdId, Purpose, SessionId, SubjectId};
use crate::principal::Principal;
use crate::services::subjects::{self as svc, RecordEntry, RecordInput, SubjectLink};
use crate::state::AppState;

/// A subject id in a path: one that cannot be an id is simply not found.
fn subject_id(s: &str) -> Result<SubjectId, ApiError> {
    SubjectId::parse(s).map_err(|_| ApiError::not_found("subject_not_found", "no such subject"))
}

#[derive(Serialize, ToSchema)]
pub struct AgencyView {
    pub id: String,
    pub name: String,
    pub organ: String,
    /// `public` (ward) or `private` (contracted corporation, 社協).
    pub organ_kind: String,
}

#[utoipa::path(get, path = "/v1/agencies", tag = "directory",
    responses((status = 200, body = [AgencyView]), (status = 401, body = ErrorBody)))]
pub async fn list_agencies(state: web::Data<AppState>, _who: Principal) -> HttpResponse {
    let mut list: Vec<AgencyView> = state
        .agencies
        .values()
        .map(|a| AgencyView {
            id: a.id.to_string(),
            name: a.name.clone(),
            organ: a.organ.to_string(),
            organ_kind: serde_json::to_value(a.organ_kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
        })
        .collect();
    list.sort_by(|a, b| a.id.cmp(&b.id));
    HttpResponse::Ok().json(list)
}

#[derive(Serialize, ToSchema)]
pub struct Created {
    pub id: String,
}

#[utoipa::path(post, path = "/v1/households", tag = "subjects",
    responses((status = 201, body = Created), (status = 403, body = ErrorBody)))]
pub async fn create_household(state: web::Data<AppState>, who: Principal) -> Result<HttpResponse, ApiError> {
    let cap = svc::clerk(&state, &who)?;
    let id = svc::create_household(&state, &cap).await?;
    Ok(HttpResponse::Created().json(Created { id: id.to_string() }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSubject {
    /// Your agency's own id for this person (case number). Never a My Number.
    pub local_id: String,
    pub household_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SubjectView {
    pub id: String,
    pub local_id: String,
    pub household_id: Option<String>,
}

impl From<SubjectLink> for SubjectView {
    fn from(s: SubjectLink) -> Self {
        Self {
            id: s.id.to_string(),
            local_id: s.local_id.into_string(),
            household_id: s.household_id.map(|h| h.to_string()),
        }
    }
}

#[utoipa::path(post, path = "/v1/subjects", tag = "subjects", request_body = CreateSubject,
    responses((status = 201, body = SubjectView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_subject(
    state: web::Data<AppState>,
    who: Principal,
    body: web::Json<CreateSubject>,
) -> Result<HttpResponse, ApiError> {
    let cap = svc::clerk(&state, &who)?;
    let local = LocalId::parse(&body.local_id)?;
    let household = body.household_id.as_deref().map(HouseholdId::parse).transpose()?;
    let created = svc::create_subject(&state, &cap, local, household).await?;
    Ok(HttpResponse::Created().json(SubjectView::from(created)))
}

/// Why a person's data is erased, and the officer's note.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EraseSubject {
    /// `appi-deletion` (the person asked, APPI 消去・利用停止) or `retention-expiry`.
    pub ground: svc::ErasureGround,
    /// Why, for the log (e.g. the request's reference number). Not personal data.
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct Erased {
    pub subject_id: String,
    pub ground: svc::ErasureGround,
    /// The `subject-erased` log entry, written before the data key was destroyed.
    #[schema(value_type = Object)]
    pub audit_receipt: crate::audit::Receipt,
}

/// Erases a person's data from the hub (docs/rules.md#R-G11): logged first (`subject-erased`),
/// then their data key is destroyed — no record, section or consent evidence about them can be
/// decrypted again, and every later request about them is refused (`subject_erased`). The log
/// keeps every entry and still verifies.
#[utoipa::path(post, path = "/v1/subjects/{id}/erasure", tag = "subjects", request_body = EraseSubject,
    responses((status = 200, body = Erased), (status = 410, description = "erased already (`subject_erased`)", body = ErrorBody)))]
pub async fn erase_subject(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    body: web::Json<EraseSubject>,
) -> Result<HttpResponse, ApiError> {
    let subject = SubjectId::parse(&path).map_err(|e| e.at("id"))?;
    let reason = crate::domain::FreeText::parse("reason", &body.reason)?;
    let receipt = svc::erase(&state, &who, subject, body.ground, &reason).await?;
    Ok(HttpResponse::Ok().json(Erased {
        subject_id: subject.to_string(),
        ground: body.ground,
        audit_receipt: receipt,
    }))
}

#[utoipa::path(get, path = "/v1/subjects/by-local-id/{local_id}", tag = "subjects",
    responses((status = 200, body = SubjectView), (status = 404, body = ErrorBody)))]
pub async fn subject_by_local_id(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let cap = svc::clerk(&state, &who)?;
    let local = LocalId::parse(&path)?;
    Ok(HttpResponse::Ok().json(SubjectView::from(svc::find_by_local_id(&state, &cap, local).await?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkSubject {
    pub local_id: String,
}

/// Links a subject the hub already knows to your agency's local id (e.g. after a referral).
#[utoipa::path(post, path = "/v1/subjects/{id}/links", tag = "subjects", request_body = LinkSubject,
    responses((status = 201, body = SubjectView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn link_subject(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    body: web::Json<LinkSubject>,
) -> Result<HttpResponse, ApiError> {
    let cap = svc::clerk(&state, &who)?;
    let id = subject_id(&path)?;
    let local = LocalId::parse(&body.local_id)?;
    Ok(HttpResponse::Created().json(SubjectView::from(svc::link(&state, &cap, id, local).await?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SectionInput {
    /// One data category, e.g. `identity`, `employment`, `health`.
    pub category: String,
    pub content: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRecord {
    /// The purpose the information was collected for.
    pub purpose: String,
    pub sections: Vec<SectionInput>,
    /// When the material comes from a support meeting or statutory conference session: that
    /// session's id. Such a record stays inside that body (no onward disclosure) unless the
    /// body's coordinator approves.
    pub origin_session_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SectionView {
    pub id: String,
    pub category: String,
}

#[derive(Serialize, ToSchema)]
pub struct RecordView {
    pub id: String,
    pub sections: Vec<SectionView>,
}

impl From<RecordEntry> for RecordView {
    fn from(r: RecordEntry) -> Self {
        Self {
            id: r.id.to_string(),
            sections: r
                .sections
                .into_iter()
                .map(|s| SectionView {
                    id: s.id.to_string(),
                    category: s.category.to_string(),
                })
                .collect(),
        }
    }
}

/// Writes a case record owned by your agency. Content is encrypted at rest. A sealed category
/// (`reporter-identity`) is refused (422 `category_sealed`): it comes only from legal-report intake.
#[utoipa::path(post, path = "/v1/subjects/{id}/records", tag = "records", request_body = CreateRecord,
    responses((status = 201, body = RecordView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_record(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    body: web::Json<CreateRecord>,
) -> Result<HttpResponse, ApiError> {
    let cap = svc::record_writer(&state, &who)?;
    let subject = subject_id(&path)?;
    let body = body.into_inner();
    let purpose = Purpose::parse(&body.purpose)?;
    let origin_session = match body.origin_session_id.as_deref().map(SessionId::parse).transpose()? {
        Some(s) => Some(svc::origin_session(&state, s).await?),
        None => None,
    };
    let sections = svc::sections(body.sections.iter().map(|s| (s.category.as_str(), s.content.as_str())))?;
    let input = RecordInput {
        purpose,
        sections,
        origin_session,
    };
    let record = svc::write_record(&state, &cap, subject, input).await?;
    Ok(HttpResponse::Created().json(RecordView::from(record)))
}

/// Your agency's records about a subject: ids and categories only, never content.
#[utoipa::path(get, path = "/v1/subjects/{id}/records", tag = "records",
    responses((status = 200, body = [RecordView]), (status = 404, body = ErrorBody)))]
pub async fn list_records(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let cap = svc::index_reader(&state, &who)?;
    let subject = subject_id(&path)?;
    let records = svc::records(&state, &cap, subject).await?;
    Ok(HttpResponse::Ok().json(records.into_iter().map(RecordView::from).collect::<Vec<_>>()))
}
