//! Consents (本人同意): record, list, read and revoke. Only the agency that recorded a consent
//! sees or revokes it; each recording and revocation is an audit-log entry written before it
//! takes effect, and each read of a consent's evidence is logged first
//! (`crate::services::consents` holds the use cases; this module parses and renders).

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::extract::{authorize, registered_agency};
use crate::domain::consent::expand_categories;
use crate::domain::{ConsentMethod, FreeText, GivenBy, NewConsent, Purpose, SubjectId, ValidationError};
use crate::principal::Principal;
use crate::services;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordConsent {
    /// `subject`, `legal-representative` or `guardian`.
    #[serde(default = "default_given_by")]
    pub given_by: String,
    pub representative_name: Option<String>,
    /// Agencies that may receive (agency ids).
    pub recipients: Vec<String>,
    /// Purposes, e.g. "employment support".
    pub purposes: Vec<String>,
    /// Category names; `all` means every category except special-care (health, mental-health,
    /// disability), which must be named explicitly, and the sealed `reporter-identity`.
    pub categories: Vec<String>,
    /// RFC 3339; defaults to now.
    pub valid_from: Option<String>,
    /// RFC 3339.
    pub valid_until: String,
    /// `written`, `electronic` or `oral-with-witness`.
    pub method: String,
    pub witness_name: Option<String>,
    /// Where the evidence is kept (form number, scanned file reference).
    pub evidence_ref: String,
}

fn default_given_by() -> String {
    "subject".into()
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeConsent {
    pub reason: String,
}

fn parse_enum<T: for<'de> Deserialize<'de>>(field: &str, s: &str, allowed: &str) -> Result<T, ValidationError> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|_| ValidationError::new(field, "invalid_value", format!("must be one of: {allowed}")))
}

fn name(field: &str, s: Option<&str>) -> Result<Option<String>, ValidationError> {
    s.map(|s| FreeText::bounded(field, s, 200).map(FreeText::into_string))
        .transpose()
}

fn parse_consent(state: &AppState, subject: SubjectId, b: RecordConsent) -> Result<NewConsent, ValidationError> {
    let mut recipients = Vec::with_capacity(b.recipients.len());
    for r in &b.recipients {
        recipients.push(registered_agency(state, "recipients", r)?);
    }
    recipients.sort();
    recipients.dedup();
    let purposes = b
        .purposes
        .iter()
        .map(|p| Purpose::parse(p))
        .collect::<Result<Vec<_>, _>>()?;
    let c = NewConsent {
        subject,
        given_by: parse_enum::<GivenBy>("given_by", &b.given_by, "subject, legal-representative, guardian")?,
        representative_name: name("representative_name", b.representative_name.as_deref())?,
        recipients,
        purposes,
        categories: expand_categories(&b.categories)?,
        valid_from: b
            .valid_from
            .as_deref()
            .map(|s| crate::domain::parse_rfc3339("valid_from", s))
            .transpose()?
            .unwrap_or_else(|| state.clock.now()),
        valid_until: crate::domain::parse_rfc3339("valid_until", &b.valid_until)?,
        method: parse_enum::<ConsentMethod>("method", &b.method, "written, electronic, oral-with-witness")?,
        witness_name: name("witness_name", b.witness_name.as_deref())?,
        evidence_ref: FreeText::parse("evidence_ref", &b.evidence_ref)?,
    };
    c.validate()?;
    Ok(c)
}

/// Records a consent obtained by your agency (logged as `consent-recorded` before it takes effect).
#[utoipa::path(post, path = "/v1/subjects/{id}/consents", tag = "consents", request_body = RecordConsent,
    responses((status = 201, description = "the recorded consent"), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 503, description = "the audit log is unavailable: nothing was recorded", body = ErrorBody)))]
pub async fn record_consent(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    body: web::Json<RecordConsent>,
) -> Result<HttpResponse, ApiError> {
    authorize(&state, &who, "consents:write")?;
    let subject = SubjectId::parse(&path).map_err(|_| ApiError::not_found("subject_not_found", "no such subject"))?;
    let new = parse_consent(&state, subject, body.into_inner())?;
    let consent = services::consents::record(&state, &who, &new).await?;
    Ok(HttpResponse::Created().json(consent))
}

/// Consents about a subject that your agency recorded, with their evidence; each read of the
/// evidence is logged (`consent-evidence-read`) first.
#[utoipa::path(get, path = "/v1/subjects/{id}/consents", tag = "consents",
    responses((status = 200, description = "consents, newest first"), (status = 404, body = ErrorBody),
        (status = 503, description = "the audit log is unavailable: nothing is read", body = ErrorBody)))]
pub async fn list_consents(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    authorize(&state, &who, "consents:read")?;
    let subject = SubjectId::parse(&path).map_err(|_| ApiError::not_found("subject_not_found", "no such subject"))?;
    let list = services::consents::list(&state, &who, subject).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// One consent with its evidence; the read is logged (`consent-evidence-read`) first.
#[utoipa::path(get, path = "/v1/consents/{id}", tag = "consents",
    responses((status = 200, description = "the consent"), (status = 404, body = ErrorBody),
        (status = 503, description = "the audit log is unavailable: nothing is read", body = ErrorBody)))]
pub async fn get_consent(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    authorize(&state, &who, "consents:read")?;
    Ok(HttpResponse::Ok().json(services::consents::read(&state, &who, &path).await?))
}

/// Revokes a consent: logged (`consent-revoked`), then every later disclosure request under it is
/// refused at once, and every agency that received data under it is notified.
#[utoipa::path(post, path = "/v1/consents/{id}/revoke", tag = "consents", request_body = RevokeConsent,
    responses((status = 200, description = "the revoked consent"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 503, description = "the audit log is unavailable: nothing was revoked", body = ErrorBody)))]
pub async fn revoke_consent(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    body: web::Json<RevokeConsent>,
) -> Result<HttpResponse, ApiError> {
    authorize(&state, &who, "consents:write")?;
    let reason = FreeText::parse("reason", &body.reason)?;
    let revoked = services::consents::revoke(&state, &who, &path, &reason).await?;
    Ok(HttpResponse::Ok().json(revoked))
}
