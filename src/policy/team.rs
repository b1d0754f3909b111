//! Team support capabilities (issue 11, docs/rules.md#R-T4–R-T8), re-exported from
//! [`super::access`]. Each check returns a value whose fields only this module can fill; the
//! services in [`crate::services::team`] and [`crate::services::plans`] require them.
//!
//! ```compile_fail,E0451
//! fn forge<'a>(who: &'a tsunagi::principal::Principal, plan: tsunagi::store::PlanHead) {
//!     let _cap = tsunagi::policy::access::TeamMember {
//!         who,
//!         plan,
//!         basis: tsunagi::domain::Basis::Internal { reason: None },
//!         rules: Vec::new(),
//!         body: None,
//!     };
//! }
//! ```
//!
//! - On a plan's team ([`team_member`]): `plans:read`, the agency has a role in the current
//!   version, the plan is active (`plan_ended`), and the plan's basis holds for the caller now —
//!   a consent the plan names that is unrevoked, in its period, about the person, naming the
//!   caller's agency and `case-notes`; or, for a support-meeting basis, the caller is a
//!   confirmed, pledged, not removed member of the session (or its body's secretariat).
//!   Otherwise `not_on_team`, or `left_team` when the caller's basis existed and ended (consent
//!   revoked or expired, removed from the session). The policy must also let the caller's roles
//!   receive `case-notes` on that basis (the decision road's rule, `disclose:<basis>`).
//! - Recording monitoring ([`monitor`]): a team member with `plans:monitor`.
//! - Creating, agreeing and ending plans ([`plan_author`]): `plans:write` at the coordinator
//!   agency (`[team] coordinator`), or `meetings:write` at the secretariat of the body whose
//!   session is the plan's basis (`not_coordinator`).
//! - The coordinator's list of overdue rounds ([`coordinator_desk`]): `plans:read` at the
//!   coordinator agency (`not_coordinator`).

use time::OffsetDateTime;

use super::PolicySet;
use super::access::{AccessError, permitted};
use super::bases::TeamRules;
use crate::domain::plan::PlanBasis;
use crate::domain::{AgencyId, Basis, BodyId, Category, ConsentScope};
use crate::principal::Principal;
use crate::store::{PlanHead, RosterEntry};

fn refused(code: &'static str, message: &str) -> AccessError {
    AccessError::Refused {
        code,
        message: message.to_owned(),
    }
}

/// The facts the team check needs, gathered from the store in one pass.
#[derive(Debug, Default)]
pub struct BasisFacts {
    /// The scopes of the consents the plan's current version names.
    pub consents: Vec<ConsentScope>,
    /// The basis session's roster (support-meeting basis).
    pub roster: Vec<RosterEntry>,
    /// The basis session's body and its secretariat agency.
    pub body: Option<(BodyId, AgencyId)>,
}

/// A principal on a plan's team, on the basis that holds for them now.
#[derive(Debug)]
pub struct TeamMember<'a> {
    who: &'a Principal,
    plan: PlanHead,
    /// The basis that holds: the consent, or the support-meeting session.
    basis: Basis,
    /// The policy rules that let the caller's roles receive `case-notes` on it.
    rules: Vec<String>,
    /// The basis session's body.
    body: Option<BodyId>,
}

impl TeamMember<'_> {
    pub fn who(&self) -> &Principal {
        self.who
    }
    pub fn plan(&self) -> &PlanHead {
        &self.plan
    }
    pub fn basis(&self) -> &Basis {
        &self.basis
    }
    pub fn rules(&self) -> &[String] {
        &self.rules
    }
    pub fn body(&self) -> Option<BodyId> {
        self.body
    }
}

/// Whether the caller is on the plan's team now (see the module documentation).
pub fn team_member<'a>(
    set: &PolicySet,
    who: &'a Principal,
    plan: PlanHead,
    facts: &BasisFacts,
    now: OffsetDateTime,
) -> Result<TeamMember<'a>, AccessError> {
    permitted(set, who, "plans:read")?;
    if !plan.roles.contains(&who.agency) {
        return Err(refused("not_on_team", "your agency has no role in this plan"));
    }
    if !plan.is_active() {
        return Err(refused(
            "plan_ended",
            "the plan has ended; its team no longer has access",
        ));
    }
    let (basis, body) = match &plan.basis {
        PlanBasis::Consent { consent_ids } => {
            let naming: Vec<&ConsentScope> = facts
                .consents
                .iter()
                .filter(|c| {
                    consent_ids.contains(&c.id)
                        && c.subject == plan.subject
                        && c.recipients.contains(&who.agency)
                        && c.categories.contains(&Category::CaseNotes)
                })
                .collect();
            let holding = naming
                .iter()
                .find(|c| c.revoked_at.is_none() && c.valid_from <= now && now < c.valid_until);
            match holding {
                Some(c) => (Basis::Consent { consent_id: c.id }, None),
                None if !naming.is_empty() => {
                    return Err(refused(
                        "left_team",
                        "the consent that named your agency was revoked or has expired",
                    ));
                }
                None => {
                    return Err(refused(
                        "not_on_team",
                        "no consent of the plan names your agency for case notes",
                    ));
                }
            }
        }
        PlanBasis::SupportMeeting { session_id } => {
            let mine = facts.roster.iter().find(|e| e.is(&who.user, &who.agency));
            let secretariat = match &facts.body {
                Some((_, agency)) => agency == &who.agency && set.permits(&who.roles, &who.agency, "meetings:write")?,
                None => false,
            };
            if mine.is_some_and(|e| e.member) || secretariat {
                (
                    Basis::SupportMeeting {
                        session_id: *session_id,
                        info_request_id: None,
                    },
                    facts.body.as_ref().map(|(b, _)| *b),
                )
            } else if mine.is_some_and(|e| e.removed_at.is_some()) {
                return Err(refused("left_team", "you left the plan's support-meeting session"));
            } else {
                return Err(refused(
                    "not_on_team",
                    "only confirmed, pledged members of the plan's session are on its team",
                ));
            }
        }
    };
    let (allowed, rules) = set.may_receive(
        &who.roles,
        &who.agency,
        basis.kind().disclose_action(),
        Category::CaseNotes,
    )?;
    if !allowed {
        return Err(refused(
            "forbidden_by_policy",
            "the policy does not let your roles receive case notes on this basis",
        ));
    }
    Ok(TeamMember {
        who,
        plan,
        basis,
        rules,
        body,
    })
}

/// A team member who may record monitoring for their agency's role.
#[derive(Debug)]
pub struct Monitor<'a, 'm> {
    member: &'m TeamMember<'a>,
}

impl<'a> Monitor<'a, '_> {
    pub fn member(&self) -> &TeamMember<'a> {
        self.member
    }
}

/// `plans:monitor` for a team member.
pub fn monitor<'a, 'm>(set: &PolicySet, member: &'m TeamMember<'a>) -> Result<Monitor<'a, 'm>, AccessError> {
    permitted(set, member.who, "plans:monitor")?;
    Ok(Monitor { member })
}

/// Who may create, agree and end plans.
#[derive(Debug)]
pub struct PlanAuthor<'a> {
    who: &'a Principal,
}

impl PlanAuthor<'_> {
    pub fn who(&self) -> &Principal {
        self.who
    }
}

/// The coordinator (`plans:write` at `[team] coordinator`), or the secretariat
/// (`meetings:write`) of `session_secretariat`, the body running the plan's basis session.
pub fn plan_author<'a>(
    set: &PolicySet,
    team: &TeamRules,
    who: &'a Principal,
    session_secretariat: Option<&AgencyId>,
) -> Result<PlanAuthor<'a>, AccessError> {
    if who.agency == team.coordinator && set.permits(&who.roles, &who.agency, "plans:write")? {
        return Ok(PlanAuthor { who });
    }
    if session_secretariat == Some(&who.agency) && set.permits(&who.roles, &who.agency, "meetings:write")? {
        return Ok(PlanAuthor { who });
    }
    Err(refused(
        "not_coordinator",
        "only the ward's coordinator or the secretariat of the plan's session may do this",
    ))
}

/// Whether the console offers `who` the forms to create a plan and agree a new version: the
/// coordinator with `plans:write`, or a secretariat (`meetings:write`). Offering is not
/// allowing: [`plan_author`] decides each change (a secretariat only for its own sessions).
/// Otherwise 403 `not_coordinator`.
pub fn may_author_plans(set: &PolicySet, team: &TeamRules, who: &Principal) -> Result<(), AccessError> {
    if (who.agency == team.coordinator && set.permits(&who.roles, &who.agency, "plans:write")?)
        || set.permits(&who.roles, &who.agency, "meetings:write")?
    {
        return Ok(());
    }
    Err(refused(
        "not_coordinator",
        "only the ward's coordinator or a support meeting's secretariat may do this",
    ))
}

/// The coordinator's desk: every plan's overdue monitoring rounds (no content).
#[derive(Debug)]
pub struct CoordinatorDesk<'a> {
    who: &'a Principal,
}

impl CoordinatorDesk<'_> {
    pub fn who(&self) -> &Principal {
        self.who
    }
}

pub fn coordinator_desk<'a>(
    set: &PolicySet,
    team: &TeamRules,
    who: &'a Principal,
) -> Result<CoordinatorDesk<'a>, AccessError> {
    permitted(set, who, "plans:read")?;
    if who.agency != team.coordinator {
        return Err(refused("not_coordinator", "only the ward's coordinator sees this list"));
    }
    Ok(CoordinatorDesk { who })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ConsentId, OrganId, PlanId, Purpose, Role, SessionId, SubjectId, UserId};
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-01 09:00 UTC);

    async fn set() -> PolicySet {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
        PolicySet::load_dir(&dir).await.unwrap()
    }

    fn who(user: &str, agency: &str, role: &str) -> Principal {
        Principal {
            user: UserId::parse(user).unwrap(),
            agency: AgencyId::parse(agency).unwrap(),
            organ: OrganId::parse("ota-ward").unwrap(),
            roles: vec![Role::parse(role).unwrap()],
            cert_fingerprint: String::new(),
        }
    }

    fn plan(subject: SubjectId, basis: PlanBasis, state: &str) -> PlanHead {
        PlanHead {
            id: PlanId::new_random(),
            subject,
            state: state.to_owned(),
            created_by_agency: AgencyId::parse("welfare-coordination").unwrap(),
            created_at: NOW,
            current_version: 1,
            ended_at: None,
            end_reason: None,
            basis,
            roles: vec![AgencyId::parse("jobota").unwrap()],
        }
    }

    fn consent(id: ConsentId, subject: SubjectId, revoked: bool) -> ConsentScope {
        ConsentScope {
            id,
            subject,
            recorded_by_agency: AgencyId::parse("regional-support-centre").unwrap(),
            recipients: vec![AgencyId::parse("jobota").unwrap()],
            purposes: vec![Purpose::parse("support plan").unwrap()],
            categories: vec![Category::CaseNotes],
            valid_from: NOW - time::Duration::days(1),
            valid_until: NOW + time::Duration::days(1),
            revoked_at: revoked.then_some(NOW - time::Duration::hours(1)),
        }
    }

    fn code(r: Result<TeamMember<'_>, AccessError>) -> &'static str {
        match r {
            Ok(_) => "on_team",
            Err(AccessError::Refused { code, .. }) => code,
            Err(AccessError::Policy(_)) => "policy_error",
        }
    }

    #[tokio::test]
    async fn a_consent_basis_admits_the_named_agency_while_the_consent_holds() {
        let set = set().await;
        let subject = SubjectId::new_random();
        let id = ConsentId::new_random();
        let p = plan(subject, PlanBasis::Consent { consent_ids: vec![id] }, "active");
        let holds = BasisFacts {
            consents: vec![consent(id, subject, false)],
            ..BasisFacts::default()
        };
        let revoked = BasisFacts {
            consents: vec![consent(id, subject, true)],
            ..BasisFacts::default()
        };
        let tanaka = who("tanaka", "jobota", "caseworker");
        let member = team_member(&set, &tanaka, p.clone(), &holds, NOW).unwrap();
        assert_eq!(member.basis(), &Basis::Consent { consent_id: id });
        assert!(!member.rules().is_empty(), "the policy rule that allowed case-notes");
        assert_eq!(code(team_member(&set, &tanaka, p.clone(), &revoked, NOW)), "left_team");
        let after = NOW + time::Duration::days(2);
        assert_eq!(code(team_member(&set, &tanaka, p.clone(), &holds, after)), "left_team");
        assert_eq!(
            code(team_member(&set, &tanaka, p.clone(), &BasisFacts::default(), NOW)),
            "not_on_team"
        );
        // About someone else: not this plan's consent.
        let elsewhere = BasisFacts {
            consents: vec![consent(id, SubjectId::new_random(), false)],
            ..BasisFacts::default()
        };
        assert_eq!(
            code(team_member(&set, &tanaka, p.clone(), &elsewhere, NOW)),
            "not_on_team"
        );
        // No role; an ended plan; a role without plans:read.
        let sapota = who("suzuki", "sapota", "caseworker");
        assert_eq!(code(team_member(&set, &sapota, p.clone(), &holds, NOW)), "not_on_team");
        let ended = plan(subject, PlanBasis::Consent { consent_ids: vec![id] }, "ended");
        assert_eq!(code(team_member(&set, &tanaka, ended, &holds, NOW)), "plan_ended");
        let officer = who("ito", "jobota", "privacy-officer");
        assert_eq!(code(team_member(&set, &officer, p, &holds, NOW)), "forbidden_by_policy");
    }

    #[tokio::test]
    async fn a_session_basis_admits_pledged_members_and_not_those_who_left() {
        let set = set().await;
        let subject = SubjectId::new_random();
        let p = plan(
            subject,
            PlanBasis::SupportMeeting {
                session_id: SessionId::new_random(),
            },
            "active",
        );
        let row = |member: bool, removed: bool| RosterEntry {
            user_id: "tanaka".into(),
            agency_id: "jobota".into(),
            attendance: "member".into(),
            status: if removed { "removed" } else { "confirmed" },
            added_at: NOW,
            confirmed_at: Some(NOW),
            pledge_current: member,
            member: member && !removed,
            removed_at: removed.then_some(NOW),
        };
        let tanaka = who("tanaka", "jobota", "caseworker");
        let facts = |roster| BasisFacts {
            roster,
            ..BasisFacts::default()
        };
        assert_eq!(
            code(team_member(
                &set,
                &tanaka,
                p.clone(),
                &facts(vec![row(true, false)]),
                NOW
            )),
            "on_team"
        );
        assert_eq!(
            code(team_member(
                &set,
                &tanaka,
                p.clone(),
                &facts(vec![row(true, true)]),
                NOW
            )),
            "left_team"
        );
        assert_eq!(
            code(team_member(
                &set,
                &tanaka,
                p.clone(),
                &facts(vec![row(false, false)]),
                NOW
            )),
            "not_on_team",
            "confirmed but not pledged"
        );
        assert_eq!(
            code(team_member(&set, &tanaka, p, &facts(Vec::new()), NOW)),
            "not_on_team"
        );
    }

    #[tokio::test]
    async fn only_the_coordinator_or_the_sessions_secretariat_authors_plans() {
        let set = set().await;
        let team = TeamRules {
            coordinator: AgencyId::parse("welfare-coordination").unwrap(),
            grace_days: 14,
            overdue_check_secs: 300,
        };
        let coord = who("yamada", "welfare-coordination", "caseworker");
        assert!(plan_author(&set, &team, &coord, None).is_ok());
        let jobota = who("tanaka", "jobota", "caseworker");
        assert!(plan_author(&set, &team, &jobota, None).is_err());
        let sec = who("kato", "child-services", "meeting-secretariat");
        let cs = AgencyId::parse("child-services").unwrap();
        assert!(plan_author(&set, &team, &sec, Some(&cs)).is_ok());
        assert!(plan_author(&set, &team, &sec, None).is_err());
        assert!(coordinator_desk(&set, &team, &coord).is_ok());
        assert!(coordinator_desk(&set, &team, &jobota).is_err());
    }
}
