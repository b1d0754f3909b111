//! The console's error boundary. Handlers return [`ConsoleError`]; its response carries a
//! [`Failure`] (status, stable code, incident) that the console's middleware turns into an HTML
//! page in the person's language (the error itself does not know the request). A missing or
//! ended session is a redirect to the login page with the reason. 5xx pages never carry
//! internals: the cause goes to the tracing log with an incident id the page shows.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};

use crate::audit::AuditError;
use crate::http::ApiError;
use crate::store::StoreError;

/// What went wrong, for the page the middleware renders.
#[derive(Debug, Clone)]
pub struct Failure {
    pub status: StatusCode,
    pub code: String,
    pub incident: Option<String>,
}

#[derive(Debug)]
pub enum ConsoleError {
    /// No usable session: back to the login page, saying why (`login_required`,
    /// `session_expired`, `session_ended`, `session_certificate_mismatch`).
    LoginRequired(&'static str),
    /// Refused or failed with a stable code (the same codes as the JSON API).
    Coded {
        status: StatusCode,
        code: String,
        incident: Option<String>,
    },
}

impl ConsoleError {
    pub fn coded(status: StatusCode, code: &str) -> Self {
        ConsoleError::Coded {
            status,
            code: code.to_owned(),
            incident: None,
        }
    }

    pub fn not_found() -> Self {
        Self::coded(StatusCode::NOT_FOUND, "not_found")
    }

    /// A 500 whose cause is logged (never shown) under a fresh incident id.
    pub fn internal(cause: &str) -> Self {
        let incident = uuid::Uuid::new_v4().to_string();
        tracing::error!(incident = %incident, cause, "console internal error");
        ConsoleError::Coded {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal_error".to_owned(),
            incident: Some(incident),
        }
    }

    /// The stable code.
    pub fn code(&self) -> &str {
        match self {
            ConsoleError::LoginRequired(code) => code,
            ConsoleError::Coded { code, .. } => code,
        }
    }
}

impl std::fmt::Display for ConsoleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConsoleError::LoginRequired(code) => write!(f, "login required ({code})"),
            ConsoleError::Coded { status, code, .. } => write!(f, "{} {code}", status.as_u16()),
        }
    }
}

impl From<ApiError> for ConsoleError {
    fn from(e: ApiError) -> Self {
        ConsoleError::Coded {
            status: e.status,
            code: e.detail.code.clone(),
            incident: e.detail.incident.clone(),
        }
    }
}

impl From<StoreError> for ConsoleError {
    fn from(e: StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<AuditError> for ConsoleError {
    fn from(e: AuditError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<crate::policy::access::AccessError> for ConsoleError {
    fn from(e: crate::policy::access::AccessError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<crate::domain::ValidationError> for ConsoleError {
    fn from(e: crate::domain::ValidationError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<askama::Error> for ConsoleError {
    fn from(e: askama::Error) -> Self {
        ConsoleError::internal(&format!("template: {e}"))
    }
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            ConsoleError::LoginRequired(_) => StatusCode::SEE_OTHER,
            ConsoleError::Coded { status, .. } => *status,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ConsoleError::LoginRequired(code) => HttpResponse::SeeOther()
                .insert_header((header::LOCATION, format!("/console/login?reason={code}")))
                .finish(),
            ConsoleError::Coded { status, code, incident } => {
                let mut res = HttpResponse::build(*status).finish();
                res.extensions_mut().insert(Failure {
                    status: *status,
                    code: code.clone(),
                    incident: incident.clone(),
                });
                res
            }
        }
    }
}
