//! Consents (本人同意): record, list, read and revoke. Only the agency that recorded a consent
//! sees or revokes it; each recording and revocation is also an audit-log entry, because it
//! changes what may be disclosed.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::extract::{authorize, registered_agency};
use crate::audit::{AuditEntry, ConsentEvent, IndexFields};
use crate::domain::consent::expand_categories;
use crate::domain::{
    Consent, ConsentId, ConsentMethod, FreeText, GivenBy, NewConsent, Purpose, SubjectId, ValidationError,
};
use crate::principal::Principal;
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

fn parse_time(field: &str, s: &str) -> Result<OffsetDateTime, ValidationError> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|_| ValidationError::new(field, "invalid_time", "must be an RFC 3339 timestamp"))
}

fn name(field: &str, s: Option<&str>) -> Result<Option<String>, ValidationError> {
    s.map(|s| {
        if s.chars().count() > 200 {
            return Err(ValidationError::new(field, "too_long", "at most 200 characters"));
        }
        FreeText::parse(field, s).map(FreeText::into_string)
    })
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
            .map(|s| parse_time("valid_from", s))
            .transpose()?
            .unwrap_or_else(|| state.clock.now()),
        valid_until: parse_time("valid_until", &b.valid_until)?,
        method: parse_enum::<ConsentMethod>("method", &b.method, "written, electronic, oral-with-witness")?,
        witness_name: name("witness_name", b.witness_name.as_deref())?,
        evidence_ref: FreeText::parse("evidence_ref", &b.evidence_ref)?,
    };
    c.validate()?;
    Ok(c)
}

async fn log_consent_event(state: &AppState, who: &Principal, c: &Consent, revoked: bool) -> Result<(), ApiError> {
    let now = state.clock.now();
    let subject = state.pseudonyms.pseudonym("subject", &c.scope.subject.to_string());
    let event = ConsentEvent {
        at: now
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        user: who.user.to_string(),
        agency: who.agency.to_string(),
        subject: subject.clone(),
        consent_id: c.scope.id,
    };
    let entry = if revoked {
        AuditEntry::ConsentRevoked(event)
    } else {
        AuditEntry::ConsentRecorded(event)
    };
    let index = IndexFields {
        at_ms: crate::store::to_ms(now),
        decision: "recorded",
        subject_pseudonym: Some(subject),
        requester_agency: Some(who.agency.to_string()),
        requester_user: Some(who.user.to_string()),
        owner_agency: Some(c.scope.recorded_by_agency.to_string()),
        basis: Some("consent".into()),
        basis_ref: Some(c.scope.id.to_string()),
        ..IndexFields::default()
    };
    state.audit.append(&entry, index).await?;
    Ok(())
}

/// Records a consent obtained by your agency.
#[utoipa::path(post, path = "/v1/subjects/{id}/consents", tag = "consents", request_body = RecordConsent,
    responses((status = 201, description = "the recorded consent"), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn record_consent(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    body: web::Json<RecordConsent>,
) -> Result<HttpResponse, ApiError> {
    authorize(&state, &who, "consents:write")?;
    let subject = SubjectId::parse(&path).map_err(|_| ApiError::not_found("subject_not_found", "no such subject"))?;
    let new = parse_consent(&state, subject, body.into_inner())?;
    if !state.store.is_linked(&who.agency, subject).await? {
        return Err(ApiError::not_found(
            "subject_not_found",
            "your agency has no subject with that id",
        ));
    }
    let consent = state
        .store
        .insert_consent(&new, &who.agency, &who.user, state.clock.now())
        .await?;
    log_consent_event(&state, &who, &consent, false).await?;
    Ok(HttpResponse::Created().json(consent))
}

/// Consents about a subject that your agency recorded.
#[utoipa::path(get, path = "/v1/subjects/{id}/consents", tag = "consents",
    responses((status = 200, description = "consents, newest first"), (status = 404, body = ErrorBody)))]
pub async fn list_consents(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    authorize(&state, &who, "consents:read")?;
    let subject = SubjectId::parse(&path).map_err(|_| ApiError::not_found("subject_not_found", "no such subject"))?;
    let list = state.store.consents_for_subject(subject, &who.agency).await?;
    Ok(HttpResponse::Ok().json(list))
}

async fn own_consent(state: &AppState, who: &Principal, id: &str) -> Result<Consent, ApiError> {
    let id = ConsentId::parse(id).map_err(|_| ApiError::not_found("consent_not_found", "no such consent"))?;
    match state.store.consent(id).await? {
        Some(c) if crate::policy::access::consent_visible(who, &c.scope.recorded_by_agency) => Ok(c),
        _ => Err(ApiError::not_found(
            "consent_not_found",
            "your agency recorded no consent with that id",
        )),
    }
}

#[utoipa::path(get, path = "/v1/consents/{id}", tag = "consents",
    responses((status = 200, description = "the consent"), (status = 404, body = ErrorBody)))]
pub async fn get_consent(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    authorize(&state, &who, "consents:read")?;
    Ok(HttpResponse::Ok().json(own_consent(&state, &who, &path).await?))
}

/// Revokes a consent: every later disclosure request under it is refused at once.
#[utoipa::path(post, path = "/v1/consents/{id}/revoke", tag = "consents", request_body = RevokeConsent,
    responses((status = 200, description = "the revoked consent"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn revoke_consent(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    body: web::Json<RevokeConsent>,
) -> Result<HttpResponse, ApiError> {
    authorize(&state, &who, "consents:write")?;
    let reason = FreeText::parse("reason", &body.reason)?;
    let consent = own_consent(&state, &who, &path).await?;
    let revoked = state
        .store
        .revoke_consent(consent.scope.id, &who.user, reason.as_str(), state.clock.now())
        .await?;
    log_consent_event(&state, &who, &revoked, true).await?;
    // Tell every agency that received data under this consent (docs/rules.md#R-B1).
    let now = state.clock.now();
    for agency in state.store.recipients_under(&revoked.scope.id.to_string()).await? {
        state
            .store
            .notify(
                &agency,
                "consent-revoked",
                &revoked.scope.id.to_string(),
                "a consent under which your agency received data has been revoked: stop further use and onward sharing",
                now,
            )
            .await?;
    }
    Ok(HttpResponse::Ok().json(revoked))
}
