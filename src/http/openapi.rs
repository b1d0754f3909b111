//! The OpenAPI document, generated from the handlers' annotations and served at `/openapi.json`.
//!
//! Every operation declares every status it can answer. The handlers' annotations name what is
//! particular to them (their success answer, conflicts, …); [`CommonResponses`] adds, in one
//! place, the answers that come from the layers every operation shares: authentication and the
//! policy (401, 403), the JSON body and query extractors (400, 413, 415), validation into domain
//! types (422), path lookups (404), the database or the audit log (503) and internal failures (500). The
//! Schemathesis run in `.ci/schemathesis.sh` checks the document against the running hub.

use actix_web::HttpResponse;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

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
        super::subjects::erase_subject,
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
        super::notes::post_note,
        super::notes::read_notes,
        super::plans::create_plan,
        super::plans::list_plans,
        super::plans::coordination,
        super::plans::get_plan,
        super::plans::add_version,
        super::plans::record_monitoring,
        super::plans::get_monitoring,
        super::plans::end_plan,
    ),
    modifiers(&CommonResponses)
)]
pub struct ApiDoc;

/// Adds the responses that every operation of a kind can give (see the module docs).
pub struct CommonResponses;

/// Statuses some operations give beyond the common ones (method, path, statuses): conflicts with
/// the current state, validation of a path or query parameter, and audit-log writes of reads.
const SPECIFIC: &[(&str, &str, &[u16])] = &[
    // A version number that names no stored version.
    ("get", "/v1/policy/diff", &[404]),
    // Two secretaries publishing a pledge text, or one person confirming twice, at once.
    ("post", "/v1/bodies/{id}/pledge-texts", &[409]),
    ("post", "/v1/sessions/{id}/roster/confirm", &[409]),
];

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                ("get", item.get.as_mut()),
                ("put", item.put.as_mut()),
                ("post", item.post.as_mut()),
                ("delete", item.delete.as_mut()),
                ("patch", item.patch.as_mut()),
            ];
            for (method, op) in operations {
                if let Some(op) = op {
                    add_common(path, method, op);
                }
            }
        }
    }
}

fn add_common(path: &str, method: &str, op: &mut Operation) {
    let mut statuses: Vec<u16> = Vec::new();
    if path.starts_with("/v1/") {
        // Every /v1 operation authenticates (client certificate + token), may fail inside, and
        // reads or writes the database, which may not answer in time (503
        // `database_unavailable`); every change and every logged read is logged before it
        // takes effect (503 `audit_unavailable`).
        statuses.extend([401, 403, 500, 503]);
    }
    if op.request_body.is_some() {
        statuses.extend([400, 413, 415, 422]);
    }
    let params = op.parameters.as_deref().unwrap_or_default();
    let in_query = params
        .iter()
        .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Query));
    if in_query {
        statuses.extend([400, 422]);
    }
    if path.contains('{') {
        // An id that names nothing (404), or that is not an id at all (422).
        statuses.extend([404, 422]);
    }
    for (m, p, extra) in SPECIFIC {
        if *m == method && *p == path {
            statuses.extend(extra.iter().copied());
        }
    }
    for status in statuses {
        op.responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| error_response(status));
    }
}

/// An error answer: an [`super::error::ErrorBody`] with a stable `code`.
fn error_response(status: u16) -> RefOr<utoipa::openapi::Response> {
    let description = match status {
        400 => {
            "the body is not JSON of this operation's shape (`invalid_json`), or a query parameter cannot be read (`invalid_query`)"
        }
        401 => "no valid user token (`token_missing`, `token_malformed`, `token_expired`, `token_subject_refused`, …)",
        403 => {
            "refused: the token's agency is not the client certificate's (`agency_mismatch`), the agency is not registered (`agency_unknown`), or the policy does not allow it (`forbidden_by_policy` and the operation's own codes)"
        }
        404 => "no such resource, or none your agency may see",
        409 => "the request conflicts with the current state",
        413 => "the body is larger than `max_body_bytes` (`payload_too_large`)",
        415 => "the body is not `application/json` (`unsupported_media_type`)",
        422 => "a value is invalid; `field` names it (`invalid_id`, `my_number_refused`, `invisible_characters`, …)",
        500 => "internal error (`internal_error`): nothing about it is shown; quote the `incident` id",
        503 => {
            "the database did not answer in time or cannot take a write (`database_unavailable`), or the audit log could not record the request (`audit_unavailable`): nothing changed; try again"
        }
        _ => "error",
    };
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
        .into()
}

pub async fn openapi_json() -> HttpResponse {
    match ApiDoc::openapi().to_json() {
        Ok(json) => HttpResponse::Ok().content_type("application/json").body(json),
        Err(e) => actix_web::ResponseError::error_response(&super::ApiError::internal(&e)),
    }
}
