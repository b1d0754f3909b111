//! Recording a consent with its scope and evidence, and revoking one with a reason.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::persons::{known_person, render_person};
use super::{Fields, FormBody, FormError, fields, form_error, subject_id};
use crate::console::error::ConsoleError;
use crate::console::i18n::Tr;
use crate::console::session::ConsoleUser;
use crate::console::views::{self, Chrome};
use crate::domain::{Category, FreeText, SubjectId};
use crate::services::consents::{self as svc, ConsentFields};
use crate::state::AppState;

/// A choice in a list of checkboxes or radio buttons.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub special: bool,
}

#[derive(Template)]
#[template(path = "console/caseworker/consent.html")]
struct ConsentPage {
    t: Tr,
    chrome: Chrome,
    csrf: String,
    subject: String,
    local_ids: String,
    agencies: Vec<Choice>,
    categories: Vec<Choice>,
    values: Fields,
    error: Option<FormError>,
}

fn consent_page(
    state: &AppState,
    user: &ConsoleUser,
    req: &HttpRequest,
    subject: SubjectId,
    local_ids: Vec<String>,
    values: Fields,
    error: Option<FormError>,
) -> Result<HttpResponse, ConsoleError> {
    let t = user.tr;
    let mut agencies: Vec<Choice> = state
        .agencies
        .values()
        .filter(|a| a.id != user.principal.agency)
        .map(|a| Choice {
            value: a.id.to_string(),
            label: a.name.clone(),
            special: false,
        })
        .collect();
    agencies.sort_by(|a, b| a.value.cmp(&b.value));
    let status = if error.is_some() {
        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        actix_web::http::StatusCode::OK
    };
    views::page_with_status(
        &ConsentPage {
            t,
            chrome: Chrome::of(user, req.path()),
            csrf: user.csrf.clone(),
            subject: subject.to_string(),
            local_ids: local_ids.join("、"),
            agencies,
            categories: Category::ALL
                .into_iter()
                .filter(|c| !c.is_sealed())
                .map(|c| Choice {
                    value: c.as_str().to_owned(),
                    label: t.category(c),
                    special: c.is_special_care(),
                })
                .collect(),
            values,
            error,
        },
        status,
    )
}

/// `GET /console/persons/{id}/consents/new`: the consent form (the fields of
/// `POST /v1/subjects/{id}/consents`).
pub async fn consent_form(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let subject = subject_id(&path)?;
    svc::may_write(&state, &user.principal)?;
    let local_ids = known_person(&state, &user, subject).await?;
    let defaults = Fields(vec![
        ("given_by".into(), "subject".into()),
        ("method".into(), "written".into()),
    ]);
    consent_page(&state, &user, &req, subject, local_ids, defaults, None)
}

/// A date from a date field as the start (`until`: the end) of that day in Japan time; other
/// text is passed on for the service to refuse.
fn day(value: Option<String>, until: bool) -> Option<String> {
    value.map(|v| {
        let is_date = v.len() == 10
            && v.char_indices()
                .all(|(i, c)| if i == 4 || i == 7 { c == '-' } else { c.is_ascii_digit() });
        match (is_date, until) {
            (true, false) => format!("{v}T00:00:00+09:00"),
            (true, true) => format!("{v}T23:59:59+09:00"),
            (false, _) => v,
        }
    })
}

/// `POST /console/persons/{id}/consents`: records the consent (as the JSON API, logged as
/// `consent-recorded` first).
pub async fn record_consent(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: FormBody,
) -> Result<HttpResponse, ConsoleError> {
    let f = fields(form);
    user.check_form(&req, &f.csrf())?;
    let subject = subject_id(&path)?;
    svc::may_write(&state, &user.principal)?;
    let local_ids = known_person(&state, &user, subject).await?;
    let input = ConsentFields {
        given_by: f.opt("given_by").unwrap_or_else(|| "subject".to_owned()),
        representative_name: f.opt("representative_name"),
        recipients: f.all("recipients"),
        purposes: f
            .one("purposes")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
        categories: f.all("categories"),
        valid_from: day(f.opt("valid_from"), false),
        valid_until: day(f.opt("valid_until"), true).unwrap_or_default(),
        method: f.one("method"),
        witness_name: f.opt("witness_name"),
        evidence_ref: f.one("evidence_ref"),
    };
    let recorded = match svc::parse_new(&state, subject, input) {
        Ok(new) => svc::record(&state, &user.principal, &new).await,
        Err(e) => Err(e.into()),
    };
    match recorded {
        Ok(_) => Ok(views::see_other(&format!("/console/persons/{subject}?done=consent"))),
        Err(e) => {
            let err = form_error(&user.tr, e)?;
            consent_page(&state, &user, &req, subject, local_ids, f, Some(err))
        }
    }
}

/// `POST /console/consents/{id}/revoke`: revokes the consent with the reason given (logged as
/// `consent-revoked` first; the agencies that received data under it are told), then back to
/// the person's page (the form names the person, for that way back only).
pub async fn revoke_consent(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: FormBody,
) -> Result<HttpResponse, ConsoleError> {
    let f = fields(form);
    user.check_form(&req, &f.csrf())?;
    svc::may_write(&state, &user.principal)?;
    let revoked = match FreeText::parse("reason", &f.one("reason")) {
        Ok(reason) => svc::revoke(&state, &user.principal, &path, &reason).await,
        Err(e) => Err(e.into()),
    };
    match revoked {
        Ok(c) => Ok(views::see_other(&format!(
            "/console/persons/{}?done=revoked",
            c.scope.subject
        ))),
        Err(e) => {
            let err = form_error(&user.tr, e)?;
            let subject = subject_id(&f.one("subject"))?;
            render_person(&state, &user, &req, subject, None, Some((path.into_inner(), err))).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::day;

    #[test]
    fn a_date_field_is_the_start_or_the_end_of_that_day_in_japan() {
        assert_eq!(
            day(Some("2027-03-31".into()), false).as_deref(),
            Some("2027-03-31T00:00:00+09:00")
        );
        assert_eq!(
            day(Some("2027-03-31".into()), true).as_deref(),
            Some("2027-03-31T23:59:59+09:00")
        );
        assert_eq!(
            day(Some("31/03/2027".into()), true).as_deref(),
            Some("31/03/2027"),
            "left to the service to refuse"
        );
        assert_eq!(day(None, true), None);
    }
}
