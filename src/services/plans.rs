//! Support plans (支援プラン) and monitoring (モニタリング), issue 11 (docs/rules.md#R-T4–R-T8).
//!
//! - Creating a plan and agreeing a new version: the coordinator or the secretariat of the
//!   plan's session ([`crate::policy::access::plan_author`]); the basis is checked when the
//!   version is agreed (each consent in force, about the person, naming every agency with a
//!   role and `case-notes`; or a support-meeting session).
//! - Reading a plan and its monitoring: team members only ([`crate::services::team::gate`]);
//!   every read is one logged disclosure listing what it released.
//! - Recording monitoring: a team member with `plans:monitor`, for their own agency's role.
//! - Ending a plan (終結): its authors, with a reason code; afterwards `plan_ended`.
//! - Overdue rounds (due + `[team] grace_days` passed, not recorded): the coordinator's list,
//!   and a notice to the coordinator and the agency, once ([`notify_overdue`], run by a
//!   background task every `[team] overdue_check_secs`).
//!
//! Every change is logged first: the store's functions need the entry's [`crate::audit::Logged`].

use serde::Serialize;
use time::OffsetDateTime;

use super::team::{self, Result, TeamError};
use crate::audit::{AuditEntry, EventEntry, IndexFields, Receipt, TeamItem};
use crate::domain::plan::{EndReason, PlanBasis, PlanContent, PlanRole, monitoring_schedule};
use crate::domain::{
    AgencyId, BodyKind, Category, ConsentId, PlanId, SessionId, SubjectId, ValidationError, parse_rfc3339, rfc3339,
};
use crate::policy::access::{self, PlanAuthor, TeamMember};
use crate::principal::Principal;
use crate::state::AppState;
use crate::store::{MonitoringEntry, NewPlanVersion, OpenedRound, OpenedVersion, OverdueRound, PlanHead};

/// A basis as the caller names it.
#[derive(Debug, Clone)]
pub enum BasisRequest {
    Consent(Vec<String>),
    SupportMeeting(String),
}

/// A plan version as the caller writes it (the JSON API and the console give the same answers).
#[derive(Debug, Clone)]
pub struct VersionRequest {
    pub basis: BasisRequest,
    pub agreed_in_session: Option<String>,
    pub goals: Vec<String>,
    /// (agency, role, lead person)
    pub roles: Vec<(String, String, String)>,
    pub services: Vec<String>,
    /// RFC 3339 due dates of the next monitoring rounds.
    pub monitoring: Vec<String>,
}

/// The answer to a change: the plan, its version, and the entry that records the change.
#[derive(Debug, Clone, Serialize)]
pub struct PlanChange {
    pub plan_id: PlanId,
    pub version: i64,
    pub receipt: Receipt,
}

/// A plan as its team sees it (one logged read).
#[derive(Debug, Clone, Serialize)]
pub struct PlanView {
    pub id: PlanId,
    pub subject_id: SubjectId,
    pub state: String,
    pub current_version: i64,
    pub basis: PlanBasis,
    pub roles: Vec<AgencyId>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
    pub end_reason: Option<String>,
    pub versions: Vec<OpenedVersion>,
    pub monitoring: Vec<OpenedRound>,
    /// The disclosure entry of this read.
    pub receipt: Receipt,
}

impl PlanView {
    /// The current version's content.
    pub fn current(&self) -> Option<&OpenedVersion> {
        self.versions.iter().find(|v| v.meta.version == self.current_version)
    }
    /// The caller's agency's role in the current version.
    pub fn role_of(&self, agency: &AgencyId) -> Option<&PlanRole> {
        self.current()
            .and_then(|v| v.content.roles.iter().find(|r| &r.agency == agency))
    }
}

/// A plan in a list: no content.
#[derive(Debug, Clone, Serialize)]
pub struct PlanSummary {
    pub id: PlanId,
    pub subject_id: SubjectId,
    pub state: String,
    pub current_version: i64,
    pub basis: PlanBasis,
    pub roles: Vec<AgencyId>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<PlanHead> for PlanSummary {
    fn from(p: PlanHead) -> Self {
        Self {
            id: p.id,
            subject_id: p.subject,
            state: p.state,
            current_version: p.current_version,
            basis: p.basis,
            roles: p.roles,
            created_at: p.created_at,
        }
    }
}

/// Nothing about an erased person is sealed, opened or logged as a release (410
/// `subject_erased` before any entry).
async fn not_erased(state: &AppState, subject: SubjectId) -> Result<()> {
    if state.store.subject_erased(subject).await? {
        return Err(crate::store::StoreError::Erased.into());
    }
    Ok(())
}

fn invalid(field: &str, code: &'static str, message: &str) -> TeamError {
    TeamError::Invalid(ValidationError::new(field, code, message))
}

/// The basis session's body secretariat, if the request names a session.
async fn session_secretariat(state: &AppState, basis: &BasisRequest) -> Result<Option<AgencyId>> {
    let BasisRequest::SupportMeeting(raw) = basis else {
        return Ok(None);
    };
    let id = SessionId::parse(raw).map_err(|_| TeamError::NotFound("session"))?;
    let session = state.store.session(id).await?.ok_or(TeamError::NotFound("session"))?;
    let body = state
        .store
        .body(session.body_id)
        .await?
        .ok_or(TeamError::NotFound("session"))?;
    if body.kind != BodyKind::SupportMeeting {
        return Err(invalid(
            "basis.session_id",
            "not_support_meeting",
            "a plan's session must be a support meeting's (社会福祉法 第106条の6)",
        ));
    }
    Ok(Some(body.secretariat_agency))
}

/// Parses and checks a version against the stored facts: agencies registered, the basis in
/// force for every agency with a role.
async fn parse_version(
    state: &AppState,
    who: &Principal,
    subject: SubjectId,
    r: &VersionRequest,
    now: OffsetDateTime,
) -> Result<NewPlanVersion> {
    let content = PlanContent::parse(&r.goals, &r.roles, &r.services)?;
    for a in content.agencies() {
        if !state.agencies.contains_key(&a) {
            return Err(invalid(
                "roles.agency",
                "unknown_agency",
                "no such agency in the registry",
            ));
        }
    }
    let dates = r
        .monitoring
        .iter()
        .map(|d| parse_rfc3339("monitoring", d))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let schedule = monitoring_schedule(&dates, now)?;
    let basis = match &r.basis {
        BasisRequest::SupportMeeting(s) => PlanBasis::SupportMeeting {
            session_id: SessionId::parse(s).map_err(|_| TeamError::NotFound("session"))?,
        },
        BasisRequest::Consent(ids) => {
            if ids.is_empty() || ids.len() > 20 {
                return Err(invalid("basis.consent_ids", "empty", "name 1 to 20 consents"));
            }
            let mut consent_ids: Vec<ConsentId> = Vec::new();
            let mut scopes = Vec::new();
            for raw in ids {
                let id = ConsentId::parse(raw)?;
                let scope = state
                    .store
                    .consent_scope(id)
                    .await?
                    .ok_or(TeamError::NotFound("consent"))?;
                if scope.subject != subject {
                    return Err(invalid(
                        "basis.consent_ids",
                        "consent_other_subject",
                        "the consent is about someone else",
                    ));
                }
                if scope.revoked_at.is_some() || now < scope.valid_from || now >= scope.valid_until {
                    return Err(invalid(
                        "basis.consent_ids",
                        "consent_not_in_force",
                        "the consent is not in force",
                    ));
                }
                if !consent_ids.contains(&id) {
                    consent_ids.push(id);
                }
                scopes.push(scope);
            }
            // Every agency with a role must be named, for case notes, by one of them.
            for a in content.agencies() {
                if !scopes
                    .iter()
                    .any(|c| c.recipients.contains(&a) && c.categories.contains(&Category::CaseNotes))
                {
                    return Err(invalid(
                        "roles.agency",
                        "role_without_basis",
                        "an agency with a role is not named, for case notes, by the plan's consents",
                    ));
                }
            }
            consent_ids.sort();
            PlanBasis::Consent { consent_ids }
        }
    };
    let agreed_in_session = match &r.agreed_in_session {
        Some(s) => {
            let id = SessionId::parse(s).map_err(|_| TeamError::NotFound("session"))?;
            state.store.session(id).await?.ok_or(TeamError::NotFound("session"))?;
            Some(id)
        }
        None => basis.session(),
    };
    Ok(NewPlanVersion {
        basis,
        agreed_in_session,
        agreed_by_agency: who.agency.clone(),
        agreed_by_user: who.user.clone(),
        content,
        schedule,
    })
}

/// Tells every agency with a role (under the change's entry).
async fn tell_team(
    state: &AppState,
    agencies: &[AgencyId],
    kind: &str,
    plan: PlanId,
    message: &str,
    logged: &crate::audit::Logged,
) -> Result<()> {
    let now = state.clock.now();
    for a in agencies {
        state
            .store
            .notify(a, kind, &plan.to_string(), message, now, logged)
            .await?;
    }
    Ok(())
}

/// Creates a plan about `subject_id` with its first version.
pub async fn create(state: &AppState, who: &Principal, subject_id: &str, r: &VersionRequest) -> Result<PlanChange> {
    let secretariat = session_secretariat(state, &r.basis).await?;
    let author: PlanAuthor<'_> =
        access::plan_author(&state.policy.current(), &state.bases.team, who, secretariat.as_ref())?;
    let subject = SubjectId::parse(subject_id).map_err(|_| TeamError::NotFound("subject"))?;
    state
        .store
        .subject(subject)
        .await?
        .ok_or(TeamError::NotFound("subject"))?;
    not_erased(state, subject).await?;
    let now = state.clock.now();
    let v = parse_version(state, author.who(), subject, r, now).await?;
    let id = PlanId::new_random();
    let logged = team::log_change(
        state,
        author.who(),
        "plan-created",
        subject,
        id.to_string(),
        serde_json::json!({
            "version": 1,
            "basis": v.basis,
            "roles": v.content.agencies(),
            "rounds": v.schedule.len(),
        }),
    )
    .await?;
    state.store.create_plan(id, subject, &v, now, &logged).await?;
    tell_team(
        state,
        &v.content.agencies(),
        "plan-agreed",
        id,
        "A support plan naming your agency was agreed (version 1).",
        &logged,
    )
    .await?;
    Ok(PlanChange {
        plan_id: id,
        version: 1,
        receipt: logged.receipt().clone(),
    })
}

/// Agrees a new version of plan `plan_id` on top of version `based_on` (409 `version_conflict`
/// if another was agreed meanwhile, 409 `plan_ended`).
pub async fn add_version(
    state: &AppState,
    who: &Principal,
    plan_id: &str,
    based_on: i64,
    r: &VersionRequest,
) -> Result<PlanChange> {
    let plan = team::load_plan(state, plan_id).await?;
    let secretariat = match (session_secretariat(state, &r.basis).await?, plan.basis.session()) {
        (Some(a), _) => Some(a),
        (None, Some(s)) => session_secretariat(state, &BasisRequest::SupportMeeting(s.to_string())).await?,
        (None, None) => None,
    };
    let author = access::plan_author(&state.policy.current(), &state.bases.team, who, secretariat.as_ref())?;
    if !plan.is_active() {
        return Err(TeamError::Conflict("plan_ended"));
    }
    if plan.current_version != based_on {
        return Err(TeamError::Conflict("version_conflict"));
    }
    not_erased(state, plan.subject).await?;
    let now = state.clock.now();
    let v = parse_version(state, author.who(), plan.subject, r, now).await?;
    let logged = team::log_change(
        state,
        author.who(),
        "plan-version-agreed",
        plan.subject,
        plan.id.to_string(),
        serde_json::json!({
            "version": based_on + 1,
            "basis": v.basis,
            "roles": v.content.agencies(),
            "rounds": v.schedule.len(),
        }),
    )
    .await?;
    let version = state.store.add_plan_version(&plan, based_on, &v, now, &logged).await?;
    let mut told = v.content.agencies();
    for a in &plan.roles {
        if !told.contains(a) {
            told.push(a.clone());
        }
    }
    tell_team(
        state,
        &told,
        "plan-agreed",
        plan.id,
        "A new version of a support plan naming your agency was agreed.",
        &logged,
    )
    .await?;
    Ok(PlanChange {
        plan_id: plan.id,
        version,
        receipt: logged.receipt().clone(),
    })
}

/// The head of plan `plan_id` (no content) for the console's new-version form: its authors
/// only, as [`add_version`] decides (403 `not_coordinator`), and only while it is active (409
/// `plan_ended`).
pub async fn revision_head(state: &AppState, who: &Principal, plan_id: &str) -> Result<PlanHead> {
    let plan = team::load_plan(state, plan_id).await?;
    let secretariat = match plan.basis.session() {
        Some(s) => session_secretariat(state, &BasisRequest::SupportMeeting(s.to_string())).await?,
        None => None,
    };
    let _author = access::plan_author(&state.policy.current(), &state.bases.team, who, secretariat.as_ref())?;
    if !plan.is_active() {
        return Err(TeamError::Conflict("plan_ended"));
    }
    Ok(plan)
}

/// The plan with every version and monitoring entry, for a team member: one logged read.
pub async fn read(state: &AppState, member: &TeamMember<'_>) -> Result<PlanView> {
    let plan = member.plan();
    not_erased(state, plan.subject).await?;
    let sealed = state.store.sealed_plan(plan).await?;
    let mut items: Vec<TeamItem> = sealed
        .versions()
        .map(|v| TeamItem::new("plan-version", v.version.to_string()))
        .collect();
    items.extend(
        sealed
            .rounds()
            .filter(|r| r.recorded_at.is_some())
            .map(|r| TeamItem::new("monitoring", r.item_id())),
    );
    let release = team::record_read(state, member, "support-plan", items).await?;
    let (versions, monitoring) = state.store.open_plan(&sealed, &release)?;
    Ok(PlanView {
        id: plan.id,
        subject_id: plan.subject,
        state: plan.state.clone(),
        current_version: plan.current_version,
        basis: plan.basis.clone(),
        roles: plan.roles.clone(),
        ended_at: plan.ended_at,
        end_reason: plan.end_reason.clone(),
        versions,
        monitoring,
        receipt: release.receipt().clone(),
    })
}

/// The monitoring rounds with their recorded progress, for a team member: one logged read.
pub async fn read_monitoring(state: &AppState, member: &TeamMember<'_>) -> Result<(Vec<OpenedRound>, Receipt)> {
    not_erased(state, member.plan().subject).await?;
    let sealed = state.store.sealed_plan(member.plan()).await?;
    let items = sealed
        .rounds()
        .filter(|r| r.recorded_at.is_some())
        .map(|r| TeamItem::new("monitoring", r.item_id()))
        .collect();
    let release = team::record_read(state, member, "support-plan-monitoring", items).await?;
    let (_, rounds) = state.store.open_plan(&sealed, &release)?;
    Ok((rounds, release.receipt().clone()))
}

/// The answer to recording monitoring.
#[derive(Debug, Clone, Serialize)]
pub struct MonitoringRecorded {
    pub plan_id: PlanId,
    pub round: i64,
    pub agency_id: AgencyId,
    /// Recorded by due + grace days.
    pub on_time: bool,
    pub receipt: Receipt,
}

/// Records the caller's agency's progress against its role for `round` (default: its earliest
/// unrecorded round). 404 `round_not_found`, 409 `already_recorded`.
pub async fn record_monitoring(
    state: &AppState,
    member: &TeamMember<'_>,
    round: Option<i64>,
    progress: &str,
) -> Result<MonitoringRecorded> {
    let policy = state.policy.current();
    let monitor = access::monitor(&policy, member)?;
    let member = monitor.member();
    let who = member.who();
    let plan = member.plan();
    let progress = crate::domain::FreeText::bounded("progress", progress.trim(), 8000)?;
    if progress.as_str().is_empty() {
        return Err(invalid("progress", "empty", "write the progress against your role"));
    }
    not_erased(state, plan.subject).await?;
    let round = match round {
        Some(r) => r,
        None => state
            .store
            .next_round_of(plan.id, &who.agency)
            .await?
            .ok_or(TeamError::NotFound("round"))?,
    };
    let logged = team::log_change(
        state,
        who,
        "plan-monitoring-recorded",
        plan.subject,
        plan.id.to_string(),
        serde_json::json!({"round": round, "agency": who.agency}),
    )
    .await?;
    let entry = MonitoringEntry {
        round,
        agency: &who.agency,
        user: &who.user,
        progress: progress.as_str(),
    };
    let on_time = state
        .store
        .record_monitoring(plan, &entry, state.bases.team.grace_ms(), state.clock.now(), &logged)
        .await?;
    Ok(MonitoringRecorded {
        plan_id: plan.id,
        round,
        agency_id: who.agency.clone(),
        on_time,
        receipt: logged.receipt().clone(),
    })
}

/// Ends plan `plan_id` (終結) with a reason code; the team's access ends at once.
pub async fn end(state: &AppState, who: &Principal, plan_id: &str, reason: &str) -> Result<PlanChange> {
    let plan = team::load_plan(state, plan_id).await?;
    let secretariat = match plan.basis.session() {
        Some(s) => session_secretariat(state, &BasisRequest::SupportMeeting(s.to_string())).await?,
        None => None,
    };
    let author = access::plan_author(&state.policy.current(), &state.bases.team, who, secretariat.as_ref())?;
    let reason = EndReason::parse(reason)?;
    if !plan.is_active() {
        return Err(TeamError::Conflict("plan_ended"));
    }
    let logged = team::log_change(
        state,
        author.who(),
        "plan-ended",
        plan.subject,
        plan.id.to_string(),
        serde_json::json!({"version": plan.current_version, "reason": reason.as_str()}),
    )
    .await?;
    let now = state.clock.now();
    state
        .store
        .end_plan(plan.id, reason, &author.who().agency, now, &logged)
        .await?;
    tell_team(
        state,
        &plan.roles,
        "plan-ended",
        plan.id,
        "A support plan naming your agency has ended.",
        &logged,
    )
    .await?;
    Ok(PlanChange {
        plan_id: plan.id,
        version: plan.current_version,
        receipt: logged.receipt().clone(),
    })
}

/// The plans the caller's agency has a role in (or made): no content (`plans:read`).
pub async fn list_mine(state: &AppState, who: &Principal) -> Result<Vec<PlanSummary>> {
    access::permitted(&state.policy.current(), who, "plans:read")?;
    Ok(state
        .store
        .plans_of_agency(&who.agency)
        .await?
        .into_iter()
        .map(PlanSummary::from)
        .collect())
}

/// The coordinator's list: every active plan's overdue monitoring rounds (no content).
pub async fn coordination(state: &AppState, who: &Principal) -> Result<Vec<OverdueRound>> {
    access::coordinator_desk(&state.policy.current(), &state.bases.team, who)?;
    Ok(state
        .store
        .overdue_rounds(state.clock.now(), state.bases.team.grace_ms())
        .await?)
}

/// Logs and sends the notice of each newly overdue round (to the coordinator and the agency
/// whose round it is), once. Returns how many were told. Run by the background task; on several
/// instances of one deployment, by one at a time (the others find the job taken and skip this
/// interval), so each notice has one log entry.
pub async fn notify_overdue(state: &AppState) -> Result<usize> {
    let Some(job) = state
        .store
        .begin_exclusive(crate::store::Exclusive::OverdueCheck)
        .await?
    else {
        return Ok(0);
    };
    let told = notify_overdue_held(state).await;
    job.release().await?;
    told
}

async fn notify_overdue_held(state: &AppState) -> Result<usize> {
    let now = state.clock.now();
    let team_rules = &state.bases.team;
    let mut told = 0;
    for r in state.store.overdue_rounds(now, team_rules.grace_ms()).await? {
        if r.notified {
            continue;
        }
        let subject = state.pseudonyms.pseudonym("subject", &r.subject.to_string());
        let entry = AuditEntry::Event(EventEntry {
            event: "plan-monitoring-overdue",
            at: rfc3339(now),
            user: "tsunagi".to_owned(),
            agency: team_rules.coordinator.to_string(),
            subject: Some(subject.clone()),
            reference: r.plan_id.to_string(),
            detail: serde_json::json!({"round": r.round, "agency": r.agency_id, "due_at": rfc3339(r.due_at)}),
        });
        let index = IndexFields {
            at_ms: crate::store::to_ms(now),
            decision: "recorded",
            subject_pseudonym: Some(subject),
            requester_agency: Some(team_rules.coordinator.to_string()),
            basis_ref: Some(r.plan_id.to_string()),
            ..IndexFields::default()
        };
        let logged = state.audit.record_change(&entry, index).await?;
        if !state.store.mark_overdue_notified(&r, now, &logged).await? {
            continue;
        }
        let message = format!("Monitoring round {} of a support plan is overdue.", r.round);
        let mut agencies = vec![team_rules.coordinator.clone()];
        if let Ok(a) = AgencyId::parse(&r.agency_id)
            && !agencies.contains(&a)
        {
            agencies.push(a);
        }
        for a in &agencies {
            state
                .store
                .notify(
                    a,
                    "plan-monitoring-overdue",
                    &r.plan_id.to_string(),
                    &message,
                    now,
                    &logged,
                )
                .await?;
        }
        told += 1;
    }
    Ok(told)
}

/// The overdue check, every `[team] overdue_check_secs`, owned by the application's tasks.
pub fn spawn_overdue_check(state: AppState, tasks: &crate::tasks::BackgroundTasks) {
    let every = std::time::Duration::from_secs(state.bases.team.overdue_check_secs.max(1));
    let mut shutdown = tasks.shutdown();
    tasks.spawn("plan overdue check", async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if let Err(e) = notify_overdue(&state).await {
                        tracing::warn!(error = %e, "the plan overdue check failed; it runs again next interval");
                    }
                }
                () = shutdown.requested() => break,
            }
        }
    });
}

/// A support-meeting session the caller's agency runs as secretariat (a basis the console's
/// plan forms offer).
#[derive(Debug, Clone)]
pub struct SessionChoice {
    pub id: SessionId,
    pub body: String,
    pub held_at: OffsetDateTime,
}

/// For the console's plan forms: 403 `not_coordinator` when the caller may not author plans
/// at all ([`access::may_author_plans`]); otherwise the support-meeting sessions their agency
/// runs as secretariat (none for a coordinator without `meetings:write`). Each change is still
/// decided by [`access::plan_author`].
pub async fn authoring(state: &AppState, who: &Principal) -> Result<Vec<SessionChoice>> {
    let set = state.policy.current();
    access::may_author_plans(&set, &state.bases.team, who)?;
    let mut out = Vec::new();
    if let Ok(desk) = access::secretariat_desk(&set, who) {
        for b in state.store.bodies_of_secretariat(desk.agency()).await? {
            if b.kind != BodyKind::SupportMeeting {
                continue;
            }
            for s in state.store.sessions_of_body(b.id).await? {
                out.push(SessionChoice {
                    id: s.id,
                    body: b.name.clone(),
                    held_at: s.held_at,
                });
            }
        }
    }
    Ok(out)
}
