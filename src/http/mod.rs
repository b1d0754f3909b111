//! HTTP: actix-web routes under `/v1`, extractors for the authenticated principal, the error
//! boundary and the OpenAPI document. Handlers parse input into domain types, ask the policy,
//! and call the store or the disclosure road; they make no access decision of their own.

pub mod audit;
pub mod audit_officer;
pub mod bases;
pub mod consents;
pub mod disclosures;
pub mod error;
pub mod extract;
pub mod health;
pub mod meetings;
pub mod notes;
pub mod openapi;
pub mod plans;
pub mod policy;
pub mod subjects;
pub mod trace;

use actix_web::web;

pub use error::ApiError;
pub use extract::PeerCertificate;

/// JSON and path errors as API errors with stable codes.
fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default().limit(limit).error_handler(|err, _req| {
        use actix_web::error::JsonPayloadError;
        let api = match &err {
            JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => ApiError::new(
                actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the request body is too large",
            ),
            JsonPayloadError::ContentType => ApiError::new(
                actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send 'Content-Type: application/json'",
            ),
            JsonPayloadError::Deserialize(e) => ApiError::bad_request("invalid_json", e.to_string()),
            _ => ApiError::bad_request("invalid_json", "the request body is not valid JSON"),
        };
        api.into()
    })
}

fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_err, _req| ApiError::not_found("not_found", "no such resource").into())
}

/// Registers every route.
pub fn configure(max_body_bytes: usize) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(json_config(max_body_bytes))
            .app_data(path_config())
            .app_data(error::query_config())
            .app_data(web::PayloadConfig::new(max_body_bytes))
            .route("/healthz", web::get().to(health::healthz))
            .route("/readyz", web::get().to(health::readyz))
            .route("/openapi.json", web::get().to(openapi::openapi_json))
            .service(
                web::scope("/v1")
                    .route("/agencies", web::get().to(subjects::list_agencies))
                    .route("/households", web::post().to(subjects::create_household))
                    .route("/subjects", web::post().to(subjects::create_subject))
                    .route(
                        "/subjects/by-local-id/{local_id}",
                        web::get().to(subjects::subject_by_local_id),
                    )
                    .route("/subjects/{id}/links", web::post().to(subjects::link_subject))
                    .route("/subjects/{id}/erasure", web::post().to(subjects::erase_subject))
                    .route("/subjects/{id}/records", web::post().to(subjects::create_record))
                    .route("/subjects/{id}/records", web::get().to(subjects::list_records))
                    .route("/subjects/{id}/consents", web::post().to(consents::record_consent))
                    .route("/subjects/{id}/consents", web::get().to(consents::list_consents))
                    .route("/consents/{id}", web::get().to(consents::get_consent))
                    .route("/consents/{id}/revoke", web::post().to(consents::revoke_consent))
                    .route("/disclosures", web::post().to(disclosures::create_disclosure))
                    .route("/subjects/{id}/assignments", web::post().to(bases::assign_case))
                    .route("/legal-reports", web::post().to(bases::create_legal_report))
                    .route("/emergency-grants", web::post().to(bases::create_grant))
                    .route("/emergency-grants/unreviewed", web::get().to(bases::unreviewed_grants))
                    .route("/emergency-grants/{id}/review", web::post().to(bases::review_grant))
                    .route("/notifications", web::get().to(bases::notifications))
                    .route("/bodies", web::post().to(meetings::create_body))
                    .route("/bodies/{id}", web::get().to(meetings::get_body))
                    .route("/bodies/{id}/pledge-texts", web::post().to(meetings::add_pledge_text))
                    .route("/bodies/{id}/pledges", web::post().to(meetings::accept_pledge))
                    .route(
                        "/bodies/{id}/members/{user_id}",
                        web::delete().to(meetings::remove_member),
                    )
                    .route("/bodies/{id}/sessions", web::post().to(meetings::create_session))
                    .route("/sessions/{id}", web::get().to(meetings::get_session))
                    .route("/sessions/{id}/roster", web::post().to(meetings::add_to_roster))
                    .route(
                        "/sessions/{id}/roster/confirm",
                        web::post().to(meetings::confirm_membership),
                    )
                    .route("/sessions/{id}/agenda", web::post().to(meetings::add_agenda_item))
                    .route(
                        "/sessions/{id}/agenda/{item_id}",
                        web::delete().to(meetings::remove_agenda_item),
                    )
                    .route(
                        "/sessions/{id}/publish-agenda",
                        web::post().to(meetings::publish_agenda),
                    )
                    .route(
                        "/sessions/{id}/info-requests",
                        web::post().to(meetings::create_info_request),
                    )
                    .route("/sessions/{id}/followups", web::post().to(meetings::add_followup))
                    .route("/info-requests", web::get().to(meetings::list_info_requests))
                    .route(
                        "/info-requests/{id}/answer",
                        web::post().to(meetings::answer_info_request),
                    )
                    .route(
                        "/sessions/{id}/decision-summary",
                        web::put().to(meetings::set_decision_summary),
                    )
                    .route("/sessions/{id}/record", web::get().to(meetings::session_record))
                    .route(
                        "/records/{id}/origin-approvals",
                        web::post().to(meetings::approve_origin),
                    )
                    .route("/plans", web::post().to(plans::create_plan))
                    .route("/plans", web::get().to(plans::list_plans))
                    .route("/plans/coordination", web::get().to(plans::coordination))
                    .route("/plans/{id}", web::get().to(plans::get_plan))
                    .route("/plans/{id}/versions", web::post().to(plans::add_version))
                    .route("/plans/{id}/monitoring", web::post().to(plans::record_monitoring))
                    .route("/plans/{id}/monitoring", web::get().to(plans::get_monitoring))
                    .route("/plans/{id}/end", web::post().to(plans::end_plan))
                    .route("/policy", web::get().to(policy::current))
                    .route("/policy/versions", web::get().to(policy::versions))
                    .route("/policy/versions/{version}", web::get().to(policy::version))
                    .route("/policy/diff", web::get().to(policy::diff_versions))
                    .route("/policy/proposals", web::post().to(policy::propose))
                    .route("/policy/proposals/{id}", web::get().to(policy::get_proposal))
                    .route(
                        "/policy/proposals/{id}/simulate",
                        web::post().to(policy::simulate_proposal),
                    )
                    .route("/policy/proposals/{id}/approve", web::post().to(policy::approve))
                    .route("/policy/proposals/{id}/apply", web::post().to(policy::apply))
                    .route("/policy/rollback", web::post().to(policy::rollback))
                    .route("/policy/explain", web::post().to(policy::explain))
                    .configure(audit::routes)
                    .configure(notes::routes),
            )
            .default_service(web::to(|| async {
                Err::<actix_web::HttpResponse, _>(ApiError::not_found("not_found", "no such resource"))
            }));
    }
}
