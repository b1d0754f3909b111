//! The log's transparency endpoints over HTTP: the latest signed checkpoint, the verifier keys,
//! inclusion proofs for receipts and consistency proofs between checkpoints (the reads are in
//! [`crate::services::log`]). Checkpoints, keys and
//! consistency proofs carry no personal data, so every authenticated user may fetch them
//! (`audit:checkpoint`); an inclusion proof is for the entry's requesting or owning agency
//! (`audit:proof`), or a privacy officer (`audit:read`) whose log scope holds the entry
//! (`policy::access::proof_scope`).
//!
//! A proof is checked before it is served (the entry hashes to its leaf hash, the proof verifies
//! against the checkpoint's signed root). Once any check of the log has failed, the proof
//! endpoints answer 503 `log_inconsistent` until an operator clears the latch. Positions and sizes
//! the log does not have are 404 or 422, never a server error.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{ApiError, ErrorBody};
use crate::audit::checkpointer::CheckpointError;
use crate::audit::stored::TreeError;
use crate::principal::Principal;
use crate::services::log::{self as svc, ConsistencyView, InclusionView};
use crate::state::AppState;

/// Registers every `/v1/audit` route (this module's and the privacy officer's).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/audit")
            .app_data(
                web::QueryConfig::default()
                    .error_handler(|err, _req| ApiError::bad_request("invalid_query", err.to_string()).into()),
            )
            .route("/checkpoint", web::get().to(checkpoint))
            .route("/verifier-keys", web::get().to(verifier_keys))
            .route("/proofs/inclusion", web::get().to(inclusion_proof))
            .route("/proofs/consistency", web::get().to(consistency_proof))
            .route("/entries", web::get().to(super::audit_officer::search))
            .route(
                "/subjects/{id}/report",
                web::get().to(super::audit_officer::subject_report),
            )
            .route(
                "/pseudonyms/{pseudonym}",
                web::get().to(super::audit_officer::resolve_pseudonym),
            )
            .route("/alerts", web::get().to(super::audit_officer::alerts)),
    );
}

impl From<CheckpointError> for ApiError {
    fn from(e: CheckpointError) -> Self {
        match e {
            CheckpointError::Inconsistent(_) => Self::new(
                actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                "log_inconsistent",
                "the stored log does not match its signed checkpoints; privacy officers have been alerted",
            ),
            CheckpointError::Tree(t) => t.into(),
            other => Self::internal(&other),
        }
    }
}

impl From<TreeError> for ApiError {
    fn from(e: TreeError) -> Self {
        match e {
            TreeError::Proof(p) => Self::new(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_proof_request",
                p.to_string(),
            ),
            other => Self::internal(&other),
        }
    }
}

fn plain(text: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header(("Cache-Control", "no-cache"))
        .body(text)
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CheckpointQuery {
    /// A stored checkpoint's tree size; omit for the latest.
    pub size: Option<u64>,
    /// Only a witnessed checkpoint (at least `witnesses.k` witness cosignatures), with the
    /// cosignature lines appended; 409 `not_yet_witnessed` when there is none yet.
    pub witnessed: Option<bool>,
}

/// The latest (or a given) signed checkpoint, as C2SP signed-note text.
#[utoipa::path(get, path = "/v1/audit/checkpoint", tag = "audit", params(CheckpointQuery),
    responses((status = 200, description = "signed checkpoint (text/plain)"), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn checkpoint(
    state: web::Data<AppState>,
    who: Principal,
    q: web::Query<CheckpointQuery>,
) -> Result<HttpResponse, ApiError> {
    if q.witnessed == Some(true) {
        return Ok(plain(svc::witnessed_checkpoint(&state, &who, q.size).await?.1));
    }
    Ok(plain(svc::checkpoint(&state, &who, q.size).await?.note))
}

/// The log's verifier keys (C2SP vkey text, one per line, current key first).
#[utoipa::path(get, path = "/v1/audit/verifier-keys", tag = "audit",
    responses((status = 200, description = "verifier keys (text/plain)")))]
pub async fn verifier_keys(state: web::Data<AppState>, who: Principal) -> Result<HttpResponse, ApiError> {
    Ok(plain(svc::verifier_keys(&state, &who)?))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    /// The entry's index (from the receipt).
    pub index: u64,
    /// A stored checkpoint's tree size; omit for the latest one containing the entry.
    pub size: Option<u64>,
    /// Against a witnessed checkpoint only (its note and the proof file carry the witness
    /// cosignatures); 409 `not_yet_witnessed` when none holds the entry yet.
    pub witnessed: Option<bool>,
}

/// Inclusion proof of one entry in a signed checkpoint.
#[utoipa::path(get, path = "/v1/audit/proofs/inclusion", tag = "audit", params(InclusionQuery),
    responses((status = 200, body = InclusionView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn inclusion_proof(
    state: web::Data<AppState>,
    who: Principal,
    q: web::Query<InclusionQuery>,
) -> Result<HttpResponse, ApiError> {
    if q.witnessed == Some(true) {
        return Ok(HttpResponse::Ok().json(svc::witnessed_inclusion(&state, &who, q.index, q.size).await?));
    }
    Ok(HttpResponse::Ok().json(svc::inclusion(&state, &who, q.index, q.size).await?))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    /// The older checkpoint's size.
    pub from: u64,
    /// The newer checkpoint's size; omit for the latest.
    pub to: Option<u64>,
}

/// Consistency proof between two signed checkpoints.
#[utoipa::path(get, path = "/v1/audit/proofs/consistency", tag = "audit", params(ConsistencyQuery),
    responses((status = 200, body = ConsistencyView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn consistency_proof(
    state: web::Data<AppState>,
    who: Principal,
    q: web::Query<ConsistencyQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(svc::consistency(&state, &who, q.from, q.to).await?))
}
