//! HTTP: actix-web routes under `/v1`, extractors for the authenticated principal, the error
//! boundary and the OpenAPI document. Handlers parse input into domain types, ask the policy,
//! and call the store or the disclosure road; they make no access decision of their own.

pub mod audit;
pub mod audit_officer;
pub mod consents;
pub mod disclosures;
pub mod error;
pub mod extract;
pub mod health;
pub mod openapi;
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
                    .route("/subjects/{id}/records", web::post().to(subjects::create_record))
                    .route("/subjects/{id}/records", web::get().to(subjects::list_records))
                    .route("/subjects/{id}/consents", web::post().to(consents::record_consent))
                    .route("/subjects/{id}/consents", web::get().to(consents::list_consents))
                    .route("/consents/{id}", web::get().to(consents::get_consent))
                    .route("/consents/{id}/revoke", web::post().to(consents::revoke_consent))
                    .route("/disclosures", web::post().to(disclosures::create_disclosure))
                    .configure(audit::routes),
            )
            .default_service(web::to(|| async {
                Err::<actix_web::HttpResponse, _>(ApiError::not_found("not_found", "no such resource"))
            }));
    }
}
