//! Basis checks (DOMAIN.md §3): does the basis a requester names hold right now? Each check
//! reads the facts it needs from the store and answers with the categories the basis covers and
//! the context that goes on record (statute, body, session, agenda item), or with the stable
//! reason it fails. The sharing policy is asked only afterwards, about the covered categories.
//!
//! These are law, not policy: no rule in `policy.csv` can make a failing basis hold.

use std::collections::HashMap;

use time::{Duration, OffsetDateTime};

use super::bases::BasesConfig;
use crate::domain::{
    AgencyId, Basis, BasisContext, BasisKind, Category, HouseholdId, InfoRequestId, Purpose, SessionId, SubjectId,
};
use crate::principal::Principal;
use crate::store::{Agency, OrganKind, Store, StoreError};

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
    /// The basis does not hold; `code` is the stable refusal reason.
    Fails { code: &'static str, message: String },
}

fn fails(code: &'static str, message: impl Into<String>) -> Result<BasisVerdict, StoreError> {
    Ok(BasisVerdict::Fails {
        code,
        message: message.into(),
    })
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
                return fails("consent_not_found", "no consent with that id is on record");
            };
            Ok(
                match consent.covers(q.subject, q.owner, &q.requester.agency, q.purpose, q.now) {
                    Ok(categories) => BasisVerdict::Holds {
                        covered: categories.to_vec(),
                        context: BasisContext::default(),
                    },
                    Err(e) => BasisVerdict::Fails {
                        code: e.code(),
                        message: e.to_string(),
                    },
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
            let Some(report) = store.legal_report(*report_id).await? else {
                return fails("report_not_found", "no abuse report with that id is on record");
            };
            if report.receiving_agency != q.requester.agency {
                return fails(
                    "not_designated_receiver",
                    "only the designated receiving agency may ask under this report",
                );
            }
            if &report.reporter_agency != q.owner || report.subject_id != q.subject {
                return fails(
                    "report_scope_mismatch",
                    "the report concerns another person or another reporting agency",
                );
            }
            let statute = q.config.report_route(&report.report_type).map(|r| r.statute.clone());
            Ok(BasisVerdict::Holds {
                covered: all_unsealed(),
                context: BasisContext {
                    statute,
                    ..Default::default()
                },
            })
        }
        Basis::Emergency { grant_id } => {
            let Some(grant) = store.emergency_grant(*grant_id, false).await? else {
                return fails("grant_not_found", "no emergency grant with that id is on record");
            };
            if grant.user_id != q.requester.user.as_str() || grant.agency_id != q.requester.agency {
                return fails("grant_not_yours", "the emergency grant was made to another user");
            }
            if grant.subject_id != q.subject || &grant.owner_agency != q.owner {
                return fails(
                    "grant_scope_mismatch",
                    "the emergency grant concerns another person or agency",
                );
            }
            if q.now >= grant.expires_at {
                return fails("grant_expired", "the emergency grant has expired");
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
            let owner_organ = q.agencies.get(q.owner).map(|a| &a.organ);
            if owner_organ != Some(&q.requester.organ) {
                return fails(
                    "organ_boundary",
                    "the requesting and owning agencies belong to different organs: not internal use",
                );
            }
            if !store
                .is_assigned(q.subject, &q.requester.agency, &q.requester.user)
                .await?
            {
                return fails("not_assigned", "you are not assigned to this person's case");
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

/// §3.2 / §3.3: roster, pledge, agenda (or information request), access window, membership.
async fn meeting(
    store: &Store,
    kind: BasisKind,
    session_id: SessionId,
    info_request_id: Option<InfoRequestId>,
    q: &BasisQuestion<'_>,
) -> Result<BasisVerdict, StoreError> {
    let Some(session) = store.session(session_id).await? else {
        return fails("session_not_found", "no session with that id");
    };
    let Some(body) = store.body(session.body_id).await? else {
        return fails("session_not_found", "the session's body is missing");
    };
    if body.kind.basis() != kind {
        return fails(
            "basis_body_mismatch",
            format!("the session belongs to a {}, not a {kind}", body.kind.as_str()),
        );
    }
    let user = q.requester.user.as_str();
    let request = match info_request_id {
        Some(id) => match store.info_requests(session_id).await?.into_iter().find(|r| r.id == id) {
            Some(r) if &r.asked_agency == q.owner && r.subject_id == q.subject => Some(r),
            Some(_) => {
                return fails(
                    "info_request_scope_mismatch",
                    "the information request names another agency or person",
                );
            }
            None => return fails("info_request_not_found", "no such information request in this session"),
        },
        None => None,
    };
    let named_by_request = request
        .as_ref()
        .is_some_and(|r| r.recipient_user == user && r.recipient_agency == q.requester.agency);

    // Recipient: on the roster (and not a former member), or named by the request.
    let roster = store.roster(session_id).await?;
    match roster.iter().find(|e| e.user_id == user) {
        Some(e) if e.removed_at.is_some_and(|t| t <= q.now) => {
            return fails(
                "former_member",
                "you left this meeting: access ended (the duty of confidentiality remains)",
            );
        }
        Some(e) if e.agency_id != q.requester.agency.as_str() => {
            return fails("not_on_roster", "you are on the roster for another agency");
        }
        Some(_) => {}
        None if named_by_request => {}
        None => return fails("not_on_roster", "you are not on this session's roster"),
    }
    // The owner must take part: a current member agency, or the agency the meeting asked.
    let owner_member = roster
        .iter()
        .any(|e| e.agency_id == q.owner.as_str() && e.removed_at.is_none_or(|t| t > q.now));
    if !owner_member && request.is_none() {
        return fails(
            "owner_not_member",
            "the owning agency does not take part in this session",
        );
    }
    if !store.has_current_pledge(session.body_id, &q.requester.user).await? {
        return fails(
            "no_pledge",
            "no current confidentiality pledge (誓約書) on file for this meeting",
        );
    }
    // Subject on the agenda (directly or through the household), or named by the request.
    let agenda = store.agenda(session_id).await?;
    let item = agenda.iter().find(|i| {
        i.removed_at.is_none_or(|t| t > q.now)
            && (i.subject_id == Some(q.subject) || (i.household_id.is_some() && i.household_id == q.household))
    });
    if item.is_none() && request.is_none() {
        return fails("not_on_agenda", "the person is not on this session's agenda");
    }
    // Access window: from agenda publication until `window_days` after the session.
    let Some(published) = session.agenda_published_at else {
        return fails("window_not_open", "the agenda has not been published");
    };
    if q.now < published {
        return fails("window_not_open", "the agenda has not been published yet");
    }
    let closes = session.held_at + Duration::days(body.window_days);
    let mut via_follow_up = false;
    if q.now > closes {
        let follow_up = store.followups(session_id).await?.into_iter().any(|f| {
            f.subject_id == q.subject
                && f.user_id == user
                && f.agency_id == q.requester.agency.as_str()
                && q.now < f.until
        });
        if !follow_up {
            return fails(
                "window_closed",
                "the session's access window has closed and you are not assigned to follow-up",
            );
        }
        via_follow_up = true;
    }
    let statute = match &body.conference_type {
        Some(t) => q
            .config
            .conference(t)
            .map(|c| c.statute.clone())
            .or(Some(body.legal_basis.clone())),
        None => Some(body.legal_basis.clone()),
    };
    Ok(BasisVerdict::Holds {
        covered: all_unsealed(),
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
