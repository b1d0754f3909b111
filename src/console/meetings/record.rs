//! The printable session record (`/console/meetings/sessions/{id}/record`): attendance, agenda,
//! information requests and their answers, follow-ups, the decision summary and every
//! disclosure made under the session — for whom `GET /v1/sessions/{id}/record` answers (the
//! body's secretariat, the session's confirmed members, privacy officers in scope). Printed on
//! A4 by the browser (`@media print` in `static/console.css`).

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::jst;
use crate::console::error::ConsoleError;
use crate::console::i18n::Tr;
use crate::console::session::ConsoleUser;
use crate::console::views::{self, Chrome};
use crate::domain::Category;
use crate::services::meetings as svc;
use crate::state::AppState;

pub struct AttendanceLine {
    pub user: String,
    pub agency: String,
    pub attendance: String,
    pub status: String,
    pub invited: String,
    pub confirmed: String,
    pub pledge_current: bool,
    pub removed: String,
}

pub struct ItemLine {
    pub what: String,
    pub target: String,
    pub removed: String,
}

pub struct RequestLine {
    pub asked: String,
    pub subject_id: String,
    pub recipient: String,
    pub created: String,
    pub status: String,
    pub provided: String,
    pub decline_reason: String,
    pub answered: String,
}

pub struct FollowUpLine {
    pub subject_id: String,
    pub who: String,
    pub until: String,
}

pub struct DisclosureLine {
    pub index: u64,
    pub at: String,
    pub recipient: String,
    pub owner: String,
    pub decision: String,
    pub disclosed: String,
    pub withheld: String,
}

#[derive(Template)]
#[template(path = "console/meetings/record.html")]
struct RecordPage {
    t: Tr,
    chrome: Chrome,
    /// The secretariat's session page, for the back link (secretariat only).
    session_page: Option<String>,
    body_name: String,
    legal_basis: String,
    held_at: String,
    published: String,
    attendance: Vec<AttendanceLine>,
    agenda: Vec<ItemLine>,
    requests: Vec<RequestLine>,
    followups: Vec<FollowUpLine>,
    summary: String,
    disclosures: Vec<DisclosureLine>,
    printed_at: String,
}

fn text_of(v: Option<&serde_json::Value>) -> String {
    v.and_then(serde_json::Value::as_str).unwrap_or_default().to_owned()
}

/// A list of category codes in an entry, as names.
fn categories_of(t: &Tr, v: Option<&serde_json::Value>) -> String {
    v.and_then(serde_json::Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|c| c.as_str().or_else(|| c.get("category").and_then(|x| x.as_str())))
                .map(|c| Category::parse(c).map_or_else(|_| c.to_owned(), |c| t.category(c)))
                .collect::<Vec<_>>()
                .join("・")
        })
        .unwrap_or_default()
}

/// An entry's time (RFC 3339) in Japan time.
fn entry_time(v: Option<&serde_json::Value>) -> String {
    let raw = text_of(v);
    crate::domain::parse_rfc3339("at", &raw).map_or(raw, jst)
}

/// `GET /console/meetings/sessions/{id}/record`: the session record, for printing (403
/// `not_on_roster` for anyone the service does not let read it).
pub async fn record(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let t = user.tr;
    let reader = svc::session_reader(&state, &user.principal, &path).await?;
    let rec = svc::session_record(&state, &reader).await?;
    let is_secretariat = svc::session_secretariat(&state, &user.principal, &path).await.is_ok();
    let attendance = rec
        .attendance
        .iter()
        .map(|e| AttendanceLine {
            user: e.user_id.clone(),
            agency: super::agency_label(&state, &e.agency_id),
            attendance: super::attendance_label(&t, &e.attendance),
            status: super::status_label(&t, e.status),
            invited: jst(e.added_at),
            confirmed: e.confirmed_at.map(jst).unwrap_or_default(),
            pledge_current: e.pledge_current,
            removed: e.removed_at.map(jst).unwrap_or_default(),
        })
        .collect();
    let agenda = rec
        .agenda
        .iter()
        .map(|i| {
            let (what, target) = match (i.subject_id, i.household_id) {
                (Some(s), _) => (t.get("meet-agenda-subject"), s.to_string()),
                (None, Some(h)) => (t.get("meet-agenda-household"), h.to_string()),
                (None, None) => (String::new(), String::new()),
            };
            ItemLine {
                what,
                target,
                removed: i.removed_at.map(jst).unwrap_or_default(),
            }
        })
        .collect();
    let requests = rec
        .info_requests
        .iter()
        .map(|r| RequestLine {
            asked: super::agency_label(&state, r.asked_agency.as_str()),
            subject_id: r.subject_id.to_string(),
            recipient: format!(
                "{} / {}",
                r.recipient_user,
                super::agency_label(&state, r.recipient_agency.as_str())
            ),
            created: jst(r.created_at),
            status: super::request_status_label(&t, r.status),
            provided: super::category_names(&t, &r.provided_categories),
            decline_reason: r.decline_reason.clone().unwrap_or_default(),
            answered: r
                .answered_at
                .map(|a| format!("{}（{}）", jst(a), r.answered_by.clone().unwrap_or_default()))
                .unwrap_or_default(),
        })
        .collect();
    let followups = rec
        .followups
        .iter()
        .map(|f| FollowUpLine {
            subject_id: f.subject_id.to_string(),
            who: format!("{} / {}", f.user_id, super::agency_label(&state, &f.agency_id)),
            until: jst(f.until),
        })
        .collect();
    let disclosures = rec
        .disclosures
        .iter()
        .map(|d| DisclosureLine {
            index: d.index,
            at: entry_time(d.at.as_ref()),
            recipient: format!(
                "{} / {}",
                text_of(d.recipient_user.as_ref()),
                super::agency_label(&state, &text_of(d.recipient_agency.as_ref()))
            ),
            owner: super::agency_label(&state, &text_of(d.owner_agency.as_ref())),
            decision: match text_of(d.decision.as_ref()).as_str() {
                "allowed" => t.get("meet-record-allowed"),
                "refused" => format!(
                    "{}（{}）",
                    t.get("meet-record-refused"),
                    t.reason(&text_of(d.reason.as_ref()))
                ),
                other => other.to_owned(),
            },
            disclosed: categories_of(&t, d.disclosed.as_ref()),
            withheld: categories_of(&t, d.withheld.as_ref()),
        })
        .collect();
    views::page(&RecordPage {
        t,
        chrome: Chrome::of(&user, req.path()),
        session_page: is_secretariat.then(|| format!("/console/meetings/sessions/{}", rec.session.id)),
        body_name: rec.body.name.clone(),
        legal_basis: rec.body.legal_basis.clone(),
        held_at: jst(rec.session.held_at),
        published: rec.session.agenda_published_at.map(jst).unwrap_or_default(),
        attendance,
        agenda,
        requests,
        followups,
        summary: rec.decision_summary.clone().unwrap_or_default(),
        disclosures,
        printed_at: jst(state.clock.now()),
    })
}
