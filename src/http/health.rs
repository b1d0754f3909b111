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

/// Readiness: the database answers and takes a write within `database_acquire_timeout_ms` (so
/// the disclosure log can be written). 503
/// `database_unavailable` or `audit_unavailable` otherwise, promptly; the disk's free space
/// (SQLite) is shown, and `low` is true once it is below `disk_min_free_mb`.
#[utoipa::path(get, path = "/readyz", responses(
    (status = 200, description = "ready: `{\"status\":\"ready\",\"disk\":{…}|null}`"),
    (status = 503, description = "not ready: the database does not answer (`database_unavailable`) or the log cannot be written (`audit_unavailable`)", body = super::error::ErrorBody),
))]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    match crate::health::readiness(&state, state.database_wait).await {
        Ok(disk) => Ok(HttpResponse::Ok().json(serde_json::json!({
            "status": "ready",
            "disk": disk,
            "tls": state.tls.dates(),
        }))),
        Err(crate::health::NotReady::Database) => Err(ApiError::database_unavailable()),
        Err(crate::health::NotReady::Log) => Err(ApiError::audit_unavailable()),
    }
}
