//! Referrals on the console (つなぎ, docs/rules.md#R-T1–R-T3): the agency's inbox and outbox,
//! one referral with its answer forms (accept with the agency's case number, decline with a
//! reason, withdraw), what travels with it (released on the disclosure road, with its receipt),
//! and the "refer" form from the person's page. Every action calls
//! [`crate::services::referrals`] with the session's principal, as the JSON API does.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::consents::Choice;
use super::persons::known_person;
use super::{Done, Fields, FormBody, FormError, fields, form_error, subject_id};
use crate::console::error::ConsoleError;
use crate::console::i18n::Tr;
use crate::console::session::ConsoleUser;
use crate::console::views::{self, Chrome};
use crate::domain::ids::LocalId;
use crate::domain::{Category, ReferralState, SubjectId};
use crate::services::referrals::{self as svc, Material, ReferralFields, ReferralView};
use crate::state::AppState;

/// An agency's name in the page's language.
fn agency_name(state: &AppState, t: &Tr, id: &str) -> String {
    let registered = super::persons::agency_label(state, id);
    views::agency_display_name(&registered, t.lang())
}

/// A referral as a line of the inbox or outbox, or the facts of the referral page.
pub struct ReferralLine {
    pub id: String,
    pub subject: String,
    pub at: String,
    pub from: String,
    pub from_user: String,
    pub to: String,
    pub purpose: String,
    pub categories: String,
    pub basis: String,
    pub basis_ref: String,
    pub state: String,
    pub state_code: String,
    pub answered: Option<String>,
    pub reason: Option<String>,
    pub local_id: Option<String>,
    pub has_note: bool,
    pub incoming: bool,
    pub pending: bool,
    pub open: bool,
}

fn line(state: &AppState, t: &Tr, v: ReferralView) -> ReferralLine {
    let ms = |s: &str| {
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .map(|at| views::local_time_ms(crate::store::to_ms(at)))
            .unwrap_or_else(|_| s.to_owned())
    };
    ReferralLine {
        at: ms(&v.created_at),
        from: agency_name(state, t, &v.from_agency),
        to: agency_name(state, t, &v.to_agency),
        categories: v
            .categories
            .iter()
            .map(|c| t.category(*c))
            .collect::<Vec<_>>()
            .join("、"),
        basis: t.get(&format!("cw-basis-{}", v.basis_type)),
        state: t.get(&format!("rf-state-{}", v.state.as_str())),
        state_code: v.state.as_str().to_owned(),
        answered: v
            .answered_at
            .as_deref()
            .map(|a| format!("{} ({})", ms(a), v.answered_by.clone().unwrap_or_default())),
        incoming: v.direction == "incoming",
        pending: v.state == ReferralState::Pending,
        open: v.state.material_open(),
        id: v.id,
        subject: v.subject_id,
        from_user: v.from_user,
        purpose: v.purpose,
        basis_ref: v.basis_ref,
        reason: v.reason,
        local_id: v.local_id,
        has_note: v.has_note,
    }
}

#[derive(Template)]
#[template(path = "console/referrals/list.html")]
struct ListPage {
    t: Tr,
    chrome: Chrome,
    incoming: Vec<ReferralLine>,
    outgoing: Vec<ReferralLine>,
}

/// `GET /console/referrals`: the inbox (referrals to the agency) and the outbox (made by it).
pub async fn list_page(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    q: web::Query<Done>,
) -> Result<HttpResponse, ConsoleError> {
    let t = user.tr;
    let desk = svc::desk(&state, &user.principal)?;
    let incoming = svc::list(&state, &desk, true).await?;
    let outgoing = svc::list(&state, &desk, false).await?;
    views::page(&ListPage {
        t,
        chrome: Chrome::of(&user, req.path()).with_notice(q.notice(&t)),
        incoming: incoming.into_iter().map(|v| line(&state, &t, v)).collect(),
        outgoing: outgoing.into_iter().map(|v| line(&state, &t, v)).collect(),
    })
}

#[derive(Template)]
#[template(path = "console/referrals/show.html")]
struct ShowPage {
    t: Tr,
    chrome: Chrome,
    csrf: String,
    r: ReferralLine,
    /// Which form the error belongs to (`accept`, `decline`, `withdraw`).
    error_form: String,
    error: Option<FormError>,
    values: Fields,
}

impl ShowPage {
    fn error_for(&self, form: &str) -> Option<&FormError> {
        self.error.as_ref().filter(|_| self.error_form == form)
    }
}

async fn render_show(
    state: &AppState,
    user: &ConsoleUser,
    req: &HttpRequest,
    id: &str,
    notice: Option<String>,
    error: Option<(&str, FormError)>,
    values: Fields,
) -> Result<HttpResponse, ConsoleError> {
    let t = user.tr;
    let cap = svc::reader(state, &user.principal, id).await?;
    let view = ReferralView::of(cap.referral(), cap.who());
    let status = if error.is_some() {
        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        actix_web::http::StatusCode::OK
    };
    let (error_form, error) = match error {
        Some((f, e)) => (f.to_owned(), Some(e)),
        None => (String::new(), None),
    };
    views::page_with_status(
        &ShowPage {
            t,
            chrome: Chrome::of(user, req.path()).with_notice(notice),
            csrf: user.csrf.clone(),
            r: line(state, &t, view),
            error_form,
            error,
            values,
        },
        status,
    )
}

/// `GET /console/referrals/{id}`: one referral (its facts) with the forms its state allows.
pub async fn show_page(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    q: web::Query<Done>,
) -> Result<HttpResponse, ConsoleError> {
    let notice = q.notice(&user.tr);
    render_show(&state, &user, &req, &path, notice, None, Fields::default()).await
}

/// `POST /console/referrals/{id}/accept`: accepts, linking the person under the case number
/// given (logged as `referral-accepted` first).
pub async fn accept(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: FormBody,
) -> Result<HttpResponse, ConsoleError> {
    let f = fields(form);
    user.check_form(&req, &f.csrf())?;
    let cap = svc::answerer(&state, &user.principal, &path).await?;
    let done = match f.opt("local_id").as_deref().map(LocalId::parse).transpose() {
        Ok(local_id) => svc::accept(&state, &cap, local_id).await,
        Err(e) => Err(e.into()),
    };
    match done {
        Ok(_) => Ok(views::see_other(&format!(
            "/console/referrals/{}?done=referral-accepted",
            path
        ))),
        Err(e) => {
            let err = form_error(&user.tr, e)?;
            render_show(&state, &user, &req, &path, None, Some(("accept", err)), f).await
        }
    }
}

/// `POST /console/referrals/{id}/decline`: declines with the reason given.
pub async fn decline(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: FormBody,
) -> Result<HttpResponse, ConsoleError> {
    let f = fields(form);
    user.check_form(&req, &f.csrf())?;
    let cap = svc::answerer(&state, &user.principal, &path).await?;
    let done = match svc::parse_reason(f.opt("reason").as_deref(), true) {
        Ok(Some(reason)) => svc::decline(&state, &cap, reason).await,
        Ok(None) => Err(crate::domain::ValidationError::new("reason", "missing_field", "give the reason").into()),
        Err(e) => Err(e.into()),
    };
    match done {
        Ok(_) => Ok(views::see_other(&format!(
            "/console/referrals/{}?done=referral-declined",
            path
        ))),
        Err(e) => {
            let err = form_error(&user.tr, e)?;
            render_show(&state, &user, &req, &path, None, Some(("decline", err)), f).await
        }
    }
}

/// `POST /console/referrals/{id}/withdraw`: withdraws the agency's own pending referral.
pub async fn withdraw(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: FormBody,
) -> Result<HttpResponse, ConsoleError> {
    let f = fields(form);
    user.check_form(&req, &f.csrf())?;
    let cap = svc::withdrawer(&state, &user.principal, &path).await?;
    let done = match svc::parse_reason(f.opt("reason").as_deref(), false) {
        Ok(reason) => svc::withdraw(&state, &cap, reason).await,
        Err(e) => Err(e.into()),
    };
    match done {
        Ok(_) => Ok(views::see_other(&format!(
            "/console/referrals/{}?done=referral-withdrawn",
            path
        ))),
        Err(e) => {
            let err = form_error(&user.tr, e)?;
            render_show(&state, &user, &req, &path, None, Some(("withdraw", err)), f).await
        }
    }
}

/// A released section as the material page shows it.
pub struct SectionLine {
    pub category: String,
    pub content: String,
}

/// A withheld category and why.
pub struct WithheldLine {
    pub category: String,
    pub sentence: String,
    pub code: String,
}

#[derive(Template)]
#[template(path = "console/referrals/material.html")]
struct MaterialPage {
    t: Tr,
    chrome: Chrome,
    id: String,
    from: String,
    purpose: String,
    note: Option<String>,
    sections: Vec<SectionLine>,
    withheld: Vec<WithheldLine>,
    /// The refusal's sentence and code.
    refusal: Option<(String, String)>,
    receipt_index: u64,
    leaf_hash: String,
}

/// `POST /console/referrals/{id}/material`: what travels with the referral, released on the
/// disclosure road (one log entry, refusals too) and shown with its receipt.
pub async fn material(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: FormBody,
) -> Result<HttpResponse, ConsoleError> {
    let f = fields(form);
    user.check_form(&req, &f.csrf())?;
    let t = user.tr;
    let cap = svc::material_reader(&state, &user.principal, &path).await?;
    let (from, purpose) = (
        agency_name(&state, &t, cap.referral().from_agency.as_str()),
        cap.referral().purpose.clone(),
    );
    let withheld_lines = |w: Vec<crate::audit::Withheld>| {
        w.into_iter()
            .map(|w| WithheldLine {
                category: t.category(w.category),
                sentence: t.reason(w.reason.code()),
                code: w.reason.code().to_owned(),
            })
            .collect::<Vec<_>>()
    };
    let page = match svc::material(&state, &cap).await? {
        Material::Released {
            note,
            sections,
            withheld,
            receipt,
            ..
        } => MaterialPage {
            t,
            chrome: Chrome::of(&user, req.path()),
            id: path.into_inner(),
            from,
            purpose,
            note,
            sections: sections
                .into_iter()
                .map(|s| SectionLine {
                    category: t.category(s.category),
                    content: s.content,
                })
                .collect(),
            withheld: withheld_lines(withheld),
            refusal: None,
            receipt_index: receipt.index,
            leaf_hash: receipt.leaf_hash,
        },
        Material::Refused {
            code,
            withheld,
            receipt,
            ..
        } => MaterialPage {
            t,
            chrome: Chrome::of(&user, req.path()),
            id: path.into_inner(),
            from,
            purpose,
            note: None,
            sections: Vec::new(),
            withheld: withheld_lines(withheld),
            refusal: Some((t.reason(code), code.to_owned())),
            receipt_index: receipt.index,
            leaf_hash: receipt.leaf_hash,
        },
    };
    views::page(&page)
}

/// A basis the refer form offers: a consent the agency recorded about the person, or a session
/// the caller attends with the person on its agenda.
pub struct BasisChoice {
    /// `consent:<id>`, `support-meeting:<id>` or `statutory-conference:<id>`.
    pub value: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "console/referrals/form.html")]
struct FormPage {
    t: Tr,
    chrome: Chrome,
    csrf: String,
    subject: String,
    local_ids: String,
    agencies: Vec<Choice>,
    categories: Vec<Choice>,
    bases: Vec<BasisChoice>,
    values: Fields,
    error: Option<FormError>,
}

async fn render_form(
    state: &AppState,
    user: &ConsoleUser,
    req: &HttpRequest,
    subject: SubjectId,
    values: Fields,
    error: Option<FormError>,
) -> Result<HttpResponse, ConsoleError> {
    let t = user.tr;
    let who = &user.principal;
    let local_ids = known_person(state, user, subject).await?;
    let now = state.clock.now();
    let mut agencies: Vec<Choice> = state
        .agencies
        .values()
        .filter(|a| a.id != who.agency)
        .map(|a| Choice {
            value: a.id.to_string(),
            label: views::agency_display_name(&a.name, t.lang()),
            special: false,
        })
        .collect();
    agencies.sort_by(|a, b| a.value.cmp(&b.value));
    let mut bases = Vec::new();
    if crate::services::consents::may_read(state, who).is_ok() {
        for s in crate::services::consents::scopes(state, who, subject).await? {
            if s.revoked_at.is_some() || s.valid_until <= now || s.valid_from > now {
                continue;
            }
            let to = s
                .recipients
                .iter()
                .map(|a| agency_name(state, &t, a.as_str()))
                .collect::<Vec<_>>()
                .join("、");
            bases.push(BasisChoice {
                value: format!("consent:{}", s.id),
                label: t.with(
                    "rf-basis-consent",
                    &[
                        ("to", to.as_str()),
                        (
                            "until",
                            views::local_time_ms(crate::store::to_ms(s.valid_until)).as_str(),
                        ),
                    ],
                ),
            });
        }
    }
    for (session, kind, held_at) in state
        .store
        .sessions_of_member_about(&who.user, &who.agency, subject, now)
        .await
        .map_err(crate::http::ApiError::from)?
    {
        let kind = kind.basis();
        bases.push(BasisChoice {
            value: format!("{}:{session}", kind.as_str()),
            label: t.with(
                "rf-basis-session",
                &[
                    ("kind", t.get(&format!("cw-basis-{}", kind.as_str())).as_str()),
                    ("at", views::local_time_ms(crate::store::to_ms(held_at)).as_str()),
                ],
            ),
        });
    }
    let status = if error.is_some() {
        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        actix_web::http::StatusCode::OK
    };
    views::page_with_status(
        &FormPage {
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
            bases,
            values,
            error,
        },
        status,
    )
}

/// `GET /console/persons/{id}/referrals/new`: the refer form (the fields of `POST /v1/referrals`).
pub async fn refer_form(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let subject = subject_id(&path)?;
    svc::referrer(&state, &user.principal)?;
    render_form(&state, &user, &req, subject, Fields::default(), None).await
}

/// `POST /console/persons/{id}/referrals`: makes the referral (logged as `referral-made`
/// first; the receiving agency is told), then to the referral's page.
pub async fn refer(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: FormBody,
) -> Result<HttpResponse, ConsoleError> {
    let f = fields(form);
    user.check_form(&req, &f.csrf())?;
    let subject = subject_id(&path)?;
    let cap = svc::referrer(&state, &user.principal)?;
    let basis = f.one("basis");
    let (kind, reference) = basis.split_once(':').unwrap_or(("", ""));
    let input = ReferralFields {
        subject_id: subject.to_string(),
        to_agency: f.one("to_agency"),
        purpose: f.one("purpose"),
        categories: f.all("categories"),
        basis_type: kind.to_owned(),
        consent_id: (kind == "consent").then(|| reference.to_owned()),
        session_id: (kind != "consent").then(|| reference.to_owned()),
        note: f.opt("note"),
    };
    let made = match svc::parse(&state, input) {
        Ok(input) => svc::make(&state, &cap, input).await,
        Err(e) => Err(e.into()),
    };
    match made {
        Ok(v) => Ok(views::see_other(&format!("/console/referrals/{}?done=referred", v.id))),
        Err(e) => {
            let err = form_error(&user.tr, e)?;
            render_form(&state, &user, &req, subject, f, Some(err)).await
        }
    }
}
