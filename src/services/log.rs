//! The log's transparency reads: signed checkpoints, the verifier keys, inclusion proofs for
//! receipts and consistency proofs between checkpoints. Checkpoints, keys and consistency proofs
//! carry no personal data, so every authenticated user may fetch them (`audit:checkpoint`); an
//! inclusion proof is for the entry's requesting or owning agency (`audit:proof`), or a privacy
//! officer (`audit:read`) whose log scope holds the entry (`policy::access::proof_scope`).
//!
//! A proof is checked before it is handed out (the entry hashes to its leaf hash, the proof
//! verifies against the checkpoint's signed root). Once any check of the log has failed, proofs
//! are refused with 503 `log_inconsistent` until an operator clears the latch. Positions and
//! sizes the log does not have are 404 or 422, never a server error.

use serde::Serialize;
use utoipa::ToSchema;

use crate::audit::proof_file::{ConsistencyProofFile, InclusionProofFile};
use crate::audit::proofs::ProofBuilder;
use crate::http::error::ApiError;
use crate::policy::access;
use crate::principal::Principal;
use crate::state::AppState;
use crate::store::StoredCheckpoint;

fn may_read_checkpoints(state: &AppState, who: &Principal) -> Result<(), ApiError> {
    Ok(access::permitted(&state.policy.current(), who, "audit:checkpoint")?)
}

/// The stored signed checkpoint of tree size `size`, or the latest (signing one now if the log
/// has none yet); 404 `checkpoint_not_found` when there is no such checkpoint.
pub async fn checkpoint(state: &AppState, who: &Principal, size: Option<u64>) -> Result<StoredCheckpoint, ApiError> {
    may_read_checkpoints(state, who)?;
    let cp = match size {
        Some(size) => state.store.checkpoint_at(size).await?,
        None => match state.store.latest_checkpoint().await? {
            Some(cp) => Some(cp),
            None => {
                state.checkpoints.checkpoint_now().await?;
                state.store.latest_checkpoint().await?
            }
        },
    };
    cp.ok_or_else(|| ApiError::not_found("checkpoint_not_found", "no signed checkpoint of that size"))
}

/// The log's verifier keys (C2SP vkey text, one per line, current key first).
pub fn verifier_keys(state: &AppState, who: &Principal) -> Result<String, ApiError> {
    may_read_checkpoints(state, who)?;
    Ok(state.checkpoints.keys().vkeys_text())
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

/// The inclusion proof of entry `index` in the checkpoint of size `size` (default: the latest
/// one containing the entry), checked before it is returned.
pub async fn inclusion(
    state: &AppState,
    who: &Principal,
    index: u64,
    size: Option<u64>,
) -> Result<InclusionView, ApiError> {
    let scope = access::proof_scope(&state.policy.current(), who, &state.agencies, &state.bases.oversight)?;
    state.checkpoints.ensure_consistent().await?;
    let Some(entry) = state.store.audit_entry(&scope, index).await? else {
        if index < state.store.audit_end().await? {
            return Err(ApiError::forbidden(
                "entry_not_yours",
                "inclusion proofs are for the entry's requesting or owning agency, and privacy officers in scope",
            ));
        }
        return Err(ApiError::not_found("entry_not_found", "no log entry with that index"));
    };
    let cp = checkpoint_for(state, index, size).await?;
    if index >= cp.size {
        return Err(ApiError::new(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            "index_out_of_range",
            "the entry is not in that checkpoint's tree",
        ));
    }
    let proof = match ProofBuilder::new(&state.store).inclusion(index, cp.size).await {
        Ok(p) => p,
        Err(e) => return Err(state.checkpoints.tree_failure(e).await.into()),
    };
    state
        .checkpoints
        .check_inclusion(&cp, index, &entry.entry, &entry.leaf_hash, &proof)
        .await?;
    let file = InclusionProofFile {
        extra: None,
        index,
        proof: proof.clone(),
        checkpoint: cp.note.clone(),
    };
    Ok(InclusionView {
        index,
        tree_size: cp.size,
        leaf_hash: hex::encode(&entry.leaf_hash),
        proof: proof.iter().map(hex::encode).collect(),
        checkpoint: cp.note,
        tlog_proof: file.to_text(),
    })
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

/// The consistency proof from the checkpoint of size `from` to the one of size `to` (default:
/// the latest), checked before it is returned.
pub async fn consistency(
    state: &AppState,
    who: &Principal,
    from: u64,
    to: Option<u64>,
) -> Result<ConsistencyView, ApiError> {
    may_read_checkpoints(state, who)?;
    state.checkpoints.ensure_consistent().await?;
    let missing = || ApiError::not_found("checkpoint_not_found", "no signed checkpoint of that size");
    let old = state.store.checkpoint_at(from).await?.ok_or_else(missing)?;
    let new = match to {
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
    Ok(ConsistencyView {
        from: old.size,
        to: new.size,
        proof: proof.iter().map(hex::encode).collect(),
        from_checkpoint: old.note,
        to_checkpoint: new.note,
        proof_file: file.to_text(),
    })
}

/// The log's state for its privacy officers: how many entries it holds, the latest signed
/// checkpoint (the checkpointer verifies the whole stretch since the previous one before it signs
/// one, so its time is the last successful verification), and the inconsistency latch, if set.
#[derive(Debug)]
pub struct LogHealth {
    pub size: u64,
    pub latest: Option<StoredCheckpoint>,
    pub inconsistency: Option<crate::store::LogInconsistency>,
}

/// The log's health (privacy officers: 403 otherwise).
pub async fn health(state: &AppState, who: &Principal) -> Result<LogHealth, ApiError> {
    super::officer_scope(state, who)?;
    Ok(LogHealth {
        size: state.store.audit_end().await?,
        latest: state.store.latest_checkpoint().await?,
        inconsistency: state.store.log_inconsistency().await?,
    })
}

fn not_witnessed(state: &AppState, what: &str) -> ApiError {
    let detail = if state.witnesses.enabled() {
        format!(
            "{what} has not been cosigned by {} of the log's witnesses yet; try again in a few seconds",
            state.witnesses.k
        )
    } else {
        "this hub has no witnesses configured".to_owned()
    };
    ApiError::new(actix_web::http::StatusCode::CONFLICT, "not_yet_witnessed", detail)
}

/// Like [`checkpoint`], but only a witnessed one (at least `k` valid witness cosignatures), with
/// the cosignature lines appended to the note: the checkpoint of `size`, or the latest witnessed
/// one. 409 `not_yet_witnessed` when there is none.
pub async fn witnessed_checkpoint(
    state: &AppState,
    who: &Principal,
    size: Option<u64>,
) -> Result<(StoredCheckpoint, String), ApiError> {
    may_read_checkpoints(state, who)?;
    match size {
        Some(size) => {
            let cp = state
                .store
                .checkpoint_at(size)
                .await?
                .ok_or_else(|| ApiError::not_found("checkpoint_not_found", "no signed checkpoint of that size"))?;
            let note = state
                .witnesses
                .witnessed_note(&state.store, &cp)
                .await?
                .ok_or_else(|| not_witnessed(state, "that checkpoint"))?;
            Ok((cp, note))
        }
        None => state
            .witnesses
            .latest_witnessed(&state.store, None)
            .await?
            .ok_or_else(|| not_witnessed(state, "no checkpoint")),
    }
}

/// Like [`inclusion`], against a witnessed checkpoint (of `size`, or the latest witnessed one
/// that holds the entry); the checkpoint and the proof file carry the cosignatures.
pub async fn witnessed_inclusion(
    state: &AppState,
    who: &Principal,
    index: u64,
    size: Option<u64>,
) -> Result<InclusionView, ApiError> {
    access::proof_scope(&state.policy.current(), who, &state.agencies, &state.bases.oversight)?;
    let (cp, note) = match size {
        Some(size) => {
            let cp = state
                .store
                .checkpoint_at(size)
                .await?
                .ok_or_else(|| ApiError::not_found("checkpoint_not_found", "no signed checkpoint of that size"))?;
            let note = state
                .witnesses
                .witnessed_note(&state.store, &cp)
                .await?
                .ok_or_else(|| not_witnessed(state, "that checkpoint"))?;
            (cp, note)
        }
        None => state
            .witnesses
            .latest_witnessed(&state.store, Some(index))
            .await?
            .ok_or_else(|| not_witnessed(state, "no checkpoint holding this entry"))?,
    };
    let mut view = inclusion(state, who, index, Some(cp.size)).await?;
    let file = InclusionProofFile::parse(&view.tlog_proof).map_err(|e| ApiError::internal(&e))?;
    view.tlog_proof = InclusionProofFile {
        checkpoint: note.clone(),
        ..file
    }
    .to_text();
    view.checkpoint = note;
    Ok(view)
}
