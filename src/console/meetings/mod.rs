//! The console's meeting pages (支援会議, Social Welfare Act Art. 106-6, and the statutory
//! conferences), for two kinds of person:
//!
//! - a **member** ([`member`], `/console/invitations`): their own invitations; confirming one and
//!   accepting the body's current pledge (誓約書) while reading its text; the sessions they are a
//!   member of; the requests naming them as the recipient of the answer, with the body's pledge
//!   to accept; and, for staff of an agency an information request asks, the requests to their
//!   agency and the form to answer them;
//! - a body's **secretariat** ([`secretariat`], `/console/meetings`): bodies and their pledge
//!   versions, sessions, the session page (invitations, agenda, publication, information
//!   requests, follow-ups, decision summary), members leaving, and the printable session record
//!   ([`record`]).
//!
//! Every page and action asks [`crate::services::meetings`] — the same capabilities, checks and
//! log entries as the JSON API in [`crate::http::meetings`]; nothing here decides who may do what.

pub mod member;
pub mod record;
pub mod secretariat;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use time::{OffsetDateTime, UtcOffset};

use super::error::ConsoleError;
use super::i18n::Tr;
use super::session::ConsoleUser;
use super::views;
use crate::domain::{AgencyId, Category, ValidationError};
use crate::http::ApiError;
use crate::services::meetings::MeetingError;
use crate::state::AppState;

/// Registers this area's routes (under `/console`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/invitations", web::get().to(member::invitations))
        .route(
            "/invitations/requests/{id}/answer",
            web::post().to(member::answer_request),
        )
        .route("/invitations/bodies/{id}", web::get().to(member::body_pledge))
        .route(
            "/invitations/bodies/{id}/accept",
            web::post().to(member::accept_body_pledge),
        )
        .route("/invitations/{session}", web::get().to(member::invitation))
        .route("/invitations/{session}/accept", web::post().to(member::accept))
        .route("/meetings", web::get().to(secretariat::bodies))
        .route("/meetings/bodies", web::post().to(secretariat::create_body))
        .route("/meetings/bodies/{id}", web::get().to(secretariat::body))
        .route(
            "/meetings/bodies/{id}/pledge-texts",
            web::post().to(secretariat::add_pledge_text),
        )
        .route(
            "/meetings/bodies/{id}/sessions",
            web::post().to(secretariat::create_session),
        )
        .route(
            "/meetings/bodies/{id}/members/remove",
            web::post().to(secretariat::remove_member),
        )
        .route("/meetings/sessions/{id}", web::get().to(secretariat::session))
        .route("/meetings/sessions/{id}/invite", web::post().to(secretariat::invite))
        .route(
            "/meetings/sessions/{id}/agenda",
            web::post().to(secretariat::add_agenda_item),
        )
        .route(
            "/meetings/sessions/{id}/agenda/{item}/remove",
            web::post().to(secretariat::remove_agenda_item),
        )
        .route("/meetings/sessions/{id}/publish", web::post().to(secretariat::publish))
        .route(
            "/meetings/sessions/{id}/info-requests",
            web::post().to(secretariat::create_info_request),
        )
        .route(
            "/meetings/sessions/{id}/followups",
            web::post().to(secretariat::add_followup),
        )
        .route(
            "/meetings/sessions/{id}/summary",
            web::post().to(secretariat::set_summary),
        )
        .route("/meetings/sessions/{id}/record", web::get().to(record::record));
}

impl From<MeetingError> for ConsoleError {
    fn from(e: MeetingError) -> Self {
        ApiError::from(e).into()
    }
}

/// A refused or invalid form, shown next to the form it came from.
#[derive(Debug, Clone)]
pub struct FormError {
    /// Which form on the page (e.g. `invite`, `answer-<id>`).
    pub form: String,
    /// The reason in the person's language.
    pub sentence: String,
    pub code: String,
}

/// Turns a failed action into an error shown beside its form (with the failure's status), or
/// passes on what is not about the form (no session, internal errors). A refusal (403) is logged
/// as the console's error pages log theirs (`console-forbidden`).
pub async fn form_failure(
    req: &HttpRequest,
    user: &ConsoleUser,
    form: &str,
    e: ConsoleError,
) -> Result<(StatusCode, FormError), ConsoleError> {
    match e {
        ConsoleError::Coded { status, code, .. } if status.is_client_error() => {
            if status == StatusCode::FORBIDDEN {
                super::log_forbidden(req, user, &code).await;
            }
            Ok((
                status,
                FormError {
                    form: form.to_owned(),
                    sentence: user.tr.reason(&code),
                    code,
                },
            ))
        }
        other => Err(other),
    }
}

/// The form error for `form`, if the page carries one.
pub fn error_for<'a>(error: &'a Option<FormError>, form: &str) -> Option<&'a FormError> {
    error.as_ref().filter(|e| e.form == form)
}

/// A time for people (JST), as the console shows times.
pub fn jst(t: OffsetDateTime) -> String {
    views::local_time_ms(crate::store::to_ms(t))
}

/// A date for people (JST), `YYYY-MM-DD`.
pub fn jst_date(t: OffsetDateTime) -> String {
    jst(t).split(' ').next().unwrap_or_default().to_owned()
}

fn japan() -> UtcOffset {
    UtcOffset::from_hms(9, 0, 0).unwrap_or(UtcOffset::UTC)
}

/// A date (`YYYY-MM-DD`) and time (`HH:MM`) as a form gives them, in Japan time.
pub fn parse_jst(field: &str, date: &str, time_of_day: &str) -> Result<OffsetDateTime, ValidationError> {
    let bad = || ValidationError::new(field, "invalid_time", "a date (YYYY-MM-DD) and a time (HH:MM)");
    let d =
        time::Date::parse(date.trim(), time::macros::format_description!("[year]-[month]-[day]")).map_err(|_| bad())?;
    let t = time::Time::parse(time_of_day.trim(), time::macros::format_description!("[hour]:[minute]"))
        .map_err(|_| bad())?;
    Ok(time::PrimitiveDateTime::new(d, t).assume_offset(japan()))
}

/// An agency as people know it: its registered name (the Japanese part) and id.
pub fn agency_label(state: &AppState, id: &str) -> String {
    AgencyId::parse(id)
        .ok()
        .and_then(|a| state.agencies.get(&a))
        .map(|a| {
            let name = a.name.split(" (").next().unwrap_or(&a.name);
            format!("{name}（{id}）")
        })
        .unwrap_or_else(|| id.to_owned())
}

/// A choice in a `<select>`.
#[derive(Debug, Clone)]
pub struct Choice {
    pub value: String,
    pub label: String,
}

/// Every registered agency, by id, for the forms that name one.
pub fn agency_choices(state: &AppState) -> Vec<Choice> {
    let mut ids: Vec<&AgencyId> = state.agencies.keys().collect();
    ids.sort();
    ids.into_iter()
        .map(|id| Choice {
            value: id.to_string(),
            label: agency_label(state, id.as_str()),
        })
        .collect()
}

/// The categories an asked agency may provide (never a sealed one).
pub fn providable_categories(t: &Tr) -> Vec<Choice> {
    Category::ALL
        .into_iter()
        .filter(|c| !c.is_sealed())
        .map(|c| Choice {
            value: c.as_str().to_owned(),
            label: t.category(c),
        })
        .collect()
}

/// Category names, joined for a table cell.
pub fn category_names(t: &Tr, list: &[Category]) -> String {
    list.iter().map(|c| t.category(*c)).collect::<Vec<_>>().join("・")
}

/// A roster row's status for people (`invited`, `confirmed`, `removed`).
pub fn status_label(t: &Tr, status: &str) -> String {
    t.get(&format!("meet-status-{status}"))
}

/// `member` or `attendee` for people.
pub fn attendance_label(t: &Tr, attendance: &str) -> String {
    t.get(&format!("meet-attendance-{attendance}"))
}

/// An information request's state for people (`open`, `provided`, `declined`).
pub fn request_status_label(t: &Tr, status: &str) -> String {
    t.get(&format!("meet-request-{status}"))
}

/// The `?done=` notice after a redirect: only the known ones, in the person's language.
pub fn notice(t: &Tr, done: Option<&str>) -> Option<String> {
    const KNOWN: [&str; 17] = [
        "accepted",
        "pledged",
        "answered",
        "created",
        "pledge-added",
        "session-created",
        "invited",
        "agenda-added",
        "agenda-removed",
        "published",
        "request-created",
        "followup-added",
        "summary-saved",
        "declined",
        "member-removed",
        "plan-created",
        "plan-version",
    ];
    done.filter(|d| KNOWN.contains(d))
        .map(|d| t.get(&format!("meet-done-{d}")))
}

/// The `?done=` query of a page after a redirect.
#[derive(Debug, serde::Deserialize)]
pub struct DoneQuery {
    pub done: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_dates_are_japan_time() {
        let t = parse_jst("held_at", "2026-12-03", "14:30").unwrap_or(OffsetDateTime::UNIX_EPOCH);
        assert_eq!(jst(t), "2026-12-03 14:30");
        assert_eq!(t.to_offset(UtcOffset::UTC).hour(), 5);
        assert!(parse_jst("held_at", "2026-13-03", "14:30").is_err());
        assert!(parse_jst("held_at", "2026-12-03", "").is_err());
    }

    #[test]
    fn every_notice_and_label_has_a_string_in_both_languages() {
        for l in super::super::i18n::Locale::ALL {
            let t = Tr::new(l);
            for d in [
                "accepted",
                "pledged",
                "member-removed",
                "answered",
                "created",
                "pledge-added",
                "session-created",
                "invited",
                "agenda-added",
                "agenda-removed",
                "published",
                "request-created",
                "followup-added",
                "summary-saved",
                "declined",
            ] {
                assert!(notice(&t, Some(d)).is_some_and(|n| !n.starts_with("meet-")), "{d}");
            }
            for s in ["invited", "confirmed", "removed"] {
                assert!(!status_label(&t, s).starts_with("meet-"), "{s}");
            }
            for s in ["open", "provided", "declined"] {
                assert!(!request_status_label(&t, s).starts_with("meet-"), "{s}");
            }
            for s in ["member", "attendee"] {
                assert!(!attendance_label(&t, s).starts_with("meet-"), "{s}");
            }
        }
        assert!(notice(&Tr::new(super::super::i18n::Locale::Ja), Some("evil")).is_none());
    }
}
