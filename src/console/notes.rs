//! The team timeline in the console (docs/rules.md#R-T9–R-T11): `/console/plans/{id}/notes`
//! shows a plan's shared case notes and a form to post one. The section is its own template
//! (`console/plans/_notes.html`, data [`NotesSection`]) so the plan page can include it.
//!
//! Every read and post calls [`crate::services::notes`] — the same team gate, per-note decision
//! and log entries as `GET`/`POST /v1/plans/{id}/notes`; nothing here decides who may do what.
//! Opening the page is one logged team read.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::error::ConsoleError;
use super::i18n::Tr;
use super::meetings::{Choice, DoneQuery, FormError, agency_label, form_failure, jst};
use super::session::ConsoleUser;
use super::views::{self, Chrome};
use crate::domain::Category;
use crate::http::ApiError;
use crate::services::notes as svc;
use crate::state::AppState;

/// Registers this area's routes (under `/console`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/plans/{id}/notes", web::get().to(page))
        .route("/plans/{id}/notes", web::post().to(post));
}

/// One note as the timeline shows it.
pub struct NoteLine {
    pub id: String,
    pub posted_at: String,
    pub author: String,
    pub category: String,
    pub basis: String,
    pub justification: Option<String>,
    pub content: String,
}

/// The form to post a note (`console/plans/_note_form.html`, as `f`).
pub struct NoteForm {
    pub plan_id: String,
    pub csrf: String,
    pub categories: Vec<Choice>,
    /// The form's values (kept when a post is refused).
    pub category: String,
    pub content: String,
    pub justification: String,
    pub error: Option<FormError>,
}

/// The timeline and the post form: what `console/plans/_notes.html` renders (as `s`).
pub struct NotesSection {
    pub plan_id: String,
    pub notes: Vec<NoteLine>,
    /// One sentence per withheld note.
    pub withheld: Vec<String>,
    /// The read's position in the disclosure log.
    pub receipt: String,
    pub form: NoteForm,
}

/// What the person typed, to show again beside a refusal.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub category: String,
    pub content: String,
    pub justification: String,
}

fn basis_label(t: &Tr, basis: &str) -> String {
    t.get(&format!("cw-basis-{basis}"))
}

/// Reads plan `plan`'s timeline for the signed-in person (one logged team read) and prepares
/// the section. A refusal (`not_on_team`, `left_team`, `plan_ended`) is the service's, logged.
pub async fn section(
    state: &AppState,
    user: &ConsoleUser,
    plan: &str,
    draft: Draft,
    error: Option<FormError>,
) -> Result<NotesSection, ConsoleError> {
    let t = user.tr;
    svc::may_read(state, &user.principal)?;
    let timeline = svc::read(state, &user.principal, plan).await?;
    let notes = timeline
        .notes
        .iter()
        .map(|n| NoteLine {
            id: n.meta.id.to_string(),
            posted_at: jst(n.meta.created_at),
            author: format!(
                "{} / {}",
                n.meta.author_user,
                agency_label(state, n.meta.author_agency.as_str())
            ),
            category: t.get(&format!("category-{}", n.meta.category.as_str())),
            basis: basis_label(&t, &n.meta.basis),
            justification: n.justification.clone(),
            content: n.content.clone(),
        })
        .collect();
    let withheld = timeline
        .withheld
        .iter()
        .map(|w| {
            t.with(
                "notes-withheld-line",
                &[
                    ("category", &t.get(&format!("category-{}", w.category.as_str()))),
                    ("reason", &t.reason(w.reason.code())),
                ],
            )
        })
        .collect();
    let form = note_form(user, &timeline.plan_id, draft, error);
    Ok(NotesSection {
        plan_id: timeline.plan_id,
        notes,
        withheld,
        receipt: timeline.audit_receipt.index.to_string(),
        form,
    })
}

/// The post form for plan `plan_id` (no read: it shows no notes).
pub fn note_form(user: &ConsoleUser, plan_id: &str, draft: Draft, error: Option<FormError>) -> NoteForm {
    let t = user.tr;
    let categories = Category::ALL
        .into_iter()
        .filter(|c| !c.is_sealed())
        .map(|c| Choice {
            value: c.as_str().to_owned(),
            label: t.get(&format!("category-{}", c.as_str())),
        })
        .collect();
    NoteForm {
        plan_id: plan_id.to_owned(),
        csrf: user.csrf.clone(),
        categories,
        category: if draft.category.is_empty() {
            Category::CaseNotes.as_str().to_owned()
        } else {
            draft.category
        },
        content: draft.content,
        justification: draft.justification,
        error,
    }
}

/// The post form for the plan page: `None` when the person's role may not post notes
/// (`notes:write`). The plan page shows no notes (reading them is its own logged read, on the
/// notes page it links to).
pub fn form_if_permitted(state: &AppState, user: &ConsoleUser, plan_id: &str) -> Option<NoteForm> {
    svc::may_write(state, &user.principal)
        .is_ok()
        .then(|| note_form(user, plan_id, Draft::default(), None))
}

#[derive(Template)]
#[template(path = "console/plans/notes.html")]
struct NotesPage {
    t: Tr,
    chrome: Chrome,
    plan_id: String,
    s: NotesSection,
}

async fn render(
    state: &AppState,
    user: &ConsoleUser,
    req: &HttpRequest,
    plan: &str,
    done: Option<&str>,
    draft: Draft,
    failure: Option<(StatusCode, FormError)>,
) -> Result<HttpResponse, ConsoleError> {
    let t = user.tr;
    let (status, error) = match failure {
        Some((s, e)) => (s, Some(e)),
        None => (StatusCode::OK, None),
    };
    let s = section(state, user, plan, draft, error).await?;
    let notice = (done == Some("posted")).then(|| t.get("notes-posted"));
    views::page_with_status(
        &NotesPage {
            t,
            chrome: Chrome::of(user, req.path()).with_notice(notice),
            plan_id: s.plan_id.clone(),
            s,
        },
        status,
    )
}

/// `GET /console/plans/{id}/notes`: the plan's team timeline (one logged read) and the form.
pub async fn page(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    q: web::Query<DoneQuery>,
) -> Result<HttpResponse, ConsoleError> {
    render(&state, &user, &req, &path, q.done.as_deref(), Draft::default(), None).await
}

/// `POST /console/plans/{id}/notes`: posts a note (`content`, `category`, `justification`) —
/// the same service and checks as `POST /v1/plans/{id}/notes`.
pub async fn post(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<BTreeMap<String, String>>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, form.get("csrf").map_or("", String::as_str))?;
    svc::may_write(&state, &user.principal)?;
    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
    let draft = Draft {
        category: field("category"),
        content: field("content"),
        justification: field("justification"),
    };
    let parsed = svc::parse(svc::NoteFields {
        content: draft.content.clone(),
        category: Some(draft.category.clone()),
        justification: Some(draft.justification.clone()),
    });
    let result = match parsed {
        Ok(note) => svc::post(&state, &user.principal, &path, note)
            .await
            .map_err(ConsoleError::from),
        Err(e) => Err(ConsoleError::from(ApiError::from(e))),
    };
    match result {
        Ok(posted) => Ok(views::see_other(&format!(
            "/console/plans/{}/notes?done=posted",
            posted.plan_id
        ))),
        Err(e) => {
            let failure = form_failure(&req, &user, "note", e).await?;
            render(&state, &user, &req, &path, None, draft, Some(failure)).await
        }
    }
}
