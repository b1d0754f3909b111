//! People and their agencies' records: register a household or a subject under the agency's own
//! case number (local id), link a known subject to another local id, find a subject by local id,
//! write a case record (content sealed at rest), and list the agency's own records about a
//! person (ids and categories only, never content).
//!
//! Every function takes a capability from [`crate::policy::access`] that names the caller; all of
//! them act for the caller's own agency only. A subject an agency has not linked is "not found"
//! to it (404 `subject_not_found`), so ids cannot be probed.

use serde::Serialize;

use crate::domain::ids::LocalId;
use crate::domain::{
    AgencyId, Category, HouseholdId, Purpose, RecordId, SectionId, SessionId, SubjectId, ValidationError,
};
use crate::http::error::ApiError;
use crate::policy::access::{self, RecordIndexReader, RecordWriter, SubjectClerk};
use crate::principal::Principal;
use crate::state::AppState;
use crate::store::{NewRecord, NewSection};

/// The caller as someone who may register and find people (`subjects:write`).
pub fn clerk<'a>(state: &AppState, who: &'a Principal) -> Result<SubjectClerk<'a>, ApiError> {
    Ok(access::subject_clerk(&state.policy.current(), who)?)
}

/// The caller as someone who may write records (`records:write`).
pub fn record_writer<'a>(state: &AppState, who: &'a Principal) -> Result<RecordWriter<'a>, ApiError> {
    Ok(access::record_writer(&state.policy.current(), who)?)
}

/// The caller as someone who may list their agency's records (`records:read-index`).
pub fn index_reader<'a>(state: &AppState, who: &'a Principal) -> Result<RecordIndexReader<'a>, ApiError> {
    Ok(access::record_index_reader(&state.policy.current(), who)?)
}

/// A subject as the caller's agency knows it: the hub's id, the agency's local id, the household.
#[derive(Debug, Clone, Serialize)]
pub struct SubjectLink {
    pub id: SubjectId,
    pub local_id: LocalId,
    pub household_id: Option<HouseholdId>,
}

fn no_subject() -> ApiError {
    ApiError::not_found("subject_not_found", "no such subject")
}

/// The principal's agency must know the subject (have linked a local id).
async fn require_link(state: &AppState, agency: &AgencyId, subject: SubjectId) -> Result<(), ApiError> {
    if state.store.is_linked(agency, subject).await? {
        Ok(())
    } else {
        Err(ApiError::not_found(
            "subject_not_found",
            "your agency has no subject with that id",
        ))
    }
}

/// Registers a household; the caller's agency created it.
pub async fn create_household(state: &AppState, cap: &SubjectClerk<'_>) -> Result<HouseholdId, ApiError> {
    Ok(state
        .store
        .create_household(&cap.who().agency, state.clock.now())
        .await?)
}

/// Why a person's data is erased.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ErasureGround {
    /// The person asked for deletion (APPI 消去・利用停止).
    AppiDeletion,
    /// The retention period of their records ended.
    RetentionExpiry,
}

impl ErasureGround {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AppiDeletion => "appi-deletion",
            Self::RetentionExpiry => "retention-expiry",
        }
    }
}

/// Erases a person's data (docs/rules.md#R-G11): the `subject-erased` entry first (the person
/// named by pseudonym, the ground and the reason), then their data key is destroyed, so nothing
/// about them can be decrypted again — records, sections, consent evidence. The log keeps
/// every entry and still verifies; reports still list past disclosures. 404 `subject_not_found`,
/// 410 `subject_erased` when erased already.
pub async fn erase(
    state: &AppState,
    who: &Principal,
    subject: SubjectId,
    ground: ErasureGround,
    reason: &crate::domain::FreeText,
) -> Result<crate::audit::Receipt, ApiError> {
    let cap = access::eraser(&state.policy.current(), who)?;
    if state.store.subject(subject).await?.is_none() {
        return Err(ApiError::not_found("subject_not_found", "no subject with that id"));
    }
    if state.store.subject_erased(subject).await? {
        return Err(crate::store::StoreError::Erased.into());
    }
    let logged = state
        .audit
        .record_event(
            cap.who(),
            "subject-erased",
            state.clock.now(),
            Some(super::subject_pseudonym(state, subject)),
            ground.as_str().to_owned(),
            serde_json::json!({ "ground": ground.as_str(), "reason": reason.as_str() }),
        )
        .await?;
    state.store.erase_subject(subject, &logged).await?;
    Ok(logged.receipt().clone())
}

/// Registers a person under the caller's agency's local id, optionally in a household (422
/// `household_not_found`; 409 when the local id is taken).
pub async fn create_subject(
    state: &AppState,
    cap: &SubjectClerk<'_>,
    local_id: LocalId,
    household: Option<HouseholdId>,
) -> Result<SubjectLink, ApiError> {
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
        .create_subject(&cap.who().agency, local_id.as_str(), household, state.clock.now())
        .await?;
    Ok(SubjectLink {
        id,
        local_id,
        household_id: household,
    })
}

/// The subject the caller's agency knows by `local_id` (404 `subject_not_found`).
pub async fn find_by_local_id(
    state: &AppState,
    cap: &SubjectClerk<'_>,
    local_id: LocalId,
) -> Result<SubjectLink, ApiError> {
    let id = state
        .store
        .subject_by_local_id(&cap.who().agency, local_id.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found("subject_not_found", "your agency has no subject with that local id"))?;
    let row = state.store.subject(id).await?.ok_or_else(no_subject)?;
    Ok(SubjectLink {
        id,
        local_id,
        household_id: row.household,
    })
}

/// Links a subject the hub already knows to the caller's agency's local id (e.g. after a
/// referral).
pub async fn link(
    state: &AppState,
    cap: &SubjectClerk<'_>,
    subject: SubjectId,
    local_id: LocalId,
) -> Result<SubjectLink, ApiError> {
    let row = state.store.subject(subject).await?.ok_or_else(no_subject)?;
    state
        .store
        .link_local_id(&cap.who().agency, local_id.as_str(), subject)
        .await?;
    Ok(SubjectLink {
        id: subject,
        local_id,
        household_id: row.household,
    })
}

/// One section of a record: its id and category (never its content).
#[derive(Debug, Clone, Serialize)]
pub struct SectionEntry {
    pub id: SectionId,
    pub category: Category,
}

/// A record of the caller's agency: its id and its sections' ids and categories.
#[derive(Debug, Clone, Serialize)]
pub struct RecordEntry {
    pub id: RecordId,
    pub sections: Vec<SectionEntry>,
}

/// A record as the caller writes it (sections already validated: no sealed category, free text
/// checked).
#[derive(Debug, Clone)]
pub struct RecordInput {
    pub purpose: Purpose,
    pub sections: Vec<NewSection>,
    /// The meeting or conference session the material came from, if any.
    pub origin_session: Option<OriginSession>,
}

/// A session that exists, named as a record's origin (made by [`origin_session`]).
#[derive(Debug, Clone, Copy)]
pub struct OriginSession(SessionId);

/// A record's sections from what the request names: 1 to 64 sections, no sealed category
/// (`reporter-identity` comes only from legal-report intake), content checked as free text.
/// Fields are reported as `sections[i].category` / `sections[i].content`.
pub fn sections<'a>(
    raw: impl ExactSizeIterator<Item = (&'a str, &'a str)>,
) -> Result<Vec<NewSection>, ValidationError> {
    if raw.len() == 0 || raw.len() > 64 {
        return Err(ValidationError::new(
            "sections",
            "invalid_sections",
            "a record has 1 to 64 sections",
        ));
    }
    let mut out = Vec::with_capacity(raw.len());
    for (i, (category, content)) in raw.enumerate() {
        let category = Category::parse(category).map_err(|e| e.at(format!("sections[{i}].category")))?;
        if category.is_sealed() {
            return Err(ValidationError::new(
                format!("sections[{i}].category"),
                "category_sealed",
                "a sealed category is written only by legal-report intake",
            ));
        }
        let content = crate::domain::FreeText::parse(&format!("sections[{i}].content"), content)?;
        out.push(NewSection { category, content });
    }
    Ok(out)
}

/// The session a record names as its origin, if it exists (422 `session_not_found`).
pub async fn origin_session(state: &AppState, session: SessionId) -> Result<OriginSession, ApiError> {
    if state.store.session(session).await?.is_none() {
        return Err(ValidationError::new("origin_session_id", "session_not_found", "no such session").into());
    }
    Ok(OriginSession(session))
}

/// Writes a case record owned by the caller's agency about a subject it has linked. Content is
/// encrypted at rest by the store.
pub async fn write_record(
    state: &AppState,
    cap: &RecordWriter<'_>,
    subject: SubjectId,
    input: RecordInput,
) -> Result<RecordEntry, ApiError> {
    let who = cap.who();
    require_link(state, &who.agency, subject).await?;
    let categories: Vec<Category> = input.sections.iter().map(|s| s.category).collect();
    let record = NewRecord {
        subject,
        owner: who.agency.clone(),
        purpose: input.purpose,
        created_by: who.user.clone(),
        sections: input.sections,
        origin_basis: "intake",
        origin_session: input.origin_session.map(|s| s.0),
    };
    let (id, section_ids) = state.store.create_record(record, state.clock.now()).await?;
    Ok(RecordEntry {
        id,
        sections: section_ids
            .into_iter()
            .zip(categories)
            .map(|(id, category)| SectionEntry { id, category })
            .collect(),
    })
}

/// The caller's agency's records about a subject it has linked: ids and categories only.
pub async fn records(
    state: &AppState,
    cap: &RecordIndexReader<'_>,
    subject: SubjectId,
) -> Result<Vec<RecordEntry>, ApiError> {
    let agency = &cap.who().agency;
    require_link(state, agency, subject).await?;
    let index = state.store.section_index(subject, agency).await?;
    let mut records: Vec<RecordEntry> = Vec::new();
    for s in index {
        let entry = SectionEntry {
            id: s.section,
            category: s.category,
        };
        match records.last_mut() {
            Some(r) if r.id == s.record => r.sections.push(entry),
            _ => records.push(RecordEntry {
                id: s.record,
                sections: vec![entry],
            }),
        }
    }
    Ok(records)
}

/// The case numbers under which the caller's agency knows `subject` (404 `subject_not_found`
/// when it does not know them): the heading of the console's person page.
pub async fn local_ids(
    state: &AppState,
    cap: &RecordIndexReader<'_>,
    subject: SubjectId,
) -> Result<Vec<String>, ApiError> {
    let ids = state.store.local_ids_of(&cap.who().agency, subject).await?;
    if ids.is_empty() {
        return Err(no_subject());
    }
    Ok(ids)
}
