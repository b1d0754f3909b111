//! Consents (本人同意): record, list, read and revoke. Only the agency that recorded a consent
//! sees or revokes it; each recording and revocation is an audit-log entry written before it
//! takes effect, and each read of a consent's evidence is logged first
//! (`crate::services::consents` holds the use cases; this module parses and renders).

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use crate::domain::{FreeText, SubjectId};
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

impl RecordConsent {
    fn into_fields(self) -> services::consents::ConsentFields {
        services::consents::ConsentFields {
            given_by: self.given_by,
            representative_name: self.representative_name,
            recipients: self.recipients,
            purposes: self.purposes,
            categories: self.categories,
            valid_from: self.valid_from,
            valid_until: self.valid_until,
            method: self.method,
            witness_name: self.witness_name,
            evidence_ref: self.evidence_ref,
        }
    }
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
    services::consents::may_write(&state, &who)?;
    let subject = SubjectId::parse(&path).map_err(|_| ApiError::not_found("subject_not_found", "no such subject"))?;
    let new = services::consents::parse_new(&state, subject, body.into_inner().into_fields())?;
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
    services::consents::may_read(&state, &who)?;
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
    services::consents::may_read(&state, &who)?;
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
    services::consents::may_write(&state, &who)?;
    let reason = FreeText::parse("reason", &body.reason)?;
    let revoked = services::consents::revoke(&state, &who, &path, &reason).await?;
    Ok(HttpResponse::Ok().json(revoked))
}
