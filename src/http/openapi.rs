//! The OpenAPI document, generated from the handlers' annotations and served at `/openapi.json`.

use actix_web::HttpResponse;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tsunagi",
        description = "Secure inter-agency information-sharing hub for municipal welfare. \
        Every request needs a client certificate (mutual TLS) and, under /v1, a user token (Bearer JWT)."
    ),
    paths(
        super::health::healthz,
        super::health::readyz,
        super::subjects::list_agencies,
        super::subjects::create_household,
        super::subjects::create_subject,
        super::subjects::subject_by_local_id,
        super::subjects::link_subject,
        super::subjects::create_record,
        super::subjects::list_records,
        super::consents::record_consent,
        super::consents::list_consents,
        super::consents::get_consent,
        super::consents::revoke_consent,
        super::disclosures::create_disclosure,
        super::audit::checkpoint,
        super::audit::verifier_keys,
        super::audit::inclusion_proof,
        super::audit::consistency_proof,
        super::audit_officer::search,
        super::audit_officer::subject_report,
        super::audit_officer::resolve_pseudonym,
        super::audit_officer::alerts,
    )
)]
pub struct ApiDoc;

pub async fn openapi_json() -> HttpResponse {
    match ApiDoc::openapi().to_json() {
        Ok(json) => HttpResponse::Ok().content_type("application/json").body(json),
        Err(e) => actix_web::ResponseError::error_response(&super::ApiError::internal(&e)),
    }
}
