//! Basis checks (docs/rules.md#bases): does the basis a requester names hold right now? Each check
//! reads the facts it needs from the store and answers with the categories the basis covers and
//! the context that goes on record (statute, body, session, agenda item), or with the
//! [`RefusalReason`] it fails for. The sharing policy is asked only afterwards, about the covered categories.
//!
//! These are law, not policy: no rule in `policy.csv` can make a failing basis hold.

use std::collections::HashMap;

use time::{Duration, OffsetDateTime};

use super::bases::BasesConfig;
use crate::domain::preconditions as pre;
use crate::domain::{
    AgencyId, Basis, BasisContext, BasisKind, Category, HouseholdId, InfoRequestId, Purpose, RefusalReason, SessionId,
    SubjectId,
};
use crate::principal::Principal;
use crate::store::{Agency, InfoAnswer, OrganKind, Store, StoreError};

/// Social Welfare Act article the support meeting rests on.
pub const SUPPORT_MEETING_STATUTE: &str = "社会福祉法 第106条の6";

/// The question a basis check answers.
#[derive(Debug, Clone)]
pub struct BasisQuestion<'a> {
    pub subject: SubjectId,
    pub household: Option<HouseholdId>,
    pub owner: &'a AgencyId,
    pub requester: &'a Principal,
    pub purpose: &'a Purpose,
    pub now: OffsetDateTime,
    pub agencies: &'a HashMap<AgencyId, Agency>,
    pub config: &'a BasesConfig,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BasisVerdict {
    /// The basis holds and covers these categories (before the policy is asked).
    Holds {
        covered: Vec<Category>,
        context: BasisContext,
    },
    /// The basis does not hold, for this reason.
    Fails(RefusalReason),
}

fn fails(reason: RefusalReason) -> Result<BasisVerdict, StoreError> {
    Ok(BasisVerdict::Fails(reason))
}

/// Everything but the sealed category.
fn all_unsealed() -> Vec<Category> {
    Category::ALL.into_iter().filter(|c| !c.is_sealed()).collect()
}

/// Checks `basis` against the stored facts.
pub async fn check(store: &Store, basis: &Basis, q: &BasisQuestion<'_>) -> Result<BasisVerdict, StoreError> {
    match basis {
        Basis::Consent { consent_id } => {
            let Some(consent) = store.consent_scope(*consent_id).await? else {
                return fails(RefusalReason::ConsentNotFound);
            };
            Ok(
                match consent.covers(q.subject, q.owner, &q.requester.agency, q.purpose, q.now) {
                    Ok(categories) => BasisVerdict::Holds {
                        covered: categories.to_vec(),
                        context: BasisContext::default(),
                    },
                    Err(e) => BasisVerdict::Fails(e.reason()),
                },
            )
        }
        Basis::SupportMeeting {
            session_id,
            info_request_id,
        } => meeting(store, BasisKind::SupportMeeting, *session_id, *info_request_id, q).await,
        Basis::StatutoryConference {
            session_id,
            info_request_id,
        } => meeting(store, BasisKind::StatutoryConference, *session_id, *info_request_id, q).await,
        Basis::LegalReport { report_id } => {
            let report = store.legal_report(*report_id).await?;
            let facts = pre::ReportFacts {
                report_found: report.is_some(),
                requester_is_receiver: report
                    .as_ref()
                    .is_some_and(|r| r.receiving_agency == q.requester.agency),
                scope_matches: report
                    .as_ref()
                    .is_some_and(|r| &r.reporter_agency == q.owner && r.subject_id == q.subject),
            };
            if let Err(reason) = pre::legal_report(&facts) {
                return fails(reason);
            }
            let statute = report.and_then(|r| q.config.report_route(&r.report_type).map(|r| r.statute.clone()));
            Ok(BasisVerdict::Holds {
                covered: all_unsealed(),
                context: BasisContext {
                    statute,
                    ..Default::default()
                },
            })
        }
        Basis::Emergency { grant_id } => {
            let grant = store.emergency_grant(*grant_id, None).await?;
            let facts = pre::EmergencyFacts {
                grant_found: grant.is_some(),
                granted_to_requester: grant
                    .as_ref()
                    .is_some_and(|g| g.user_id == q.requester.user.as_str() && g.agency_id == q.requester.agency),
                scope_matches: grant
                    .as_ref()
                    .is_some_and(|g| g.subject_id == q.subject && &g.owner_agency == q.owner),
                found_not_justified: grant
                    .as_ref()
                    .is_some_and(|g| g.review_outcome.as_deref() == Some("not-justified")),
                expired: grant.as_ref().is_none_or(|g| q.now >= g.expires_at),
            };
            if let Err(reason) = pre::emergency(&facts) {
                return fails(reason);
            }
            let private_owner = q
                .agencies
                .get(q.owner)
                .is_some_and(|a| a.organ_kind == OrganKind::Private);
            let statute = if private_owner {
                "個人情報保護法 第27条第1項第2号"
            } else {
                "個人情報保護法 第69条第2項第4号"
            };
            Ok(BasisVerdict::Holds {
                covered: q.config.emergency.categories.clone(),
                context: BasisContext {
                    statute: Some(statute.into()),
                    ..Default::default()
                },
            })
        }
        Basis::Internal { .. } => {
            let facts = pre::InternalFacts {
                same_organ: q.agencies.get(q.owner).map(|a| &a.organ) == Some(&q.requester.organ),
                assigned: store
                    .is_assigned(q.subject, &q.requester.agency, &q.requester.user)
                    .await?,
            };
            if let Err(reason) = pre::internal(&facts) {
                return fails(reason);
            }
            Ok(BasisVerdict::Holds {
                covered: all_unsealed(),
                context: BasisContext {
                    statute: Some("個人情報保護法 第69条".into()),
                    ..Default::default()
                },
            })
        }
    }
}

/// docs/rules.md#R-B2.5: a session's access window opens when its agenda is published and closes
/// `window_days` after the session is held (after that, only follow-up assignees keep access).
pub fn window_closes_at(session: &crate::store::Session, body: &crate::store::Body) -> OffsetDateTime {
    session.held_at + Duration::days(body.window_days)
}

/// docs/rules.md#R-B2 and #R-B3: gathers the facts (roster with confirmations, pledges, agenda or
/// information request and its answer, access window) and lets [`pre::meeting`] decide. Membership
/// counts only what people did themselves: a confirmed invitation and an accepted current pledge.
/// With an answered information request the basis covers only the categories the asked agency
/// decided to provide.
async fn meeting(
    store: &Store,
    kind: BasisKind,
    session_id: SessionId,
    info_request_id: Option<InfoRequestId>,
    q: &BasisQuestion<'_>,
) -> Result<BasisVerdict, StoreError> {
    // Two round trips: the session, then everything else about it at once (body, request,
    // roster, agenda, follow-ups, the requester's pledge), read concurrently.
    let Some(session) = store.session(session_id).await? else {
        return fails(RefusalReason::SessionNotFound);
    };
    let requester = q.requester;
    let request_read = async {
        match info_request_id {
            Some(id) => Ok(store.info_request(id).await?.filter(|r| r.session_id == session_id)),
            None => Ok::<_, StoreError>(None),
        }
    };
    let (body, request, roster, agenda, followups, pledge_current) = tokio::try_join!(
        store.body(session.body_id),
        request_read,
        store.roster(session_id, q.now),
        store.agenda(session_id),
        store.followups(session_id),
        store.has_current_pledge(session.body_id, &requester.user, &requester.agency),
    )?;
    let Some(body) = body else {
        return fails(RefusalReason::SessionNotFound);
    };
    let request_fact = match (info_request_id, &request) {
        (None, _) => pre::RequestFact::None,
        (Some(_), None) => pre::RequestFact::NotFound,
        (Some(_), Some(r)) if &r.asked_agency != q.owner || r.subject_id != q.subject => pre::RequestFact::OtherScope,
        (Some(_), Some(r)) => pre::RequestFact::Matching {
            names_requester: r.recipient_user == requester.user.as_str() && r.recipient_agency == requester.agency,
            answer: match r.answer() {
                None => pre::AnswerFact::Unanswered,
                Some(InfoAnswer::Declined) => pre::AnswerFact::Declined,
                Some(InfoAnswer::Provided) => pre::AnswerFact::Provided,
            },
        },
    };
    let own_rows: Vec<_> = roster.iter().filter(|e| e.user_id == requester.user.as_str()).collect();
    let roster_fact = match own_rows.iter().find(|e| e.agency_id == requester.agency.as_str()) {
        Some(e) if !e.live_at(q.now) => pre::RosterFact::Former,
        Some(e) if e.confirmed_at.is_some() => pre::RosterFact::Current,
        Some(_) => pre::RosterFact::Invited,
        None if !own_rows.is_empty() => pre::RosterFact::OtherAgency,
        None => pre::RosterFact::Absent,
    };
    let item = agenda.iter().find(|i| {
        i.removed_at.is_none_or(|t| t > q.now)
            && (i.subject_id == Some(q.subject) || (i.household_id.is_some() && i.household_id == q.household))
    });
    let window = match session.agenda_published_at {
        Some(published) if q.now >= published => {
            if q.now <= window_closes_at(&session, &body) {
                pre::WindowFact::Open
            } else {
                let follow_up = followups.iter().any(|f| {
                    f.subject_id == q.subject
                        && f.user_id == requester.user.as_str()
                        && f.agency_id == requester.agency.as_str()
                        && q.now < f.until
                });
                pre::WindowFact::Closed { follow_up }
            }
        }
        _ => pre::WindowFact::NotPublished,
    };
    let facts = pre::MeetingFacts {
        session_found: true,
        body_kind_matches: body.kind.basis() == kind,
        request: request_fact,
        roster: roster_fact,
        owner_takes_part: roster.iter().any(|e| e.agency_id == q.owner.as_str() && e.member),
        pledge_current,
        on_agenda: item.is_some(),
        window,
    };
    let via_follow_up = match pre::meeting(&facts) {
        Ok(v) => v,
        Err(reason) => return fails(reason),
    };
    let statute = match &body.conference_type {
        Some(t) => q
            .config
            .conference(t)
            .map(|c| c.statute.clone())
            .or(Some(body.legal_basis.clone())),
        None => Some(body.legal_basis.clone()),
    };
    let covered = match &request {
        Some(r) => r
            .provided_categories
            .iter()
            .copied()
            .filter(|c| !c.is_sealed())
            .collect(),
        None => all_unsealed(),
    };
    Ok(BasisVerdict::Holds {
        covered,
        context: BasisContext {
            statute,
            body: Some(body.id),
            conference_type: body.conference_type.clone(),
            agenda_item: item.map(|i| i.id),
            info_request: info_request_id,
            via_follow_up,
        },
    })
}
