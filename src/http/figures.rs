//! The programme's figures over HTTP (`GET /v1/figures`, docs/rules.md#R-O4): JSON, or CSV with
//! `?format=csv` or `Accept: text/csv`. Who may read them, the suppression of small cells and the
//! `figures-read` log entry are in [`crate::services::figures`]; the handler parses and renders.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{ApiError, ErrorBody};
use crate::domain::ValidationError;
use crate::principal::Principal;
use crate::services::figures::{self as svc, Figures, FiscalYear, Format};
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FiguresQuery {
    /// The fiscal year (April–March, Japan time), 2000–2100; default the current one.
    pub fiscal_year: Option<String>,
    /// `json` (default) or `csv`; without it, `Accept: text/csv` asks for CSV.
    pub format: Option<String>,
}

fn wants(req: &HttpRequest, format: Option<&str>) -> Result<Format, ValidationError> {
    match format {
        Some("json") => Ok(Format::Json),
        Some("csv") => Ok(Format::Csv),
        Some(_) => Err(ValidationError::new(
            "format",
            "invalid_value",
            "must be 'json' or 'csv'",
        )),
        None => {
            let accept = req
                .headers()
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            Ok(if accept.contains("text/csv") {
                Format::Csv
            } else {
                Format::Json
            })
        }
    }
}

/// The programme's figures (事業実績) of one fiscal year, per month: counts only, cells under
/// `[figures] small_cell` shown as `"<3"` (a string where a number would be). Coordinators and
/// privacy officers (`figures:read`); every read is logged.
#[utoipa::path(get, path = "/v1/figures", tag = "figures", params(FiguresQuery),
    responses((status = 200, description = "the figures (JSON, or CSV `measure,breakdown,<months>,total`)",
        content((Figures = "application/json"), (String = "text/csv"))),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn figures(
    state: web::Data<AppState>,
    who: Principal,
    req: HttpRequest,
    q: web::Query<FiguresQuery>,
) -> Result<HttpResponse, ApiError> {
    let reader = svc::reader(&state, &who)?;
    let year = FiscalYear::parse(q.fiscal_year.as_deref(), state.clock.now())?;
    let format = wants(&req, q.format.as_deref())?;
    let figures = svc::figures(&state, &reader, year, format).await?;
    Ok(match format {
        Format::Csv => csv_response(&figures),
        _ => HttpResponse::Ok().json(figures),
    })
}

/// The CSV answer, as a download named after the fiscal year.
pub fn csv_response(figures: &Figures) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"figures-{}.csv\"", figures.fiscal_year),
        ))
        .body(svc::to_csv(figures))
}
