//! The other lawful bases' changes, each logged before it takes effect: filing an abuse report
//! (`legal-report-filed`), making an emergency grant (`emergency-granted`, plus an alert for
//! privacy officers), reviewing one (`emergency-reviewed`; `not-justified` ends it at once) and
//! assigning staff to a case (`case-assigned`). Opening a grant's sealed grounds is logged first
//! too (`emergency-grounds-read`).

use futures_util::future::try_join_all;
use time::OffsetDateTime;

use super::{conflict, subject_pseudonym};
use crate::audit::Logged;
use crate::audit::alerts::AlertKind;
use crate::domain::{AgencyId, GrantId, RecordId, ReportId, SubjectId, UserId};
use crate::http::error::ApiError;
use crate::policy::bases::ReportRoute;
use crate::principal::Principal;
use crate::state::AppState;
use crate::store::{EmergencyGrant, NewRecord};

/// Appends a non-disclosure event about `subject` (by pseudonym) and returns its [`Logged`].
async fn log_event(
    state: &AppState,
    who: &Principal,
    kind: &'static str,
    subject: SubjectId,
    reference: String,
    detail: serde_json::Value,
) -> Result<Logged, ApiError> {
    Ok(state
        .audit
        .record_event(
            who,
            kind,
            state.clock.now(),
            Some(subject_pseudonym(state, subject)),
            reference,
            detail,
        )
        .await?)
}

fn grant_not_found() -> ApiError {
    ApiError::not_found("grant_not_found", "no such grant")
}

/// Files an abuse report under `route`: logged, then stored as a record of the receiving agency
/// (reporter sealed). Returns (report id, record id).
pub async fn file_legal_report(
    state: &AppState,
    who: &Principal,
    route: &ReportRoute,
    record: NewRecord,
) -> Result<(ReportId, RecordId), ApiError> {
    let subject = record.subject;
    if state.store.subject(subject).await?.is_none() {
        return Err(crate::domain::ValidationError::new("subject_id", "subject_not_found", "no such subject").into());
    }
    let id = ReportId::new_random();
    let logged = log_event(
        state,
        who,
        "legal-report-filed",
        subject,
        id.to_string(),
        serde_json::json!({"report_type": route.report_type, "receiving_agency": route.receiving_agency, "statute": route.statute}),
    )
    .await?;
    let record_id = state
        .store
        .create_legal_report(id, &route.report_type, record, &who.agency, state.clock.now(), &logged)
        .await?;
    Ok((id, record_id))
}

/// What a break-glass request asks for, validated.
#[derive(Debug)]
pub struct GrantRequest {
    pub subject: SubjectId,
    pub owner: AgencyId,
    /// The stated risk and why consent is impracticable (sealed when stored).
    pub grounds: String,
    pub hours: u32,
}

/// A break-glass request as the requester gives it (the JSON API's body, the console's form).
#[derive(Debug, Clone, Default)]
pub struct GrantFields {
    pub subject_id: String,
    pub owner_agency: String,
    /// The imminent risk to life or body.
    pub risk: String,
    /// Why the person's consent cannot be obtained in time.
    pub why_consent_impracticable: String,
    /// Requested duration; capped by `emergency.max_hours`.
    pub hours: Option<u32>,
}

/// The caller may ask for emergency grants (`emergency:request`).
pub fn may_request_grant(state: &AppState, who: &Principal) -> Result<(), ApiError> {
    Ok(crate::policy::access::permitted(
        &state.policy.current(),
        who,
        "emergency:request",
    )?)
}

/// Validates a break-glass request: a registered owner, both grounds given (at most 2,000
/// characters each), the duration capped by `emergency.max_hours`.
pub fn grant_request(state: &AppState, b: &GrantFields) -> Result<GrantRequest, crate::domain::ValidationError> {
    use crate::domain::FreeText;
    let subject = SubjectId::parse(&b.subject_id)?;
    let owner = crate::http::extract::registered_agency(state, "owner_agency", &b.owner_agency)?;
    let risk = FreeText::bounded("risk", &b.risk, 2000)?;
    let why = FreeText::bounded("why_consent_impracticable", &b.why_consent_impracticable, 2000)?;
    let max = state.bases.emergency.max_hours;
    let hours = b.hours.unwrap_or(max).clamp(1, max);
    let grounds = format!(
        "risk: {}\nwhy consent is impracticable: {}",
        risk.as_str(),
        why.as_str()
    );
    Ok(GrantRequest {
        subject,
        owner,
        grounds,
        hours,
    })
}

/// Makes an emergency grant: logged, alerted, then usable. The answer carries no grounds.
pub async fn create_grant(state: &AppState, who: &Principal, req: GrantRequest) -> Result<EmergencyGrant, ApiError> {
    if state.store.subject(req.subject).await?.is_none() {
        return Err(crate::domain::ValidationError::new("subject_id", "subject_not_found", "no such subject").into());
    }
    let now: OffsetDateTime = state.clock.now();
    let expires_at = now + time::Duration::hours(i64::from(req.hours));
    let id = GrantId::new_random();
    let logged = log_event(
        state,
        who,
        "emergency-granted",
        req.subject,
        id.to_string(),
        serde_json::json!({"owner_agency": req.owner, "hours": req.hours}),
    )
    .await?;
    // The alert comes before the grant is usable: a grant nobody is alerted to must not exist.
    // One alert in the requester's scope and, when the records belong to another agency, one in
    // the owner's: the officers of both organs see it (and ward-wide officers see both).
    let detail = format!(
        "emergency grant {id}: {} of {} for records of {}, {} h; review it (POST /v1/emergency-grants/{id}/review)",
        who.user, who.agency, req.owner, req.hours
    );
    let mut scopes = vec![format!("user:{}/{}/grant:{id}", who.agency, who.user)];
    if req.owner != who.agency {
        scopes.push(format!("user:{}/grant:{id}", req.owner));
    }
    for scope in &scopes {
        state.alerts.raise(AlertKind::EmergencyGrant, scope, &detail).await?;
    }
    state
        .store
        .create_emergency_grant(
            id,
            req.subject,
            &req.owner,
            &who.user,
            &who.agency,
            &req.grounds,
            now,
            expires_at,
            &logged,
        )
        .await?;
    tracing::warn!(alert = "emergency-grant", grant = %id, agency = %who.agency, "break-glass emergency grant issued; privacy-officer review required");
    state.store.emergency_grant(id, None).await?.ok_or_else(grant_not_found)
}

/// The caller's log scope, if they may review emergency grants (`emergency:review`, and a
/// privacy officer): 403 otherwise.
fn reviewer_scope(state: &AppState, who: &Principal) -> Result<crate::policy::access::LogScope, ApiError> {
    crate::policy::access::permitted(&state.policy.current(), who, "emergency:review")?;
    super::officer_scope(state, who)
}

/// Grants awaiting review with their grounds (`emergency:review`): each grant's grounds are
/// opened only after an `emergency-grounds-read` entry.
pub async fn unreviewed_with_grounds(state: &AppState, who: &Principal) -> Result<Vec<EmergencyGrant>, ApiError> {
    let scope = reviewer_scope(state, who)?;
    let grants = state.store.unreviewed_grants().await?;
    let opened = grants.iter().filter(|g| in_scope(&scope, g)).map(|g| async move {
        let logged = log_event(
            state,
            who,
            "emergency-grounds-read",
            g.subject_id,
            g.id.to_string(),
            serde_json::json!({}),
        )
        .await?;
        state
            .store
            .emergency_grant(g.id, Some(&logged))
            .await?
            .ok_or_else(grant_not_found)
    });
    try_join_all(opened).await
}

/// Emergency grants are reviewed by the privacy officers whose log scope holds the requesting
/// or the owning agency (their own organ, or ward-wide oversight): the same rule as the log.
fn in_scope(scope: &crate::policy::access::LogScope, g: &EmergencyGrant) -> bool {
    scope.covers(Some(g.agency_id.as_str()), Some(g.owner_agency.as_str()))
}

/// A review's finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewOutcome {
    Justified,
    NotJustified,
}

impl ReviewOutcome {
    /// `justified` or `not-justified` (422 `invalid_value` on field `outcome` otherwise).
    pub fn parse(s: &str) -> Result<Self, crate::domain::ValidationError> {
        match s {
            "justified" => Ok(ReviewOutcome::Justified),
            "not-justified" => Ok(ReviewOutcome::NotJustified),
            _ => Err(crate::domain::ValidationError::new(
                "outcome",
                "invalid_value",
                "justified or not-justified",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ReviewOutcome::Justified => "justified",
            ReviewOutcome::NotJustified => "not-justified",
        }
    }
}

/// Records a privacy officer's review (`emergency:review`): logged, then stored. `not-justified`
/// ends the grant at the review: a disclosure under it afterwards is refused (`grant_revoked`).
pub async fn review_grant(
    state: &AppState,
    who: &Principal,
    id: GrantId,
    outcome: ReviewOutcome,
    note: &str,
) -> Result<EmergencyGrant, ApiError> {
    let scope = reviewer_scope(state, who)?;
    let grant = state
        .store
        .emergency_grant(id, None)
        .await?
        .filter(|g| in_scope(&scope, g))
        .ok_or_else(grant_not_found)?;
    if grant.reviewed_at.is_some() {
        return Err(conflict("grant_already_reviewed", "the grant was reviewed already"));
    }
    let logged = log_event(
        state,
        who,
        "emergency-reviewed",
        grant.subject_id,
        id.to_string(),
        serde_json::json!({"outcome": outcome.as_str()}),
    )
    .await?;
    state
        .store
        .review_grant(id, &who.user, outcome.as_str(), note, state.clock.now(), &logged)
        .await?;
    state.store.emergency_grant(id, None).await?.ok_or_else(grant_not_found)
}

/// Assigns `user` of the caller's agency to the subject's case (internal use): logged, then in
/// force. Assigning someone already assigned changes nothing and writes no entry.
pub async fn assign_case(state: &AppState, who: &Principal, subject: SubjectId, user: &UserId) -> Result<(), ApiError> {
    if !state.store.is_linked(&who.agency, subject).await? {
        return Err(ApiError::not_found(
            "subject_not_found",
            "your agency has no subject with that id",
        ));
    }
    if state.store.is_assigned(subject, &who.agency, user).await? {
        return Ok(());
    }
    let logged = log_event(
        state,
        who,
        "case-assigned",
        subject,
        format!("assignment:{}", who.agency),
        serde_json::json!({"user_id": user, "agency": who.agency}),
    )
    .await?;
    state
        .store
        .assign_case(subject, &who.agency, user, &who.user, state.clock.now(), &logged)
        .await?;
    Ok(())
}

/// Notices for the caller's agency, newest first (`notifications:read`), e.g. that a consent
/// under which it received data was revoked.
pub async fn notifications(state: &AppState, who: &Principal) -> Result<Vec<crate::store::Notification>, ApiError> {
    crate::policy::access::permitted(&state.policy.current(), who, "notifications:read")?;
    Ok(state.store.notifications(&who.agency).await?)
}
