//! `POST /v1/disclosures`: the one road by which case data leaves the hub.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use crate::audit::{Receipt, Withheld};
use crate::domain::{Category, ValidationError};
use crate::principal::Principal;
use crate::services::disclosures::{
    BasisFields, DisclosureOutcome, DisclosureRequest, RequestFields, disclose, parse_request,
};
use crate::state::AppState;
use crate::store::DisclosedSection;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BasisInput {
    /// The lawful basis: `consent`, `support-meeting`, `statutory-conference`, `legal-report`,
    /// `emergency` or `internal`.
    #[serde(rename = "type")]
    pub kind: String,
    /// With `consent`: the consent's id.
    pub consent_id: Option<String>,
    /// With `support-meeting` / `statutory-conference`: the session's id.
    pub session_id: Option<String>,
    /// With a meeting basis, when answering an information request (Art. 106-6(3)).
    pub info_request_id: Option<String>,
    /// With `legal-report`: the report's id.
    pub report_id: Option<String>,
    /// With `emergency`: the grant's id.
    pub grant_id: Option<String>,
    /// With `internal`: the reason, required when the purpose differs from the records' own.
    pub reason: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDisclosure {
    pub subject_id: String,
    /// The agency whose records are asked for.
    pub owner_agency: String,
    pub purpose: String,
    pub basis: BasisInput,
    /// Categories asked for; omit to ask for everything the basis and policy allow.
    pub categories: Option<Vec<String>>,
    /// Why special-care categories are needed; required for them under meeting bases.
    pub justification: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DisclosureView {
    #[schema(value_type = Vec<String>)]
    pub disclosed: Vec<Category>,
    #[schema(value_type = Vec<Object>)]
    pub withheld: Vec<Withheld>,
    #[schema(value_type = Vec<Object>)]
    pub sections: Vec<DisclosedSection>,
    pub audit_receipt: Receipt,
    pub policy_version: String,
}

fn parse(b: CreateDisclosure) -> Result<DisclosureRequest, ValidationError> {
    let basis = BasisFields {
        kind: b.basis.kind,
        consent_id: b.basis.consent_id,
        session_id: b.basis.session_id,
        info_request_id: b.basis.info_request_id,
        report_id: b.basis.report_id,
        grant_id: b.basis.grant_id,
        reason: b.basis.reason,
    };
    parse_request(RequestFields {
        subject_id: b.subject_id,
        owner_agency: b.owner_agency,
        purpose: b.purpose,
        basis,
        categories: b.categories,
        justification: b.justification,
    })
}

/// Asks for a disclosure under a named lawful basis. The decision — allowed or refused — is
/// written to the audit log before anything is returned; the response carries its receipt.
#[utoipa::path(post, path = "/v1/disclosures", tag = "disclosures", request_body = CreateDisclosure,
    responses(
        (status = 200, body = DisclosureView, description = "disclosed; withheld categories listed"),
        (status = 403, body = ErrorBody, description = "refused (reason code, audit receipt)"),
        (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody, description = "audit log unavailable: nothing disclosed"),
    ))]
pub async fn create_disclosure(
    state: web::Data<AppState>,
    who: Principal,
    body: web::Json<CreateDisclosure>,
) -> Result<HttpResponse, ApiError> {
    let req = parse(body.into_inner())?;
    match disclose(&state, &who, req).await? {
        DisclosureOutcome::Disclosed {
            sections,
            disclosed,
            withheld,
            receipt,
            policy_version,
        } => Ok(HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(DisclosureView {
                disclosed,
                withheld,
                sections,
                audit_receipt: receipt,
                policy_version,
            })),
        DisclosureOutcome::Refused {
            reason,
            withheld,
            receipt,
        } => {
            let mut e = ApiError::new(StatusCode::FORBIDDEN, reason.code(), reason.message());
            e.detail.audit_receipt = Some(receipt);
            e.detail.withheld = Some(withheld);
            Err(e)
        }
    }
}
