//! `POST /v1/disclosures`: the one road by which case data leaves the hub.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use crate::audit::{Receipt, Withheld};
use crate::domain::{
    AgencyId, Basis, BasisKind, Category, ConsentId, FreeText, GrantId, InfoRequestId, Purpose, ReportId, SessionId,
    SubjectId, ValidationError,
};
use crate::principal::Principal;
use crate::services::disclosures::{DisclosureOutcome, DisclosureRequest, disclose};
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

/// A required id field of the basis.
fn id_field<T>(
    value: Option<&str>,
    field: &'static str,
    parse: fn(&str) -> Result<T, ValidationError>,
) -> Result<T, ValidationError> {
    let v = value.ok_or_else(|| ValidationError::new(field, "missing_field", format!("this basis needs {field}")))?;
    parse(v).map_err(|e| e.at(field))
}

fn parse_basis(b: &BasisInput) -> Result<Basis, ValidationError> {
    let info_request = |b: &BasisInput| {
        b.info_request_id
            .as_deref()
            .map(|v| InfoRequestId::parse(v).map_err(|e| e.at("basis.info_request_id")))
            .transpose()
    };
    Ok(match BasisKind::parse(&b.kind)? {
        BasisKind::Consent => Basis::Consent {
            consent_id: id_field(b.consent_id.as_deref(), "basis.consent_id", ConsentId::parse)?,
        },
        BasisKind::SupportMeeting => Basis::SupportMeeting {
            session_id: id_field(b.session_id.as_deref(), "basis.session_id", SessionId::parse)?,
            info_request_id: info_request(b)?,
        },
        BasisKind::StatutoryConference => Basis::StatutoryConference {
            session_id: id_field(b.session_id.as_deref(), "basis.session_id", SessionId::parse)?,
            info_request_id: info_request(b)?,
        },
        BasisKind::LegalReport => Basis::LegalReport {
            report_id: id_field(b.report_id.as_deref(), "basis.report_id", ReportId::parse)?,
        },
        BasisKind::Emergency => Basis::Emergency {
            grant_id: id_field(b.grant_id.as_deref(), "basis.grant_id", GrantId::parse)?,
        },
        BasisKind::Internal => Basis::Internal {
            reason: b
                .reason
                .as_deref()
                .map(|r| FreeText::parse("basis.reason", r).map(FreeText::into_string))
                .transpose()?,
        },
    })
}

fn parse(b: CreateDisclosure) -> Result<DisclosureRequest, ValidationError> {
    let subject = SubjectId::parse(&b.subject_id)?;
    let owner = AgencyId::parse(&b.owner_agency).map_err(|e| e.at("owner_agency"))?;
    let purpose = Purpose::parse(&b.purpose)?;
    let basis = parse_basis(&b.basis)?;
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
                .map(|c| Category::parse(c).map_err(|e| e.at("categories")))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let justification = b
        .justification
        .as_deref()
        .map(|j| FreeText::parse("justification", j))
        .transpose()?;
    Ok(DisclosureRequest {
        subject,
        owner,
        purpose,
        basis,
        categories,
        justification,
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
