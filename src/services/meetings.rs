//! The support-meeting and conference use cases (Social Welfare Act Art. 106-6 and the statutory
//! conferences): convening, pledges, sessions, invitations and confirmations, agenda,
//! information requests and their answers, follow-ups, decision summaries, member removal,
//! origin approvals, and reading sessions and bodies.
//!
//! Every mutating function here takes a capability from [`crate::policy::access`] (the only way
//! to get one is to pass its check) and writes its log entry first: the store's mutating
//! function needs the [`crate::audit::Logged`] that only the log hands out once the entry is
//! durable. If the log cannot be written the change does not happen (503 `audit_unavailable`).
//! Entries name people only by pseudonym. The HTTP handlers parse, call these, and render.

use serde::Serialize;
use time::OffsetDateTime;

use crate::audit::{AuditError, Logged};
use crate::domain::{
    AgencyId, AgendaItemId, BasisKind, BodyId, BodyKind, Category, FreeText, HouseholdId, InfoRequestId, RecordId,
    SessionId, SubjectId, UserId, ValidationError, rfc3339,
};
use crate::policy::access::{
    self, AccessError, Answerer, Convener, Inbox, Invitee, OwnInvitations, Pledger, SecretariatDesk, SecretariatOf,
    SessionReader, SessionSecretariat,
};
use crate::principal::Principal;
use crate::state::AppState;
use crate::store::{
    AgendaItem, Body, FollowUp, InfoAnswer, InfoRequest, NewBody, NewFollowUp, NewInfoRequest, RosterEntry, Session,
    StoreError,
};

#[derive(Debug, thiserror::Error)]
pub enum MeetingError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// No such body, session, record, request (`<what>_not_found`).
    #[error("no such {0}")]
    NotFound(&'static str),
    /// The request does not apply to this resource (code, message).
    #[error("{1}")]
    BadRequest(&'static str, &'static str),
    /// The request conflicts with the current state (code).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Result<T> = std::result::Result<T, MeetingError>;

/// Writes the entry for a change and returns the token the store needs to make it.
async fn log_change(
    state: &AppState,
    who: &Principal,
    event: &'static str,
    now: OffsetDateTime,
    subject: Option<SubjectId>,
    reference: String,
    detail: serde_json::Value,
) -> Result<Logged> {
    let subject = subject.map(|s| state.pseudonyms.pseudonym("subject", &s.to_string()));
    Ok(state
        .audit
        .record_event(who, event, now, subject, reference, detail)
        .await?)
}

pub async fn load_body(state: &AppState, id: &str) -> Result<Body> {
    let id = BodyId::parse(id).map_err(|_| MeetingError::NotFound("body"))?;
    state.store.body(id).await?.ok_or(MeetingError::NotFound("body"))
}

pub async fn load_session(state: &AppState, id: &str) -> Result<(Session, Body)> {
    let id = SessionId::parse(id).map_err(|_| MeetingError::NotFound("session"))?;
    let session = state
        .store
        .session(id)
        .await?
        .ok_or(MeetingError::NotFound("session"))?;
    let body = state
        .store
        .body(session.body_id)
        .await?
        .ok_or(MeetingError::NotFound("body"))?;
    Ok((session, body))
}

// ---- capabilities, from stored facts ----

/// The caller as secretariat of the body `id`.
pub async fn body_secretariat<'a>(state: &AppState, who: &'a Principal, id: &str) -> Result<SecretariatOf<'a>> {
    let body = load_body(state, id).await?;
    Ok(access::secretariat(&state.policy.current(), who, body)?)
}

/// The caller as secretariat of the session `id`'s body ("load the session, am I its
/// secretariat", once).
pub async fn session_secretariat<'a>(state: &AppState, who: &'a Principal, id: &str) -> Result<SessionSecretariat<'a>> {
    let (session, body) = load_session(state, id).await?;
    Ok(access::session_secretariat(
        &state.policy.current(),
        who,
        body,
        session,
    )?)
}

/// The caller as a reader of session `id`.
pub async fn session_reader<'a>(state: &AppState, who: &'a Principal, id: &str) -> Result<SessionReader<'a>> {
    let (session, body) = load_session(state, id).await?;
    let roster = state.store.roster(session.id, state.clock.now()).await?;
    Ok(access::session_reader(
        &state.policy.current(),
        &state.agencies,
        &state.bases.oversight,
        who,
        body,
        session,
        &roster,
    )?)
}

/// The caller as the invitee of session `id`.
pub async fn invitee<'a>(state: &AppState, who: &'a Principal, id: &str) -> Result<Invitee<'a>> {
    let (session, _) = load_session(state, id).await?;
    let now = state.clock.now();
    let roster = state.store.roster(session.id, now).await?;
    Ok(access::invitee(&state.policy.current(), who, session, &roster, now)?)
}

/// The caller as someone who may accept body `id`'s pledge.
pub async fn pledger<'a>(state: &AppState, who: &'a Principal, id: &str) -> Result<Pledger<'a>> {
    let policy = state.policy.current();
    access::permitted(&policy, who, "pledges:write")?;
    let body = load_body(state, id).await?;
    let participation = state
        .store
        .participation(body.id, &who.user, &who.agency, state.clock.now())
        .await?;
    Ok(access::pledger(&policy, who, body, participation)?)
}

/// The caller as the asked agency of request `id`.
pub async fn answerer<'a>(state: &AppState, who: &'a Principal, id: &str) -> Result<Answerer<'a>> {
    let policy = state.policy.current();
    access::permitted(&policy, who, "info-requests:answer")?;
    let id = InfoRequestId::parse(id).map_err(|_| MeetingError::NotFound("info_request"))?;
    let request = state
        .store
        .info_request(id)
        .await?
        .ok_or(MeetingError::NotFound("info_request"))?;
    Ok(access::answerer(&policy, who, request)?)
}

// ---- input checks (the JSON API and the console give the same answers) ----

/// Free text of at most `max` characters (`too_long`, `invisible_characters`, …).
pub fn bounded_text(field: &str, s: &str, max: usize) -> std::result::Result<String, ValidationError> {
    FreeText::bounded(field, s, max).map(FreeText::into_string)
}

/// A pledge text (誓約書) or a body's rules.
pub fn long_text(field: &str, s: &str) -> std::result::Result<String, ValidationError> {
    bounded_text(field, s, FreeText::MAX_CHARS)
}

/// A reason for declining an information request.
pub fn decline_reason(field: &str, s: &str) -> std::result::Result<String, ValidationError> {
    bounded_text(field, s, 2000)
}

/// How a person is invited: `member` (the default) or `attendee` (named by the chair).
pub fn attendance(raw: Option<&str>) -> std::result::Result<&'static str, ValidationError> {
    match raw.unwrap_or("member") {
        "member" => Ok("member"),
        "attendee" => Ok("attendee"),
        _ => Err(ValidationError::new(
            "attendance",
            "invalid_value",
            "member or attendee",
        )),
    }
}

/// The asked agency's answer as a request names it: categories to provide (at least one, never
/// a sealed one, duplicates ignored) or a reason to decline, exactly one of the two.
pub fn parse_answer(provide: Option<&[String]>, decline: Option<&str>) -> std::result::Result<Answer, ValidationError> {
    match (provide, decline) {
        (Some(list), None) => {
            if list.is_empty() || list.len() > Category::ALL.len() {
                return Err(ValidationError::new(
                    "provide",
                    "invalid_value",
                    "name at least one category",
                ));
            }
            let mut categories = Vec::with_capacity(list.len());
            for (i, c) in list.iter().enumerate() {
                let c = Category::parse(c).map_err(|e| e.at(format!("provide[{i}]")))?;
                if c.is_sealed() {
                    return Err(ValidationError::new(
                        format!("provide[{i}]"),
                        "category_sealed",
                        "a sealed category is never provided",
                    ));
                }
                if !categories.contains(&c) {
                    categories.push(c);
                }
            }
            Ok(Answer::Provide(categories))
        }
        (None, Some(reason)) => Ok(Answer::Decline(decline_reason("decline_reason", reason)?)),
        _ => Err(ValidationError::new(
            "provide",
            "one_of_required",
            "give exactly one of provide or decline_reason",
        )),
    }
}

// ---- bodies ----

/// What the convener describes.
#[derive(Debug, Clone)]
pub struct BodyInput {
    pub conference_type: Option<String>,
    pub name: String,
    pub legal_basis: String,
    pub rules_text: String,
    pub window_days: u32,
    pub pledge_text: String,
}

/// Convenes a standing body; the convener's agency becomes its secretariat.
pub async fn create_body(state: &AppState, cap: &Convener<'_>, input: BodyInput) -> Result<Body> {
    let who = cap.who();
    let now = state.clock.now();
    let new = NewBody {
        id: BodyId::new_random(),
        kind: cap.kind(),
        conference_type: input.conference_type,
        name: input.name,
        legal_basis: input.legal_basis,
        rules_text: input.rules_text,
        secretariat_agency: who.agency.clone(),
        window_days: i64::from(input.window_days),
        pledge_text: input.pledge_text,
    };
    let logged = log_change(
        state,
        who,
        "meeting-body-created",
        now,
        None,
        new.id.to_string(),
        serde_json::json!({"kind": new.kind.as_str(), "conference_type": new.conference_type,
            "secretariat_agency": new.secretariat_agency, "window_days": new.window_days, "pledge_version": 1}),
    )
    .await?;
    state.store.create_body(&logged, &new, &who.user, now).await?;
    state.store.body(new.id).await?.ok_or(MeetingError::NotFound("body"))
}

/// A request to convene a body, as given (JSON or form), before any check.
#[derive(Debug, Clone, Copy)]
pub struct BodyRequest<'a> {
    /// `support-meeting` or `statutory-conference`.
    pub kind: &'a str,
    pub conference_type: Option<&'a str>,
    pub name: &'a str,
    pub rules_text: &'a str,
    /// Default from `policies/bases.toml`; at most 365.
    pub window_days: Option<u32>,
    pub pledge_text: &'a str,
}

/// Checks and convenes: `meetings:write`, a known kind, the configured convener
/// (`not_convening_agency`), then the texts; the caller's agency becomes the secretariat.
pub async fn convene(state: &AppState, who: &Principal, r: BodyRequest<'_>) -> Result<Body> {
    access::permitted(&state.policy.current(), who, "meetings:write")?;
    let (kind, conference_type, legal_basis) = body_kind(state, r.kind, r.conference_type)?;
    let cap = access::convener(
        &state.policy.current(),
        &state.bases,
        who,
        kind,
        conference_type.as_deref(),
    )?;
    let window_days = r.window_days.unwrap_or(state.bases.meetings.window_days);
    if window_days > 365 {
        return Err(ValidationError::new("window_days", "invalid_value", "at most 365").into());
    }
    let input = BodyInput {
        conference_type,
        name: bounded_text("name", r.name, 200)?,
        legal_basis,
        rules_text: long_text("rules_text", r.rules_text)?,
        window_days,
        pledge_text: long_text("pledge_text", r.pledge_text)?,
    };
    create_body(state, &cap, input).await
}

/// The bodies the caller's agency runs as secretariat.
pub async fn own_bodies(state: &AppState, cap: &SecretariatDesk<'_>) -> Result<Vec<Body>> {
    Ok(state.store.bodies_of_secretariat(cap.agency()).await?)
}

/// The body's sessions, latest first (for its secretariat).
pub async fn body_sessions(state: &AppState, sec: &SecretariatOf<'_>) -> Result<Vec<Session>> {
    Ok(state.store.sessions_of_body(sec.body().id).await?)
}

/// One version of a body's pledge text.
#[derive(Debug, Clone, Serialize)]
pub struct PledgeVersion {
    pub version: i64,
    pub text: String,
    #[serde(with = "time::serde::rfc3339")]
    pub published_at: OffsetDateTime,
}

/// Every version of the body's pledge, newest first (for its secretariat).
pub async fn pledge_versions(state: &AppState, sec: &SecretariatOf<'_>) -> Result<Vec<PledgeVersion>> {
    Ok(state
        .store
        .pledge_texts(sec.body().id)
        .await?
        .into_iter()
        .map(|(version, text, published_at)| PledgeVersion {
            version,
            text,
            published_at,
        })
        .collect())
}

/// Reads a body: secretariat, invitees and request recipients of its sessions, officers in scope.
pub async fn read_body(state: &AppState, who: &Principal, id: &str) -> Result<Body> {
    let body = load_body(state, id).await?;
    let participation = state
        .store
        .participation(body.id, &who.user, &who.agency, state.clock.now())
        .await?;
    access::body_reader(
        &state.policy.current(),
        &state.agencies,
        &state.bases.oversight,
        who,
        &body,
        participation,
    )?;
    Ok(body)
}

/// Publishes a new pledge version: every member must accept it again. Returns the version.
pub async fn add_pledge_text(state: &AppState, sec: &SecretariatOf<'_>, text: String) -> Result<i64> {
    let body = sec.body();
    let now = state.clock.now();
    let version = state.store.current_pledge(body.id).await?.map_or(0, |(v, _)| v) + 1;
    let logged = log_change(
        state,
        sec.who(),
        "meeting-pledge-text-added",
        now,
        None,
        body.id.to_string(),
        serde_json::json!({"version": version}),
    )
    .await?;
    state
        .store
        .add_pledge_text(&logged, body.id, version, &text, now)
        .await?;
    Ok(version)
}

/// The caller accepts the body's current pledge; returns its version.
pub async fn accept_pledge(state: &AppState, cap: &Pledger<'_>) -> Result<i64> {
    let (body, who) = (cap.body(), cap.who());
    let (version, _) = state
        .store
        .current_pledge(body.id)
        .await?
        .ok_or(MeetingError::NotFound("body"))?;
    if state.store.has_current_pledge(body.id, &who.user, &who.agency).await? {
        return Ok(version);
    }
    let now = state.clock.now();
    let logged = log_change(
        state,
        who,
        "meeting-pledge-accepted",
        now,
        None,
        body.id.to_string(),
        serde_json::json!({"version": version}),
    )
    .await?;
    state
        .store
        .accept_pledge(&logged, body.id, &who.user, &who.agency, version, now)
        .await?;
    Ok(version)
}

/// A member leaves: access ends at once in every session; they stay listed as a former member.
pub async fn remove_member(state: &AppState, sec: &SecretariatOf<'_>, user: &UserId) -> Result<u64> {
    let now = state.clock.now();
    if !state.store.on_body_roster(sec.body().id, user, now).await? {
        return Err(MeetingError::NotFound("member"));
    }
    let logged = log_change(
        state,
        sec.who(),
        "meeting-member-removed",
        now,
        None,
        sec.body().id.to_string(),
        serde_json::json!({"user": user}),
    )
    .await?;
    Ok(state.store.remove_member(&logged, sec.body().id, user, now).await?)
}

// ---- sessions ----

pub async fn create_session(state: &AppState, sec: &SecretariatOf<'_>, held_at: OffsetDateTime) -> Result<Session> {
    let now = state.clock.now();
    let id = SessionId::new_random();
    let logged = log_change(
        state,
        sec.who(),
        "meeting-session-created",
        now,
        None,
        id.to_string(),
        serde_json::json!({"body": sec.body().id, "held_at": rfc3339(held_at)}),
    )
    .await?;
    state
        .store
        .create_session(&logged, id, sec.body().id, held_at, now)
        .await?;
    state.store.session(id).await?.ok_or(MeetingError::NotFound("session"))
}

/// Invites a person (member, or an attendee the chair names) to the session. The row counts
/// for nothing until they confirm it themselves. Inviting someone already invited the same way
/// changes nothing.
pub async fn invite(
    state: &AppState,
    sec: &SessionSecretariat<'_>,
    user: &UserId,
    agency: &AgencyId,
    attendance: &str,
) -> Result<Vec<RosterEntry>> {
    let session = sec.session().id;
    let now = state.clock.now();
    let roster = state.store.roster(session, now).await?;
    let same = roster
        .iter()
        .any(|e| e.is(user, agency) && e.live_at(now) && e.attendance == attendance);
    if !same {
        let logged = log_change(
            state,
            sec.who(),
            "meeting-invitation",
            now,
            None,
            session.to_string(),
            serde_json::json!({"user": user, "agency": agency, "attendance": attendance}),
        )
        .await?;
        state
            .store
            .invite(&logged, session, (user, agency), attendance, &sec.who().user, now)
            .await?;
    }
    Ok(state.store.roster(session, now).await?)
}

/// What an invitee sees after confirming: the session, the body and the pledge to accept.
#[derive(Debug, Serialize)]
pub struct Confirmation {
    pub session_id: SessionId,
    pub body_id: BodyId,
    pub status: &'static str,
    pub pledge_version: i64,
    pub pledge_text: String,
    /// Whether they already accepted the current pledge; until they do they are not a member.
    pub pledge_current: bool,
}

/// The invited person confirms their own membership of the session.
pub async fn confirm(state: &AppState, cap: &Invitee<'_>) -> Result<Confirmation> {
    let (session, who) = (cap.session(), cap.who());
    let now = state.clock.now();
    let roster = state.store.roster(session.id, now).await?;
    let confirmed = roster
        .iter()
        .any(|e| e.is(&who.user, &who.agency) && e.live_at(now) && e.confirmed_at.is_some());
    if !confirmed {
        let logged = log_change(
            state,
            who,
            "meeting-confirmation",
            now,
            None,
            session.id.to_string(),
            serde_json::json!({"body": session.body_id}),
        )
        .await?;
        state
            .store
            .confirm_invitation(&logged, session.id, &who.user, &who.agency, now)
            .await?;
    }
    let (pledge_version, pledge_text) = state.store.current_pledge(session.body_id).await?.unwrap_or_default();
    Ok(Confirmation {
        session_id: session.id,
        body_id: session.body_id,
        status: "confirmed",
        pledge_version,
        pledge_text,
        pledge_current: state
            .store
            .has_current_pledge(session.body_id, &who.user, &who.agency)
            .await?,
    })
}

/// One of the caller's own invitations: the session, its body and the caller's roster row.
#[derive(Debug, Clone, Serialize)]
pub struct OwnInvitation {
    pub session: Session,
    pub body: Body,
    pub entry: RosterEntry,
}

/// The caller's own roster rows (invited, confirmed or removed), latest session first.
pub async fn own_invitations(state: &AppState, cap: &OwnInvitations<'_>) -> Result<Vec<OwnInvitation>> {
    let who = cap.who();
    let now = state.clock.now();
    let mut out = Vec::new();
    for id in state.store.sessions_of_person(&who.user, &who.agency).await? {
        let Some(session) = state.store.session(id).await? else {
            continue;
        };
        let Some(body) = state.store.body(session.body_id).await? else {
            continue;
        };
        let roster = state.store.roster(id, now).await?;
        if let Some(entry) = roster.into_iter().find(|e| e.is(&who.user, &who.agency)) {
            out.push(OwnInvitation { session, body, entry });
        }
    }
    Ok(out)
}

/// An information request naming the caller as the one recipient of its answer, with the body
/// it came from and whether the caller holds that body's current pledge (needed to receive it).
#[derive(Debug, Clone, Serialize)]
pub struct RequestForMe {
    pub request: InfoRequest,
    pub body: Body,
    pub pledge_current: bool,
}

/// The requests naming the caller as recipient, newest first.
pub async fn requests_for_me(state: &AppState, cap: &OwnInvitations<'_>) -> Result<Vec<RequestForMe>> {
    let who = cap.who();
    let mut out = Vec::new();
    for request in state.store.info_requests_for_recipient(&who.user, &who.agency).await? {
        let Some(session) = state.store.session(request.session_id).await? else {
            continue;
        };
        let Some(body) = state.store.body(session.body_id).await? else {
            continue;
        };
        let pledge_current = state.store.has_current_pledge(body.id, &who.user, &who.agency).await?;
        out.push(RequestForMe {
            request,
            body,
            pledge_current,
        });
    }
    Ok(out)
}

/// The body's current pledge for someone who may accept it (an invitee or a request's recipient).
pub async fn pledge_of_body(state: &AppState, cap: &Pledger<'_>) -> Result<PledgeToAccept> {
    let (body, who) = (cap.body(), cap.who());
    let (version, text) = state.store.current_pledge(body.id).await?.unwrap_or_default();
    let current = state.store.has_current_pledge(body.id, &who.user, &who.agency).await?;
    Ok(PledgeToAccept {
        body: body.clone(),
        version,
        text,
        current,
        entry: None,
    })
}

/// What an invitee reads before confirming: the body's current pledge and whether they hold it.
#[derive(Debug, Clone, Serialize)]
pub struct PledgeToAccept {
    pub body: Body,
    pub version: i64,
    pub text: String,
    pub current: bool,
    /// Their own roster row for the session.
    pub entry: Option<RosterEntry>,
}

pub async fn pledge_to_accept(state: &AppState, cap: &Invitee<'_>) -> Result<PledgeToAccept> {
    let (session, who) = (cap.session(), cap.who());
    let body = state
        .store
        .body(session.body_id)
        .await?
        .ok_or(MeetingError::NotFound("body"))?;
    let (version, text) = state.store.current_pledge(body.id).await?.unwrap_or_default();
    let current = state.store.has_current_pledge(body.id, &who.user, &who.agency).await?;
    let entry = state
        .store
        .roster(session.id, state.clock.now())
        .await?
        .into_iter()
        .find(|e| e.is(&who.user, &who.agency));
    Ok(PledgeToAccept {
        body,
        version,
        text,
        current,
        entry,
    })
}

/// One agenda item: a person or a household.
#[derive(Debug, Clone, Copy)]
pub enum AgendaTarget {
    Subject(SubjectId),
    Household(HouseholdId),
}

/// One agenda item as a request names it: exactly one of a subject id or a household id
/// (`one_of_required`).
pub fn agenda_target(
    subject: Option<&str>,
    household: Option<&str>,
) -> std::result::Result<AgendaTarget, ValidationError> {
    let subject = subject.map(SubjectId::parse).transpose()?;
    let household = household.map(HouseholdId::parse).transpose()?;
    match (subject, household) {
        (Some(s), None) => Ok(AgendaTarget::Subject(s)),
        (None, Some(h)) => Ok(AgendaTarget::Household(h)),
        _ => Err(ValidationError::new(
            "subject_id",
            "one_of_required",
            "name exactly one of subject_id or household_id",
        )),
    }
}

pub async fn add_agenda_item(
    state: &AppState,
    sec: &SessionSecretariat<'_>,
    target: AgendaTarget,
) -> Result<AgendaItemId> {
    let (subject, household) = match target {
        AgendaTarget::Subject(s) => {
            if state.store.subject(s).await?.is_none() {
                return Err(ValidationError::new("subject_id", "subject_not_found", "no such subject").into());
            }
            (Some(s), None)
        }
        AgendaTarget::Household(h) => {
            if !state.store.household_exists(h).await? {
                return Err(ValidationError::new("household_id", "household_not_found", "no such household").into());
            }
            (None, Some(h))
        }
    };
    let now = state.clock.now();
    let id = AgendaItemId::new_random();
    let household_pseudonym = household.map(|h| state.pseudonyms.pseudonym("household", &h.to_string()));
    let logged = log_change(
        state,
        sec.who(),
        "meeting-agenda-item-added",
        now,
        subject,
        sec.session().id.to_string(),
        serde_json::json!({"item": id, "household": household_pseudonym}),
    )
    .await?;
    state
        .store
        .add_agenda_item(&logged, id, sec.session().id, subject, household, now)
        .await?;
    Ok(id)
}

pub async fn remove_agenda_item(
    state: &AppState,
    sec: &SessionSecretariat<'_>,
    item: AgendaItemId,
) -> Result<Vec<AgendaItem>> {
    let session = sec.session().id;
    let agenda = state.store.agenda(session).await?;
    if !agenda.iter().any(|i| i.id == item && i.removed_at.is_none()) {
        return Err(MeetingError::NotFound("agenda_item"));
    }
    let now = state.clock.now();
    let logged = log_change(
        state,
        sec.who(),
        "meeting-agenda-item-removed",
        now,
        None,
        session.to_string(),
        serde_json::json!({"item": item}),
    )
    .await?;
    state.store.remove_agenda_item(&logged, session, item, now).await?;
    Ok(state.store.agenda(session).await?)
}

/// Publishes the agenda: the access window opens. Publishing again changes nothing.
pub async fn publish_agenda(state: &AppState, sec: &SessionSecretariat<'_>) -> Result<Session> {
    let session = sec.session();
    if session.agenda_published_at.is_none() {
        let now = state.clock.now();
        let logged = log_change(
            state,
            sec.who(),
            "meeting-agenda-published",
            now,
            None,
            session.id.to_string(),
            serde_json::json!({"body": session.body_id}),
        )
        .await?;
        state.store.publish_agenda(&logged, session.id, now).await?;
    }
    state
        .store
        .session(session.id)
        .await?
        .ok_or(MeetingError::NotFound("session"))
}

pub async fn set_decision_summary(state: &AppState, sec: &SessionSecretariat<'_>, text: String) -> Result<Session> {
    let session = sec.session().id;
    let now = state.clock.now();
    // The text itself stays out of the log (free text may name people); its digest goes in.
    let digest = hex::encode(ring::digest::digest(&ring::digest::SHA256, text.as_bytes()));
    let logged = log_change(
        state,
        sec.who(),
        "meeting-decision-summary",
        now,
        None,
        session.to_string(),
        serde_json::json!({"sha256": digest}),
    )
    .await?;
    state.store.set_decision_summary(&logged, session, &text).await?;
    state
        .store
        .session(session)
        .await?
        .ok_or(MeetingError::NotFound("session"))
}

/// Records who does the agreed follow-up support: they keep access after the window closes,
/// until `until` (in the future, at most 365 days ahead: `invalid_period`).
pub async fn add_followup(
    state: &AppState,
    sec: &SessionSecretariat<'_>,
    subject: SubjectId,
    user: UserId,
    agency: AgencyId,
    until: OffsetDateTime,
) -> Result<Vec<FollowUp>> {
    let now = state.clock.now();
    if until <= now || until > now + time::Duration::days(365) {
        return Err(ValidationError::new(
            "until",
            "invalid_period",
            "must be in the future, at most 365 days ahead",
        )
        .into());
    }
    if state.store.subject(subject).await?.is_none() {
        return Err(ValidationError::new("subject_id", "subject_not_found", "no such subject").into());
    }
    let session = sec.session().id;
    let f = NewFollowUp {
        session,
        subject,
        user,
        agency,
        until,
    };
    let logged = log_change(
        state,
        sec.who(),
        "meeting-followup-assigned",
        now,
        Some(f.subject),
        session.to_string(),
        serde_json::json!({"user": f.user, "agency": f.agency, "until": rfc3339(f.until)}),
    )
    .await?;
    state.store.add_followup(&logged, &f, &sec.who().user, now).await?;
    Ok(state.store.followups(session).await?)
}

// ---- information requests (Art. 106-6(3)) ----

/// The meeting asks `asked` for material about `subject`, for the named recipient only. Nothing
/// is released until the asked agency answers.
pub async fn create_info_request(
    state: &AppState,
    sec: &SessionSecretariat<'_>,
    asked: AgencyId,
    subject: SubjectId,
    recipient_user: UserId,
    recipient_agency: AgencyId,
) -> Result<InfoRequest> {
    if state.store.subject(subject).await?.is_none() {
        return Err(ValidationError::new("subject_id", "subject_not_found", "no such subject").into());
    }
    let now = state.clock.now();
    let new = NewInfoRequest {
        id: InfoRequestId::new_random(),
        session: sec.session().id,
        asked,
        subject,
        recipient_user,
        recipient_agency,
    };
    let logged = log_change(
        state,
        sec.who(),
        "meeting-info-request-created",
        now,
        Some(subject),
        new.id.to_string(),
        serde_json::json!({"session": new.session, "asked_agency": new.asked,
            "recipient_user": new.recipient_user, "recipient_agency": new.recipient_agency}),
    )
    .await?;
    state
        .store
        .create_info_request(&logged, &new, &sec.who().user, now)
        .await?;
    state
        .store
        .info_request(new.id)
        .await?
        .ok_or(MeetingError::NotFound("info_request"))
}

/// The asked agency's decision.
#[derive(Debug, Clone)]
pub enum Answer {
    /// Provide these categories (none sealed, at least one).
    Provide(Vec<Category>),
    /// Decline, with the reason (kept in the store, not in the log).
    Decline(String),
}

/// The asked agency answers (once). The release itself is the later disclosure, logged on the
/// normal road, of only these categories, to only the named recipient.
pub async fn answer_info_request(state: &AppState, cap: &Answerer<'_>, answer: Answer) -> Result<InfoRequest> {
    let request = cap.request();
    if request.answer().is_some() {
        return Err(MeetingError::Conflict("info_request_already_answered"));
    }
    let (kind, categories, reason) = match answer {
        Answer::Provide(c) => (InfoAnswer::Provided, c, None),
        Answer::Decline(r) => (InfoAnswer::Declined, Vec::new(), Some(r)),
    };
    let now = state.clock.now();
    let logged = log_change(
        state,
        cap.who(),
        "meeting-info-request-answered",
        now,
        Some(request.subject_id),
        request.id.to_string(),
        serde_json::json!({"session": request.session_id, "answer": kind.as_str(), "categories": categories}),
    )
    .await?;
    state
        .store
        .answer_info_request(
            &logged,
            request.id,
            (kind, &categories, reason.as_deref()),
            &cap.who().user,
            now,
        )
        .await?;
    state
        .store
        .info_request(request.id)
        .await?
        .ok_or(MeetingError::NotFound("info_request"))
}

/// Requests addressed to the caller's agency, newest first.
pub async fn inbox(state: &AppState, cap: &Inbox<'_>) -> Result<Vec<InfoRequest>> {
    Ok(state.store.info_requests_to(cap.agency()).await?)
}

// ---- reading ----

/// The session with its body, roster (invitation, confirmation and pledge state) and agenda.
pub async fn read_session(state: &AppState, cap: &SessionReader<'_>) -> Result<serde_json::Value> {
    let session = cap.session();
    Ok(serde_json::json!({
        "session": session,
        "body": cap.body(),
        "roster": state.store.roster(session.id, state.clock.now()).await?,
        "agenda": state.store.agenda(session.id).await?,
    }))
}

/// The session's agenda (removed items included, marked), for a reader of the session.
pub async fn session_agenda(state: &AppState, cap: &SessionReader<'_>) -> Result<Vec<AgendaItem>> {
    Ok(state.store.agenda(cap.session().id).await?)
}

/// The body as the session record names it.
#[derive(Debug, Clone, Serialize)]
pub struct RecordBody {
    pub id: BodyId,
    pub kind: BodyKind,
    pub legal_basis: String,
    pub name: String,
}

/// One disclosure made under the session, as its log entry says.
#[derive(Debug, Clone, Serialize)]
pub struct RecordDisclosure {
    pub at: Option<serde_json::Value>,
    pub decision: Option<serde_json::Value>,
    pub disclosed: Option<serde_json::Value>,
    pub index: u64,
    pub owner_agency: Option<serde_json::Value>,
    pub reason: Option<serde_json::Value>,
    pub recipient_agency: Option<serde_json::Value>,
    pub recipient_user: Option<serde_json::Value>,
    pub withheld: Option<serde_json::Value>,
}

/// The session record (fields in the JSON API's order).
#[derive(Debug, Clone, Serialize)]
pub struct SessionRecord {
    pub agenda: Vec<AgendaItem>,
    pub attendance: Vec<RosterEntry>,
    pub body: RecordBody,
    pub decision_summary: Option<String>,
    pub disclosures: Vec<RecordDisclosure>,
    pub followups: Vec<FollowUp>,
    pub info_requests: Vec<InfoRequest>,
    pub session: Session,
}

/// The session record: attendance (invited, confirmed, former), agenda, information requests
/// with their answers, follow-ups, decision summary, and every disclosure made under the session.
pub async fn session_record(state: &AppState, cap: &SessionReader<'_>) -> Result<SessionRecord> {
    let (session, body) = (cap.session(), cap.body());
    let disclosures = state
        .store
        .entries_for_reference(&session.id.to_string())
        .await?
        .into_iter()
        .filter_map(|(index, bytes)| {
            let e: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
            Some(RecordDisclosure {
                index,
                at: e.get("at").cloned(),
                recipient_agency: e.pointer("/requester/agency").cloned(),
                recipient_user: e.pointer("/requester/user").cloned(),
                owner_agency: e.get("owner_agency").cloned(),
                decision: e.get("decision").cloned(),
                reason: e.get("reason").cloned(),
                disclosed: e.get("disclosed").cloned(),
                withheld: e.get("withheld").cloned(),
            })
        })
        .collect();
    Ok(SessionRecord {
        session: session.clone(),
        body: RecordBody {
            id: body.id,
            name: body.name.clone(),
            kind: body.kind,
            legal_basis: body.legal_basis.clone(),
        },
        attendance: state.store.roster(session.id, state.clock.now()).await?,
        agenda: state.store.agenda(session.id).await?,
        info_requests: state.store.info_requests(session.id).await?,
        followups: state.store.followups(session.id).await?,
        decision_summary: session.decision_summary.clone(),
        disclosures,
    })
}

// ---- provenance ----

/// The caller as secretariat of the body record `id` came from.
pub async fn origin_secretariat<'a>(
    state: &AppState,
    who: &'a Principal,
    id: &str,
) -> Result<(RecordId, SecretariatOf<'a>)> {
    let record = RecordId::parse(id).map_err(|_| MeetingError::NotFound("record"))?;
    let (_, origin) = state
        .store
        .record_origin(record)
        .await?
        .ok_or(MeetingError::NotFound("record"))?;
    let origin = origin.ok_or(MeetingError::BadRequest(
        "no_origin_body",
        "the record did not come from a meeting or conference",
    ))?;
    let (_, body) = load_session(state, &origin).await?;
    Ok((record, access::secretariat(&state.policy.current(), who, body)?))
}

/// docs/rules.md#R-G3: the coordinator of the body a record came from lets it travel under another basis.
pub async fn approve_origin(
    state: &AppState,
    sec: &SecretariatOf<'_>,
    record: RecordId,
    basis: BasisKind,
) -> Result<()> {
    let now = state.clock.now();
    let logged = log_change(
        state,
        sec.who(),
        "meeting-origin-approved",
        now,
        None,
        record.to_string(),
        serde_json::json!({"body": sec.body().id, "basis": basis.as_str()}),
    )
    .await?;
    state
        .store
        .approve_origin(&logged, record, basis.as_str(), &sec.who().user, now)
        .await?;
    Ok(())
}

/// The kind of body a create request names, with its statute (conference types from
/// `policies/bases.toml`).
pub fn body_kind(
    state: &AppState,
    kind: &str,
    conference_type: Option<&str>,
) -> std::result::Result<(BodyKind, Option<String>, String), ValidationError> {
    match kind {
        "support-meeting" => Ok((
            BodyKind::SupportMeeting,
            None,
            crate::policy::basis::SUPPORT_MEETING_STATUTE.to_owned(),
        )),
        "statutory-conference" => {
            let t = conference_type.ok_or_else(|| {
                ValidationError::new(
                    "conference_type",
                    "missing_field",
                    "a statutory conference names its type",
                )
            })?;
            let c = state.bases.conference(t).ok_or_else(|| {
                ValidationError::new(
                    "conference_type",
                    "unknown_conference_type",
                    "not a conference type in policies/bases.toml",
                )
            })?;
            Ok((BodyKind::StatutoryConference, Some(c.kind.clone()), c.statute.clone()))
        }
        _ => Err(ValidationError::new(
            "kind",
            "invalid_value",
            "support-meeting or statutory-conference",
        )),
    }
}
