//! A meeting member's pages (`/console/invitations`): their own invitations, confirming one and
//! accepting the current pledge while reading its text, the sessions they are a member of, the
//! requests naming them as recipient (and the body's pledge they must hold to receive the
//! answer), and the information requests addressed to their agency with the form to answer them.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{Choice, DoneQuery, FormError, error_for, form_failure, jst};
use crate::console::error::ConsoleError;
use crate::console::i18n::Tr;
use crate::console::session::ConsoleUser;
use crate::console::views::{self, Chrome};
use crate::policy::access;
use crate::services::meetings as svc;
use crate::state::AppState;

/// One of my invitations, as the list shows it.
pub struct InvitationLine {
    pub session_id: String,
    pub body_name: String,
    pub held_at: String,
    pub attendance: String,
    pub status: String,
    pub pledge_current: bool,
}

/// A request addressed to my agency, as the inbox shows it.
pub struct RequestLine {
    pub id: String,
    /// The answer form's name on the page (`answer-<id>`).
    pub form: String,
    pub session_id: String,
    pub subject_id: String,
    pub recipient: String,
    pub created: String,
    pub open: bool,
    pub status: String,
    pub provided: String,
    pub decline_reason: String,
    pub answered: String,
}

/// A request naming me as the recipient of its answer.
pub struct ForMeLine {
    pub body_id: String,
    pub body_name: String,
    pub subject_id: String,
    pub asked: String,
    pub status: String,
    pub provided: String,
    pub pledge_current: bool,
}

#[derive(Template)]
#[template(path = "console/meetings/invitations.html")]
struct InvitationsPage {
    t: Tr,
    chrome: Chrome,
    csrf: String,
    /// `None`: this role does not take part in meetings.
    open: Option<Vec<InvitationLine>>,
    member_of: Vec<InvitationLine>,
    former: Vec<InvitationLine>,
    /// Requests naming me as the one recipient of the answer.
    for_me: Vec<ForMeLine>,
    /// `None`: this role does not answer information requests.
    inbox: Option<Vec<RequestLine>>,
    categories: Vec<Choice>,
    error: Option<FormError>,
}

impl InvitationsPage {
    fn err(&self, form: &str) -> Option<&FormError> {
        error_for(&self.error, form)
    }
}

async fn invitations_page(
    state: &AppState,
    user: &ConsoleUser,
    req: &HttpRequest,
    done: Option<&str>,
    failure: Option<(StatusCode, FormError)>,
) -> Result<HttpResponse, ConsoleError> {
    let t = user.tr;
    let who = &user.principal;
    let policy = state.policy.current();
    let own = access::own_invitations(&policy, who);
    let inbox_cap = access::inbox(&policy, who);
    let (own, inbox_cap) = match (own, inbox_cap) {
        // Neither part of the page is for this role: the refusal of the first.
        (Err(e), Err(_)) => return Err(e.into()),
        (own, inbox_cap) => (own.ok(), inbox_cap.ok()),
    };
    let (mut open, mut member_of, mut former, mut for_me) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let took_part = own.is_some();
    if let Some(cap) = &own {
        for inv in svc::own_invitations(state, cap).await? {
            let line = InvitationLine {
                session_id: inv.session.id.to_string(),
                body_name: inv.body.name.clone(),
                held_at: jst(inv.session.held_at),
                attendance: super::attendance_label(&t, &inv.entry.attendance),
                status: super::status_label(&t, inv.entry.status),
                pledge_current: inv.entry.pledge_current,
            };
            match (inv.entry.status, inv.entry.member) {
                ("removed", _) => former.push(line),
                (_, true) => member_of.push(line),
                _ => open.push(line),
            }
        }
        for r in svc::requests_for_me(state, cap).await? {
            for_me.push(ForMeLine {
                body_id: r.body.id.to_string(),
                body_name: r.body.name.clone(),
                subject_id: r.request.subject_id.to_string(),
                asked: super::agency_label(state, r.request.asked_agency.as_str()),
                status: super::request_status_label(&t, r.request.status),
                provided: super::category_names(&t, &r.request.provided_categories),
                pledge_current: r.pledge_current,
            });
        }
    }
    let inbox = match &inbox_cap {
        Some(cap) => Some(
            svc::inbox(state, cap)
                .await?
                .into_iter()
                .map(|r| RequestLine {
                    id: r.id.to_string(),
                    form: format!("answer-{}", r.id),
                    session_id: r.session_id.to_string(),
                    subject_id: r.subject_id.to_string(),
                    recipient: format!(
                        "{} / {}",
                        r.recipient_user,
                        super::agency_label(state, r.recipient_agency.as_str())
                    ),
                    created: jst(r.created_at),
                    open: r.answer().is_none(),
                    status: super::request_status_label(&t, r.status),
                    provided: super::category_names(&t, &r.provided_categories),
                    decline_reason: r.decline_reason.clone().unwrap_or_default(),
                    answered: r
                        .answered_at
                        .map(|a| format!("{}（{}）", jst(a), r.answered_by.clone().unwrap_or_default()))
                        .unwrap_or_default(),
                })
                .collect(),
        ),
        None => None,
    };
    let (status, error) = match failure {
        Some((s, e)) => (s, Some(e)),
        None => (StatusCode::OK, None),
    };
    views::page_with_status(
        &InvitationsPage {
            t,
            chrome: Chrome::of(user, req.path()).with_notice(super::notice(&t, done)),
            csrf: user.csrf.clone(),
            open: took_part.then_some(open),
            member_of,
            former,
            for_me,
            inbox,
            categories: super::providable_categories(&t),
            error,
        },
        status,
    )
}

/// `GET /console/invitations`: my invitations and the sessions I am a member of; for staff who
/// answer information requests, the requests addressed to my agency.
pub async fn invitations(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    q: web::Query<DoneQuery>,
) -> Result<HttpResponse, ConsoleError> {
    invitations_page(&state, &user, &req, q.done.as_deref(), None).await
}

/// `POST /console/invitations/requests/{id}/answer`: the asked agency's staff answer a request —
/// the categories ticked (`cat-<category>`) with `action=provide`, or `action=decline` with a
/// `reason`. Same service and checks as `POST /v1/info-requests/{id}/answer`.
pub async fn answer_request(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<BTreeMap<String, String>>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, form.get("csrf").map_or("", String::as_str))?;
    let cap = svc::answerer(&state, &user.principal, &path).await?;
    let form_id = format!("answer-{}", cap.request().id);
    let t = user.tr;
    let action = form.get("action").map_or("", String::as_str);
    let answer = match action {
        "provide" => {
            // In the order the categories are listed (unknown names last: the service refuses them).
            let mut chosen: Vec<String> = form
                .keys()
                .filter_map(|k| k.strip_prefix("cat-"))
                .map(str::to_owned)
                .collect();
            chosen.sort_by_key(|c| {
                crate::domain::Category::ALL
                    .iter()
                    .position(|x| x.as_str() == c)
                    .unwrap_or(usize::MAX)
            });
            if chosen.is_empty() {
                let e = FormError {
                    form: form_id,
                    sentence: t.get("meet-answer-choose"),
                    code: "invalid_value".to_owned(),
                };
                return invitations_page(&state, &user, &req, None, Some((StatusCode::UNPROCESSABLE_ENTITY, e))).await;
            }
            svc::parse_answer(Some(&chosen), None)
        }
        "decline" => svc::parse_answer(None, Some(form.get("reason").map_or("", String::as_str))),
        _ => svc::parse_answer(None, None),
    };
    let declined = matches!(answer, Ok(svc::Answer::Decline(_)));
    let result = match answer {
        Ok(a) => svc::answer_info_request(&state, &cap, a)
            .await
            .map_err(ConsoleError::from),
        Err(e) => Err(ConsoleError::from(e)),
    };
    match result {
        Ok(_) => Ok(views::see_other(if declined {
            "/console/invitations?done=declined"
        } else {
            "/console/invitations?done=answered"
        })),
        Err(e) => {
            let failure = form_failure(&req, &user, &form_id, e).await?;
            invitations_page(&state, &user, &req, None, Some(failure)).await
        }
    }
}

/// A line of the agenda, as a confirmed member sees it.
pub struct AgendaLine {
    pub what: String,
    pub id: String,
}

#[derive(Template)]
#[template(path = "console/meetings/invitation.html")]
struct InvitationPage {
    t: Tr,
    chrome: Chrome,
    csrf: String,
    session_id: String,
    body_name: String,
    legal_basis: String,
    held_at: String,
    status: String,
    attendance: String,
    pledge_version: i64,
    pledge_text: String,
    /// Confirmed and holding the current pledge: nothing left to do.
    done: bool,
    /// Only for someone who may read the session (a confirmed, pledged member).
    agenda: Option<Vec<AgendaLine>>,
    error: Option<FormError>,
}

impl InvitationPage {
    fn err(&self, form: &str) -> Option<&FormError> {
        error_for(&self.error, form)
    }
}

async fn invitation_page(
    state: &AppState,
    user: &ConsoleUser,
    req: &HttpRequest,
    session: &str,
    done: Option<&str>,
    failure: Option<(StatusCode, FormError)>,
) -> Result<HttpResponse, ConsoleError> {
    let t = user.tr;
    let cap = svc::invitee(state, &user.principal, session).await?;
    let pledge = svc::pledge_to_accept(state, &cap).await?;
    // The agenda only for whom the service lets read the session: an invitation alone shows
    // nothing of it.
    let agenda = match svc::session_reader(state, &user.principal, session).await {
        Ok(reader) => Some(
            svc::session_agenda(state, &reader)
                .await?
                .into_iter()
                .filter(|i| i.removed_at.is_none())
                .map(|i| match (i.subject_id, i.household_id) {
                    (Some(s), _) => AgendaLine {
                        what: t.get("meet-agenda-subject"),
                        id: s.to_string(),
                    },
                    (None, Some(h)) => AgendaLine {
                        what: t.get("meet-agenda-household"),
                        id: h.to_string(),
                    },
                    (None, None) => AgendaLine {
                        what: String::new(),
                        id: i.id.to_string(),
                    },
                })
                .collect(),
        ),
        Err(_) => None,
    };
    let entry = pledge.entry.as_ref();
    let confirmed = entry.is_some_and(|e| e.confirmed_at.is_some());
    let (status, error) = match failure {
        Some((s, e)) => (s, Some(e)),
        None => (StatusCode::OK, None),
    };
    views::page_with_status(
        &InvitationPage {
            t,
            chrome: Chrome::of(user, req.path()).with_notice(super::notice(&t, done)),
            csrf: user.csrf.clone(),
            session_id: cap.session().id.to_string(),
            body_name: pledge.body.name.clone(),
            legal_basis: pledge.body.legal_basis.clone(),
            held_at: jst(cap.session().held_at),
            status: entry.map(|e| super::status_label(&t, e.status)).unwrap_or_default(),
            attendance: entry
                .map(|e| super::attendance_label(&t, &e.attendance))
                .unwrap_or_default(),
            pledge_version: pledge.version,
            pledge_text: pledge.text.clone(),
            done: confirmed && pledge.current,
            agenda,
            error,
        },
        status,
    )
}

/// `GET /console/invitations/{session}`: the invitation, with the body's current pledge to read
/// (only for the person invited: 403 `not_invited` otherwise).
pub async fn invitation(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    q: web::Query<DoneQuery>,
) -> Result<HttpResponse, ConsoleError> {
    invitation_page(&state, &user, &req, &path, q.done.as_deref(), None).await
}

#[derive(Deserialize)]
pub struct AcceptForm {
    csrf: String,
    /// The pledge version the page showed.
    version: i64,
    /// The checkbox "I have read the pledge and accept it".
    agree: Option<String>,
}

/// `POST /console/invitations/{session}/accept`: confirms my own invitation and accepts the
/// body's current pledge — the version the page showed, the box ticked. The same two services
/// (and log entries) as `POST /v1/sessions/{id}/roster/confirm` and `POST /v1/bodies/{id}/pledges`.
pub async fn accept(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<AcceptForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    let t = user.tr;
    let cap = svc::invitee(&state, &user.principal, &path).await?;
    let body_id = cap.session().body_id.to_string();
    let shown = svc::pledge_to_accept(&state, &cap).await?;
    let refuse = |status: StatusCode, key: &str, code: &str| {
        Some((
            status,
            FormError {
                form: "accept".to_owned(),
                sentence: t.get(key),
                code: code.to_owned(),
            },
        ))
    };
    if form.agree.as_deref() != Some("yes") {
        let f = refuse(StatusCode::UNPROCESSABLE_ENTITY, "meet-accept-tick", "missing_field");
        return invitation_page(&state, &user, &req, &path, None, f).await;
    }
    if form.version != shown.version {
        let f = refuse(StatusCode::CONFLICT, "meet-accept-changed", "pledge_version_conflict");
        return invitation_page(&state, &user, &req, &path, None, f).await;
    }
    svc::confirm(&state, &cap).await?;
    let pledger = svc::pledger(&state, &user.principal, &body_id).await?;
    svc::accept_pledge(&state, &pledger).await?;
    Ok(views::see_other(&format!(
        "/console/invitations/{}?done=accepted",
        cap.session().id
    )))
}

#[derive(Template)]
#[template(path = "console/meetings/pledge.html")]
struct PledgePage {
    t: Tr,
    chrome: Chrome,
    csrf: String,
    body_id: String,
    body_name: String,
    legal_basis: String,
    pledge_version: i64,
    pledge_text: String,
    done: bool,
    error: Option<FormError>,
}

impl PledgePage {
    fn err(&self, form: &str) -> Option<&FormError> {
        error_for(&self.error, form)
    }
}

async fn pledge_page(
    state: &AppState,
    user: &ConsoleUser,
    req: &HttpRequest,
    body: &str,
    done: Option<&str>,
    failure: Option<(StatusCode, FormError)>,
) -> Result<HttpResponse, ConsoleError> {
    let t = user.tr;
    let cap = svc::pledger(state, &user.principal, body).await?;
    let pledge = svc::pledge_of_body(state, &cap).await?;
    let (status, error) = match failure {
        Some((s, e)) => (s, Some(e)),
        None => (StatusCode::OK, None),
    };
    views::page_with_status(
        &PledgePage {
            t,
            chrome: Chrome::of(user, req.path()).with_notice(super::notice(&t, done)),
            csrf: user.csrf.clone(),
            body_id: pledge.body.id.to_string(),
            body_name: pledge.body.name.clone(),
            legal_basis: pledge.body.legal_basis.clone(),
            pledge_version: pledge.version,
            pledge_text: pledge.text.clone(),
            done: pledge.current,
            error,
        },
        status,
    )
}

/// `GET /console/invitations/bodies/{id}`: a body's current pledge, for someone who may accept
/// it — invited to one of its sessions, or named as the recipient of one of its information
/// requests (403 `not_invited` otherwise).
pub async fn body_pledge(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    q: web::Query<DoneQuery>,
) -> Result<HttpResponse, ConsoleError> {
    pledge_page(&state, &user, &req, &path, q.done.as_deref(), None).await
}

/// `POST /console/invitations/bodies/{id}/accept`: accepts the body's current pledge — the
/// version the page showed, the box ticked (the service of `POST /v1/bodies/{id}/pledges`).
pub async fn accept_body_pledge(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<AcceptForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    let t = user.tr;
    let cap = svc::pledger(&state, &user.principal, &path).await?;
    let shown = svc::pledge_of_body(&state, &cap).await?;
    let refuse = |status: StatusCode, key: &str, code: &str| {
        Some((
            status,
            FormError {
                form: "accept".to_owned(),
                sentence: t.get(key),
                code: code.to_owned(),
            },
        ))
    };
    if form.agree.as_deref() != Some("yes") {
        let f = refuse(StatusCode::UNPROCESSABLE_ENTITY, "meet-accept-tick", "missing_field");
        return pledge_page(&state, &user, &req, &path, None, f).await;
    }
    if form.version != shown.version {
        let f = refuse(StatusCode::CONFLICT, "meet-accept-changed", "pledge_version_conflict");
        return pledge_page(&state, &user, &req, &path, None, f).await;
    }
    svc::accept_pledge(&state, &cap).await?;
    Ok(views::see_other(&format!(
        "/console/invitations/bodies/{}?done=pledged",
        cap.body().id
    )))
}
