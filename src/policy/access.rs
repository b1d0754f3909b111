//! Access rules that need stored facts as well as roles. Kept here, beside the Casbin
//! permissions, so handlers and services only ask.
//!
//! Meeting rules are handed out as **capabilities**: a check returns a value (e.g.
//! [`SecretariatOf`]) that the mutating services in [`crate::services::meetings`] require, and whose fields
//! only this module can fill. A handler that skipped the check has nothing to call:
//!
//! ```compile_fail,E0451
//! fn forge<'a>(who: &'a tsunagi::principal::Principal, body: tsunagi::store::Body) {
//!     let _cap = tsunagi::policy::access::SecretariatOf { who, body };
//! }
//! ```
//!
//! - Convening a body: `meetings:write` at the agency `policies/bases.toml` names as the
//!   convener of that kind of body ([`convener`], `not_convening_agency`).
//! - Running a body and its sessions (pledge texts, sessions, invitations, agenda, requests,
//!   follow-ups, decision summary, member removal, origin approvals): `meetings:write` at the
//!   body's secretariat agency ([`secretariat`], `not_secretariat`).
//! - Reading a session and its record: the body's secretariat, the session's members (confirmed,
//!   pledged, not removed) and privacy officers in scope ([`session_reader`], `not_on_roster`).
//! - Reading a body: the secretariat, anyone invited to one of its sessions or named as the
//!   recipient of one of its information requests, privacy officers in scope ([`body_reader`]).
//! - Confirming an invitation: `meetings:join`, and an open invitation for exactly this user at
//!   this agency ([`invitee`], `not_invited`). Accepting a pledge: `pledges:write` and an
//!   invitation or a request naming you ([`pledger`], `not_invited`).
//! - Listing the bodies one's agency runs: `meetings:write` ([`secretariat_desk`]); listing
//!   one's own invitations: `meetings:join` ([`own_invitations`]).
//! - Answering an information request and listing those addressed to you:
//!   `info-requests:answer` at the asked agency ([`answerer`], `not_asked_agency`; [`inbox`]).
//! - A consent record is visible only to the agency that recorded it; the scope (never the
//!   evidence) of a consent in force is offered to an agency it names as a recipient
//!   ([`consent_offered_to`]).
//! - Which log entries a privacy officer or an agency may read ([`log_scope`], [`proof_scope`]):
//!   an officer's own organ, or the whole log for the agencies `policies/bases.toml` lists under
//!   `[oversight] ward_wide`.
//! - Team support (support plans, monitoring, case notes; issue 11): [`team_member`],
//!   [`monitor`], [`plan_author`], [`coordinator_desk`] (in `policy/team.rs`).

use std::collections::HashMap;

pub use super::team::{
    BasisFacts, CoordinatorDesk, Monitor, PlanAuthor, TeamMember, coordinator_desk, may_author_plans, monitor,
    plan_author, team_member,
};

use time::OffsetDateTime;

use super::bases::BasesConfig;
use super::{PolicyError, PolicySet};
use crate::domain::{AgencyId, BodyKind, Role};
use crate::principal::Principal;
use crate::store::{Agency, Body, InfoRequest, Participation, Referral, RosterEntry, Session};

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// Refused; `code` is the stable reason.
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

fn refused(code: &'static str, message: impl Into<String>) -> AccessError {
    AccessError::Refused {
        code,
        message: message.into(),
    }
}

/// A consent record (with its evidence) is visible only to the agency that recorded it; other
/// agencies learn of a consent only through what a disclosure under it releases.
pub fn consent_visible(who: &Principal, recorded_by: &crate::domain::AgencyId) -> bool {
    &who.agency == recorded_by
}

/// A consent's scope (never its evidence) is shown to an agency it names as a recipient, so that
/// its staff can name it as the basis of a request; the evidence stays with the recording agency.
pub fn consent_offered_to(who: &Principal, scope: &crate::domain::ConsentScope) -> bool {
    scope.recipients.contains(&who.agency)
}

/// A management action the policy must permit for the principal's roles at their agency.
pub fn permitted(set: &PolicySet, who: &Principal, action: &str) -> Result<(), AccessError> {
    if set.permits(&who.roles, &who.agency, action)? {
        Ok(())
    } else {
        Err(refused(
            "forbidden_by_policy",
            format!("your roles at your agency may not perform '{action}'"),
        ))
    }
}

/// Permission to convene a body of one kind: the configured convener's secretariat.
#[derive(Debug)]
pub struct Convener<'a> {
    who: &'a Principal,
    kind: BodyKind,
}

impl Convener<'_> {
    pub fn who(&self) -> &Principal {
        self.who
    }
    pub fn kind(&self) -> BodyKind {
        self.kind
    }
}

/// Only the agency `policies/bases.toml` names for this kind of body convenes it (support
/// meetings: the ward's coordinating agency; each conference type: its own convener).
pub fn convener<'a>(
    set: &PolicySet,
    bases: &BasesConfig,
    who: &'a Principal,
    kind: BodyKind,
    conference_type: Option<&str>,
) -> Result<Convener<'a>, AccessError> {
    permitted(set, who, "meetings:write")?;
    match bases.convener(kind, conference_type) {
        Some(agency) if agency == &who.agency => Ok(Convener { who, kind }),
        _ => Err(refused(
            "not_convening_agency",
            "your agency does not convene this kind of body (policies/bases.toml)",
        )),
    }
}

/// Permission to run one body: its secretariat.
#[derive(Debug)]
pub struct SecretariatOf<'a> {
    who: &'a Principal,
    body: Body,
}

impl SecretariatOf<'_> {
    pub fn who(&self) -> &Principal {
        self.who
    }
    pub fn body(&self) -> &Body {
        &self.body
    }
}

fn is_secretariat(set: &PolicySet, who: &Principal, body: &Body) -> Result<bool, AccessError> {
    Ok(set.permits(&who.roles, &who.agency, "meetings:write")? && who.agency == body.secretariat_agency)
}

/// Only the body's secretariat agency (role with `meetings:write` there) runs it.
pub fn secretariat<'a>(set: &PolicySet, who: &'a Principal, body: Body) -> Result<SecretariatOf<'a>, AccessError> {
    permitted(set, who, "meetings:write")?;
    if who.agency != body.secretariat_agency {
        return Err(refused(
            "not_secretariat",
            "only the body's secretariat agency may do this",
        ));
    }
    Ok(SecretariatOf { who, body })
}

/// Permission to run one session: the secretariat of its body.
#[derive(Debug)]
pub struct SessionSecretariat<'a> {
    of: SecretariatOf<'a>,
    session: Session,
}

impl SessionSecretariat<'_> {
    pub fn who(&self) -> &Principal {
        self.of.who
    }
    pub fn body(&self) -> &Body {
        &self.of.body
    }
    pub fn session(&self) -> &Session {
        &self.session
    }
}

pub fn session_secretariat<'a>(
    set: &PolicySet,
    who: &'a Principal,
    body: Body,
    session: Session,
) -> Result<SessionSecretariat<'a>, AccessError> {
    if session.body_id != body.id {
        return Err(refused("not_secretariat", "the session belongs to another body"));
    }
    Ok(SessionSecretariat {
        of: secretariat(set, who, body)?,
        session,
    })
}

/// Whether `who` is a privacy officer whose oversight covers material held under a body run by
/// `secretariat_agency`: role `privacy-officer` with `meetings:read`, in the same organ as that
/// agency or at an agency with ward-wide oversight (`[oversight] ward_wide`), as for the log.
pub fn officer_in_scope(
    set: &PolicySet,
    agencies: &HashMap<AgencyId, Agency>,
    oversight: &super::bases::OversightRules,
    who: &Principal,
    secretariat_agency: &AgencyId,
) -> Result<bool, AccessError> {
    if !who.roles.contains(&Role::PrivacyOfficer) || !set.permits(&who.roles, &who.agency, "meetings:read")? {
        return Ok(false);
    }
    Ok(oversight.ward_wide.contains(&who.agency)
        || agencies.get(secretariat_agency).is_some_and(|a| a.organ == who.organ))
}

/// Permission to read one session (the session, its roster and agenda, its record).
#[derive(Debug)]
pub struct SessionReader<'a> {
    who: &'a Principal,
    body: Body,
    session: Session,
}

impl SessionReader<'_> {
    pub fn who(&self) -> &Principal {
        self.who
    }
    pub fn body(&self) -> &Body {
        &self.body
    }
    pub fn session(&self) -> &Session {
        &self.session
    }
}

/// The body's secretariat, the session's members (confirmed, pledged, not removed) and privacy
/// officers in scope. Another agency's secretariat is none of these.
pub fn session_reader<'a>(
    set: &PolicySet,
    agencies: &HashMap<AgencyId, Agency>,
    oversight: &super::bases::OversightRules,
    who: &'a Principal,
    body: Body,
    session: Session,
    roster: &[RosterEntry],
) -> Result<SessionReader<'a>, AccessError> {
    let member = roster.iter().any(|e| e.is(&who.user, &who.agency) && e.member);
    if member
        || is_secretariat(set, who, &body)?
        || officer_in_scope(set, agencies, oversight, who, &body.secretariat_agency)?
    {
        Ok(SessionReader { who, body, session })
    } else {
        Err(refused(
            "not_on_roster",
            "only the body's secretariat, the session's confirmed members and privacy officers in scope may read it",
        ))
    }
}

/// Reading a body (its rules and current pledge version): the secretariat, people invited to
/// one of its sessions or named as recipients of one of its requests, privacy officers in scope.
pub fn body_reader(
    set: &PolicySet,
    agencies: &HashMap<AgencyId, Agency>,
    oversight: &super::bases::OversightRules,
    who: &Principal,
    body: &Body,
    participation: Participation,
) -> Result<(), AccessError> {
    if participation.invited
        || participation.request_recipient
        || is_secretariat(set, who, body)?
        || officer_in_scope(set, agencies, oversight, who, &body.secretariat_agency)?
    {
        Ok(())
    } else {
        Err(refused(
            "not_participant",
            "only the body's secretariat, its invitees and privacy officers in scope may read it",
        ))
    }
}

/// Permission to confirm one's own invitation to a session.
#[derive(Debug)]
pub struct Invitee<'a> {
    who: &'a Principal,
    session: Session,
}

impl Invitee<'_> {
    pub fn who(&self) -> &Principal {
        self.who
    }
    pub fn session(&self) -> &Session {
        &self.session
    }
}

/// The invitation must name exactly the caller: their user at their agency, not removed.
pub fn invitee<'a>(
    set: &PolicySet,
    who: &'a Principal,
    session: Session,
    roster: &[RosterEntry],
    now: OffsetDateTime,
) -> Result<Invitee<'a>, AccessError> {
    permitted(set, who, "meetings:join")?;
    if roster.iter().any(|e| e.is(&who.user, &who.agency) && e.live_at(now)) {
        Ok(Invitee { who, session })
    } else {
        Err(refused(
            "not_invited",
            "there is no open invitation to this session for you at your agency",
        ))
    }
}

/// Permission to accept a body's pledge.
#[derive(Debug)]
pub struct Pledger<'a> {
    who: &'a Principal,
    body: Body,
}

impl Pledger<'_> {
    pub fn who(&self) -> &Principal {
        self.who
    }
    pub fn body(&self) -> &Body {
        &self.body
    }
}

/// People invited to one of the body's sessions, or named as recipients of its requests.
pub fn pledger<'a>(
    set: &PolicySet,
    who: &'a Principal,
    body: Body,
    participation: Participation,
) -> Result<Pledger<'a>, AccessError> {
    permitted(set, who, "pledges:write")?;
    if participation.invited || participation.request_recipient {
        Ok(Pledger { who, body })
    } else {
        Err(refused(
            "not_invited",
            "only people invited to the body's sessions (or named by its requests) accept its pledge",
        ))
    }
}

/// Permission to answer one information request: staff of the asked agency.
#[derive(Debug)]
pub struct Answerer<'a> {
    who: &'a Principal,
    request: InfoRequest,
}

impl Answerer<'_> {
    pub fn who(&self) -> &Principal {
        self.who
    }
    pub fn request(&self) -> &InfoRequest {
        &self.request
    }
}

pub fn answerer<'a>(set: &PolicySet, who: &'a Principal, request: InfoRequest) -> Result<Answerer<'a>, AccessError> {
    permitted(set, who, "info-requests:answer")?;
    if who.agency != request.asked_agency {
        return Err(refused(
            "not_asked_agency",
            "only the agency the request asks may answer it",
        ));
    }
    Ok(Answerer { who, request })
}

/// Permission to list the requests addressed to one's own agency.
#[derive(Debug)]
pub struct Inbox<'a> {
    who: &'a Principal,
}

impl Inbox<'_> {
    pub fn agency(&self) -> &AgencyId {
        &self.who.agency
    }
}

pub fn inbox<'a>(set: &PolicySet, who: &'a Principal) -> Result<Inbox<'a>, AccessError> {
    permitted(set, who, "info-requests:answer")?;
    Ok(Inbox { who })
}

/// Permission to list the bodies one's own agency runs as secretariat (`meetings:write`; the
/// same rule as [`secretariat`], for a list).
#[derive(Debug)]
pub struct SecretariatDesk<'a> {
    who: &'a Principal,
}

impl SecretariatDesk<'_> {
    pub fn who(&self) -> &Principal {
        self.who
    }
    /// The agency whose bodies this desk runs.
    pub fn agency(&self) -> &AgencyId {
        &self.who.agency
    }
}

pub fn secretariat_desk<'a>(set: &PolicySet, who: &'a Principal) -> Result<SecretariatDesk<'a>, AccessError> {
    permitted(set, who, "meetings:write")?;
    Ok(SecretariatDesk { who })
}

/// Permission to list one's own invitations (the roster rows naming exactly this user at this
/// agency) and the information requests naming one as recipient: `meetings:join`, as for
/// confirming an invitation ([`invitee`]).
#[derive(Debug)]
pub struct OwnInvitations<'a> {
    who: &'a Principal,
}

impl OwnInvitations<'_> {
    pub fn who(&self) -> &Principal {
        self.who
    }
}

pub fn own_invitations<'a>(set: &PolicySet, who: &'a Principal) -> Result<OwnInvitations<'a>, AccessError> {
    permitted(set, who, "meetings:join")?;
    Ok(OwnInvitations { who })
}

/// Permission to register households and subjects, link local ids and find people by them
/// (`subjects:write`), always for the caller's own agency.
#[derive(Debug)]
pub struct SubjectClerk<'a> {
    who: &'a Principal,
}

impl SubjectClerk<'_> {
    pub fn who(&self) -> &Principal {
        self.who
    }
}

pub fn subject_clerk<'a>(set: &PolicySet, who: &'a Principal) -> Result<SubjectClerk<'a>, AccessError> {
    permitted(set, who, "subjects:write")?;
    Ok(SubjectClerk { who })
}

/// Permission to erase a person's data from the hub (`subjects:erase`: APPI deletion or
/// retention expiry; by default the ward-wide privacy officers).
#[derive(Debug)]
pub struct Eraser<'a> {
    who: &'a Principal,
}

impl Eraser<'_> {
    pub fn who(&self) -> &Principal {
        self.who
    }
}

pub fn eraser<'a>(set: &PolicySet, who: &'a Principal) -> Result<Eraser<'a>, AccessError> {
    permitted(set, who, "subjects:erase")?;
    Ok(Eraser { who })
}

/// Permission to write case records owned by the caller's agency (`records:write`).
#[derive(Debug)]
pub struct RecordWriter<'a> {
    who: &'a Principal,
}

impl RecordWriter<'_> {
    pub fn who(&self) -> &Principal {
        self.who
    }
}

pub fn record_writer<'a>(set: &PolicySet, who: &'a Principal) -> Result<RecordWriter<'a>, AccessError> {
    permitted(set, who, "records:write")?;
    Ok(RecordWriter { who })
}

/// Permission to list the caller's agency's own records about a person, ids and categories only
/// (`records:read-index`).
#[derive(Debug)]
pub struct RecordIndexReader<'a> {
    who: &'a Principal,
}

impl RecordIndexReader<'_> {
    pub fn who(&self) -> &Principal {
        self.who
    }
}

pub fn record_index_reader<'a>(set: &PolicySet, who: &'a Principal) -> Result<RecordIndexReader<'a>, AccessError> {
    permitted(set, who, "records:read-index")?;
    Ok(RecordIndexReader { who })
}

/// Which log entries a reader may see: the value the store's log reads take, so an entry outside
/// it cannot be returned by forgetting a filter. Made only by [`log_scope`] and [`proof_scope`]:
///
/// ```compile_fail,E0451
/// let everything = tsunagi::policy::access::LogScope { reach: unimplemented!() };
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogScope {
    reach: Reach,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Reach {
    /// Ward-wide oversight: every entry.
    Everything,
    /// Entries whose requesting (for events: acting) or owning agency is one of these.
    Agencies {
        label: String,
        agencies: std::collections::BTreeSet<String>,
    },
}

impl LogScope {
    /// The agencies an entry must involve (as requester, actor or owner); `None` for every entry.
    pub fn agencies(&self) -> Option<&std::collections::BTreeSet<String>> {
        match &self.reach {
            Reach::Everything => None,
            Reach::Agencies { agencies, .. } => Some(agencies),
        }
    }

    /// Whether the scope reaches the whole log.
    pub fn is_ward_wide(&self) -> bool {
        self.reach == Reach::Everything
    }

    /// Whether an entry with these requesting and owning agencies is in scope.
    pub fn covers(&self, requester: Option<&str>, owner: Option<&str>) -> bool {
        match &self.reach {
            Reach::Everything => true,
            Reach::Agencies { agencies, .. } => [requester, owner].into_iter().flatten().any(|a| agencies.contains(a)),
        }
    }

    /// How the scope is written in `log-read` entries: `ward-wide`, `organ:<id>` or `agency:<id>`.
    pub fn label(&self) -> &str {
        match &self.reach {
            Reach::Everything => "ward-wide",
            Reach::Agencies { label, .. } => label,
        }
    }
}

/// The log a privacy officer (`audit:read`) may read: every entry when their agency is on the
/// configured ward-wide list (`[oversight] ward_wide` in `policies/bases.toml`), otherwise the
/// entries of their own organ — those whose requesting (or acting) or owning agency belongs to
/// it. A contracted corporation's officer therefore reads only entries that involve it.
pub fn log_scope(
    set: &PolicySet,
    who: &Principal,
    agencies: &std::collections::HashMap<crate::domain::AgencyId, crate::store::Agency>,
    oversight: &super::bases::OversightRules,
) -> Result<LogScope, AccessError> {
    permitted(set, who, "audit:read")?;
    if oversight.ward_wide.contains(&who.agency) {
        return Ok(LogScope {
            reach: Reach::Everything,
        });
    }
    let mut members: std::collections::BTreeSet<String> = agencies
        .values()
        .filter(|a| a.organ == who.organ)
        .map(|a| a.id.to_string())
        .collect();
    members.insert(who.agency.to_string());
    Ok(LogScope {
        reach: Reach::Agencies {
            label: format!("organ:{}", who.organ),
            agencies: members,
        },
    })
}

/// Whose inclusion proofs a caller may fetch: a privacy officer's [`log_scope`], or else (with
/// `audit:proof`) the entries their own agency requested or owns.
pub fn proof_scope(
    set: &PolicySet,
    who: &Principal,
    agencies: &std::collections::HashMap<crate::domain::AgencyId, crate::store::Agency>,
    oversight: &super::bases::OversightRules,
) -> Result<LogScope, AccessError> {
    if permitted(set, who, "audit:read").is_ok() {
        return log_scope(set, who, agencies, oversight);
    }
    permitted(set, who, "audit:proof")?;
    Ok(LogScope {
        reach: Reach::Agencies {
            label: format!("agency:{}", who.agency),
            agencies: std::collections::BTreeSet::from([who.agency.to_string()]),
        },
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::domain::{AgencyId, OrganId, Role, UserId};
    use crate::policy::bases::OversightRules;
    use crate::store::{Agency, OrganKind};

    fn registry() -> HashMap<AgencyId, Agency> {
        [
            (
                "regional-support-centre",
                "regional-support-operator",
                OrganKind::Private,
            ),
            ("jobota", "ota-ward", OrganKind::Public),
            ("sapota", "ota-ward", OrganKind::Public),
            ("welfare-coordination", "ota-ward", OrganKind::Public),
        ]
        .into_iter()
        .map(|(a, o, kind)| {
            let id = AgencyId::parse(a).unwrap();
            let agency = Agency {
                id: id.clone(),
                name: a.into(),
                organ: OrganId::parse(o).unwrap(),
                organ_kind: kind,
            };
            (id, agency)
        })
        .collect()
    }

    fn who(agency: &str, role: &str) -> Principal {
        let agencies = registry();
        let id = AgencyId::parse(agency).unwrap();
        Principal {
            user: UserId::parse("someone").unwrap(),
            organ: agencies[&id].organ.clone(),
            agency: id,
            roles: vec![Role::parse(role).unwrap()],
            cert_fingerprint: String::new(),
        }
    }

    #[tokio::test]
    async fn officers_read_their_organ_and_the_configured_agencies_everything() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
        let set = PolicySet::load_dir(&dir).await.unwrap();
        let oversight = OversightRules {
            ward_wide: vec![AgencyId::parse("welfare-coordination").unwrap()],
        };
        let agencies = registry();
        let scope = |a: &str, r: &str| log_scope(&set, &who(a, r), &agencies, &oversight);

        let rsc = scope("regional-support-centre", "privacy-officer").unwrap();
        assert_eq!(rsc.label(), "organ:regional-support-operator");
        assert!(rsc.covers(Some("jobota"), Some("regional-support-centre")));
        assert!(!rsc.covers(Some("jobota"), Some("sapota")));
        assert!(!rsc.covers(None, None));

        let ward = scope("jobota", "privacy-officer").unwrap();
        assert_eq!(ward.label(), "organ:ota-ward");
        assert!(ward.covers(Some("welfare-coordination"), None));
        assert!(!ward.covers(Some("regional-support-centre"), Some("regional-support-centre")));
        assert!(!ward.is_ward_wide());

        let wide = scope("welfare-coordination", "privacy-officer").unwrap();
        assert!(wide.is_ward_wide() && wide.agencies().is_none());
        assert!(wide.covers(None, None));

        // Not an officer: no log scope, and inclusion proofs only for their own agency.
        assert!(scope("jobota", "caseworker").is_err());
        let own = proof_scope(&set, &who("jobota", "caseworker"), &agencies, &oversight).unwrap();
        assert_eq!(own.label(), "agency:jobota");
        assert!(own.covers(None, Some("jobota")) && !own.covers(Some("sapota"), None));
    }
}

/// Permission to read the programme's figures (事業実績, `figures:read`: by default the
/// coordination desk's caseworkers and supervisors and privacy officers). Counts only, never a
/// person; only [`figures_reader`] makes one:
///
/// ```compile_fail,E0451
/// fn forge(who: &tsunagi::principal::Principal) {
///     let _cap = tsunagi::policy::access::FiguresReader { who };
/// }
/// ```
#[derive(Debug)]
pub struct FiguresReader<'a> {
    who: &'a Principal,
}

impl<'a> FiguresReader<'a> {
    pub fn who(&self) -> &'a Principal {
        self.who
    }
}

/// Hands out [`FiguresReader`] to a caller the policy lets do `figures:read`.
pub fn figures_reader<'a>(set: &PolicySet, who: &'a Principal) -> Result<FiguresReader<'a>, AccessError> {
    permitted(set, who, "figures:read")?;
    Ok(FiguresReader { who })
}

/// Permission to see and revoke the console sessions of one agency: `console:sessions` (by
/// default supervisors and policy admins), for the caller's own agency only. Its fields are
/// private: only [`console_session_admin`] makes one.
#[derive(Debug)]
pub struct ConsoleSessionAdmin<'a> {
    who: &'a Principal,
}

impl<'a> ConsoleSessionAdmin<'a> {
    /// The admin.
    pub fn who(&self) -> &'a Principal {
        self.who
    }
    /// The one agency whose sessions this admin may see and revoke.
    pub fn agency(&self) -> &'a AgencyId {
        &self.who.agency
    }
    /// Whether a session of `agency` is this admin's to revoke (their own agency only).
    pub fn governs(&self, agency: &str) -> bool {
        self.who.agency.as_str() == agency
    }
}

/// Hands out [`ConsoleSessionAdmin`] to a caller the policy lets do `console:sessions`.
pub fn console_session_admin<'a>(set: &PolicySet, who: &'a Principal) -> Result<ConsoleSessionAdmin<'a>, AccessError> {
    permitted(set, who, "console:sessions")?;
    Ok(ConsoleSessionAdmin { who })
}

// --- Referrals (つなぎ, docs/rules.md#R-T1–R-T3) ---

/// Permission to refer people from the caller's agency to another (`referrals:write`).
#[derive(Debug)]
pub struct Referrer<'a> {
    who: &'a Principal,
}

impl Referrer<'_> {
    pub fn who(&self) -> &Principal {
        self.who
    }
}

pub fn referrer<'a>(set: &PolicySet, who: &'a Principal) -> Result<Referrer<'a>, AccessError> {
    permitted(set, who, "referrals:write")?;
    Ok(Referrer { who })
}

/// Permission to list the referrals the caller's agency made or received (`referrals:read`).
#[derive(Debug)]
pub struct ReferralDesk<'a> {
    who: &'a Principal,
}

impl ReferralDesk<'_> {
    pub fn who(&self) -> &Principal {
        self.who
    }
}

pub fn referral_desk<'a>(set: &PolicySet, who: &'a Principal) -> Result<ReferralDesk<'a>, AccessError> {
    permitted(set, who, "referrals:read")?;
    Ok(ReferralDesk { who })
}

/// The refusal code for a referral the caller's agency is no party to: the service answers it
/// as 404, so a referral's existence cannot be probed.
pub const REFERRAL_NOT_FOUND: &str = "referral_not_found";
/// The refusal code for material of a referral that was declined or withdrawn (answered 409).
pub const REFERRAL_CLOSED: &str = "referral_closed";

fn party_to(who: &Principal, r: &Referral) -> Result<(), AccessError> {
    if who.agency == r.from_agency || who.agency == r.to_agency {
        Ok(())
    } else {
        Err(refused(
            REFERRAL_NOT_FOUND,
            "your agency made or received no referral with that id",
        ))
    }
}

/// One referral, to a party to it (the referring or the receiving agency) with
/// `referrals:read`: its facts (who, when, state) — never its note or material.
#[derive(Debug)]
pub struct ReferralReader<'a> {
    who: &'a Principal,
    referral: Referral,
}

impl ReferralReader<'_> {
    pub fn who(&self) -> &Principal {
        self.who
    }
    pub fn referral(&self) -> &Referral {
        &self.referral
    }
}

pub fn referral_reader<'a>(
    set: &PolicySet,
    who: &'a Principal,
    referral: Referral,
) -> Result<ReferralReader<'a>, AccessError> {
    party_to(who, &referral)?;
    permitted(set, who, "referrals:read")?;
    Ok(ReferralReader { who, referral })
}

/// Permission to accept or decline a referral: `referrals:answer` at the receiving agency.
#[derive(Debug)]
pub struct ReferralAnswerer<'a> {
    who: &'a Principal,
    referral: Referral,
}

impl ReferralAnswerer<'_> {
    pub fn who(&self) -> &Principal {
        self.who
    }
    pub fn referral(&self) -> &Referral {
        &self.referral
    }
}

pub fn referral_answerer<'a>(
    set: &PolicySet,
    who: &'a Principal,
    referral: Referral,
) -> Result<ReferralAnswerer<'a>, AccessError> {
    party_to(who, &referral)?;
    if who.agency != referral.to_agency {
        return Err(refused(
            "not_receiving_agency",
            "only the agency the person was referred to answers a referral",
        ));
    }
    permitted(set, who, "referrals:answer")?;
    Ok(ReferralAnswerer { who, referral })
}

/// Permission to withdraw a referral: `referrals:write` at the referring agency.
#[derive(Debug)]
pub struct ReferralWithdrawer<'a> {
    who: &'a Principal,
    referral: Referral,
}

impl ReferralWithdrawer<'_> {
    pub fn who(&self) -> &Principal {
        self.who
    }
    pub fn referral(&self) -> &Referral {
        &self.referral
    }
}

pub fn referral_withdrawer<'a>(
    set: &PolicySet,
    who: &'a Principal,
    referral: Referral,
) -> Result<ReferralWithdrawer<'a>, AccessError> {
    party_to(who, &referral)?;
    if who.agency != referral.from_agency {
        return Err(refused(
            "not_referring_agency",
            "only the agency that made a referral withdraws it",
        ));
    }
    permitted(set, who, "referrals:write")?;
    Ok(ReferralWithdrawer { who, referral })
}

/// Permission to ask for what travels with a referral (its note and shared categories): the
/// receiving agency with `referrals:read`, while the referral is pending or accepted
/// (docs/rules.md#R-T3). The release itself is still decided on the disclosure road.
#[derive(Debug)]
pub struct MaterialReader<'a> {
    who: &'a Principal,
    referral: Referral,
}

impl MaterialReader<'_> {
    pub fn who(&self) -> &Principal {
        self.who
    }
    pub fn referral(&self) -> &Referral {
        &self.referral
    }
}

pub fn material_reader<'a>(
    set: &PolicySet,
    who: &'a Principal,
    referral: Referral,
) -> Result<MaterialReader<'a>, AccessError> {
    party_to(who, &referral)?;
    if who.agency != referral.to_agency {
        return Err(refused(
            "not_receiving_agency",
            "only the agency the person was referred to receives what travels with a referral",
        ));
    }
    permitted(set, who, "referrals:read")?;
    if !referral.state.material_open() {
        return Err(refused(
            REFERRAL_CLOSED,
            "the referral was declined or withdrawn: nothing travels with it any more",
        ));
    }
    Ok(MaterialReader { who, referral })
}
