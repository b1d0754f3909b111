//! Liveness and readiness. Both sit behind mutual TLS like everything else, but need no token.

use actix_web::{HttpResponse, web};

use super::error::ApiError;
use crate::state::AppState;

/// Liveness: the process answers. Also the "bare TLS hello" of the load benchmark.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "alive")))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(r#"{"status":"ok"}"#)
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/readyz", responses((status = 200, description = "ready"), (status = 500, description = "database unavailable")))]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.store.ping().await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"status": "ready"})))
}
