//! The preconditions of the non-consent bases as pure functions of facts (docs/rules.md#R-B2 to #R-B6).
//! `policy::basis` gathers the facts from the store; these functions decide. The order of the
//! checks fixes which reason a requester sees when several fail, and the decision tables in
//! `policies/cases/preconditions.json` walk every one of them both ways.

use serde::Deserialize;

use super::decision::RefusalReason;
use super::decision::RefusalReason as R;

/// The requester's place on the session's roster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RosterFact {
    Absent,
    /// Invited by the secretariat, not yet confirmed by the person themselves.
    Invited,
    /// On the roster and confirmed, for the agency they now call from.
    Current,
    /// On the roster, but for another agency (they moved).
    OtherAgency,
    /// Removed: a former member.
    Former,
}

/// The asked agency's answer to an information request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnswerFact {
    /// Nobody at the asked agency has answered yet.
    Unanswered,
    Declined,
    /// Answered with the categories it decided to provide (the basis covers only those).
    Provided,
}

/// An information request named in the disclosure, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequestFact {
    None,
    NotFound,
    /// Found, but it asks another agency or about another person.
    OtherScope,
    /// Found and matching the owner and person asked for; `names_requester` is whether it names
    /// the requester (user and agency) as its recipient.
    Matching {
        names_requester: bool,
        answer: AnswerFact,
    },
}

/// Where "now" falls relative to the session's access window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WindowFact {
    NotPublished,
    Open,
    /// Closed; `follow_up` is whether the requester holds a live follow-up assignment.
    Closed {
        follow_up: bool,
    },
}

/// Everything docs/rules.md#R-B2.5 (and #R-B3) depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeetingFacts {
    pub session_found: bool,
    /// The session's body is of the kind the basis names (meeting vs. conference).
    pub body_kind_matches: bool,
    pub request: RequestFact,
    pub roster: RosterFact,
    /// The owning agency takes part: someone from it is a confirmed, pledged, not-removed member
    /// of this session's roster (a row the secretariat wrote alone does not count). The other
    /// way an owner takes part, answering an information request, is `request`.
    pub owner_takes_part: bool,
    /// The requester (user at agency) accepted the body's current pledge.
    pub pledge_current: bool,
    pub on_agenda: bool,
    pub window: WindowFact,
}

/// Ok(via_follow_up) or the refusal reason. With a matching, answered information request the
/// named recipient needs no place on the roster, and the owner takes part by having answered;
/// the basis then covers only the categories the answer provided (decided by the caller).
pub fn meeting(f: &MeetingFacts) -> Result<bool, RefusalReason> {
    if !f.session_found {
        return Err(R::SessionNotFound);
    }
    if !f.body_kind_matches {
        return Err(R::BasisBodyMismatch);
    }
    let has_request = match f.request {
        RequestFact::None => false,
        RequestFact::NotFound => return Err(R::InfoRequestNotFound),
        RequestFact::OtherScope => return Err(R::InfoRequestScopeMismatch),
        RequestFact::Matching {
            names_requester: false, ..
        } => return Err(R::NotRequestRecipient),
        RequestFact::Matching {
            answer: AnswerFact::Unanswered,
            ..
        } => return Err(R::InfoRequestUnanswered),
        RequestFact::Matching {
            answer: AnswerFact::Declined,
            ..
        } => return Err(R::InfoRequestDeclined),
        RequestFact::Matching {
            names_requester: true,
            answer: AnswerFact::Provided,
        } => true,
    };
    match f.roster {
        RosterFact::Former => return Err(R::FormerMember),
        RosterFact::OtherAgency => return Err(R::NotOnRoster),
        RosterFact::Absent if !has_request => return Err(R::NotOnRoster),
        RosterFact::Invited if !has_request => return Err(R::NotConfirmed),
        RosterFact::Absent | RosterFact::Invited | RosterFact::Current => {}
    }
    if !f.pledge_current {
        return Err(R::NoPledge);
    }
    if !f.owner_takes_part && !has_request {
        return Err(R::OwnerNotMember);
    }
    if !f.on_agenda && !has_request {
        return Err(R::NotOnAgenda);
    }
    match f.window {
        WindowFact::NotPublished => Err(R::WindowNotOpen),
        WindowFact::Open => Ok(false),
        WindowFact::Closed { follow_up: true } => Ok(true),
        WindowFact::Closed { follow_up: false } => Err(R::WindowClosed),
    }
}

/// docs/rules.md#R-B5: a grant made to this user, for this person and owner, not found unjustified
/// by a privacy officer's review, not expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmergencyFacts {
    pub grant_found: bool,
    pub granted_to_requester: bool,
    pub scope_matches: bool,
    /// A privacy officer reviewed the grant and found it `not-justified`: it ended then.
    pub found_not_justified: bool,
    pub expired: bool,
}

pub fn emergency(f: &EmergencyFacts) -> Result<(), RefusalReason> {
    if !f.grant_found {
        return Err(R::GrantNotFound);
    }
    if !f.granted_to_requester {
        return Err(R::GrantNotYours);
    }
    if !f.scope_matches {
        return Err(R::GrantScopeMismatch);
    }
    if f.found_not_justified {
        return Err(R::GrantRevoked);
    }
    if f.expired {
        return Err(R::GrantExpired);
    }
    Ok(())
}

/// docs/rules.md#R-B4: the designated receiving agency asks the reporter about the reported person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportFacts {
    pub report_found: bool,
    pub requester_is_receiver: bool,
    pub scope_matches: bool,
}

pub fn legal_report(f: &ReportFacts) -> Result<(), RefusalReason> {
    if !f.report_found {
        return Err(R::ReportNotFound);
    }
    if !f.requester_is_receiver {
        return Err(R::NotDesignatedReceiver);
    }
    if !f.scope_matches {
        return Err(R::ReportScopeMismatch);
    }
    Ok(())
}

/// docs/rules.md#R-B6 and #R-G4: same organ, assigned to the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InternalFacts {
    pub same_organ: bool,
    pub assigned: bool,
}

pub fn internal(f: &InternalFacts) -> Result<(), RefusalReason> {
    if !f.same_organ {
        return Err(R::OrganBoundary);
    }
    if !f.assigned {
        return Err(R::NotAssigned);
    }
    Ok(())
}
