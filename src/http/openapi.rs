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
        super::bases::assign_case,
        super::bases::create_legal_report,
        super::bases::create_grant,
        super::bases::unreviewed_grants,
        super::bases::review_grant,
        super::bases::notifications,
        super::meetings::create_body,
        super::meetings::get_body,
        super::meetings::add_pledge_text,
        super::meetings::accept_pledge,
        super::meetings::remove_member,
        super::meetings::create_session,
        super::meetings::get_session,
        super::meetings::add_to_roster,
        super::meetings::confirm_membership,
        super::meetings::add_agenda_item,
        super::meetings::remove_agenda_item,
        super::meetings::publish_agenda,
        super::meetings::create_info_request,
        super::meetings::list_info_requests,
        super::meetings::answer_info_request,
        super::meetings::add_followup,
        super::meetings::set_decision_summary,
        super::meetings::session_record,
        super::meetings::approve_origin,
        super::policy::current,
        super::policy::versions,
        super::policy::version,
        super::policy::diff_versions,
        super::policy::propose,
        super::policy::get_proposal,
        super::policy::simulate_proposal,
        super::policy::approve,
        super::policy::apply,
        super::policy::rollback,
        super::policy::explain,
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
