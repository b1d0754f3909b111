//! Finding and registering people by case number, the person's page, and writing a record.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{Done, Fields, FormBody, FormError, NoticeLine, fields, form_error, notice_lines, subject_id};
use crate::console::error::ConsoleError;
use crate::console::i18n::Tr;
use crate::console::session::ConsoleUser;
use crate::console::views::{self, Chrome};
use crate::domain::ids::LocalId;
use crate::domain::{Category, Purpose, SessionId, SubjectId};
use crate::services::subjects::{self as svc, RecordInput};
use crate::services::{consents, disclosures};
use crate::state::AppState;

/// An agency as people read it: its name, its id in small print.
pub fn agency_label(state: &AppState, id: &str) -> String {
    state
        .agencies
        .iter()
        .find(|(k, _)| k.as_str() == id)
        .map_or_else(|| id.to_owned(), |(_, a)| a.name.clone())
}

#[derive(Template)]
#[template(path = "console/caseworker/persons.html")]
struct PersonsPage {
    t: Tr,
    chrome: Chrome,
    csrf: String,
    values: Fields,
    /// Which form the error belongs to: `find`, `register` or `link`.
    error_form: String,
    error: Option<FormError>,
}

impl PersonsPage {
    fn error_for(&self, form: &str) -> Option<&FormError> {
        self.error.as_ref().filter(|_| self.error_form == form)
    }
}

fn persons_page(
    user: &ConsoleUser,
    req: &HttpRequest,
    values: Fields,
    error_form: &str,
    error: Option<FormError>,
) -> Result<HttpResponse, ConsoleError> {
    let status = if error.is_some() {
        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        actix_web::http::StatusCode::OK
    };
    views::page_with_status(
        &PersonsPage {
            t: user.tr,
            chrome: Chrome::of(user, req.path()),
            csrf: user.csrf.clone(),
            values,
            error_form: error_form.to_owned(),
            error,
        },
        status,
    )
}

/// `GET /console/persons`: find a person by case number; register or link one.
pub async fn search_page(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
) -> Result<HttpResponse, ConsoleError> {
    svc::clerk(&state, &user.principal)?;
    persons_page(&user, &req, Fields::default(), "", None)
}

/// `POST /console/persons/find`: the person the agency knows by this case number (a POST, so
/// that the case number stays out of URLs and history).
pub async fn find(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    form: FormBody,
) -> Result<HttpResponse, ConsoleError> {
    let f = fields(form);
    user.check_form(&req, &f.csrf())?;
    let cap = svc::clerk(&state, &user.principal)?;
    let found = match LocalId::parse(&f.one("local_id")) {
        Ok(local) => svc::find_by_local_id(&state, &cap, local).await,
        Err(e) => Err(e.into()),
    };
    match found {
        Ok(link) => Ok(views::see_other(&format!("/console/persons/{}", link.id))),
        Err(e) if e.status.as_u16() == 404 => {
            let err = FormError {
                sentence: user.tr.get("cw-find-none"),
                code: e.detail.code.clone(),
                field: None,
            };
            persons_page(&user, &req, f, "find", Some(err))
        }
        Err(e) => {
            let err = form_error(&user.tr, e)?;
            persons_page(&user, &req, f, "find", Some(err))
        }
    }
}

/// `POST /console/persons`: registers a person under a new case number (as `POST /v1/subjects`).
pub async fn register(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    form: FormBody,
) -> Result<HttpResponse, ConsoleError> {
    let f = fields(form);
    user.check_form(&req, &f.csrf())?;
    let cap = svc::clerk(&state, &user.principal)?;
    let created = match LocalId::parse(&f.one("local_id")) {
        Ok(local) => svc::create_subject(&state, &cap, local, None).await,
        Err(e) => Err(e.into()),
    };
    match created {
        Ok(link) => Ok(views::see_other(&format!(
            "/console/persons/{}?done=registered",
            link.id
        ))),
        Err(e) => {
            let err = form_error(&user.tr, e)?;
            persons_page(&user, &req, f, "register", Some(err))
        }
    }
}

/// `POST /console/persons/link`: links a person the hub knows (e.g. after a referral) to a case
/// number of this agency (as `POST /v1/subjects/{id}/links`).
pub async fn link(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    form: FormBody,
) -> Result<HttpResponse, ConsoleError> {
    let f = fields(form);
    user.check_form(&req, &f.csrf())?;
    let cap = svc::clerk(&state, &user.principal)?;
    let linked = match (
        SubjectId::parse(f.one("subject_id").trim()),
        LocalId::parse(&f.one("local_id")),
    ) {
        (Ok(id), Ok(local)) => svc::link(&state, &cap, id, local).await,
        (Err(e), _) => Err(e.at("subject_id").into()),
        (_, Err(e)) => Err(e.into()),
    };
    match linked {
        Ok(link) => Ok(views::see_other(&format!("/console/persons/{}?done=linked", link.id))),
        Err(e) if e.status.as_u16() == 404 => {
            let err = FormError {
                sentence: user.tr.reason(&e.detail.code),
                code: e.detail.code.clone(),
                field: Some("subject_id".to_owned()),
            };
            persons_page(&user, &req, f, "link", Some(err))
        }
        Err(e) => {
            let err = form_error(&user.tr, e)?;
            persons_page(&user, &req, f, "link", Some(err))
        }
    }
}

/// One category of the person's own records.
struct CategoryLine {
    category: String,
    special: bool,
    sections: usize,
    records: Vec<String>,
}

/// A consent on file, as the person page lists it.
pub struct ConsentLine {
    pub id: String,
    pub recipients: Vec<String>,
    pub purposes: Vec<String>,
    pub categories: Vec<String>,
    pub valid_from: String,
    pub valid_until: String,
    pub status: String,
    pub active: bool,
}

fn consent_line(state: &AppState, t: &Tr, s: &crate::domain::ConsentScope) -> ConsentLine {
    let now = state.clock.now();
    let (status, active) = if s.revoked_at.is_some_and(|r| r <= now) {
        ("cw-consent-status-revoked", false)
    } else if now < s.valid_from {
        ("cw-consent-status-future", true)
    } else if now >= s.valid_until {
        ("cw-consent-status-expired", false)
    } else {
        ("cw-consent-status-active", true)
    };
    ConsentLine {
        id: s.id.to_string(),
        recipients: s.recipients.iter().map(|a| agency_label(state, a.as_str())).collect(),
        purposes: s.purposes.iter().map(ToString::to_string).collect(),
        categories: s.categories.iter().map(|c| t.category(*c)).collect(),
        valid_from: views::local_time_ms(crate::store::to_ms(s.valid_from)),
        valid_until: views::local_time_ms(crate::store::to_ms(s.valid_until)),
        status: t.get(status),
        active,
    }
}

/// A disclosure the agency asked for, as the person page lists it.
struct AskedLine {
    index: u64,
    at: String,
    user: String,
    owner: String,
    basis: String,
    purpose: String,
    allowed: bool,
    reason: Option<(String, String)>,
    disclosed: String,
    withheld: String,
}

#[derive(Template)]
#[template(path = "console/caseworker/person.html")]
struct PersonPage {
    t: Tr,
    chrome: Chrome,
    csrf: String,
    subject: String,
    local_ids: String,
    categories: Vec<CategoryLine>,
    records: usize,
    consents: Vec<ConsentLine>,
    asked: Vec<AskedLine>,
    notices: Vec<NoticeLine>,
    may_record_consent: bool,
    /// The ward's coordinator may start a support plan for the person from here.
    may_create_plan: bool,
    /// A revocation that was not accepted: the consent's id and why.
    revoke_error: Option<(String, FormError)>,
}

impl PersonPage {
    fn revoke_error_for(&self, consent: &str) -> Option<&FormError> {
        self.revoke_error
            .as_ref()
            .filter(|(id, _)| id == consent)
            .map(|(_, e)| e)
    }
}

/// The person's case numbers at the caller's agency: the gate of every page about a person
/// (`records:read-index`; a person the agency has not linked is not found).
pub async fn known_person(
    state: &AppState,
    user: &ConsoleUser,
    subject: SubjectId,
) -> Result<Vec<String>, ConsoleError> {
    let cap = svc::index_reader(state, &user.principal)?;
    Ok(svc::local_ids(state, &cap, subject).await?)
}

fn category_text(t: &Tr, code: &str) -> String {
    Category::parse(code).map_or_else(|_| code.to_owned(), |c| t.category(c))
}

/// `GET /console/persons/{id}`: the person's page.
pub async fn person_page(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    q: web::Query<Done>,
) -> Result<HttpResponse, ConsoleError> {
    let subject = subject_id(&path)?;
    let notice = q.notice(&user.tr);
    render_person(&state, &user, &req, subject, notice, None).await
}

/// The person's page, with a notice or a revocation's error.
pub async fn render_person(
    state: &AppState,
    user: &ConsoleUser,
    req: &HttpRequest,
    subject: SubjectId,
    notice: Option<String>,
    revoke_error: Option<(String, FormError)>,
) -> Result<HttpResponse, ConsoleError> {
    let t = user.tr;
    let who = &user.principal;
    let cap = svc::index_reader(state, who)?;
    let local_ids = svc::local_ids(state, &cap, subject).await?;
    let records = svc::records(state, &cap, subject).await?;
    let mut by_category: BTreeMap<Category, CategoryLine> = BTreeMap::new();
    for r in &records {
        for s in &r.sections {
            let line = by_category.entry(s.category).or_insert_with(|| CategoryLine {
                category: t.category(s.category),
                special: s.category.is_special_care(),
                sections: 0,
                records: Vec::new(),
            });
            line.sections += 1;
            let id = r.id.to_string();
            if !line.records.contains(&id) {
                line.records.push(id);
            }
        }
    }
    let may_record_consent = consents::may_write(state, who).is_ok();
    let scopes = if consents::may_read(state, who).is_ok() {
        consents::scopes(state, who, subject).await?
    } else {
        Vec::new()
    };
    let asked = disclosures::asked_about(state, who, subject).await?;
    let mut references: Vec<String> = scopes.iter().map(|s| s.id.to_string()).collect();
    references.extend(asked.iter().filter_map(|a| a.basis_ref.clone()));
    let notices = match crate::services::bases::notifications(state, who).await {
        Ok(list) => list,
        // A role that may not read notices sees none here.
        Err(e) if e.status == actix_web::http::StatusCode::FORBIDDEN => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    let notices = notices
        .into_iter()
        .filter(|n| references.contains(&n.reference))
        .collect();
    let asked = asked
        .into_iter()
        .map(|a| AskedLine {
            index: a.index,
            at: time::OffsetDateTime::parse(&a.at, &time::format_description::well_known::Rfc3339)
                .map(|at| views::local_time_ms(crate::store::to_ms(at)))
                .unwrap_or(a.at),
            user: a.user,
            owner: agency_label(state, &a.owner_agency),
            basis: t.get(&format!("cw-basis-{}", a.basis)),
            purpose: a.purpose,
            allowed: a.allowed,
            reason: a.reason.map(|r| (t.reason(&r), r)),
            disclosed: a
                .disclosed
                .iter()
                .map(|c| category_text(&t, c))
                .collect::<Vec<_>>()
                .join("、"),
            withheld: a
                .withheld
                .iter()
                .map(|(c, _)| category_text(&t, c))
                .collect::<Vec<_>>()
                .join("、"),
        })
        .collect();
    let status = if revoke_error.is_some() {
        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        actix_web::http::StatusCode::OK
    };
    let page = PersonPage {
        t,
        chrome: Chrome::of(user, req.path()).with_notice(notice),
        csrf: user.csrf.clone(),
        subject: subject.to_string(),
        local_ids: local_ids.join("、"),
        categories: by_category.into_values().collect(),
        records: records.len(),
        consents: scopes.iter().map(|s| consent_line(state, &t, s)).collect(),
        asked,
        notices: notice_lines(&t, notices),
        may_record_consent,
        may_create_plan: crate::policy::access::may_author_plans(&state.policy.current(), &state.bases.team, who)
            .is_ok(),
        revoke_error,
    };
    views::page_with_status(&page, status)
}

/// A category the record form offers (every one but the sealed), with its textarea's name.
struct CategoryField {
    code: &'static str,
    label: String,
    special: bool,
}

#[derive(Template)]
#[template(path = "console/caseworker/record.html")]
struct RecordPage {
    t: Tr,
    chrome: Chrome,
    csrf: String,
    subject: String,
    local_ids: String,
    categories: Vec<CategoryField>,
    values: Fields,
    error: Option<FormError>,
}

fn record_page(
    user: &ConsoleUser,
    req: &HttpRequest,
    subject: SubjectId,
    local_ids: Vec<String>,
    values: Fields,
    error: Option<FormError>,
) -> Result<HttpResponse, ConsoleError> {
    let t = user.tr;
    let status = if error.is_some() {
        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        actix_web::http::StatusCode::OK
    };
    views::page_with_status(
        &RecordPage {
            t,
            chrome: Chrome::of(user, req.path()),
            csrf: user.csrf.clone(),
            subject: subject.to_string(),
            local_ids: local_ids.join("、"),
            categories: Category::ALL
                .into_iter()
                .filter(|c| !c.is_sealed())
                .map(|c| CategoryField {
                    code: c.as_str(),
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

/// `GET /console/persons/{id}/records/new`: one textarea per category the agency may write.
pub async fn record_form(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let subject = subject_id(&path)?;
    svc::record_writer(&state, &user.principal)?;
    let local_ids = known_person(&state, &user, subject).await?;
    record_page(&user, &req, subject, local_ids, Fields::default(), None)
}

/// `POST /console/persons/{id}/records`: writes a record (as `POST /v1/subjects/{id}/records`);
/// blank categories are left out.
pub async fn write_record(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: FormBody,
) -> Result<HttpResponse, ConsoleError> {
    let f = fields(form);
    user.check_form(&req, &f.csrf())?;
    let subject = subject_id(&path)?;
    let cap = svc::record_writer(&state, &user.principal)?;
    let local_ids = known_person(&state, &user, subject).await?;
    let filled: Vec<(String, String)> = Category::ALL
        .into_iter()
        .map(|c| (c.as_str().to_owned(), f.one(&format!("content-{}", c.as_str()))))
        .filter(|(_, v)| !v.trim().is_empty())
        .collect();
    let written = async {
        let purpose = Purpose::parse(&f.one("purpose"))?;
        let origin_session = match f.opt("origin_session_id") {
            Some(s) => {
                Some(svc::origin_session(&state, SessionId::parse(&s).map_err(|e| e.at("origin_session_id"))?).await?)
            }
            None => None,
        };
        let sections = svc::sections(filled.iter().map(|(c, v)| (c.as_str(), v.as_str())))?;
        let input = RecordInput {
            purpose,
            sections,
            origin_session,
        };
        svc::write_record(&state, &cap, subject, input).await
    }
    .await;
    match written {
        Ok(_) => Ok(views::see_other(&format!("/console/persons/{subject}?done=record"))),
        Err(e) => {
            let err = form_error(&user.tr, e)?;
            record_page(&user, &req, subject, local_ids, f, Some(err))
        }
    }
}
