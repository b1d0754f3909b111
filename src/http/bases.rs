//! The other lawful bases' own resources: abuse reports (legal reporting duties), emergency
//! break-glass grants and their reviews, case assignments for internal use, and notifications.
//! Every change here is logged before it takes effect (`crate::services::bases` holds the use
//! cases; this module parses and renders); a 503 `audit_unavailable` means nothing changed.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::extract::authorize;
use crate::domain::{Category, FreeText, GrantId, Purpose, SubjectId, UserId, ValidationError};
use crate::principal::Principal;
use crate::services;
use crate::state::AppState;
use crate::store::{NewRecord, NewSection};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReporterInput {
    pub name: String,
    pub contact: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportSection {
    pub category: String,
    pub content: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLegalReport {
    /// A report type from `policies/bases.toml` (`child-abuse`, `elder-abuse`, `disability-abuse`).
    pub report_type: String,
    pub subject_id: String,
    pub sections: Vec<ReportSection>,
    /// Who reported: stored sealed as `reporter-identity`, never disclosed.
    pub reporter: ReporterInput,
}

/// Files an abuse report. It goes to the designated receiving agency only, never blocked by
/// missing consent; the reporter's identity is sealed.
#[utoipa::path(post, path = "/v1/legal-reports", tag = "bases", request_body = CreateLegalReport,
    responses((status = 201, description = "filed"), (status = 422, body = ErrorBody), (status = 503, description = "the audit log is unavailable: nothing changed", body = ErrorBody)))]
pub async fn create_legal_report(
    state: web::Data<AppState>,
    who: Principal,
    b: web::Json<CreateLegalReport>,
) -> Result<HttpResponse, ApiError> {
    authorize(&state, &who, "legal-reports:write")?;
    let route = state.bases.report_route(&b.report_type).cloned().ok_or_else(|| {
        ValidationError::new(
            "report_type",
            "unknown_report_type",
            "not a report type in policies/bases.toml",
        )
    })?;
    let subject = SubjectId::parse(&b.subject_id)?;
    if b.sections.is_empty() || b.sections.len() > 32 {
        return Err(ValidationError::new("sections", "invalid_sections", "a report has 1 to 32 sections").into());
    }
    let mut sections = Vec::with_capacity(b.sections.len() + 1);
    for (i, s) in b.sections.iter().enumerate() {
        let category = Category::parse(&s.category).map_err(|e| e.at(format!("sections[{i}].category")))?;
        if category.is_sealed() {
            return Err(ValidationError::new(
                format!("sections[{i}].category"),
                "category_sealed",
                "give the reporter in `reporter`",
            )
            .into());
        }
        sections.push(NewSection {
            category,
            content: FreeText::bounded(&format!("sections[{i}].content"), &s.content, FreeText::MAX_CHARS)?,
        });
    }
    let reporter = format!(
        "{} / {} ({})",
        FreeText::bounded("reporter.name", &b.reporter.name, 200)?.as_str(),
        b.reporter
            .contact
            .as_deref()
            .map(|c| FreeText::bounded("reporter.contact", c, 200))
            .transpose()?
            .map(FreeText::into_string)
            .unwrap_or_default(),
        who.agency
    );
    sections.push(NewSection {
        category: Category::ReporterIdentity,
        content: FreeText::parse("reporter", &reporter)?,
    });
    let record = NewRecord {
        subject,
        owner: route.receiving_agency.clone(),
        purpose: Purpose::parse(&format!("{} report", route.report_type))?,
        created_by: who.user.clone(),
        sections,
        origin_basis: "legal-report",
        origin_session: None,
    };
    let (id, record_id) = services::bases::file_legal_report(&state, &who, &route, record).await?;
    Ok(HttpResponse::Created().json(serde_json::json!({
        "id": id, "record_id": record_id, "receiving_agency": route.receiving_agency, "statute": route.statute
    })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGrant {
    pub subject_id: String,
    pub owner_agency: String,
    /// The imminent risk to life or body.
    pub risk: String,
    /// Why the person's consent cannot be obtained in time.
    pub why_consent_impracticable: String,
    /// Requested duration; capped by `emergency.max_hours` (default 72).
    pub hours: Option<u32>,
}

/// Break-glass: grants the caller short access to the minimal categories. Raises an alert and
/// stays unreviewed until a privacy officer records an outcome.
#[utoipa::path(post, path = "/v1/emergency-grants", tag = "bases", request_body = CreateGrant,
    responses((status = 201, description = "the grant"), (status = 422, body = ErrorBody), (status = 503, description = "the audit log is unavailable: nothing changed", body = ErrorBody)))]
pub async fn create_grant(
    state: web::Data<AppState>,
    who: Principal,
    b: web::Json<CreateGrant>,
) -> Result<HttpResponse, ApiError> {
    services::bases::may_request_grant(&state, &who)?;
    let b = b.into_inner();
    let request = services::bases::grant_request(
        &state,
        &services::bases::GrantFields {
            subject_id: b.subject_id,
            owner_agency: b.owner_agency,
            risk: b.risk,
            why_consent_impracticable: b.why_consent_impracticable,
            hours: b.hours,
        },
    )?;
    let grant = services::bases::create_grant(&state, &who, request).await?;
    Ok(HttpResponse::Created().json(grant))
}

/// Emergency grants awaiting review (privacy officers): the emergency-use alert list.
#[utoipa::path(get, path = "/v1/emergency-grants/unreviewed", tag = "bases",
    responses((status = 200, description = "unreviewed grants, oldest first, with their grounds (each read logged first)"), (status = 403, body = ErrorBody),
        (status = 503, description = "the audit log is unavailable: no grounds are opened", body = ErrorBody)))]
pub async fn unreviewed_grants(state: web::Data<AppState>, who: Principal) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(services::bases::unreviewed_with_grounds(&state, &who).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewInput {
    /// `justified` or `not-justified`.
    pub outcome: String,
    pub note: String,
}

#[utoipa::path(post, path = "/v1/emergency-grants/{id}/review", tag = "bases", request_body = ReviewInput,
    responses((status = 200, description = "reviewed (grounds not included)"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, description = "the audit log is unavailable: nothing changed", body = ErrorBody)))]
pub async fn review_grant(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    b: web::Json<ReviewInput>,
) -> Result<HttpResponse, ApiError> {
    let id = GrantId::parse(&path).map_err(|_| ApiError::not_found("grant_not_found", "no such grant"))?;
    let outcome = services::bases::ReviewOutcome::parse(&b.outcome)?;
    let note = FreeText::bounded("note", &b.note, 2000)?;
    let grant = services::bases::review_grant(&state, &who, id, outcome, note.as_str()).await?;
    Ok(HttpResponse::Ok().json(grant))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignInput {
    pub user_id: String,
}

/// Assigns a user of your agency to a person's case (internal use, docs/rules.md#R-B6).
#[utoipa::path(post, path = "/v1/subjects/{id}/assignments", tag = "bases", request_body = AssignInput,
    responses((status = 201, description = "assigned"), (status = 404, body = ErrorBody), (status = 503, description = "the audit log is unavailable: nothing changed", body = ErrorBody)))]
pub async fn assign_case(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    b: web::Json<AssignInput>,
) -> Result<HttpResponse, ApiError> {
    authorize(&state, &who, "assignments:write")?;
    let subject = SubjectId::parse(&path).map_err(|_| ApiError::not_found("subject_not_found", "no such subject"))?;
    let user = UserId::parse(&b.user_id).map_err(|e| e.at("user_id"))?;
    services::bases::assign_case(&state, &who, subject, &user).await?;
    Ok(HttpResponse::Created().json(serde_json::json!({"subject_id": subject, "agency": who.agency, "user_id": user})))
}

/// Notices for your agency (e.g. a consent under which you received data was revoked).
#[utoipa::path(get, path = "/v1/notifications", tag = "bases", responses((status = 200, description = "newest first")))]
pub async fn notifications(state: web::Data<AppState>, who: Principal) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(services::bases::notifications(&state, &who).await?))
}
