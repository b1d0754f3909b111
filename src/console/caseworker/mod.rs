//! The console: the caseworker's pages (caseworkers and supervisors): find a person by the
//! agency's own case number and register one, the person's page (own records, consents on file,
//! disclosures asked for, notices), writing a record, recording and revoking a consent, asking
//! for a disclosure under a basis that could hold and its result with a downloadable proof,
//! emergency grants, the agency's notifications, and referrals (inbox, outbox, answering one,
//! its material, the refer form).
//!
//! Every action calls the same service as the JSON API (`crate::services::subjects`,
//! `consents`, `disclosures`, `bases`, `log`) with the session's principal: the same capability
//! decides and the same log entry is written. A person the agency has not linked is "not found"
//! (404); a role without the capability is refused (403, logged by the console's middleware).

mod consents;
mod disclose;
mod persons;
mod referrals;

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::error::ConsoleError;
use super::i18n::Tr;
use super::session::ConsoleUser;
use super::views::{self, Chrome};
use crate::domain::SubjectId;
use crate::http::ApiError;
use crate::state::AppState;

/// Registers this area's routes (under `/console`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/persons", web::get().to(persons::search_page))
        .route("/persons", web::post().to(persons::register))
        .route("/persons/find", web::post().to(persons::find))
        .route("/persons/link", web::post().to(persons::link))
        .route("/persons/{id}", web::get().to(persons::person_page))
        .route("/persons/{id}/records/new", web::get().to(persons::record_form))
        .route("/persons/{id}/records", web::post().to(persons::write_record))
        .route("/persons/{id}/consents/new", web::get().to(consents::consent_form))
        .route("/persons/{id}/consents", web::post().to(consents::record_consent))
        .route("/consents/{id}/revoke", web::post().to(consents::revoke_consent))
        .route("/persons/{id}/disclosures/new", web::get().to(disclose::request_form))
        .route("/persons/{id}/disclosures", web::post().to(disclose::ask))
        .route("/persons/{id}/emergency/new", web::get().to(disclose::grant_form))
        .route("/persons/{id}/emergency", web::post().to(disclose::ask_grant))
        .route("/receipts/{index}/proof", web::get().to(disclose::proof))
        .route("/notifications", web::get().to(notifications))
        .route("/referrals", web::get().to(referrals::list_page))
        .route("/referrals/{id}", web::get().to(referrals::show_page))
        .route("/referrals/{id}/accept", web::post().to(referrals::accept))
        .route("/referrals/{id}/decline", web::post().to(referrals::decline))
        .route("/referrals/{id}/withdraw", web::post().to(referrals::withdraw))
        .route("/referrals/{id}/material", web::post().to(referrals::material))
        .route("/persons/{id}/referrals/new", web::get().to(referrals::refer_form))
        .route("/persons/{id}/referrals", web::post().to(referrals::refer));
}

/// A submitted form as its name/value pairs (repeated names for checkboxes).
#[derive(Debug, Clone, Default)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    /// The first value of `name` as given ("" when absent).
    pub fn one(&self, name: &str) -> String {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    /// The first value of `name`, trimmed, if not blank.
    pub fn opt(&self, name: &str) -> Option<String> {
        let v = self.one(name);
        let t = v.trim();
        (!t.is_empty()).then(|| t.to_owned())
    }

    /// Every non-blank value of `name`.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_owned())
            .collect()
    }

    /// Whether `name` was sent with `value` (a ticked checkbox, a chosen radio).
    pub fn has(&self, name: &str, value: &str) -> bool {
        self.0.iter().any(|(k, v)| k == name && v == value)
    }

    /// The record form's text for category `code`.
    pub fn content(&self, code: &str) -> String {
        self.one(&format!("content-{code}"))
    }

    fn csrf(&self) -> String {
        self.one("csrf")
    }
}

/// Reads a form body as [`Fields`].
pub type FormBody = web::Form<Vec<(String, String)>>;

fn fields(form: FormBody) -> Fields {
    Fields(form.into_inner())
}

/// Why a form was not accepted, shown above it: the sentence for the code, the field.
#[derive(Debug, Clone)]
pub struct FormError {
    pub sentence: String,
    pub code: String,
    pub field: Option<String>,
}

/// An [`ApiError`] a person can mend by changing the form (422, 409: invalid input, a taken
/// case number, a revoked consent) as a [`FormError`]; anything else stays an error page.
fn form_error(t: &Tr, e: ApiError) -> Result<FormError, ConsoleError> {
    let s = e.status.as_u16();
    if s == 422 || s == 409 || s == 400 {
        Ok(FormError {
            sentence: t.reason(&e.detail.code),
            code: e.detail.code.clone(),
            field: e.detail.field.clone(),
        })
    } else {
        Err(e.into())
    }
}

/// A subject id in a path: one that cannot be an id is simply not found.
fn subject_id(s: &str) -> Result<SubjectId, ConsoleError> {
    SubjectId::parse(s).map_err(|_| ConsoleError::coded(actix_web::http::StatusCode::NOT_FOUND, "subject_not_found"))
}

/// `?done=…`: the one-line notice after a redirect, from this area's `cw-done-…` strings.
#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
}

impl Done {
    fn notice(&self, t: &Tr) -> Option<String> {
        let key = format!("cw-done-{}", self.done.as_deref()?);
        t.has(&key).then(|| t.get(&key))
    }
}

/// A notice as people read it.
pub struct NoticeLine {
    pub at: String,
    pub kind: String,
    pub reference: String,
    pub message: String,
}

fn notice_lines(t: &Tr, list: Vec<crate::store::Notification>) -> Vec<NoticeLine> {
    list.into_iter()
        .map(|n| {
            let key = format!("cw-notice-{}", n.kind);
            NoticeLine {
                at: views::local_time_ms(crate::store::to_ms(n.created_at)),
                kind: if t.has(&key) { t.get(&key) } else { n.kind.clone() },
                reference: n.reference,
                message: n.message,
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "console/caseworker/notifications.html")]
struct NotificationsPage {
    t: Tr,
    chrome: Chrome,
    rows: Vec<NoticeLine>,
}

/// `GET /console/notifications`: the agency's notices, as `GET /v1/notifications` gives them.
async fn notifications(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
) -> Result<HttpResponse, ConsoleError> {
    let t = user.tr;
    let list = crate::services::bases::notifications(&state, &user.principal).await?;
    views::page(&NotificationsPage {
        t,
        chrome: Chrome::of(&user, req.path()),
        rows: notice_lines(&t, list),
    })
}
