//! `POST /v1/disclosures`: the one road by which case data leaves the hub.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use crate::audit::{Receipt, Withheld};
use crate::disclosure::{DisclosureOutcome, DisclosureRequest, disclose};
use crate::domain::{AgencyId, Basis, BasisKind, Category, ConsentId, Purpose, SubjectId, ValidationError};
use crate::principal::Principal;
use crate::state::AppState;
use crate::store::DisclosedSection;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BasisInput {
    /// The lawful basis: `consent`.
    #[serde(rename = "type")]
    pub kind: String,
    /// With `consent`: the consent's id.
    pub consent_id: Option<String>,
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
    let subject = SubjectId::parse(&b.subject_id)?;
    let owner = AgencyId::parse(&b.owner_agency).map_err(|e| ValidationError {
        field: "owner_agency".into(),
        ..e
    })?;
    let purpose = Purpose::parse(&b.purpose)?;
    let basis = match BasisKind::parse(&b.basis.kind)? {
        BasisKind::Consent => {
            let id = b.basis.consent_id.as_deref().ok_or_else(|| {
                ValidationError::new(
                    "basis.consent_id",
                    "missing_field",
                    "a consent basis names its consent_id",
                )
            })?;
            Basis::Consent {
                consent_id: ConsentId::parse(id).map_err(|e| ValidationError {
                    field: "basis.consent_id".into(),
                    ..e
                })?,
            }
        }
    };
    let categories = b
        .categories
        .map(|list| {
            if list.is_empty() {
                return Err(ValidationError::new(
                    "categories",
                    "empty",
                    "omit categories or name at least one",
                ));
            }
            list.iter()
                .map(|c| {
                    Category::parse(c).map_err(|e| ValidationError {
                        field: "categories".into(),
                        ..e
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    Ok(DisclosureRequest {
        subject,
        owner,
        purpose,
        basis,
        categories,
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
