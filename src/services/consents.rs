//! Consents: recording and revoking are log entries first (`consent-recorded`,
//! `consent-revoked`), then changes; the notices to agencies that received data under a revoked
//! consent follow the revocation's entry. Reading a consent with its sealed evidence
//! (representative, witness, evidence reference) is logged first as `consent-evidence-read`.
//! The answers to recording and revoking carry the consent's details too, opened under that
//! change's own entry (the recorder has just given them, or is acting on the consent).

use futures_util::future::try_join_all;

use super::{conflict, subject_pseudonym};
use crate::audit::{AuditEntry, ConsentEvent, IndexFields, Logged};
use crate::domain::{Consent, ConsentId, ConsentScope, FreeText, NewConsent, SubjectId};
use crate::http::error::ApiError;
use crate::principal::Principal;
use crate::state::AppState;

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
