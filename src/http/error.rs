//! The HTTP error boundary: one error type, stable machine-readable codes, and 5xx bodies that
//! never carry internals (the cause chain goes to the log, with a correlation id the client sees).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::audit::{AuditError, Receipt, Withheld};
use crate::domain::ValidationError;
use crate::services::disclosures::DisclosureError;
use crate::store::StoreError;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable reason, e.g. `consent_revoked`, `token_expired`.
    pub code: String,
    pub message: String,
    /// The request field a validation error is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For refused disclosures: the audit entry that records the refusal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_receipt: Option<Receipt>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub withheld: Option<Vec<Withheld>>,
    /// For internal errors: quote this id when reporting the problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident: Option<String>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub detail: Box<ErrorDetail>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.detail.code)
    }
}

impl ApiError {
    pub fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            detail: Box::new(ErrorDetail {
                code: code.into(),
                message: message.into(),
                field: None,
                audit_receipt: None,
                withheld: None,
                incident: None,
            }),
        }
    }

    pub fn unauthorized(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }
    pub fn forbidden(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }
    pub fn not_found(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }
    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// An internal failure: the cause is logged with an incident id; the client gets the id only.
    pub fn internal(cause: &dyn std::error::Error) -> Self {
        let incident = uuid::Uuid::new_v4().to_string();
        let mut chain = cause.to_string();
        let mut src = cause.source();
        while let Some(s) = src {
            chain.push_str(": ");
            chain.push_str(&s.to_string());
            src = s.source();
        }
        tracing::error!(%incident, error = %chain, "internal error");
        let mut e = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "an internal error occurred",
        );
        e.detail.incident = Some(incident);
        e
    }

    /// The audit log could not record: nothing was disclosed.
    /// The database did not answer within the bounded wait, or cannot take a write (a full
    /// disk): nothing changed; try again later (another instance may answer).
    pub fn database_unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable",
            "the database cannot be reached or written just now, so nothing changed; try again later",
        )
    }

    pub fn audit_unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "audit_unavailable",
            "the audit log could not record this request, so nothing was disclosed; try again later",
        )
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }
    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status).json(ErrorBody {
            error: ErrorDetail {
                code: self.detail.code.clone(),
                message: self.detail.message.clone(),
                field: self.detail.field.clone(),
                audit_receipt: self.detail.audit_receipt.clone(),
                withheld: self.detail.withheld.clone(),
                incident: self.detail.incident.clone(),
            },
        })
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        let mut a = Self::new(StatusCode::UNPROCESSABLE_ENTITY, e.code, e.message);
        a.detail.field = Some(e.field);
        a
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(code) => Self::new(
                StatusCode::CONFLICT,
                code,
                "the request conflicts with the current state",
            ),
            StoreError::NotFound(what) => Self::not_found(&format!("{what}_not_found"), format!("no such {what}")),
            StoreError::Erased => Self::new(
                StatusCode::GONE,
                "subject_erased",
                "the person's data was erased (APPI deletion or retention expiry): it can no longer be read or written",
            ),
            other if other.is_unavailable() => {
                tracing::error!(error = %other, "the database is unavailable");
                Self::database_unavailable()
            }
            other => Self::internal(&other),
        }
    }
}

impl From<crate::policy::access::AccessError> for ApiError {
    fn from(e: crate::policy::access::AccessError) -> Self {
        match e {
            crate::policy::access::AccessError::Refused { code, message } => Self::forbidden(code, message),
            crate::policy::access::AccessError::Policy(p) => Self::internal(&p),
        }
    }
}

impl From<AuditError> for ApiError {
    fn from(e: AuditError) -> Self {
        tracing::error!(error = %e, "audit append failed");
        Self::audit_unavailable()
    }
}

impl From<DisclosureError> for ApiError {
    fn from(e: DisclosureError) -> Self {
        match e {
            DisclosureError::Audit(a) => a.into(),
            DisclosureError::Store(s) => s.into(),
            DisclosureError::Policy(p) => Self::internal(&p),
        }
    }
}

/// Query strings that cannot be read as the operation's parameters: 400 `invalid_query` with the
/// usual error body (actix's default is a plain-text 400).
pub fn query_config() -> actix_web::web::QueryConfig {
    actix_web::web::QueryConfig::default()
        .error_handler(|err, _req| ApiError::bad_request("invalid_query", err.to_string()).into())
}
