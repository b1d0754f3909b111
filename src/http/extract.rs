//! Extractors: who is calling. The client certificate (from the TLS connection) names the
//! calling agency's system; the bearer token names the user. Both must agree on the agency.

use std::future::{Ready, ready};

use futures_util::future::{Either, LocalBoxFuture};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use rustls_pki_types::CertificateDer;

use super::error::ApiError;
use crate::domain::{AgencyId, Role, UserId};
use crate::principal::Principal;
use crate::state::AppState;

/// What the hub uses of the verified client certificate chain's leaf — the agency its SAN names
/// and its fingerprint — read once per connection by `on_connect` (not on every request of a
/// keep-alive connection).
#[derive(Debug, Clone)]
pub struct PeerCertificate {
    agency: Option<AgencyId>,
    fingerprint: String,
}

impl PeerCertificate {
    /// Reads `leaf`, a certificate the TLS layer has verified. A certificate that names no
    /// agency, several, or an invalid id has no agency ([`crate::tls::agency_from_cert`]).
    pub fn of(leaf: &CertificateDer<'_>) -> Self {
        Self {
            agency: crate::tls::agency_from_cert(leaf)
                .ok()
                .and_then(|a| AgencyId::parse(&a).ok()),
            fingerprint: crate::tls::cert_fingerprint(leaf),
        }
    }

    /// The agency the certificate names, if it names exactly one valid agency id.
    pub fn agency(&self) -> Option<&AgencyId> {
        self.agency.as_ref()
    }

    /// Lowercase hex SHA-256 of the certificate's DER.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
}

fn authenticate(req: &HttpRequest) -> Result<Principal, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::internal(&std::io::Error::other("application state missing")))?;
    let cert = req
        .conn_data::<PeerCertificate>()
        .ok_or_else(|| ApiError::unauthorized("client_certificate_missing", "a client certificate is required"))?;
    let cert_agency = cert
        .agency()
        .ok_or_else(|| ApiError::forbidden("client_certificate_unusable", "the client certificate names no agency"))?;
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::unauthorized("token_missing", "send the user's token as 'Authorization: Bearer …'"))?;
    let token = header.strip_prefix("Bearer ").ok_or_else(|| {
        ApiError::unauthorized("token_malformed", "the Authorization header must be 'Bearer <token>'")
    })?;
    let claims = state
        .jwt
        .verify(token.trim(), state.clock.now())
        .map_err(|e| ApiError::unauthorized(e.code(), e.to_string()))?;
    if claims.agency != cert_agency.as_str() {
        return Err(ApiError::forbidden(
            "agency_mismatch",
            "the token's agency differs from the agency of the client certificate",
        ));
    }
    // Equal to the certificate's, which is a valid agency id.
    let agency = cert_agency.clone();
    let registered = state
        .agencies
        .get(&agency)
        .ok_or_else(|| ApiError::forbidden("agency_unknown", "the agency is not registered with this hub"))?;
    let user = UserId::parse(&claims.sub)
        .map_err(|_| ApiError::unauthorized("token_malformed", "the token's subject is not a valid user id"))?;
    let roles = claims
        .roles
        .iter()
        .map(|r| Role::parse(r))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::unauthorized("token_role_unknown", e.message))?;
    Ok(Principal {
        user,
        agency,
        organ: registered.organ.clone(),
        roles,
        cert_fingerprint: cert.fingerprint().to_owned(),
    })
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Either<Ready<Result<Self, Self::Error>>, LocalBoxFuture<'static, Result<Self, Self::Error>>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        match authenticate(req) {
            // A key the hub does not hold yet (the issuer rotated): look at the issuer's keys
            // again — at most once per `jwt.min_refetch_secs` — and try once more.
            Err(e) if e.detail.code == "token_unknown_key" && may_refetch(req) => {
                let req = req.clone();
                Either::Right(Box::pin(async move {
                    if let Some(state) = req.app_data::<web::Data<AppState>>() {
                        // A failure keeps the keys in force (and is logged): the retry refuses.
                        let _ = state.jwt.refetch(false).await;
                    }
                    authenticate(&req)
                }))
            }
            other => Either::Left(ready(other)),
        }
    }
}

fn may_refetch(req: &HttpRequest) -> bool {
    req.app_data::<web::Data<AppState>>()
        .is_some_and(|state| state.jwt.may_refetch())
}

/// Asks the policy whether the principal may perform a management action.
pub fn authorize(state: &AppState, who: &Principal, action: &str) -> Result<(), ApiError> {
    Ok(crate::policy::access::permitted(&state.policy.current(), who, action)?)
}

/// The registered agency that request field `field` names (`invalid_id` or `agency_unknown`
/// against that field otherwise).
pub fn registered_agency(state: &AppState, field: &str, raw: &str) -> Result<AgencyId, crate::domain::ValidationError> {
    let id = AgencyId::parse(raw).map_err(|e| e.at(field))?;
    if !state.agencies.contains_key(&id) {
        return Err(crate::domain::ValidationError::new(
            field,
            "agency_unknown",
            format!("'{id}' is not a registered agency"),
        ));
    }
    Ok(id)
}
