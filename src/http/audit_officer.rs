//! The privacy officer's tools over HTTP (`audit:read`): search the log, a subject's disclosure
//! report (JSON or CSV, every line with its inclusion proof), pseudonym → person lookup, and
//! alerts. The reads themselves — scope, sealing, and the `log-read` entry each one appends
//! before it answers (503 `audit_unavailable` if it cannot) — are in [`crate::services::audit`];
//! handlers parse, call and render.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{ApiError, ErrorBody};
use crate::audit::report::{self, SubjectReport};
use crate::domain::{SubjectId, parse_rfc3339};
use crate::principal::Principal;
use crate::services::audit::{self as svc, AlertsView, PersonView, ReportFormat, SearchQuery, SearchView};
use crate::state::AppState;

/// Search the log within the officer's scope (refusals included), oldest first, paginated by index.
#[utoipa::path(get, path = "/v1/audit/entries", tag = "audit", params(SearchQuery),
    responses((status = 200, body = SearchView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn search(
    state: web::Data<AppState>,
    who: Principal,
    q: web::Query<SearchQuery>,
) -> Result<HttpResponse, ApiError> {
    let officer = svc::officer(&state, &who)?;
    Ok(HttpResponse::Ok().json(svc::search(&state, &officer, &q).await?))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// A subject's disclosure report (docs/rules.md#R-G7): every disclosure decision about the person
/// in the officer's scope, with third-party details and sealed reporter details withheld, each line
/// with its inclusion proof against one signed checkpoint.
#[utoipa::path(get, path = "/v1/audit/subjects/{id}/report", tag = "audit", params(ReportQuery),
    responses((status = 200, body = SubjectReport), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn subject_report(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    q: web::Query<ReportQuery>,
) -> Result<HttpResponse, ApiError> {
    let officer = svc::officer(&state, &who)?;
    let format = ReportFormat::parse(q.format.as_deref())?;
    let subject = SubjectId::parse(&path)?;
    let report = svc::subject_report(&state, &officer, subject, format).await?;
    match format {
        ReportFormat::Csv => Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                "Content-Disposition",
                format!("attachment; filename=\"disclosure-report-{subject}.csv\""),
            ))
            .body(report::to_csv(&report))),
        ReportFormat::Json => Ok(HttpResponse::Ok().json(report)),
    }
}

/// Who is behind a pseudonym in the log (the lookup is logged). An officer scoped to an organ
/// resolves only pseudonyms that appear in entries of their scope.
#[utoipa::path(get, path = "/v1/audit/pseudonyms/{pseudonym}", tag = "audit",
    responses((status = 200, body = PersonView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn resolve_pseudonym(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let officer = svc::officer(&state, &who)?;
    Ok(HttpResponse::Ok().json(svc::lookup_pseudonym(&state, &officer, &path).await?))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AlertsQuery {
    /// RFC 3339; default 30 days ago.
    pub since: Option<String>,
    /// 1-1000 (default 100).
    pub limit: Option<u32>,
}

/// Alerts in the officer's scope, newest first: `unusual-volume`, `verification-failed`,
/// `emergency-grant`.
#[utoipa::path(get, path = "/v1/audit/alerts", tag = "audit", params(AlertsQuery),
    responses((status = 200, body = AlertsView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn alerts(
    state: web::Data<AppState>,
    who: Principal,
    q: web::Query<AlertsQuery>,
) -> Result<HttpResponse, ApiError> {
    let officer = svc::officer(&state, &who)?;
    let since = q.since.as_deref().map(|s| parse_rfc3339("since", s)).transpose()?;
    Ok(HttpResponse::Ok().json(svc::alerts(&state, &officer, since, q.limit).await?))
}
