//! Referrals (つなぎ, docs/rules.md#R-T1–R-T3): make, list (inbox / outbox), show, accept,
//! decline, withdraw, and the material that travels with a referral. The use cases live in
//! [`crate::services::referrals`]; this module parses and renders.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use crate::audit::{Receipt, Withheld};
use crate::domain::Category;
use crate::domain::ids::LocalId;
use crate::principal::Principal;
use crate::services::referrals::{self as svc, Material, ReferralFields, ReferralView};
use crate::state::AppState;
use crate::store::DisclosedSection;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferralBasis {
    /// `consent`, `support-meeting` or `statutory-conference`.
    #[serde(rename = "type")]
    pub kind: String,
    /// With `consent`: a consent your agency recorded that names the receiving agency.
    pub consent_id: Option<String>,
    /// With a meeting basis: a session with the person on its agenda that you and the receiving
    /// agency attend as confirmed members.
    pub session_id: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MakeReferral {
    pub subject_id: String,
    /// The agency the person is referred to.
    pub to_agency: String,
    pub purpose: String,
    /// The categories of your records shared with the referral (at least one).
    pub categories: Vec<String>,
    pub basis: ReferralBasis,
    /// A note for the receiving agency (free text; sealed; released only with the material).
    pub note: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptReferral {
    /// Your agency's case number for the person (required unless your agency knows them).
    pub local_id: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerReason {
    /// Why (required to decline; optional to withdraw).
    pub reason: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct BoxQuery {
    /// `incoming` (referrals to your agency, the default) or `outgoing` (made by it).
    #[serde(rename = "box")]
    pub which: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ReferralList {
    pub referrals: Vec<ReferralView>,
}

#[derive(Serialize, ToSchema)]
pub struct MaterialView {
    /// The referral's note, when one was given.
    pub note: Option<String>,
    #[schema(value_type = Vec<String>)]
    pub disclosed: Vec<Category>,
    #[schema(value_type = Vec<Object>)]
    pub withheld: Vec<Withheld>,
    #[schema(value_type = Vec<Object>)]
    pub sections: Vec<DisclosedSection>,
    pub audit_receipt: Receipt,
    pub policy_version: String,
}

/// Refers a person to another agency (logged as `referral-made` before it takes effect).
#[utoipa::path(post, path = "/v1/referrals", tag = "referrals", request_body = MakeReferral,
    responses(
        (status = 201, body = ReferralView, description = "the referral, pending"),
        (status = 403, body = ErrorBody, description = "forbidden_by_policy"),
        (status = 404, body = ErrorBody, description = "subject_not_found"),
        (status = 410, body = ErrorBody, description = "subject_erased"),
        (status = 422, body = ErrorBody, description = "invalid input, or the basis does not hold for the receiving agency and the categories"),
        (status = 503, body = ErrorBody, description = "audit log unavailable: nothing was made"),
    ))]
pub async fn make(
    state: web::Data<AppState>,
    who: Principal,
    body: web::Json<MakeReferral>,
) -> Result<HttpResponse, ApiError> {
    let cap = svc::referrer(&state, &who)?;
    let b = body.into_inner();
    let input = svc::parse(
        &state,
        ReferralFields {
            subject_id: b.subject_id,
            to_agency: b.to_agency,
            purpose: b.purpose,
            categories: b.categories,
            basis_type: b.basis.kind,
            consent_id: b.basis.consent_id,
            session_id: b.basis.session_id,
            note: b.note,
        },
    )?;
    let view = svc::make(&state, &cap, input).await?;
    Ok(HttpResponse::Created().json(view))
}

/// Your agency's referrals: `?box=incoming` (the inbox, the default) or `?box=outgoing`.
#[utoipa::path(get, path = "/v1/referrals", tag = "referrals", params(BoxQuery),
    responses(
        (status = 200, body = ReferralList),
        (status = 400, body = ErrorBody, description = "invalid_query"),
        (status = 403, body = ErrorBody, description = "forbidden_by_policy"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    who: Principal,
    query: web::Query<BoxQuery>,
) -> Result<HttpResponse, ApiError> {
    let desk = svc::desk(&state, &who)?;
    let incoming = match query.which.as_deref() {
        None | Some("incoming") => true,
        Some("outgoing") => false,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                "box is 'incoming' or 'outgoing'",
            ));
        }
    };
    let referrals = svc::list(&state, &desk, incoming).await?;
    Ok(HttpResponse::Ok().json(ReferralList { referrals }))
}

/// One referral your agency made or received (its facts; never the note).
#[utoipa::path(get, path = "/v1/referrals/{id}", tag = "referrals",
    responses(
        (status = 200, body = ReferralView),
        (status = 403, body = ErrorBody, description = "forbidden_by_policy"),
        (status = 404, body = ErrorBody, description = "referral_not_found"),
    ))]
pub async fn show(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let cap = svc::reader(&state, &who, &path).await?;
    Ok(HttpResponse::Ok().json(ReferralView::of(cap.referral(), cap.who())))
}

/// Accepts a referral made to your agency, linking the person under your case number (logged as
/// `referral-accepted` first).
#[utoipa::path(post, path = "/v1/referrals/{id}/accept", tag = "referrals", request_body = AcceptReferral,
    responses(
        (status = 200, body = ReferralView),
        (status = 403, body = ErrorBody, description = "not_receiving_agency, forbidden_by_policy"),
        (status = 404, body = ErrorBody, description = "referral_not_found"),
        (status = 409, body = ErrorBody, description = "referral_not_pending, local_id_taken"),
        (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody, description = "audit log unavailable: nothing changed"),
    ))]
pub async fn accept(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    body: web::Json<AcceptReferral>,
) -> Result<HttpResponse, ApiError> {
    let cap = svc::answerer(&state, &who, &path).await?;
    let local_id = body.into_inner().local_id.as_deref().map(LocalId::parse).transpose()?;
    Ok(HttpResponse::Ok().json(svc::accept(&state, &cap, local_id).await?))
}

/// Declines a referral made to your agency, with a reason (logged as `referral-declined` first).
#[utoipa::path(post, path = "/v1/referrals/{id}/decline", tag = "referrals", request_body = AnswerReason,
    responses(
        (status = 200, body = ReferralView),
        (status = 403, body = ErrorBody, description = "not_receiving_agency, forbidden_by_policy"),
        (status = 404, body = ErrorBody, description = "referral_not_found"),
        (status = 409, body = ErrorBody, description = "referral_not_pending"),
        (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody, description = "audit log unavailable: nothing changed"),
    ))]
pub async fn decline(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    body: web::Json<AnswerReason>,
) -> Result<HttpResponse, ApiError> {
    let cap = svc::answerer(&state, &who, &path).await?;
    let reason = svc::parse_reason(body.reason.as_deref(), true)?.ok_or_else(|| {
        ApiError::from(crate::domain::ValidationError::new(
            "reason",
            "missing_field",
            "give the reason for declining",
        ))
    })?;
    Ok(HttpResponse::Ok().json(svc::decline(&state, &cap, reason).await?))
}

/// Withdraws a pending referral your agency made (logged as `referral-withdrawn` first).
#[utoipa::path(post, path = "/v1/referrals/{id}/withdraw", tag = "referrals", request_body = AnswerReason,
    responses(
        (status = 200, body = ReferralView),
        (status = 403, body = ErrorBody, description = "not_referring_agency, forbidden_by_policy"),
        (status = 404, body = ErrorBody, description = "referral_not_found"),
        (status = 409, body = ErrorBody, description = "referral_not_pending"),
        (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody, description = "audit log unavailable: nothing changed"),
    ))]
pub async fn withdraw(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    body: web::Json<AnswerReason>,
) -> Result<HttpResponse, ApiError> {
    let cap = svc::withdrawer(&state, &who, &path).await?;
    let reason = svc::parse_reason(body.reason.as_deref(), false)?;
    Ok(HttpResponse::Ok().json(svc::withdraw(&state, &cap, reason).await?))
}

/// What travels with a referral made to your agency — its note and the shared categories of the
/// referring agency's records — released through the disclosure road under the referral's basis
/// and logged (refusals too). Only while the referral is pending or accepted.
#[utoipa::path(post, path = "/v1/referrals/{id}/material", tag = "referrals",
    responses(
        (status = 200, body = MaterialView),
        (status = 403, body = ErrorBody, description = "refused on the disclosure road (reason code, audit receipt), not_receiving_agency, forbidden_by_policy"),
        (status = 404, body = ErrorBody, description = "referral_not_found"),
        (status = 409, body = ErrorBody, description = "referral_closed: declined or withdrawn"),
        (status = 410, body = ErrorBody, description = "subject_erased"),
        (status = 503, body = ErrorBody, description = "audit log unavailable: nothing released"),
    ))]
pub async fn material(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let cap = svc::material_reader(&state, &who, &path).await?;
    match svc::material(&state, &cap).await? {
        Material::Released {
            note,
            sections,
            disclosed,
            withheld,
            receipt,
            policy_version,
        } => Ok(HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(MaterialView {
                note,
                disclosed,
                withheld,
                sections,
                audit_receipt: receipt,
                policy_version,
            })),
        Material::Refused {
            code,
            message,
            withheld,
            receipt,
        } => {
            let mut e = ApiError::new(StatusCode::FORBIDDEN, code, message);
            e.detail.audit_receipt = Some(receipt);
            e.detail.withheld = Some(withheld);
            Err(e)
        }
    }
}
