//! Shared case notes on a plan's team timeline (docs/rules.md#R-T9–R-T11): post and read.
//! `crate::services::notes` holds the use cases (the team gate, the per-note decision, the log
//! entries); this module parses and renders.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use crate::principal::Principal;
use crate::services;
use crate::state::AppState;

/// Registers this area's routes (under `/v1`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/plans/{id}/notes", web::post().to(post_note))
        .route("/plans/{id}/notes", web::get().to(read_notes));
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostNote {
    /// The note (free text; never an individual number).
    pub content: String,
    /// One category (docs/rules.md#R-C1); `case-notes` when absent. `reporter-identity` is
    /// refused (`category_sealed`).
    pub category: Option<String>,
    /// Why a special-care note (health, mental-health, disability) is needed: required under a
    /// support-meeting basis (`justification_required`).
    pub justification: Option<String>,
}

/// Posts a note to the plan's team timeline: the team gate (`not_on_team`, `left_team`,
/// `plan_ended`, each refusal logged), then the `case-note-posted` entry, then the sealed note;
/// the other agencies of the team are notified.
#[utoipa::path(post, path = "/v1/plans/{id}/notes", tag = "notes", request_body = PostNote,
    responses((status = 201, description = "the note's id, provenance and the receipt of its entry"),
        (status = 403, description = "not on the plan's team (`not_on_team`, `left_team`, `plan_ended`): logged", body = ErrorBody),
        (status = 404, description = "no such plan (`plan_not_found`)", body = ErrorBody),
        (status = 410, description = "the person's data was erased (`subject_erased`)", body = ErrorBody),
        (status = 422, description = "`category_sealed`, `justification_required`, `my_number_refused`, …: nothing stored or logged", body = ErrorBody),
        (status = 503, description = "the audit log is unavailable: nothing was stored", body = ErrorBody)))]
pub async fn post_note(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    body: web::Json<PostNote>,
) -> Result<HttpResponse, ApiError> {
    services::notes::may_write(&state, &who)?;
    let b = body.into_inner();
    let note = services::notes::parse(services::notes::NoteFields {
        content: b.content,
        category: b.category,
        justification: b.justification,
    })?;
    let posted = services::notes::post(&state, &who, &path, note).await?;
    Ok(HttpResponse::Created().json(posted))
}

/// The plan's team timeline, oldest first: one logged disclosure per read listing the note ids
/// released; notes the reader may not receive are listed by id with their withholding reason.
#[utoipa::path(get, path = "/v1/plans/{id}/notes", tag = "notes",
    responses((status = 200, description = "the notes released (with provenance), the withheld ones and the read's receipt"),
        (status = 403, description = "not on the plan's team (`not_on_team`, `left_team`, `plan_ended`): logged", body = ErrorBody),
        (status = 404, description = "no such plan (`plan_not_found`)", body = ErrorBody),
        (status = 410, description = "the person's data was erased (`subject_erased`)", body = ErrorBody),
        (status = 503, description = "the audit log is unavailable: nothing is read", body = ErrorBody)))]
pub async fn read_notes(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    services::notes::may_read(&state, &who)?;
    let timeline = services::notes::read(&state, &who, &path).await?;
    Ok(HttpResponse::Ok().json(timeline))
}
