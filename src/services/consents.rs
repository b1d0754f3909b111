//! Consents: recording and revoking are log entries first (`consent-recorded`,
//! `consent-revoked`), then changes; the notices to agencies that received data under a revoked
//! consent follow the revocation's entry. Reading a consent with its sealed evidence
//! (representative, witness, evidence reference) is logged first as `consent-evidence-read`.
//! The answers to recording and revoking carry the consent's details too, opened under that
//! change's own entry (the recorder has just given them, or is acting on the consent).

use futures_util::future::try_join_all;

use super::{conflict, subject_pseudonym};
use crate::audit::{AuditEntry, ConsentEvent, IndexFields, Logged};
use crate::domain::consent::expand_categories;
use crate::domain::{
    Consent, ConsentId, ConsentMethod, ConsentScope, FreeText, GivenBy, NewConsent, Purpose, SubjectId, ValidationError,
};
use crate::http::error::ApiError;
use crate::http::extract::registered_agency;
use crate::principal::Principal;
use crate::state::AppState;

/// A consent as the recorder gives it (the JSON API's body, the console's form), before
/// validation by [`parse_new`].
#[derive(Debug, Clone, Default)]
pub struct ConsentFields {
    /// `subject`, `legal-representative` or `guardian`.
    pub given_by: String,
    pub representative_name: Option<String>,
    pub recipients: Vec<String>,
    pub purposes: Vec<String>,
    /// Category names; `all` means every general category.
    pub categories: Vec<String>,
    /// RFC 3339; `None` means now.
    pub valid_from: Option<String>,
    /// RFC 3339.
    pub valid_until: String,
    /// `written`, `electronic` or `oral-with-witness`.
    pub method: String,
    pub witness_name: Option<String>,
    pub evidence_ref: String,
}

fn parse_enum<T: for<'de> serde::Deserialize<'de>>(field: &str, s: &str, allowed: &str) -> Result<T, ValidationError> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|_| ValidationError::new(field, "invalid_value", format!("must be one of: {allowed}")))
}

fn name(field: &str, s: Option<&str>) -> Result<Option<String>, ValidationError> {
    s.map(|s| FreeText::bounded(field, s, 200).map(FreeText::into_string))
        .transpose()
}

/// Validates a consent about `subject`: registered recipient agencies, purposes, categories
/// (`all` expanded, sealed refused), the period, method, witness and representative rules.
pub fn parse_new(state: &AppState, subject: SubjectId, b: ConsentFields) -> Result<NewConsent, ValidationError> {
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

/// The caller may record and revoke consents (`consents:write`).
pub fn may_write(state: &AppState, who: &Principal) -> Result<(), ApiError> {
    Ok(crate::policy::access::permitted(
        &state.policy.current(),
        who,
        "consents:write",
    )?)
}

/// The caller may read consents (`consents:read`).
pub fn may_read(state: &AppState, who: &Principal) -> Result<(), ApiError> {
    Ok(crate::policy::access::permitted(
        &state.policy.current(),
        who,
        "consents:read",
    )?)
}

fn consent_not_found() -> ApiError {
    ApiError::not_found("consent_not_found", "your agency recorded no consent with that id")
}

/// Writes the `consent-recorded` / `consent-revoked` entry for consent `id`.
async fn log_consent_change(
    state: &AppState,
    who: &Principal,
    scope_subject: SubjectId,
    id: ConsentId,
    revoked: bool,
) -> Result<Logged, ApiError> {
    let now = state.clock.now();
    let subject = subject_pseudonym(state, scope_subject);
    let event = ConsentEvent {
        at: now
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        user: who.user.to_string(),
        agency: who.agency.to_string(),
        subject: subject.clone(),
        consent_id: id,
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
        // Only the recording agency records or revokes its consents.
        owner_agency: Some(who.agency.to_string()),
        basis: Some("consent".into()),
        basis_ref: Some(id.to_string()),
        ..IndexFields::default()
    };
    Ok(state.audit.record_change(&entry, index).await?)
}

/// Records a consent your agency obtained about a subject it is linked to.
pub async fn record(state: &AppState, who: &Principal, new: &NewConsent) -> Result<Consent, ApiError> {
    if !state.store.is_linked(&who.agency, new.subject).await? {
        return Err(ApiError::not_found(
            "subject_not_found",
            "your agency has no subject with that id",
        ));
    }
    let id = ConsentId::new_random();
    let logged = log_consent_change(state, who, new.subject, id, false).await?;
    Ok(state
        .store
        .insert_consent(id, new, &who.agency, &who.user, state.clock.now(), &logged)
        .await?)
}

/// The scope of a consent the caller may see (no sealed content opened).
async fn visible_scope(state: &AppState, who: &Principal, id: &str) -> Result<ConsentScope, ApiError> {
    let id = ConsentId::parse(id).map_err(|_| consent_not_found())?;
    match state.store.consent_scope(id).await? {
        Some(s) if crate::policy::access::consent_visible(who, &s.recorded_by_agency) => Ok(s),
        _ => Err(consent_not_found()),
    }
}

/// Revokes a consent: logged first, then in force (every later disclosure under it is refused),
/// then every agency that received data under it is told.
pub async fn revoke(state: &AppState, who: &Principal, id: &str, reason: &FreeText) -> Result<Consent, ApiError> {
    let scope = visible_scope(state, who, id).await?;
    if scope.revoked_at.is_some() {
        return Err(conflict("consent_already_revoked", "the consent was revoked already"));
    }
    let logged = log_consent_change(state, who, scope.subject, scope.id, true).await?;
    let now = state.clock.now();
    let revoked = state
        .store
        .revoke_consent(scope.id, &who.user, reason.as_str(), now, &logged)
        .await?;
    // Tell every agency that received data under this consent (docs/rules.md#R-B1).
    for agency in state.store.recipients_under(&revoked.scope.id.to_string()).await? {
        state
            .store
            .notify(
                &agency,
                "consent-revoked",
                &revoked.scope.id.to_string(),
                "a consent under which your agency received data has been revoked: stop further use and onward sharing",
                now,
                &logged,
            )
            .await?;
    }
    Ok(revoked)
}

/// Logs a read of one consent's sealed evidence (`consent-evidence-read`).
async fn log_evidence_read(state: &AppState, who: &Principal, scope: &ConsentScope) -> Result<Logged, ApiError> {
    Ok(state
        .audit
        .record_event(
            who,
            "consent-evidence-read",
            state.clock.now(),
            Some(subject_pseudonym(state, scope.subject)),
            scope.id.to_string(),
            serde_json::json!({}),
        )
        .await?)
}

/// One consent with its evidence, after the entry logging the read.
pub async fn read(state: &AppState, who: &Principal, id: &str) -> Result<Consent, ApiError> {
    let scope = visible_scope(state, who, id).await?;
    let logged = log_evidence_read(state, who, &scope).await?;
    state
        .store
        .consent(scope.id, &logged)
        .await?
        .ok_or_else(consent_not_found)
}

/// The consents your agency recorded about `subject`, newest first, each with its evidence
/// after the entry logging that read.
pub async fn list(state: &AppState, who: &Principal, subject: SubjectId) -> Result<Vec<Consent>, ApiError> {
    let scopes = state.store.consent_scopes_for_subject(subject, &who.agency).await?;
    let opened = scopes.iter().map(|scope| async move {
        let logged = log_evidence_read(state, who, scope).await?;
        state
            .store
            .consent(scope.id, &logged)
            .await?
            .ok_or_else(consent_not_found)
    });
    try_join_all(opened).await
}

/// The scopes of the consents the caller's agency recorded about `subject` (`consents:read`),
/// newest first: recipients, purposes, categories, period and status, never the sealed
/// evidence (so nothing is opened and nothing needs logging).
pub async fn scopes(state: &AppState, who: &Principal, subject: SubjectId) -> Result<Vec<ConsentScope>, ApiError> {
    may_read(state, who)?;
    Ok(state.store.consent_scopes_for_subject(subject, &who.agency).await?)
}
