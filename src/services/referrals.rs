//! Referrals (つなぎ, docs/rules.md#R-T1–R-T3): agency A refers a person to agency B under a
//! basis — a consent A recorded that names B and covers the shared categories for the purpose,
//! or a meeting session with the person on its agenda of which the referring user and a member
//! of B are confirmed, pledged members. Making, accepting, declining and withdrawing are log
//! entries first (`referral-made`, `referral-accepted`, `referral-declined`,
//! `referral-withdrawn`), then changes, then notices to the other side. What travels with the
//! referral (the note and the shared categories of A's records) leaves only through the
//! disclosure road ([`super::disclosures::disclose_with`]), decided and logged like any other
//! disclosure; after a decline or withdrawal B keeps only the fact of the referral.

use serde::Serialize;

use super::{conflict, subject_pseudonym};
use crate::audit::{Logged, Receipt, Withheld};
use crate::domain::ids::LocalId;
use crate::domain::{
    AgencyId, Basis, BasisKind, Category, ConsentId, FreeText, Purpose, ReferralId, ReferralState, SessionId,
    SubjectId, ValidationError,
};
use crate::http::error::ApiError;
use crate::http::extract::registered_agency;
use crate::policy::access::{
    self, MaterialReader, REFERRAL_CLOSED, REFERRAL_NOT_FOUND, ReferralAnswerer, ReferralDesk, ReferralReader,
    ReferralWithdrawer, Referrer,
};
use crate::principal::Principal;
use crate::state::AppState;
use crate::store::{DisclosedSection, NewReferral, Referral};

/// A referral as its maker gives it (the JSON API's body, the console's form).
#[derive(Debug, Clone, Default)]
pub struct ReferralFields {
    pub subject_id: String,
    pub to_agency: String,
    pub purpose: String,
    pub categories: Vec<String>,
    /// `consent`, `support-meeting` or `statutory-conference`.
    pub basis_type: String,
    pub consent_id: Option<String>,
    pub session_id: Option<String>,
    pub note: Option<String>,
}

/// A referral, validated.
#[derive(Debug, Clone)]
pub struct ReferralInput {
    pub subject: SubjectId,
    pub to: AgencyId,
    pub purpose: Purpose,
    pub categories: Vec<Category>,
    pub basis: Basis,
    pub note: Option<FreeText>,
}

/// Longest decline or withdrawal reason, in characters.
pub const REASON_MAX: usize = 1000;

/// Validates a referral: the subject id, a registered receiving agency, the purpose, 1 to 11
/// categories (none sealed), the basis (consent or meeting session) and the note (free text, no
/// individual numbers).
pub fn parse(state: &AppState, f: ReferralFields) -> Result<ReferralInput, ValidationError> {
    let subject = SubjectId::parse(&f.subject_id)?;
    let to = registered_agency(state, "to_agency", &f.to_agency)?;
    let purpose = Purpose::parse(&f.purpose)?;
    if f.categories.is_empty() {
        return Err(ValidationError::new(
            "categories",
            "empty",
            "name at least one category shared with the referral",
        ));
    }
    let mut categories = Vec::with_capacity(f.categories.len());
    for c in &f.categories {
        let c = Category::parse(c).map_err(|e| e.at("categories"))?;
        if c.is_sealed() {
            return Err(ValidationError::new(
                "categories",
                "category_sealed",
                "a sealed category never travels with a referral",
            ));
        }
        categories.push(c);
    }
    categories.sort();
    categories.dedup();
    fn id_of<'a>(v: Option<&'a str>, field: &'static str) -> Result<&'a str, ValidationError> {
        v.ok_or_else(|| ValidationError::new(field, "missing_field", format!("this basis needs {field}")))
    }
    let basis = match BasisKind::parse(&f.basis_type).map_err(|e| e.at("basis.type"))? {
        BasisKind::Consent => Basis::Consent {
            consent_id: ConsentId::parse(id_of(f.consent_id.as_deref(), "basis.consent_id")?)
                .map_err(|e| e.at("basis.consent_id"))?,
        },
        BasisKind::SupportMeeting => Basis::SupportMeeting {
            session_id: SessionId::parse(id_of(f.session_id.as_deref(), "basis.session_id")?)
                .map_err(|e| e.at("basis.session_id"))?,
            info_request_id: None,
        },
        BasisKind::StatutoryConference => Basis::StatutoryConference {
            session_id: SessionId::parse(id_of(f.session_id.as_deref(), "basis.session_id")?)
                .map_err(|e| e.at("basis.session_id"))?,
            info_request_id: None,
        },
        _ => {
            return Err(ValidationError::new(
                "basis.type",
                "basis_not_allowed",
                "a referral rests on a consent or a meeting session",
            ));
        }
    };
    let note = f
        .note
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .map(|n| FreeText::parse("note", n))
        .transpose()?;
    Ok(ReferralInput {
        subject,
        to,
        purpose,
        categories,
        basis,
        note,
    })
}

/// A decline or withdrawal reason (required for a decline, at most [`REASON_MAX`] characters).
pub fn parse_reason(raw: Option<&str>, required: bool) -> Result<Option<FreeText>, ValidationError> {
    match raw.filter(|r| !r.trim().is_empty()) {
        Some(r) => Ok(Some(FreeText::bounded("reason", r, REASON_MAX)?)),
        None if required => Err(ValidationError::new(
            "reason",
            "missing_field",
            "give the reason for declining",
        )),
        None => Ok(None),
    }
}

/// The caller as someone who may refer people (`referrals:write`).
pub fn referrer<'a>(state: &AppState, who: &'a Principal) -> Result<Referrer<'a>, ApiError> {
    Ok(access::referrer(&state.policy.current(), who)?)
}

/// The caller as someone who may see their agency's referrals (`referrals:read`).
pub fn desk<'a>(state: &AppState, who: &'a Principal) -> Result<ReferralDesk<'a>, ApiError> {
    Ok(access::referral_desk(&state.policy.current(), who)?)
}

fn not_found() -> ApiError {
    ApiError::not_found(
        REFERRAL_NOT_FOUND,
        "your agency made or received no referral with that id",
    )
}

/// Maps a refusal about a referral: not a party → 404, closed → 409, the rest → 403.
fn refusal(e: access::AccessError) -> ApiError {
    match e {
        access::AccessError::Refused { code, .. } if code == REFERRAL_NOT_FOUND => not_found(),
        access::AccessError::Refused { code, message } if code == REFERRAL_CLOSED => conflict(code, &message),
        other => other.into(),
    }
}

async fn load(state: &AppState, id: &str) -> Result<Referral, ApiError> {
    let id = ReferralId::parse(id).map_err(|_| not_found())?;
    state.store.referral(id).await?.ok_or_else(not_found)
}

/// Looks a referral up for a party to it (`referrals:read`; 404 otherwise).
pub async fn reader<'a>(state: &AppState, who: &'a Principal, id: &str) -> Result<ReferralReader<'a>, ApiError> {
    let r = load(state, id).await?;
    access::referral_reader(&state.policy.current(), who, r).map_err(refusal)
}

/// Looks a referral up for the receiving agency to answer (`referrals:answer`).
pub async fn answerer<'a>(state: &AppState, who: &'a Principal, id: &str) -> Result<ReferralAnswerer<'a>, ApiError> {
    let r = load(state, id).await?;
    access::referral_answerer(&state.policy.current(), who, r).map_err(refusal)
}

/// Looks a referral up for the referring agency to withdraw (`referrals:write`).
pub async fn withdrawer<'a>(
    state: &AppState,
    who: &'a Principal,
    id: &str,
) -> Result<ReferralWithdrawer<'a>, ApiError> {
    let r = load(state, id).await?;
    access::referral_withdrawer(&state.policy.current(), who, r).map_err(refusal)
}

/// Looks a referral up for the receiving agency to ask for its material (409 `referral_closed`
/// once declined or withdrawn).
pub async fn material_reader<'a>(
    state: &AppState,
    who: &'a Principal,
    id: &str,
) -> Result<MaterialReader<'a>, ApiError> {
    let r = load(state, id).await?;
    access::material_reader(&state.policy.current(), who, r).map_err(refusal)
}

/// A referral as a party sees it: the facts (who, when, state), never the note's text.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReferralView {
    pub id: String,
    pub subject_id: String,
    pub from_agency: String,
    pub from_user: String,
    pub to_agency: String,
    pub purpose: String,
    #[schema(value_type = Vec<String>)]
    pub categories: Vec<Category>,
    /// `consent`, `support-meeting` or `statutory-conference`.
    pub basis_type: String,
    /// The consent or session id.
    pub basis_ref: String,
    /// Whether a note travels with the referral (read it through `/material`).
    pub has_note: bool,
    pub state: ReferralState,
    pub created_at: String,
    pub answered_at: Option<String>,
    pub answered_by: Option<String>,
    /// The reason given with a decline or a withdrawal.
    pub reason: Option<String>,
    /// The receiving agency's case number for the person (shown to the receiving agency only).
    pub local_id: Option<String>,
    /// `incoming` (the caller's agency received it) or `outgoing` (it made it).
    pub direction: String,
}

impl ReferralView {
    pub fn of(r: &Referral, who: &Principal) -> Self {
        let incoming = r.to_agency == who.agency;
        Self {
            id: r.id.to_string(),
            subject_id: r.subject.to_string(),
            from_agency: r.from_agency.to_string(),
            from_user: r.from_user.clone(),
            to_agency: r.to_agency.to_string(),
            purpose: r.purpose.clone(),
            categories: r.categories.clone(),
            basis_type: r.basis_type.clone(),
            basis_ref: r.basis_ref.clone(),
            has_note: r.has_note(),
            state: r.state,
            created_at: crate::domain::rfc3339(r.created_at),
            answered_at: r.answered_at.map(crate::domain::rfc3339),
            answered_by: r.answered_by.clone(),
            reason: r.decline_reason.clone(),
            local_id: if incoming { r.accepted_local_id.clone() } else { None },
            direction: if incoming { "incoming" } else { "outgoing" }.to_owned(),
        }
    }
}

/// The referrals the caller's agency received (`incoming`) or made, newest first.
pub async fn list(state: &AppState, desk: &ReferralDesk<'_>, incoming: bool) -> Result<Vec<ReferralView>, ApiError> {
    let who = desk.who();
    Ok(state
        .store
        .referrals_of(&who.agency, incoming)
        .await?
        .iter()
        .map(|r| ReferralView::of(r, who))
        .collect())
}

/// The referrals about one person that the caller's agency made or received (the person page).
pub async fn about(
    state: &AppState,
    desk: &ReferralDesk<'_>,
    subject: SubjectId,
) -> Result<Vec<ReferralView>, ApiError> {
    let who = desk.who();
    Ok(state
        .store
        .referrals_about(subject, &who.agency)
        .await?
        .iter()
        .map(|r| ReferralView::of(r, who))
        .collect())
}

fn invalid(field: &str, code: &'static str, message: &str) -> ApiError {
    ValidationError::new(field, code, message).into()
}

/// Checks that the basis holds for this referral now (docs/rules.md#R-T1): a consent the
/// caller's agency recorded, in force, naming the receiving agency and the purpose, covering
/// every shared category; or a session with the person on its agenda where the caller is a
/// confirmed member and the receiving agency has a confirmed member with the current pledge.
async fn check_basis(state: &AppState, who: &Principal, r: &ReferralInput) -> Result<(), ApiError> {
    let now = state.clock.now();
    match &r.basis {
        Basis::Consent { consent_id } => {
            let scope = state
                .store
                .consent_scope(*consent_id)
                .await?
                .filter(|s| s.subject == r.subject && s.recorded_by_agency == who.agency)
                .ok_or_else(|| {
                    invalid(
                        "basis.consent_id",
                        "consent_not_found",
                        "your agency recorded no consent with that id about this person",
                    )
                })?;
            let covered = scope
                .covers(r.subject, &who.agency, &r.to, &r.purpose, now)
                .map_err(|e| invalid("basis.consent_id", e.code(), &e.to_string()))?;
            if let Some(c) = r.categories.iter().find(|c| !covered.contains(c)) {
                return Err(invalid(
                    "categories",
                    "category_not_covered",
                    &format!("the consent does not cover '{}'", c.as_str()),
                ));
            }
        }
        Basis::SupportMeeting { session_id, .. } | Basis::StatutoryConference { session_id, .. } => {
            let sessions = state
                .store
                .sessions_of_member_about(&who.user, &who.agency, r.subject, now)
                .await?;
            let Some((_, kind, _)) = sessions.iter().find(|(s, _, _)| s == session_id) else {
                return Err(invalid(
                    "basis.session_id",
                    "not_session_member",
                    "you are not a confirmed member of a session with this person on its agenda",
                ));
            };
            if kind.basis() != r.basis.kind() {
                return Err(invalid(
                    "basis.type",
                    "basis_kind_mismatch",
                    "the session belongs to another kind of body",
                ));
            }
            let roster = state.store.roster(*session_id, now).await?;
            if !roster.iter().any(|m| m.member && m.agency_id == r.to.as_str()) {
                return Err(invalid(
                    "to_agency",
                    "recipient_not_session_member",
                    "the receiving agency has no confirmed, pledged member in that session",
                ));
            }
        }
        _ => {
            return Err(invalid(
                "basis.type",
                "basis_not_allowed",
                "a referral rests on a consent or a meeting session",
            ));
        }
    }
    Ok(())
}

fn basis_ref(b: &Basis) -> String {
    b.reference().unwrap_or_default()
}

async fn log(
    state: &AppState,
    who: &Principal,
    event: &'static str,
    r: &Referral,
    detail: serde_json::Value,
) -> Result<Logged, ApiError> {
    Ok(state
        .audit
        .record_event(
            who,
            event,
            state.clock.now(),
            Some(subject_pseudonym(state, r.subject)),
            r.id.to_string(),
            detail,
        )
        .await?)
}

async fn tell(
    state: &AppState,
    agency: &AgencyId,
    kind: &str,
    r: &Referral,
    message: &str,
    logged: &Logged,
) -> Result<(), ApiError> {
    state
        .store
        .notify(agency, kind, &r.id.to_string(), message, state.clock.now(), logged)
        .await?;
    Ok(())
}

/// Makes a referral (docs/rules.md#R-T1): the caller's agency must know the person (404
/// `subject_not_found`), may not refer to itself (422 `same_agency`), and the basis must hold
/// for the receiving agency and the categories (422 with the failing condition's code). Logged
/// first as `referral-made`; the note is sealed; the receiving agency is told.
pub async fn make(state: &AppState, cap: &Referrer<'_>, input: ReferralInput) -> Result<ReferralView, ApiError> {
    let who = cap.who();
    if input.to == who.agency {
        return Err(invalid("to_agency", "same_agency", "a referral goes to another agency"));
    }
    if !state.store.is_linked(&who.agency, input.subject).await? {
        return Err(ApiError::not_found(
            "subject_not_found",
            "your agency has no subject with that id",
        ));
    }
    if state.store.subject_erased(input.subject).await? {
        return Err(crate::store::StoreError::Erased.into());
    }
    check_basis(state, who, &input).await?;
    let now = state.clock.now();
    let id = ReferralId::new_random();
    let new = NewReferral {
        id,
        subject: input.subject,
        from_agency: who.agency.clone(),
        from_user: who.user.clone(),
        to_agency: input.to.clone(),
        purpose: input.purpose.to_string(),
        categories: input.categories.clone(),
        basis_type: input.basis.kind().as_str(),
        basis_ref: basis_ref(&input.basis),
        note: input.note.clone(),
    };
    let logged = state
        .audit
        .record_event(
            who,
            "referral-made",
            now,
            Some(subject_pseudonym(state, input.subject)),
            id.to_string(),
            serde_json::json!({
                "from_agency": who.agency.as_str(),
                "to_agency": input.to.as_str(),
                "purpose": input.purpose.as_str(),
                "categories": input.categories,
                "basis": input.basis.kind().as_str(),
                "basis_ref": basis_ref(&input.basis),
                "note": input.note.is_some(),
            }),
        )
        .await?;
    state.store.create_referral(new, now, &logged).await?;
    let r = state
        .store
        .referral(id)
        .await?
        .ok_or(crate::store::StoreError::NotFound("referral"))?;
    tell(
        state,
        &r.to_agency,
        "referral-made",
        &r,
        "a person has been referred to your agency: answer the referral (accept or decline)",
        &logged,
    )
    .await?;
    Ok(ReferralView::of(&r, who))
}

fn require_pending(r: &Referral) -> Result<(), ApiError> {
    if r.state == ReferralState::Pending {
        Ok(())
    } else {
        Err(conflict(
            "referral_not_pending",
            &format!(
                "the referral is {}: only a pending referral can change",
                r.state.as_str()
            ),
        ))
    }
}

/// Accepts a pending referral (docs/rules.md#R-T2), linking the person under the receiving
/// agency's case number `local_id` (required unless the agency knows the person already; 409
/// `local_id_taken`). Logged first as `referral-accepted`; the referring agency is told.
pub async fn accept(
    state: &AppState,
    cap: &ReferralAnswerer<'_>,
    local_id: Option<LocalId>,
) -> Result<ReferralView, ApiError> {
    let (who, r) = (cap.who(), cap.referral());
    require_pending(r)?;
    let linked = state.store.is_linked(&who.agency, r.subject).await?;
    if let Some(l) = &local_id
        && state
            .store
            .subject_by_local_id(&who.agency, l.as_str())
            .await?
            .is_some()
    {
        return Err(conflict("local_id_taken", "your agency already uses that case number"));
    }
    if local_id.is_none() && !linked {
        return Err(invalid(
            "local_id",
            "missing_field",
            "give your agency's case number for the person",
        ));
    }
    let logged = log(
        state,
        who,
        "referral-accepted",
        r,
        serde_json::json!({ "from_agency": r.from_agency.as_str(), "to_agency": r.to_agency.as_str(), "linked": local_id.is_some() }),
    )
    .await?;
    state
        .store
        .accept_referral(
            r,
            &who.user,
            local_id.as_ref().map(LocalId::as_str),
            state.clock.now(),
            &logged,
        )
        .await?;
    tell(
        state,
        &r.from_agency,
        "referral-accepted",
        r,
        "your referral was accepted",
        &logged,
    )
    .await?;
    view_after(state, who, r.id).await
}

/// Declines a pending referral with a reason (docs/rules.md#R-T2). Logged first as
/// `referral-declined`; the referring agency is told. The receiving agency keeps only the fact
/// of the referral.
pub async fn decline(state: &AppState, cap: &ReferralAnswerer<'_>, reason: FreeText) -> Result<ReferralView, ApiError> {
    let (who, r) = (cap.who(), cap.referral());
    close(state, who, r, ReferralState::Declined, Some(reason)).await
}

/// Withdraws a pending referral (docs/rules.md#R-T2). Logged first as `referral-withdrawn`; the
/// receiving agency is told.
pub async fn withdraw(
    state: &AppState,
    cap: &ReferralWithdrawer<'_>,
    reason: Option<FreeText>,
) -> Result<ReferralView, ApiError> {
    let (who, r) = (cap.who(), cap.referral());
    close(state, who, r, ReferralState::Withdrawn, reason).await
}

async fn close(
    state: &AppState,
    who: &Principal,
    r: &Referral,
    to: ReferralState,
    reason: Option<FreeText>,
) -> Result<ReferralView, ApiError> {
    require_pending(r)?;
    let (event, tell_agency, message) = match to {
        ReferralState::Declined => (
            "referral-declined",
            &r.from_agency,
            "your referral was declined: see the reason on the referral",
        ),
        _ => (
            "referral-withdrawn",
            &r.to_agency,
            "a referral to your agency was withdrawn by the referring agency",
        ),
    };
    let logged = log(
        state,
        who,
        event,
        r,
        serde_json::json!({ "from_agency": r.from_agency.as_str(), "to_agency": r.to_agency.as_str(), "reason": reason.as_ref().map(FreeText::as_str) }),
    )
    .await?;
    state
        .store
        .close_referral(
            r.id,
            to,
            &who.user,
            reason.as_ref().map(FreeText::as_str),
            state.clock.now(),
            &logged,
        )
        .await?;
    tell(state, tell_agency, event, r, message, &logged).await?;
    view_after(state, who, r.id).await
}

async fn view_after(state: &AppState, who: &Principal, id: ReferralId) -> Result<ReferralView, ApiError> {
    let r = state
        .store
        .referral(id)
        .await?
        .ok_or(crate::store::StoreError::NotFound("referral"))?;
    Ok(ReferralView::of(&r, who))
}

/// What the receiving agency got with a referral.
#[derive(Debug)]
pub enum Material {
    Released {
        /// The referral's note, when one was given.
        note: Option<String>,
        sections: Vec<DisclosedSection>,
        disclosed: Vec<Category>,
        withheld: Vec<Withheld>,
        receipt: Receipt,
        policy_version: String,
    },
    Refused {
        code: &'static str,
        message: &'static str,
        withheld: Vec<Withheld>,
        receipt: Receipt,
    },
}

/// Releases what travels with a referral to the receiving agency (docs/rules.md#R-T3): a
/// disclosure of the shared categories of the referring agency's records about the person, for
/// the referral's purpose, under the referral's basis, with the note attached — decided on the
/// disclosure road and logged (one entry, listing the note as `referral-note:<id>` when it is
/// released). A basis that no longer holds (a revoked consent) refuses it, on record.
pub async fn material(state: &AppState, cap: &MaterialReader<'_>) -> Result<Material, ApiError> {
    let (who, r) = (cap.who(), cap.referral());
    let purpose =
        Purpose::parse(&r.purpose).map_err(|_| crate::store::StoreError::Corrupt("referral purpose".into()))?;
    let basis = match r.basis_type.as_str() {
        "consent" => Basis::Consent {
            consent_id: ConsentId::parse(&r.basis_ref)
                .map_err(|_| crate::store::StoreError::Corrupt("referral basis".into()))?,
        },
        kind => {
            let session_id = SessionId::parse(&r.basis_ref)
                .map_err(|_| crate::store::StoreError::Corrupt("referral basis".into()))?;
            if kind == "statutory-conference" {
                Basis::StatutoryConference {
                    session_id,
                    info_request_id: None,
                }
            } else {
                Basis::SupportMeeting {
                    session_id,
                    info_request_id: None,
                }
            }
        }
    };
    let req = crate::services::disclosures::DisclosureRequest {
        subject: r.subject,
        owner: r.from_agency.clone(),
        purpose,
        basis,
        categories: Some(r.categories.clone()),
        justification: None,
    };
    let items: Vec<_> = r.note_item().into_iter().collect();
    let (outcome, opened) = crate::services::disclosures::disclose_with(state, who, req, items).await?;
    Ok(match outcome {
        crate::services::disclosures::DisclosureOutcome::Disclosed {
            sections,
            disclosed,
            withheld,
            receipt,
            policy_version,
        } => Material::Released {
            note: opened.into_iter().next().map(|(_, text)| text),
            sections,
            disclosed,
            withheld,
            receipt,
            policy_version,
        },
        crate::services::disclosures::DisclosureOutcome::Refused {
            reason,
            withheld,
            receipt,
        } => Material::Refused {
            code: reason.code(),
            message: reason.message(),
            withheld,
            receipt,
        },
    })
}
