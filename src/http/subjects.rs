//! Agencies, households, subjects, local-id links and case records.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::extract::authorize;
use crate::domain::ids::LocalId;
use crate::domain::{Category, FreeText, HouseholdId, Purpose, SessionId, SubjectId, ValidationError};
use crate::principal::Principal;
use crate::state::AppState;
use crate::store::{NewRecord, NewSection};

/// Local ids are an agency's own case numbers: invisible characters refused, look-alikes
/// normalised to one form (see [`LocalId`]), no My Number.
fn local_id(s: &str) -> Result<String, ValidationError> {
    LocalId::parse(s).map(LocalId::into_string)
}

fn subject_id(s: &str) -> Result<SubjectId, ApiError> {
    SubjectId::parse(s).map_err(|_| ApiError::not_found("subject_not_found", "no such subject"))
}

/// The principal's agency must know the subject (have linked a local id).
async fn require_link(state: &AppState, who: &Principal, subject: SubjectId) -> Result<(), ApiError> {
    if state.store.is_linked(&who.agency, subject).await? {
        Ok(())
    } else {
        Err(ApiError::not_found(
            "subject_not_found",
            "your agency has no subject with that id",
        ))
    }
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
    authorize(&state, &who, "subjects:write")?;
    let id = state.store.create_household(&who.agency, state.clock.now()).await?;
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

#[utoipa::path(post, path = "/v1/subjects", tag = "subjects", request_body = CreateSubject,
    responses((status = 201, body = SubjectView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_subject(
    state: web::Data<AppState>,
    who: Principal,
    body: web::Json<CreateSubject>,
) -> Result<HttpResponse, ApiError> {
    authorize(&state, &who, "subjects:write")?;
    let local = local_id(&body.local_id)?;
    let household = body.household_id.as_deref().map(HouseholdId::parse).transpose()?;
    if let Some(h) = household
        && !state.store.household_exists(h).await?
    {
        return Err(ApiError::new(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            "household_not_found",
            "no such household",
        ));
    }
    let id = state
        .store
        .create_subject(&who.agency, &local, household, state.clock.now())
        .await?;
    Ok(HttpResponse::Created().json(SubjectView {
        id: id.to_string(),
        local_id: local,
        household_id: household.map(|h| h.to_string()),
    }))
}

#[utoipa::path(get, path = "/v1/subjects/by-local-id/{local_id}", tag = "subjects",
    responses((status = 200, body = SubjectView), (status = 404, body = ErrorBody)))]
pub async fn subject_by_local_id(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    authorize(&state, &who, "subjects:write")?;
    let local = local_id(&path)?;
    let id = state
        .store
        .subject_by_local_id(&who.agency, &local)
        .await?
        .ok_or_else(|| ApiError::not_found("subject_not_found", "your agency has no subject with that local id"))?;
    let row = state
        .store
        .subject(id)
        .await?
        .ok_or_else(|| ApiError::not_found("subject_not_found", "no such subject"))?;
    Ok(HttpResponse::Ok().json(SubjectView {
        id: id.to_string(),
        local_id: local,
        household_id: row.household.map(|h| h.to_string()),
    }))
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
    authorize(&state, &who, "subjects:write")?;
    let id = subject_id(&path)?;
    let row = state
        .store
        .subject(id)
        .await?
        .ok_or_else(|| ApiError::not_found("subject_not_found", "no such subject"))?;
    let local = local_id(&body.local_id)?;
    state.store.link_local_id(&who.agency, &local, id).await?;
    Ok(HttpResponse::Created().json(SubjectView {
        id: id.to_string(),
        local_id: local,
        household_id: row.household.map(|h| h.to_string()),
    }))
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
    authorize(&state, &who, "records:write")?;
    let subject = subject_id(&path)?;
    let body = body.into_inner();
    let purpose = Purpose::parse(&body.purpose)?;
    let origin_session = body.origin_session_id.as_deref().map(SessionId::parse).transpose()?;
    if let Some(session) = origin_session
        && state.store.session(session).await?.is_none()
    {
        return Err(ValidationError::new("origin_session_id", "session_not_found", "no such session").into());
    }
    if body.sections.is_empty() || body.sections.len() > 64 {
        return Err(ValidationError::new("sections", "invalid_sections", "a record has 1 to 64 sections").into());
    }
    let mut sections = Vec::with_capacity(body.sections.len());
    for (i, s) in body.sections.iter().enumerate() {
        let category = Category::parse(&s.category).map_err(|e| e.at(format!("sections[{i}].category")))?;
        if category.is_sealed() {
            // `reporter-identity` comes only from legal-report intake (POST /v1/legal-reports).
            return Err(ValidationError::new(
                format!("sections[{i}].category"),
                "category_sealed",
                "a sealed category is written only by legal-report intake",
            )
            .into());
        }
        let content = FreeText::parse(&format!("sections[{i}].content"), &s.content)?;
        sections.push(NewSection { category, content });
    }
    require_link(&state, &who, subject).await?;
    let categories: Vec<Category> = sections.iter().map(|s| s.category).collect();
    let record = NewRecord {
        subject,
        owner: who.agency.clone(),
        purpose,
        created_by: who.user.clone(),
        sections,
        origin_basis: "intake",
        origin_session,
    };
    let (id, section_ids) = state.store.create_record(record, state.clock.now()).await?;
    Ok(HttpResponse::Created().json(RecordView {
        id: id.to_string(),
        sections: section_ids
            .into_iter()
            .zip(categories)
            .map(|(s, c)| SectionView {
                id: s.to_string(),
                category: c.to_string(),
            })
            .collect(),
    }))
}

/// Your agency's records about a subject: ids and categories only, never content.
#[utoipa::path(get, path = "/v1/subjects/{id}/records", tag = "records",
    responses((status = 200, body = [RecordView]), (status = 404, body = ErrorBody)))]
pub async fn list_records(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    authorize(&state, &who, "records:read-index")?;
    let subject = subject_id(&path)?;
    require_link(&state, &who, subject).await?;
    let index = state.store.section_index(subject, &who.agency).await?;
    let mut records: Vec<RecordView> = Vec::new();
    for s in index {
        let view = SectionView {
            id: s.section.to_string(),
            category: s.category.to_string(),
        };
        match records.last_mut() {
            Some(r) if r.id == s.record.to_string() => r.sections.push(view),
            _ => records.push(RecordView {
                id: s.record.to_string(),
                sections: vec![view],
            }),
        }
    }
    Ok(HttpResponse::Ok().json(records))
}
