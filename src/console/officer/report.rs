//! A person's disclosure report (docs/rules.md#R-G7): the page (printable) and its CSV.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{Reason, SubLink, basis_label, categories, decision_label, local_time, subnav};
use crate::audit::report;
use crate::console::error::ConsoleError;
use crate::console::i18n::Tr;
use crate::console::session::ConsoleUser;
use crate::console::views::{self, Chrome};
use crate::domain::SubjectId;
use crate::services::audit::{self as svc, ReportFormat};
use crate::state::AppState;

/// One line of the report as the page shows it.
pub struct Line {
    pub index: u64,
    pub at: String,
    pub decision: String,
    pub refused: bool,
    pub recipient: String,
    pub owner: String,
    pub basis: String,
    pub basis_ref: String,
    pub purpose: String,
    pub disclosed: String,
    pub withheld: String,
    pub reason: Option<Reason>,
}

#[derive(Template)]
#[template(path = "console/officer/report.html")]
struct ReportPage {
    t: Tr,
    chrome: Chrome,
    sub: Vec<SubLink>,
    subject: String,
    generated: String,
    lines: Vec<Line>,
    counts: String,
}

fn subject_of(raw: &str) -> Result<SubjectId, ConsoleError> {
    SubjectId::parse(raw).map_err(|_| ConsoleError::coded(actix_web::http::StatusCode::NOT_FOUND, "subject_not_found"))
}

/// `GET /console/log/subjects/{id}/report`: the person's report, the same lines as
/// `GET /v1/audit/subjects/{id}/report` and the same logged read, without a proof per line (each
/// line links to its entry, whose page checks the proof).
pub async fn page(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let officer = svc::officer(&state, &user.principal)?;
    let t = user.tr;
    let subject = subject_of(&path)?;
    let r = svc::subject_report_summary(&state, &officer, subject).await?;
    let recipient = |l: &report::ReportLine| {
        if l.recipient_organ.is_empty() || l.recipient_organ == l.recipient_agency {
            l.recipient_agency.clone()
        } else {
            format!("{}（{}）", l.recipient_agency, l.recipient_organ)
        }
    };
    let lines: Vec<Line> = r
        .lines
        .iter()
        .map(|l| Line {
            index: l.index,
            at: local_time(&l.at),
            refused: l.decision == "refused",
            decision: decision_label(&t, &l.decision),
            recipient: recipient(l),
            owner: l.owner_agency.clone(),
            basis: basis_label(&t, &l.basis),
            basis_ref: l.basis_ref.clone().unwrap_or_default(),
            purpose: l.purpose.clone(),
            disclosed: categories(&t, &l.disclosed),
            withheld: categories(&t, &l.withheld),
            reason: l.reason.as_deref().map(|c| Reason::of(&t, c)),
        })
        .collect();
    let refused = lines.iter().filter(|l| l.refused).count();
    views::page(&ReportPage {
        t,
        chrome: Chrome::of(&user, req.path()),
        sub: subnav(&t, ""),
        subject: r.subject_id,
        generated: local_time(&r.generated_at),
        counts: t.with(
            "off-report-counts-value",
            &[
                ("allowed", &(lines.len() - refused).to_string()),
                ("refused", &refused.to_string()),
            ],
        ),
        lines,
    })
}

/// `GET /console/log/subjects/{id}/report.csv`: exactly the API's CSV report (every line with
/// its inclusion proof against one signed checkpoint; the read logged with `format: csv`).
pub async fn csv(
    state: web::Data<AppState>,
    user: ConsoleUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let officer = svc::officer(&state, &user.principal)?;
    let subject = subject_of(&path)?;
    let r = svc::subject_report(&state, &officer, subject, ReportFormat::Csv).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"disclosure-report-{subject}.csv\""),
        ))
        .body(report::to_csv(&r)))
}
