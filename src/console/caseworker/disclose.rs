//! Asking for a disclosure under a basis that could hold, its result (what was disclosed, what
//! was withheld and why, the receipt), the receipt's downloadable inclusion proof, and the
//! emergency grant form.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::consents::Choice;
use super::persons::{agency_label, known_person};
use super::{Done, Fields, FormBody, FormError, fields, form_error, subject_id};
use crate::console::error::ConsoleError;
use crate::console::i18n::Tr;
use crate::console::session::ConsoleUser;
use crate::console::views::{self, Chrome};
use crate::domain::{Category, SubjectId};
use crate::http::ApiError;
use crate::services::disclosures::{self as svc, BasisFields, BasisOption, DisclosureOutcome, RequestFields};
use crate::state::AppState;

/// One basis the picker offers: the radio's value and what it says.
struct BasisChoice {
    value: String,
    title: String,
    detail: String,
}

fn choices(state: &AppState, t: &Tr, options: Vec<BasisOption>) -> Vec<BasisChoice> {
    options
        .into_iter()
        .map(|o| match o {
            BasisOption::Consent(s) => BasisChoice {
                value: format!("consent|{}|{}", s.recorded_by_agency, s.id),
                title: t.with(
                    "cw-option-consent",
                    &[("owner", &agency_label(state, s.recorded_by_agency.as_str()))],
                ),
                detail: t.with(
                    "cw-option-consent-detail",
                    &[
                        (
                            "purposes",
                            &s.purposes
                                .iter()
                                .map(ToString::to_string)
                                .collect::<Vec<_>>()
                                .join("、"),
                        ),
                        (
                            "categories",
                            &s.categories
                                .iter()
                                .map(|c| t.category(*c))
                                .collect::<Vec<_>>()
                                .join("、"),
                        ),
                        ("until", &views::local_time_ms(crate::store::to_ms(s.valid_until))),
                        ("id", &s.id.to_string()),
                    ],
                ),
            },
            BasisOption::Session { kind, session, held_at } => BasisChoice {
                value: format!("{}||{session}", kind.as_str()),
                title: t.get(&format!("cw-basis-{}", kind.as_str())),
                detail: t.with(
                    "cw-option-session-detail",
                    &[
                        ("held", &views::local_time_ms(crate::store::to_ms(held_at))),
                        ("id", &session.to_string()),
                    ],
                ),
            },
            BasisOption::Emergency {
                grant,
                owner,
                expires_at,
                reviewed,
            } => BasisChoice {
                value: format!("emergency|{owner}|{grant}"),
                title: t.with(
                    "cw-option-emergency",
                    &[("owner", &agency_label(state, owner.as_str()))],
                ),
                detail: t.with(
                    "cw-option-emergency-detail",
                    &[
                        ("until", &views::local_time_ms(crate::store::to_ms(expires_at))),
                        (
                            "review",
                            &reviewed.map_or_else(|| t.get("cw-grant-unreviewed"), |r| t.get(&format!("cw-grant-{r}"))),
                        ),
                        ("id", &grant.to_string()),
                    ],
                ),
            },
            BasisOption::LegalReport { report, report_type } => BasisChoice {
                value: format!("legal-report||{report}"),
                title: t.get("cw-basis-legal-report"),
                detail: t.with(
                    "cw-option-report-detail",
                    &[("type", &report_type), ("id", &report.to_string())],
                ),
            },
            BasisOption::Internal => BasisChoice {
                value: "internal||".to_owned(),
                title: t.get("cw-basis-internal"),
                detail: t.get("cw-option-internal-detail"),
            },
        })
        .collect()
}

#[derive(Template)]
#[template(path = "console/caseworker/disclose.html")]
struct RequestPage {
    t: Tr,
    chrome: Chrome,
    csrf: String,
    subject: String,
    local_ids: String,
    bases: Vec<BasisChoice>,
    agencies: Vec<Choice>,
    categories: Vec<Choice>,
    may_ask_grant: bool,
    values: Fields,
    error: Option<FormError>,
}

impl RequestPage {
    /// Some basis on offer leaves the owner to the form (meetings, reports, internal use).
    fn needs_owner(&self) -> bool {
        self.bases.iter().any(|b| b.value.contains("||"))
    }

    /// A basis of this kind is on offer.
    fn offers(&self, kind: &str) -> bool {
        self.bases.iter().any(|b| b.value.split('|').next() == Some(kind))
    }
}

fn agency_choices(state: &AppState) -> Vec<Choice> {
    let mut v: Vec<Choice> = state
        .agencies
        .values()
        .map(|a| Choice {
            value: a.id.to_string(),
            label: a.name.clone(),
            special: false,
        })
        .collect();
    v.sort_by(|a, b| a.value.cmp(&b.value));
    v
}

async fn request_page(
    state: &AppState,
    user: &ConsoleUser,
    req: &HttpRequest,
    subject: SubjectId,
    values: Fields,
    notice: Option<String>,
    error: Option<FormError>,
) -> Result<HttpResponse, ConsoleError> {
    let t = user.tr;
    let local_ids = known_person(state, user, subject).await?;
    let options = svc::basis_options(state, &user.principal, subject)
        .await
        .map_err(ApiError::from)?;
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    views::page_with_status(
        &RequestPage {
            t,
            chrome: Chrome::of(user, req.path()).with_notice(notice),
            csrf: user.csrf.clone(),
            subject: subject.to_string(),
            local_ids: local_ids.join("、"),
            bases: choices(state, &t, options),
            agencies: agency_choices(state),
            categories: Category::ALL
                .into_iter()
                .filter(|c| !c.is_sealed())
                .map(|c| Choice {
                    value: c.as_str().to_owned(),
                    label: t.category(c),
                    special: c.is_special_care(),
                })
                .collect(),
            may_ask_grant: crate::services::bases::may_request_grant(state, &user.principal).is_ok(),
            values,
            error,
        },
        status,
    )
}

/// `GET /console/persons/{id}/disclosures/new`: the request form; its basis picker offers only
/// what could hold for this user.
pub async fn request_form(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    q: web::Query<Done>,
) -> Result<HttpResponse, ConsoleError> {
    let subject = subject_id(&path)?;
    let notice = q.notice(&user.tr);
    request_page(&state, &user, &req, subject, Fields::default(), notice, None).await
}

struct SectionLine {
    category: String,
    content: String,
}

struct WithheldLine {
    category: String,
    sentence: String,
    code: String,
}

#[derive(Template)]
#[template(path = "console/caseworker/result.html")]
struct ResultPage {
    t: Tr,
    chrome: Chrome,
    subject: String,
    owner: String,
    basis: String,
    purpose: String,
    /// The refusal's sentence and code; `None` when something was disclosed.
    refusal: Option<(String, String)>,
    disclosed: Vec<String>,
    sections: Vec<SectionLine>,
    withheld: Vec<WithheldLine>,
    receipt_index: u64,
    leaf_hash: String,
    policy_version: Option<String>,
}

/// The request the form names: the basis picker's value is `kind|owner|reference` (an empty
/// owner: the owner field's, for meeting, report and internal bases).
fn request_fields(subject: SubjectId, f: &Fields) -> RequestFields {
    let choice = f.one("basis");
    let mut parts = choice.splitn(3, '|');
    let kind = parts.next().unwrap_or_default().to_owned();
    let owner = parts.next().unwrap_or_default().to_owned();
    let reference = parts.next().filter(|r| !r.is_empty()).map(str::to_owned);
    let owner = if owner.is_empty() { f.one("owner_agency") } else { owner };
    let mut basis = BasisFields {
        kind: kind.clone(),
        ..BasisFields::default()
    };
    match kind.as_str() {
        "consent" => basis.consent_id = reference,
        "support-meeting" | "statutory-conference" => {
            basis.session_id = reference;
            basis.info_request_id = f.opt("info_request_id");
        }
        "legal-report" => basis.report_id = reference,
        "emergency" => basis.grant_id = reference,
        _ => basis.reason = f.opt("reason"),
    }
    let categories = f.all("categories");
    RequestFields {
        subject_id: subject.to_string(),
        owner_agency: owner,
        purpose: f.one("purpose"),
        basis,
        categories: (!categories.is_empty()).then_some(categories),
        justification: f.opt("justification"),
    }
}

/// `POST /console/persons/{id}/disclosures`: asks for the disclosure (the same road as
/// `POST /v1/disclosures`: decided, logged, then opened) and shows the result at once — the
/// released content is not kept anywhere to be shown again (`no-store`).
pub async fn ask(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: FormBody,
) -> Result<HttpResponse, ConsoleError> {
    let f = fields(form);
    user.check_form(&req, &f.csrf())?;
    let subject = subject_id(&path)?;
    known_person(&state, &user, subject).await?;
    let t = user.tr;
    if f.opt("basis").is_none() {
        let err = FormError {
            sentence: t.reason("missing_field"),
            code: "missing_field".to_owned(),
            field: Some("basis".to_owned()),
        };
        return request_page(&state, &user, &req, subject, f, None, Some(err)).await;
    }
    let request = match svc::parse_request(request_fields(subject, &f)) {
        Ok(r) => r,
        Err(e) => {
            let err = form_error(&t, e.into())?;
            return request_page(&state, &user, &req, subject, f, None, Some(err)).await;
        }
    };
    let owner = agency_label(&state, request.owner.as_str());
    let basis = t.get(&format!("cw-basis-{}", request.basis.kind().as_str()));
    let purpose = request.purpose.to_string();
    let outcome = svc::disclose(&state, &user.principal, request)
        .await
        .map_err(ApiError::from)?;
    let withheld_lines = |w: Vec<crate::audit::Withheld>| {
        w.into_iter()
            .map(|w| WithheldLine {
                category: t.category(w.category),
                sentence: t.reason(w.reason.code()),
                code: w.reason.code().to_owned(),
            })
            .collect::<Vec<_>>()
    };
    let (page, status) = match outcome {
        DisclosureOutcome::Disclosed {
            sections,
            disclosed,
            withheld,
            receipt,
            policy_version,
        } => (
            ResultPage {
                t,
                chrome: Chrome::of(&user, req.path()),
                subject: subject.to_string(),
                owner,
                basis,
                purpose,
                refusal: None,
                disclosed: disclosed.iter().map(|c| t.category(*c)).collect(),
                sections: sections
                    .into_iter()
                    .map(|s| SectionLine {
                        category: t.category(s.category),
                        content: s.content,
                    })
                    .collect(),
                withheld: withheld_lines(withheld),
                receipt_index: receipt.index,
                leaf_hash: receipt.leaf_hash,
                policy_version: Some(policy_version),
            },
            StatusCode::OK,
        ),
        DisclosureOutcome::Refused {
            reason,
            withheld,
            receipt,
        } => (
            ResultPage {
                t,
                chrome: Chrome::of(&user, req.path()),
                subject: subject.to_string(),
                owner,
                basis,
                purpose,
                refusal: Some((t.reason(reason.code()), reason.code().to_owned())),
                disclosed: Vec::new(),
                sections: Vec::new(),
                withheld: withheld_lines(withheld),
                receipt_index: receipt.index,
                leaf_hash: receipt.leaf_hash,
                policy_version: None,
            },
            StatusCode::FORBIDDEN,
        ),
    };
    views::page_with_status(&page, status)
}

/// `GET /console/receipts/{index}/proof`: the receipt's inclusion proof as the C2SP
/// `tlog-proof` file the JSON API gives (`GET /v1/audit/proofs/inclusion`, the same service and
/// the same rule: the entry's requesting or owning agency), to check with
/// `tsunagi audit check-proof inclusion`.
pub async fn proof(
    state: web::Data<AppState>,
    user: ConsoleUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let index: u64 = path.parse().map_err(|_| ConsoleError::not_found())?;
    let view = crate::services::log::inclusion(&state, &user.principal, index, None).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"tsunagi-receipt-{index}.tlog-proof\""),
        ))
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .body(view.tlog_proof))
}

#[derive(Template)]
#[template(path = "console/caseworker/emergency.html")]
struct GrantPage {
    t: Tr,
    chrome: Chrome,
    csrf: String,
    subject: String,
    local_ids: String,
    agencies: Vec<Choice>,
    max_hours: u32,
    values: Fields,
    error: Option<FormError>,
}

async fn grant_page(
    state: &AppState,
    user: &ConsoleUser,
    req: &HttpRequest,
    subject: SubjectId,
    values: Fields,
    error: Option<FormError>,
) -> Result<HttpResponse, ConsoleError> {
    let local_ids = known_person(state, user, subject).await?;
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    views::page_with_status(
        &GrantPage {
            t: user.tr,
            chrome: Chrome::of(user, req.path()),
            csrf: user.csrf.clone(),
            subject: subject.to_string(),
            local_ids: local_ids.join("、"),
            agencies: agency_choices(state),
            max_hours: state.bases.emergency.max_hours,
            values,
            error,
        },
        status,
    )
}

/// `GET /console/persons/{id}/emergency/new`: the emergency grant form, with its warnings.
pub async fn grant_form(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let subject = subject_id(&path)?;
    crate::services::bases::may_request_grant(&state, &user.principal)?;
    grant_page(&state, &user, &req, subject, Fields::default(), None).await
}

/// `POST /console/persons/{id}/emergency`: makes the grant (as `POST /v1/emergency-grants`:
/// logged, privacy officers alerted), then back to the request form, where it is offered.
pub async fn ask_grant(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: FormBody,
) -> Result<HttpResponse, ConsoleError> {
    let f = fields(form);
    user.check_form(&req, &f.csrf())?;
    let subject = subject_id(&path)?;
    crate::services::bases::may_request_grant(&state, &user.principal)?;
    known_person(&state, &user, subject).await?;
    let hours = match f.opt("hours").map(|h| h.parse::<u32>()) {
        None => Ok(None),
        Some(Ok(h)) => Ok(Some(h)),
        Some(Err(_)) => Err(ApiError::from(crate::domain::ValidationError::new(
            "hours",
            "invalid_value",
            "a whole number of hours",
        ))),
    };
    let made = async {
        let fields = crate::services::bases::GrantFields {
            subject_id: subject.to_string(),
            owner_agency: f.one("owner_agency"),
            risk: f.one("risk"),
            why_consent_impracticable: f.one("why_consent_impracticable"),
            hours: hours?,
        };
        let request = crate::services::bases::grant_request(&state, &fields)?;
        crate::services::bases::create_grant(&state, &user.principal, request).await
    }
    .await;
    match made {
        Ok(_) => Ok(views::see_other(&format!(
            "/console/persons/{subject}/disclosures/new?done=granted"
        ))),
        Err(e) => {
            let err = form_error(&user.tr, e)?;
            grant_page(&state, &user, &req, subject, f, Some(err)).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::BasisKind;

    #[test]
    fn the_basis_picker_value_names_kind_owner_and_reference() {
        let subject = SubjectId::new_random();
        let f = Fields(vec![
            ("basis".into(), "consent|regional-support-centre|abc".into()),
            ("owner_agency".into(), "jobota".into()),
            ("purpose".into(), "employment support".into()),
        ]);
        let r = request_fields(subject, &f);
        assert_eq!(r.owner_agency, "regional-support-centre");
        assert_eq!(r.basis.kind, "consent");
        assert_eq!(r.basis.consent_id.as_deref(), Some("abc"));
        assert!(r.categories.is_none());
        let f = Fields(vec![
            ("basis".into(), "support-meeting||s1".into()),
            ("owner_agency".into(), "jobota".into()),
        ]);
        let r = request_fields(subject, &f);
        assert_eq!(r.owner_agency, "jobota");
        assert_eq!(r.basis.session_id.as_deref(), Some("s1"));
        assert_eq!(BasisKind::parse(&r.basis.kind).ok(), Some(BasisKind::SupportMeeting));
    }
}
