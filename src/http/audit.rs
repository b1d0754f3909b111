//! The log's transparency endpoints: the latest signed checkpoint, the verifier keys, inclusion
//! proofs for receipts and consistency proofs between checkpoints. Checkpoints, keys and
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
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::extract::authorize;
use crate::audit::checkpointer::CheckpointError;
use crate::audit::proof_file::{ConsistencyProofFile, InclusionProofFile};
use crate::audit::proofs::ProofBuilder;
use crate::audit::stored::TreeError;
use crate::principal::Principal;
use crate::state::AppState;
use crate::store::StoredCheckpoint;

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
}

/// The latest (or a given) signed checkpoint, as C2SP signed-note text.
#[utoipa::path(get, path = "/v1/audit/checkpoint", tag = "audit", params(CheckpointQuery),
    responses((status = 200, description = "signed checkpoint (text/plain)"), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn checkpoint(
    state: web::Data<AppState>,
    who: Principal,
    q: web::Query<CheckpointQuery>,
) -> Result<HttpResponse, ApiError> {
    authorize(&state, &who, "audit:checkpoint")?;
    let cp = match q.size {
        Some(size) => state.store.checkpoint_at(size).await?,
        None => match state.store.latest_checkpoint().await? {
            Some(cp) => Some(cp),
            None => {
                state.checkpoints.checkpoint_now().await?;
                state.store.latest_checkpoint().await?
            }
        },
    };
    let cp = cp.ok_or_else(|| ApiError::not_found("checkpoint_not_found", "no signed checkpoint of that size"))?;
    Ok(plain(cp.note))
}

/// The log's verifier keys (C2SP vkey text, one per line, current key first).
#[utoipa::path(get, path = "/v1/audit/verifier-keys", tag = "audit",
    responses((status = 200, description = "verifier keys (text/plain)")))]
pub async fn verifier_keys(state: web::Data<AppState>, who: Principal) -> Result<HttpResponse, ApiError> {
    authorize(&state, &who, "audit:checkpoint")?;
    Ok(plain(state.checkpoints.keys().vkeys_text()))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    /// The entry's index (from the receipt).
    pub index: u64,
    /// A stored checkpoint's tree size; omit for the latest one containing the entry.
    pub size: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct InclusionView {
    pub index: u64,
    pub tree_size: u64,
    /// The entry's leaf hash (hex), as on the receipt.
    pub leaf_hash: String,
    /// The proof, leaf's sibling first (hex).
    pub proof: Vec<String>,
    /// The signed checkpoint the proof is against.
    pub checkpoint: String,
    /// The same proof as a C2SP `tlog-proof` file, for `tsunagi audit check-proof inclusion`.
    pub tlog_proof: String,
}

/// A stored checkpoint of exactly `size`, or the latest one containing `index`.
async fn checkpoint_for(state: &AppState, index: u64, size: Option<u64>) -> Result<StoredCheckpoint, ApiError> {
    match size {
        Some(size) => state
            .store
            .checkpoint_at(size)
            .await?
            .ok_or_else(|| ApiError::not_found("checkpoint_not_found", "no signed checkpoint of that size")),
        None => state.checkpoints.covering(index).await?.ok_or_else(|| {
            ApiError::new(
                actix_web::http::StatusCode::CONFLICT,
                "not_yet_checkpointed",
                "no signed checkpoint contains this entry yet; try again in a few seconds",
            )
        }),
    }
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
    let scope =
        crate::policy::access::proof_scope(&state.policy.current(), &who, &state.agencies, &state.bases.oversight)?;
    state.checkpoints.ensure_consistent().await?;
    let Some(entry) = state.store.audit_entry(&scope, q.index).await? else {
        if q.index < state.store.audit_end().await? {
            return Err(ApiError::forbidden(
                "entry_not_yours",
                "inclusion proofs are for the entry's requesting or owning agency, and privacy officers in scope",
            ));
        }
        return Err(ApiError::not_found("entry_not_found", "no log entry with that index"));
    };
    let cp = checkpoint_for(&state, q.index, q.size).await?;
    if q.index >= cp.size {
        return Err(ApiError::new(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            "index_out_of_range",
            "the entry is not in that checkpoint's tree",
        ));
    }
    let proof = match ProofBuilder::new(&state.store).inclusion(q.index, cp.size).await {
        Ok(p) => p,
        Err(e) => return Err(state.checkpoints.tree_failure(e).await.into()),
    };
    state
        .checkpoints
        .check_inclusion(&cp, q.index, &entry.entry, &entry.leaf_hash, &proof)
        .await?;
    let file = InclusionProofFile {
        extra: None,
        index: q.index,
        proof: proof.clone(),
        checkpoint: cp.note.clone(),
    };
    Ok(HttpResponse::Ok().json(InclusionView {
        index: q.index,
        tree_size: cp.size,
        leaf_hash: hex::encode(&entry.leaf_hash),
        proof: proof.iter().map(hex::encode).collect(),
        checkpoint: cp.note,
        tlog_proof: file.to_text(),
    }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    /// The older checkpoint's size.
    pub from: u64,
    /// The newer checkpoint's size; omit for the latest.
    pub to: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct ConsistencyView {
    pub from: u64,
    pub to: u64,
    /// Hex hashes.
    pub proof: Vec<String>,
    pub from_checkpoint: String,
    pub to_checkpoint: String,
    /// The same proof as a file for `tsunagi audit check-proof consistency`.
    pub proof_file: String,
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
    authorize(&state, &who, "audit:checkpoint")?;
    state.checkpoints.ensure_consistent().await?;
    let missing = || ApiError::not_found("checkpoint_not_found", "no signed checkpoint of that size");
    let old = state.store.checkpoint_at(q.from).await?.ok_or_else(missing)?;
    let new = match q.to {
        Some(to) => state.store.checkpoint_at(to).await?,
        None => state.store.latest_checkpoint().await?,
    }
    .ok_or_else(missing)?;
    if old.size > new.size {
        return Err(ApiError::new(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_proof_request",
            "'from' must not be larger than 'to'",
        ));
    }
    let proof = match ProofBuilder::new(&state.store).consistency(old.size, new.size).await {
        Ok(p) => p,
        Err(e) => return Err(state.checkpoints.tree_failure(e).await.into()),
    };
    state.checkpoints.check_consistency(&old, &new, &proof).await?;
    let file = ConsistencyProofFile {
        proof: proof.clone(),
        old_checkpoint: old.note.clone(),
        new_checkpoint: new.note.clone(),
    };
    Ok(HttpResponse::Ok().json(ConsistencyView {
        from: old.size,
        to: new.size,
        proof: proof.iter().map(hex::encode).collect(),
        from_checkpoint: old.note,
        to_checkpoint: new.note,
        proof_file: file.to_text(),
    }))
}
