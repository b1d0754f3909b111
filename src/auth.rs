//! User authentication: verification of the JWTs that agency users carry,
//! against the issuer's public keys from a JWKS file, plus minting of
//! development tokens.
//!
//! Only asymmetric keys are accepted (OKP/Ed25519 pinned to EdDSA, EC/P-256
//! pinned to ES256). The token header's `alg` must equal the pinned
//! algorithm of the key its `kid` selects, so `alg: none`, HMAC (including
//! HMAC keyed with a public key) and RSA tokens are refused before any
//! signature work is done.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Longest token accepted; anything larger is refused unparsed.
/// Most verified tokens remembered at once.
const VERIFIED_CACHE_LIMIT: usize = 10_000;

pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// The claims of a Tsunagi user token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer; must equal the configured issuer.
    pub iss: String,
    /// Audience; must equal the configured audience (a single string).
    pub aud: String,
    /// The user's id within their agency.
    pub sub: String,
    /// The agency the user acts for; the hub checks it against the client
    /// certificate's agency.
    pub agency: String,
    /// The user's roles (non-empty); input to authorisation.
    pub roles: Vec<String>,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Not valid before, seconds since the epoch.
    pub nbf: i64,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Unique token id, for the audit log and replay analysis.
    pub jti: String,
}

/// Why a token (or key set) was refused.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    /// No token was presented.
    #[error("no bearer token was presented")]
    Missing,
    /// The token is not a well-formed compact JWS/JWT.
    #[error("the token is malformed")]
    Malformed,
    /// The header's `alg` is not the algorithm pinned for the key.
    #[error("the token's signature algorithm is not allowed")]
    AlgorithmNotAllowed,
    /// The header has no `kid`, or it names no key in the key set.
    #[error("the token's key id is missing or unknown")]
    UnknownKey,
    /// The signature does not verify.
    #[error("the token's signature is invalid")]
    BadSignature,
    /// `exp` is in the past (beyond the leeway).
    #[error("the token has expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("the token is not yet valid")]
    NotYetValid,
    /// `aud` is not the configured audience.
    #[error("the token is for another audience")]
    WrongAudience,
    /// `iss` is not the configured issuer.
    #[error("the token is from an unexpected issuer")]
    WrongIssuer,
    /// A required claim is absent (or empty).
    #[error("the token lacks the required claim `{0}`")]
    MissingClaim(&'static str),
    /// `sub` is (or contains) an individual number (My Number): a user is never named by one.
    #[error("the token's subject is refused: a user is never named by an individual number")]
    SubjectRefused,
    /// The JWKS is unusable; the message says why (never key material).
    #[error("invalid JWT key set: {0}")]
    InvalidKeySet(String),
    /// A token could not be signed (e.g. the signing key is not Ed25519 PKCS#8).
    #[error("cannot sign token: {0}")]
    SigningFailed(String),
}

impl AuthError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::Missing => "token_missing",
            AuthError::Malformed => "token_malformed",
            AuthError::AlgorithmNotAllowed => "token_algorithm_not_allowed",
            AuthError::UnknownKey => "token_unknown_key",
            AuthError::BadSignature => "token_signature_invalid",
            AuthError::Expired => "token_expired",
            AuthError::NotYetValid => "token_not_yet_valid",
            AuthError::WrongAudience => "token_wrong_audience",
            AuthError::WrongIssuer => "token_wrong_issuer",
            AuthError::MissingClaim(_) => "token_missing_claim",
            AuthError::SubjectRefused => "token_subject_refused",
            AuthError::InvalidKeySet(_) => "token_key_set_invalid",
            AuthError::SigningFailed(_) => "token_signing_failed",
        }
    }
}

/// Claim names we require, as `'static` strings for [`AuthError::MissingClaim`].
const REQUIRED_CLAIMS: [&str; 9] = ["iss", "aud", "sub", "agency", "roles", "exp", "nbf", "iat", "jti"];

fn static_claim_name(name: &str) -> &'static str {
    REQUIRED_CLAIMS
        .iter()
        .find(|c| **c == name)
        .copied()
        .unwrap_or("unknown")
}

/// Makes jsonwebtoken use its RustCrypto provider explicitly, rather than
/// relying on crate-feature detection (which panics at first use if feature
/// unification ever enables two backends).
fn ensure_jwt_provider() {
    // Err only means a provider is already installed.
    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
}

/// One verification key from the JWKS.
struct VerificationKey {
    /// The only algorithm this key may verify (EdDSA or ES256).
    alg: Algorithm,
    /// The public key.
    key: DecodingKey,
    /// Validation rules, with `algorithms` pinned to `alg`.
    validation: Validation,
}

/// Verifies user JWTs against a fixed key set, issuer and audience.
pub struct JwtVerifier {
    /// Keys by `kid`.
    keys: HashMap<String, VerificationKey>,
    /// Expected `iss`.
    issuer: String,
    /// Expected `aud`.
    audience: String,
    /// Allowed clock skew for `exp` and `nbf`, in seconds.
    leeway_secs: u64,
    /// Tokens that already passed full verification, by SHA-256 of the compact form, until
    /// their `exp` (without leeway): saves a signature check per request for a user's
    /// repeated calls. A hit only ever returns what a full check accepted earlier.
    verified: std::sync::RwLock<HashMap<[u8; 32], Claims>>,
}

impl fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut keys: Vec<(&str, Algorithm)> = self.keys.iter().map(|(k, v)| (k.as_str(), v.alg)).collect();
        keys.sort_by(|a, b| a.0.cmp(b.0));
        f.debug_struct("JwtVerifier")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("leeway_secs", &self.leeway_secs)
            .field("keys", &keys)
            .finish()
    }
}

fn key_set_error(msg: impl Into<String>) -> AuthError {
    AuthError::InvalidKeySet(msg.into())
}

fn str_member<'a>(jwk: &'a Map<String, Value>, name: &str, kid: &str) -> Result<&'a str, AuthError> {
    match jwk.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(key_set_error(format!("key {kid:?}: member `{name}` is not a string"))),
        None => Err(key_set_error(format!("key {kid:?}: member `{name}` is missing"))),
    }
}

/// A base64url member that must decode to exactly `len` bytes.
fn coordinate<'a>(jwk: &'a Map<String, Value>, name: &str, len: usize, kid: &str) -> Result<&'a str, AuthError> {
    let text = str_member(jwk, name, kid)?;
    match URL_SAFE_NO_PAD.decode(text) {
        Ok(bytes) if bytes.len() == len => Ok(text),
        _ => Err(key_set_error(format!(
            "key {kid:?}: `{name}` is not {len} base64url-encoded bytes"
        ))),
    }
}

fn parse_jwk(jwk: &Map<String, Value>) -> Result<(String, Algorithm, DecodingKey), AuthError> {
    let kid = match jwk.get("kid") {
        Some(Value::String(k)) if !k.is_empty() => k.clone(),
        _ => return Err(key_set_error("a key has no `kid`")),
    };
    if jwk.contains_key("d") || jwk.contains_key("k") {
        return Err(key_set_error(format!(
            "key {kid:?} contains private or symmetric key material"
        )));
    }
    let kty = str_member(jwk, "kty", &kid)?;
    let (alg, key) = match kty {
        "OKP" => {
            let crv = str_member(jwk, "crv", &kid)?;
            if crv != "Ed25519" {
                return Err(key_set_error(format!(
                    "key {kid:?}: OKP curve {crv:?} is not supported (only Ed25519)"
                )));
            }
            let x = coordinate(jwk, "x", 32, &kid)?;
            let key = DecodingKey::from_ed_components(x)
                .map_err(|_| key_set_error(format!("key {kid:?}: invalid Ed25519 key")))?;
            (Algorithm::EdDSA, key)
        }
        "EC" => {
            let crv = str_member(jwk, "crv", &kid)?;
            if crv != "P-256" {
                return Err(key_set_error(format!(
                    "key {kid:?}: EC curve {crv:?} is not supported (only P-256)"
                )));
            }
            let x = coordinate(jwk, "x", 32, &kid)?;
            let y = coordinate(jwk, "y", 32, &kid)?;
            let key = DecodingKey::from_ec_components(x, y)
                .map_err(|_| key_set_error(format!("key {kid:?}: invalid P-256 key")))?;
            (Algorithm::ES256, key)
        }
        other => {
            return Err(key_set_error(format!(
                "key {kid:?}: key type {other:?} is not allowed (only OKP/Ed25519 and EC/P-256)"
            )));
        }
    };
    let pinned = match alg {
        Algorithm::EdDSA => "EdDSA",
        _ => "ES256",
    };
    if let Some(declared) = jwk.get("alg")
        && declared.as_str() != Some(pinned)
    {
        return Err(key_set_error(format!(
            "key {kid:?}: `alg` must be {pinned} for a {kty} key"
        )));
    }
    if let Some(usage) = jwk.get("use")
        && usage.as_str() != Some("sig")
    {
        return Err(key_set_error(format!("key {kid:?}: `use` must be \"sig\"")));
    }
    if let Some(ops) = jwk.get("key_ops") {
        let verifies = ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some("verify")));
        if !verifies {
            return Err(key_set_error(format!(
                "key {kid:?}: `key_ops` does not allow \"verify\""
            )));
        }
    }
    // Build a verifier now so a point off the curve (or any other key defect)
    // is reported at load time instead of on every request.
    (jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.verifier_factory)(&alg, &key)
        .map_err(|_| key_set_error(format!("key {kid:?}: not a valid {pinned} public key")))?;
    Ok((kid, alg, key))
}

/// The parts of the JOSE header inspected before any cryptography.
struct PeekedHeader {
    alg: String,
    kid: Option<String>,
}

fn peek_header(token: &str) -> Result<PeekedHeader, AuthError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_payload), Some(_sig), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::Malformed);
    };
    let bytes = URL_SAFE_NO_PAD.decode(header).map_err(|_| AuthError::Malformed)?;
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(&bytes) else {
        return Err(AuthError::Malformed);
    };
    // No JWS extensions are understood, so any `crit` must be refused
    // (RFC 7515 §4.1.11); that also covers unencoded payloads (`b64`).
    if map.contains_key("crit") || map.contains_key("b64") {
        return Err(AuthError::Malformed);
    }
    let alg = match map.get("alg") {
        Some(Value::String(a)) => a.clone(),
        _ => return Err(AuthError::Malformed),
    };
    let kid = match map.get("kid") {
        None | Some(Value::Null) => None,
        Some(Value::String(k)) => Some(k.clone()),
        Some(_) => return Err(AuthError::Malformed),
    };
    Ok(PeekedHeader { alg, kid })
}

fn map_jwt_error(err: &jsonwebtoken::errors::Error) -> AuthError {
    match err.kind() {
        ErrorKind::ExpiredSignature => AuthError::Expired,
        ErrorKind::ImmatureSignature => AuthError::NotYetValid,
        ErrorKind::InvalidAudience => AuthError::WrongAudience,
        ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
        ErrorKind::MissingRequiredClaim(c) => AuthError::MissingClaim(static_claim_name(c)),
        ErrorKind::InvalidSignature => AuthError::BadSignature,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::MissingAlgorithm
        | ErrorKind::UnsupportedAlgorithm
        | ErrorKind::InvalidAlgorithmName => AuthError::AlgorithmNotAllowed,
        // Malformed tokens, claims of the wrong type, base64/JSON/UTF-8
        // errors, and anything newer versions add.
        _ => AuthError::Malformed,
    }
}

impl JwtVerifier {
    /// Loads a JWKS (RFC 7517) file. Only OKP/Ed25519 keys (pinned to
    /// EdDSA) and EC/P-256 keys (pinned to ES256) are accepted; each key
    /// must have a unique kid; any other key type, curve or alg in the set,
    /// or private key material, is an error ([`AuthError::InvalidKeySet`]).
    pub fn from_jwks_file(path: &Path, issuer: &str, audience: &str, leeway_secs: u64) -> Result<Self, AuthError> {
        let json = std::fs::read_to_string(path)
            .map_err(|e| key_set_error(format!("cannot read JWKS file {}: {e}", path.display())))?;
        Self::from_jwks_json(&json, issuer, audience, leeway_secs).map_err(|e| match e {
            AuthError::InvalidKeySet(msg) => key_set_error(format!("JWKS file {}: {msg}", path.display())),
            other => other,
        })
    }

    /// Like [`JwtVerifier::from_jwks_json`], for an identity provider's published key set
    /// (discovery): keys this hub never accepts — other key types (e.g. RSA), other curves,
    /// encryption keys (`use` = `enc`) — are left out rather than refused, since a provider
    /// publishes keys for many clients; every key kept is checked and pinned as usual, and a
    /// set with private or symmetric key material is still refused. Returns how many keys were
    /// left out. An error if no usable key remains.
    pub fn from_published_jwks(
        json: &str,
        issuer: &str,
        audience: &str,
        leeway_secs: u64,
    ) -> Result<(Self, usize), AuthError> {
        let set: Value = serde_json::from_str(json).map_err(|e| key_set_error(format!("not JSON: {e}")))?;
        let Some(Value::Array(entries)) = set.get("keys") else {
            return Err(key_set_error("no `keys` array"));
        };
        let mut kept = Vec::new();
        for entry in entries {
            if entry.get("d").is_some() || entry.get("k").is_some() {
                return Err(key_set_error(
                    "the published key set contains private or symmetric key material",
                ));
            }
            let kty = entry.get("kty").and_then(Value::as_str);
            let crv = entry.get("crv").and_then(Value::as_str);
            let ours = matches!((kty, crv), (Some("OKP"), Some("Ed25519")) | (Some("EC"), Some("P-256")));
            let signing = entry.get("use").is_none_or(|u| u.as_str() == Some("sig"));
            if ours && signing {
                kept.push(entry.clone());
            }
        }
        let skipped = entries.len() - kept.len();
        let verifier = Self::from_jwks_json(
            &serde_json::json!({ "keys": kept }).to_string(),
            issuer,
            audience,
            leeway_secs,
        )?;
        Ok((verifier, skipped))
    }

    /// The key ids this verifier holds, sorted.
    pub fn kids(&self) -> Vec<String> {
        let mut kids: Vec<String> = self.keys.keys().cloned().collect();
        kids.sort_unstable();
        kids
    }

    /// Like [`JwtVerifier::from_jwks_file`], from the JWKS text.
    pub fn from_jwks_json(json: &str, issuer: &str, audience: &str, leeway_secs: u64) -> Result<Self, AuthError> {
        ensure_jwt_provider();
        if issuer.is_empty() || audience.is_empty() {
            return Err(key_set_error("issuer and audience must be non-empty"));
        }
        let set: Value = serde_json::from_str(json).map_err(|e| key_set_error(format!("not JSON: {e}")))?;
        let Some(Value::Array(entries)) = set.get("keys") else {
            return Err(key_set_error("no `keys` array"));
        };
        if entries.is_empty() {
            return Err(key_set_error("the `keys` array is empty"));
        }
        let mut keys = HashMap::new();
        for entry in entries {
            let Value::Object(jwk) = entry else {
                return Err(key_set_error("a key is not a JSON object"));
            };
            let (kid, alg, key) = parse_jwk(jwk)?;
            let mut validation = Validation::new(alg);
            validation.leeway = leeway_secs;
            // `exp` and `nbf` are checked against the hub's clock (a parameter of `verify`), not
            // the library's reading of the system time; their presence is still required here.
            validation.validate_exp = false;
            validation.validate_nbf = false;
            validation.validate_aud = true;
            validation.set_issuer(&[issuer]);
            validation.set_audience(&[audience]);
            validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
            if keys
                .insert(kid.clone(), VerificationKey { alg, key, validation })
                .is_some()
            {
                return Err(key_set_error(format!("duplicate kid {kid:?}")));
            }
        }
        Ok(JwtVerifier {
            keys,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            leeway_secs,
            verified: std::sync::RwLock::new(HashMap::new()),
        })
    }

    /// Verifies a compact JWS and returns its claims.
    ///
    /// The header's `kid` selects the key (required); the header's `alg`
    /// must equal that key's pinned algorithm, checked before any signature
    /// work. `exp`, `nbf`, `iss`, `aud`, `sub`, `agency`, `roles`
    /// (non-empty), `iat` and `jti` are required; `exp` and `nbf` are
    /// checked with the configured leeway against `now` (the hub's [`crate::clock::Clock`]).
    pub fn verify(&self, token: &str, now: time::OffsetDateTime) -> Result<Claims, AuthError> {
        let now = now.unix_timestamp();
        let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
        let key: [u8; 32] = digest.as_ref().try_into().map_err(|_| AuthError::Malformed)?;
        if let Ok(cache) = self.verified.read()
            && let Some(claims) = cache.get(&key)
            && now < claims.exp
        {
            return Ok(claims.clone());
        }
        let claims = self.verify_uncached(token, now)?;
        if let Ok(mut cache) = self.verified.write() {
            if cache.len() >= VERIFIED_CACHE_LIMIT {
                cache.retain(|_, c| now < c.exp);
                if cache.len() >= VERIFIED_CACHE_LIMIT {
                    cache.clear();
                }
            }
            cache.insert(key, claims.clone());
        }
        Ok(claims)
    }

    /// Full verification, without the cache of already-verified tokens; `now` in seconds since
    /// the epoch.
    pub fn verify_uncached(&self, token: &str, now: i64) -> Result<Claims, AuthError> {
        if token.is_empty() {
            return Err(AuthError::Missing);
        }
        if token.len() > MAX_TOKEN_LEN {
            return Err(AuthError::Malformed);
        }
        let header = peek_header(token)?;
        if header.alg != "EdDSA" && header.alg != "ES256" {
            return Err(AuthError::AlgorithmNotAllowed);
        }
        let entry = header
            .kid
            .as_deref()
            .and_then(|kid| self.keys.get(kid))
            .ok_or(AuthError::UnknownKey)?;
        let pinned = match entry.alg {
            Algorithm::EdDSA => "EdDSA",
            _ => "ES256",
        };
        if header.alg != pinned {
            return Err(AuthError::AlgorithmNotAllowed);
        }

        let data =
            jsonwebtoken::decode::<Value>(token, &entry.key, &entry.validation).map_err(|e| map_jwt_error(&e))?;
        let Value::Object(claims) = data.claims else {
            return Err(AuthError::Malformed);
        };
        for name in REQUIRED_CLAIMS {
            if claims.get(name).is_none_or(Value::is_null) {
                return Err(AuthError::MissingClaim(name));
            }
        }
        let claims: Claims = serde_json::from_value(Value::Object(claims)).map_err(|_| AuthError::Malformed)?;
        if claims.sub.is_empty() {
            return Err(AuthError::MissingClaim("sub"));
        }
        if crate::domain::my_number::contains_individual_number(&claims.sub) {
            return Err(AuthError::SubjectRefused);
        }
        if claims.agency.is_empty() {
            return Err(AuthError::MissingClaim("agency"));
        }
        if claims.roles.is_empty() || claims.roles.iter().any(String::is_empty) {
            return Err(AuthError::MissingClaim("roles"));
        }
        if claims.jti.is_empty() {
            return Err(AuthError::MissingClaim("jti"));
        }
        // RFC 7519 §4.1.4/§4.1.5 with the configured leeway, as the library would check them.
        let leeway = i64::try_from(self.leeway_secs).unwrap_or(i64::MAX);
        if claims.exp < now.saturating_sub(leeway) {
            return Err(AuthError::Expired);
        }
        if claims.nbf > now.saturating_add(leeway) {
            return Err(AuthError::NotYetValid);
        }
        Ok(claims)
    }
}

/// Mints an EdDSA token with the given claims, `kid` in the header, signed
/// with an Ed25519 PKCS#8 PEM key.
pub fn mint_token(signing_key_pem: &[u8], kid: &str, claims: &Claims) -> Result<String, AuthError> {
    ensure_jwt_provider();
    let key = EncodingKey::from_ed_pem(signing_key_pem)
        .map_err(|_| AuthError::SigningFailed("signing key is not an Ed25519 PKCS#8 PEM key".to_owned()))?;
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &key).map_err(|e| {
        AuthError::SigningFailed(match e.kind() {
            ErrorKind::InvalidEddsaKey | ErrorKind::InvalidKeyFormat => {
                "signing key is not a usable Ed25519 key".to_owned()
            }
            _ => "signing failed".to_owned(),
        })
    })
}

/// Claims for the `tsunagi token` dev command and tests: `user` of `agency`
/// with `roles`, valid from `now_unix` for `ttl_secs`, random `jti`.
pub fn dev_claims(
    issuer: &str,
    audience: &str,
    user: &str,
    agency: &str,
    roles: &[String],
    ttl_secs: i64,
    now_unix: i64,
) -> Claims {
    Claims {
        iss: issuer.to_owned(),
        aud: audience.to_owned(),
        sub: user.to_owned(),
        agency: agency.to_owned(),
        roles: roles.to_vec(),
        exp: now_unix.saturating_add(ttl_secs),
        nbf: now_unix,
        iat: now_unix,
        jti: uuid::Uuid::new_v4().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock as _;
    use crate::devcerts::{self, DEV_AUDIENCE, DEV_ISSUER, DEV_JWT_KID};
    use rcgen::KeyPair;
    use serde_json::json;
    use tempfile::TempDir;

    struct Fixture {
        _dir: TempDir,
        jwks_path: std::path::PathBuf,
        signing_key: Vec<u8>,
        verifier: JwtVerifier,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        devcerts::generate(dir.path()).unwrap();
        let jwks_path = dir.path().join("jwks.json");
        let signing_key = std::fs::read(dir.path().join("jwt-signing.key")).unwrap();
        let verifier = JwtVerifier::from_jwks_file(&jwks_path, DEV_ISSUER, DEV_AUDIENCE, 30).unwrap();
        Fixture {
            _dir: dir,
            jwks_path,
            signing_key,
            verifier,
        }
    }

    fn now_at() -> time::OffsetDateTime {
        crate::clock::SystemClock.now()
    }

    fn now() -> i64 {
        now_at().unix_timestamp()
    }

    fn claims() -> Claims {
        dev_claims(
            DEV_ISSUER,
            DEV_AUDIENCE,
            "user-1",
            "jobota",
            &["caseworker".to_owned()],
            300,
            now(),
        )
    }

    fn b64(v: &Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    }

    /// Signs arbitrary header/claims JSON with an Ed25519 PKCS#8 PEM key.
    fn sign_raw_ed(key_pem: &[u8], header: &Value, claims: &Value) -> String {
        let msg = format!("{}.{}", b64(header), b64(claims));
        let key = EncodingKey::from_ed_pem(key_pem).unwrap();
        let sig = jsonwebtoken::crypto::sign(msg.as_bytes(), &key, Algorithm::EdDSA).unwrap();
        format!("{msg}.{sig}")
    }

    fn claims_json() -> Value {
        serde_json::to_value(claims()).unwrap()
    }

    #[test]
    fn good_eddsa_token_verifies() {
        let f = fixture();
        let c = claims();
        let token = mint_token(&f.signing_key, DEV_JWT_KID, &c).unwrap();
        assert_eq!(f.verifier.verify(&token, now_at()).unwrap(), c);
    }

    #[test]
    fn good_es256_token_verifies() {
        let f = fixture();
        let ec = KeyPair::generate().unwrap(); // ECDSA P-256
        let point = ec.public_key_raw(); // 0x04 || x || y
        assert_eq!(point.len(), 65);
        let mut jwks: Value = serde_json::from_str(&std::fs::read_to_string(&f.jwks_path).unwrap()).unwrap();
        jwks["keys"].as_array_mut().unwrap().push(json!({
            "kty": "EC", "crv": "P-256", "kid": "ec-1", "alg": "ES256", "use": "sig",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..]),
        }));
        let verifier = JwtVerifier::from_jwks_json(&jwks.to_string(), DEV_ISSUER, DEV_AUDIENCE, 0).unwrap();
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some("ec-1".to_owned());
        let key = EncodingKey::from_ec_pem(ec.serialize_pem().as_bytes()).unwrap();
        let c = claims();
        let token = jsonwebtoken::encode(&header, &c, &key).unwrap();
        assert_eq!(verifier.verify(&token, now_at()).unwrap(), c);
        // The Ed25519 key is still usable in the same set.
        let ed = mint_token(&f.signing_key, DEV_JWT_KID, &c).unwrap();
        assert_eq!(verifier.verify(&ed, now_at()).unwrap(), c);
        // ES256 header naming the Ed25519 key: refused before verification.
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(DEV_JWT_KID.to_owned());
        let token = jsonwebtoken::encode(&header, &c, &key).unwrap();
        assert_eq!(verifier.verify(&token, now_at()), Err(AuthError::AlgorithmNotAllowed));
    }

    #[test]
    fn alg_none_is_refused() {
        let f = fixture();
        for header in [
            json!({"alg": "none", "typ": "JWT", "kid": DEV_JWT_KID}),
            json!({"alg": "none"}),
            json!({"alg": "None", "kid": DEV_JWT_KID}),
        ] {
            for sig in ["", "AAAA"] {
                let token = format!("{}.{}.{sig}", b64(&header), b64(&claims_json()));
                assert_eq!(f.verifier.verify(&token, now_at()), Err(AuthError::AlgorithmNotAllowed));
            }
        }
    }

    #[test]
    fn hs256_keyed_with_public_key_is_refused() {
        let f = fixture();
        let jwks: Value = serde_json::from_str(&std::fs::read_to_string(&f.jwks_path).unwrap()).unwrap();
        let x = jwks["keys"][0]["x"].as_str().unwrap();
        let public = URL_SAFE_NO_PAD.decode(x).unwrap();
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            let mut header = Header::new(alg);
            header.kid = Some(DEV_JWT_KID.to_owned());
            for secret in [public.as_slice(), x.as_bytes()] {
                let token = jsonwebtoken::encode(&header, &claims(), &EncodingKey::from_secret(secret)).unwrap();
                assert_eq!(f.verifier.verify(&token, now_at()), Err(AuthError::AlgorithmNotAllowed));
            }
        }
    }

    #[test]
    fn rsa_and_other_algs_are_refused_by_header() {
        let f = fixture();
        for alg in ["RS256", "PS256", "ES384", "ES512", "EdDSA2", ""] {
            let header = json!({"alg": alg, "kid": DEV_JWT_KID});
            let token = format!("{}.{}.AAAA", b64(&header), b64(&claims_json()));
            assert_eq!(
                f.verifier.verify(&token, now_at()),
                Err(AuthError::AlgorithmNotAllowed),
                "{alg}"
            );
        }
    }

    #[test]
    fn expired_token_is_refused() {
        let f = fixture();
        let mut c = claims();
        c.nbf -= 7200;
        c.iat -= 7200;
        c.exp = now() - 31; // leeway is 30
        let token = mint_token(&f.signing_key, DEV_JWT_KID, &c).unwrap();
        assert_eq!(f.verifier.verify(&token, now_at()), Err(AuthError::Expired));
        // Within leeway it is still accepted.
        c.exp = now() - 10;
        let token = mint_token(&f.signing_key, DEV_JWT_KID, &c).unwrap();
        assert!(f.verifier.verify(&token, now_at()).is_ok());
    }

    #[test]
    fn expiry_is_judged_by_the_clock_passed_in() {
        let f = fixture();
        let c = claims();
        let token = mint_token(&f.signing_key, DEV_JWT_KID, &c).unwrap();
        let later = now_at() + time::Duration::seconds(c.exp - now() + 31);
        let earlier = now_at() - time::Duration::seconds(now() - c.nbf + 31);
        assert_eq!(f.verifier.verify(&token, later), Err(AuthError::Expired));
        assert_eq!(f.verifier.verify(&token, earlier), Err(AuthError::NotYetValid));
        assert_eq!(f.verifier.verify(&token, now_at()).unwrap(), c);
        // A cached token is still refused once the clock passes its expiry.
        assert_eq!(f.verifier.verify(&token, later), Err(AuthError::Expired));
    }

    #[test]
    fn future_nbf_is_refused() {
        let f = fixture();
        let mut c = claims();
        c.nbf = now() + 600;
        c.exp = now() + 1200;
        let token = mint_token(&f.signing_key, DEV_JWT_KID, &c).unwrap();
        assert_eq!(f.verifier.verify(&token, now_at()), Err(AuthError::NotYetValid));
    }

    #[test]
    fn wrong_audience_and_issuer_are_refused() {
        let f = fixture();
        let mut c = claims();
        c.aud = "someone-else".to_owned();
        let token = mint_token(&f.signing_key, DEV_JWT_KID, &c).unwrap();
        assert_eq!(f.verifier.verify(&token, now_at()), Err(AuthError::WrongAudience));
        let mut c = claims();
        c.iss = "evil-issuer".to_owned();
        let token = mint_token(&f.signing_key, DEV_JWT_KID, &c).unwrap();
        assert_eq!(f.verifier.verify(&token, now_at()), Err(AuthError::WrongIssuer));
    }

    #[test]
    fn missing_claims_are_refused() {
        let f = fixture();
        for name in REQUIRED_CLAIMS {
            let mut c = claims_json();
            c.as_object_mut().unwrap().remove(name);
            let token = sign_raw_ed(&f.signing_key, &json!({"alg": "EdDSA", "kid": DEV_JWT_KID}), &c);
            assert_eq!(
                f.verifier.verify(&token, now_at()),
                Err(AuthError::MissingClaim(name)),
                "{name}"
            );
        }
        let mut c = claims();
        c.roles.clear();
        let token = mint_token(&f.signing_key, DEV_JWT_KID, &c).unwrap();
        assert_eq!(
            f.verifier.verify(&token, now_at()),
            Err(AuthError::MissingClaim("roles"))
        );
        let mut c = claims();
        c.sub.clear();
        let token = mint_token(&f.signing_key, DEV_JWT_KID, &c).unwrap();
        assert_eq!(f.verifier.verify(&token, now_at()), Err(AuthError::MissingClaim("sub")));
        assert_eq!(AuthError::MissingClaim("sub").code(), "token_missing_claim");
    }

    #[test]
    fn a_my_number_subject_is_refused() {
        let f = fixture();
        for sub in ["526044213780", "5260-4421-3780", "５２６０ー４４２１ー３７８０"] {
            let mut c = claims();
            c.sub = sub.to_owned();
            let token = mint_token(&f.signing_key, DEV_JWT_KID, &c).unwrap();
            assert_eq!(
                f.verifier.verify(&token, now_at()),
                Err(AuthError::SubjectRefused),
                "{sub}"
            );
        }
        let mut c = claims();
        c.sub = "526044213781".to_owned(); // twelve digits, invalid check digit: an ordinary id
        let token = mint_token(&f.signing_key, DEV_JWT_KID, &c).unwrap();
        assert!(f.verifier.verify(&token, now_at()).is_ok());
    }

    #[test]
    fn wrongly_typed_claims_are_malformed() {
        let f = fixture();
        let mut c = claims_json();
        c["roles"] = json!("admin");
        let header = json!({"alg": "EdDSA", "kid": DEV_JWT_KID});
        let token = sign_raw_ed(&f.signing_key, &header, &c);
        assert_eq!(f.verifier.verify(&token, now_at()), Err(AuthError::Malformed));
        let mut c = claims_json();
        c["jti"] = json!(42);
        let token = sign_raw_ed(&f.signing_key, &header, &c);
        assert_eq!(f.verifier.verify(&token, now_at()), Err(AuthError::Malformed));
        // jsonwebtoken reports a registered claim it cannot parse as missing.
        let mut c = claims_json();
        c["exp"] = json!("tomorrow");
        let token = sign_raw_ed(&f.signing_key, &header, &c);
        assert_eq!(f.verifier.verify(&token, now_at()), Err(AuthError::MissingClaim("exp")));
        // Empty payload and signature with a known kid: the signature is
        // checked before the payload is ever parsed.
        let h = b64(&header);
        assert_eq!(
            f.verifier.verify(&format!("{h}.."), now_at()),
            Err(AuthError::BadSignature)
        );
    }

    #[test]
    fn unknown_or_missing_kid_is_refused() {
        let f = fixture();
        let token = mint_token(&f.signing_key, "no-such-key", &claims()).unwrap();
        assert_eq!(f.verifier.verify(&token, now_at()), Err(AuthError::UnknownKey));
        let token = sign_raw_ed(&f.signing_key, &json!({"alg": "EdDSA"}), &claims_json());
        assert_eq!(f.verifier.verify(&token, now_at()), Err(AuthError::UnknownKey));
    }

    #[test]
    fn signature_from_another_key_with_same_kid_is_refused() {
        let f = fixture();
        let other = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let token = mint_token(other.serialize_pem().as_bytes(), DEV_JWT_KID, &claims()).unwrap();
        assert_eq!(f.verifier.verify(&token, now_at()), Err(AuthError::BadSignature));
    }

    #[test]
    fn tampered_payload_is_refused() {
        let f = fixture();
        let token = mint_token(&f.signing_key, DEV_JWT_KID, &claims()).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let mut c = claims_json();
        c["agency"] = json!("child-services");
        let forged = format!("{}.{}.{}", parts[0], b64(&c), parts[2]);
        assert_eq!(f.verifier.verify(&forged, now_at()), Err(AuthError::BadSignature));
    }

    #[test]
    fn garbage_is_malformed_and_empty_is_missing() {
        let f = fixture();
        assert_eq!(f.verifier.verify("", now_at()), Err(AuthError::Missing));
        for t in [
            "garbage",
            "a.b",
            "a.b.c",
            "a.b.c.d",
            "...",
            "eyJhbGciOiJFZERTQSJ9",
            "W10.e30.AAAA", // header is a JSON array
            " ",
        ] {
            assert_eq!(f.verifier.verify(t, now_at()), Err(AuthError::Malformed), "{t:?}");
        }
        let huge = "a".repeat(MAX_TOKEN_LEN + 1);
        assert_eq!(f.verifier.verify(&huge, now_at()), Err(AuthError::Malformed));
        // Good header, payload not base64/JSON, bad signature: the signature
        // is checked first, so the junk payload is never parsed.
        let header = b64(&json!({"alg": "EdDSA", "kid": DEV_JWT_KID}));
        let token = format!("{header}.!!!.AAAA");
        assert_eq!(f.verifier.verify(&token, now_at()), Err(AuthError::BadSignature));
        // Correctly signed payload that is not JSON.
        let msg = format!("{header}.{}", URL_SAFE_NO_PAD.encode(b"not json"));
        let key = EncodingKey::from_ed_pem(&f.signing_key).unwrap();
        let sig = jsonwebtoken::crypto::sign(msg.as_bytes(), &key, Algorithm::EdDSA).unwrap();
        assert_eq!(
            f.verifier.verify(&format!("{msg}.{sig}"), now_at()),
            Err(AuthError::Malformed)
        );
        // Unsupported critical header extension.
        let token = sign_raw_ed(
            &f.signing_key,
            &json!({"alg": "EdDSA", "kid": DEV_JWT_KID, "crit": ["exp"]}),
            &claims_json(),
        );
        assert_eq!(f.verifier.verify(&token, now_at()), Err(AuthError::Malformed));
    }

    fn jwks_error(keys: Value) -> AuthError {
        JwtVerifier::from_jwks_json(&json!({ "keys": keys }).to_string(), "i", "a", 0).unwrap_err()
    }

    #[test]
    fn key_sets_with_disallowed_keys_are_refused() {
        let ed_x = URL_SAFE_NO_PAD.encode([7u8; 32]);
        let cases = [
            json!([{"kty": "RSA", "kid": "r", "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw", "e": "AQAB"}]),
            json!([{"kty": "oct", "kid": "h", "k": "c2VjcmV0", "alg": "HS256"}]),
            json!([{"kty": "OKP", "crv": "Ed25519", "x": ed_x, "kid": "ok", "alg": "EdDSA"},
                   {"kty": "oct", "kid": "h", "k": "c2VjcmV0"}]),
            json!([{"kty": "OKP", "crv": "Ed25519", "x": ed_x, "kid": "k", "alg": "HS256"}]),
            json!([{"kty": "OKP", "crv": "Ed25519", "x": ed_x}]),
            json!([{"kty": "OKP", "crv": "Ed25519", "x": ed_x, "kid": ""}]),
            json!([{"kty": "OKP", "crv": "Ed448", "x": ed_x, "kid": "k"}]),
            json!([{"kty": "OKP", "crv": "Ed25519", "x": "AAAA", "kid": "k"}]),
            json!([{"kty": "OKP", "crv": "Ed25519", "x": ed_x, "kid": "k", "d": ed_x}]),
            json!([{"kty": "OKP", "crv": "Ed25519", "x": ed_x, "kid": "k", "use": "enc"}]),
            json!([{"kty": "OKP", "crv": "Ed25519", "x": ed_x, "kid": "k"},
                   {"kty": "OKP", "crv": "Ed25519", "x": ed_x, "kid": "k"}]),
            json!([{"kty": "EC", "crv": "P-384", "x": ed_x, "y": ed_x, "kid": "e"}]),
            // P-256 coordinates that are not a point on the curve.
            json!([{"kty": "EC", "crv": "P-256", "x": ed_x, "y": ed_x, "kid": "e"}]),
            json!([]),
        ];
        for keys in cases {
            let err = jwks_error(keys.clone());
            assert!(matches!(err, AuthError::InvalidKeySet(_)), "{keys}: {err:?}");
            assert_eq!(err.code(), "token_key_set_invalid");
        }
        for bad in ["", "{}", "[]", "{\"keys\": 5}", "{\"keys\": [5]}"] {
            let err = JwtVerifier::from_jwks_json(bad, "i", "a", 0).unwrap_err();
            assert!(matches!(err, AuthError::InvalidKeySet(_)), "{bad}");
        }
        let err = JwtVerifier::from_jwks_file(Path::new("/nonexistent/jwks.json"), "i", "a", 0).unwrap_err();
        assert!(matches!(err, AuthError::InvalidKeySet(m) if m.contains("/nonexistent/jwks.json")));
    }

    #[test]
    fn debug_does_not_print_key_material() {
        let f = fixture();
        let jwks: Value = serde_json::from_str(&std::fs::read_to_string(&f.jwks_path).unwrap()).unwrap();
        let x = jwks["keys"][0]["x"].as_str().unwrap();
        let dbg = format!("{:?}", f.verifier);
        assert!(dbg.contains(DEV_JWT_KID), "{dbg}");
        assert!(!dbg.contains(x), "{dbg}");
        let raw = URL_SAFE_NO_PAD.decode(x).unwrap();
        assert!(!dbg.contains(&format!("{:?}", &raw[..8])), "{dbg}");
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<JwtVerifier>();
    }

    #[test]
    fn mint_token_rejects_non_ed25519_keys() {
        let ec = KeyPair::generate().unwrap();
        let err = mint_token(ec.serialize_pem().as_bytes(), "k", &claims()).unwrap_err();
        assert!(matches!(err, AuthError::SigningFailed(_)));
        assert!(mint_token(b"not a key", "k", &claims()).is_err());
    }

    #[test]
    fn dev_claims_fill_every_field() {
        let roles = vec!["a".to_owned(), "b".to_owned()];
        let c = dev_claims("iss", "aud", "u", "sapota", &roles, 60, 1_000);
        assert_eq!((c.nbf, c.iat, c.exp), (1_000, 1_000, 1_060));
        assert_eq!(c.roles, roles);
        assert!(uuid::Uuid::parse_str(&c.jti).is_ok());
        let d = dev_claims("iss", "aud", "u", "sapota", &roles, 60, 1_000);
        assert_ne!(c.jti, d.jti);
    }

    #[test]
    fn error_codes_are_stable() {
        let all = [
            (AuthError::Missing, "token_missing"),
            (AuthError::Malformed, "token_malformed"),
            (AuthError::AlgorithmNotAllowed, "token_algorithm_not_allowed"),
            (AuthError::UnknownKey, "token_unknown_key"),
            (AuthError::BadSignature, "token_signature_invalid"),
            (AuthError::Expired, "token_expired"),
            (AuthError::NotYetValid, "token_not_yet_valid"),
            (AuthError::WrongAudience, "token_wrong_audience"),
            (AuthError::WrongIssuer, "token_wrong_issuer"),
            (AuthError::MissingClaim("sub"), "token_missing_claim"),
            (AuthError::SubjectRefused, "token_subject_refused"),
            (AuthError::InvalidKeySet(String::new()), "token_key_set_invalid"),
            (AuthError::SigningFailed(String::new()), "token_signing_failed"),
        ];
        for (err, code) in all {
            assert_eq!(err.code(), code);
        }
    }

    /// Fuzz-ish: random strings and mutated valid tokens never panic and
    /// are never accepted (unless unchanged).
    #[test]
    fn random_input_never_panics_or_verifies() {
        let f = fixture();
        let good = mint_token(&f.signing_key, DEV_JWT_KID, &claims()).unwrap();
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/.. {}\"";
        let headers = [
            json!({"alg": "EdDSA", "kid": DEV_JWT_KID}),
            json!({"alg": "none"}),
            json!({"alg": "EdDSA", "kid": 5}),
            json!({"alg": ["EdDSA"], "kid": DEV_JWT_KID}),
            json!({"alg": "EdDSA", "kid": DEV_JWT_KID, "jku": "https://x"}),
            json!({}),
        ];
        for i in 0..3000 {
            let token = match i % 3 {
                0 => {
                    let len = (next() % 200) as usize;
                    (0..len)
                        .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize] as char)
                        .collect::<String>()
                }
                1 => {
                    let mut bytes = good.clone().into_bytes();
                    let flips = 1 + next() % 4;
                    for _ in 0..flips {
                        let pos = (next() % bytes.len() as u64) as usize;
                        bytes[pos] = ALPHABET[(next() % ALPHABET.len() as u64) as usize];
                    }
                    String::from_utf8(bytes).unwrap()
                }
                _ => {
                    let header = &headers[(next() % headers.len() as u64) as usize];
                    let payload: Vec<u8> = (0..(next() % 64)).map(|_| next() as u8).collect();
                    let sig: Vec<u8> = (0..(next() % 80)).map(|_| next() as u8).collect();
                    format!(
                        "{}.{}.{}",
                        b64(header),
                        URL_SAFE_NO_PAD.encode(payload),
                        URL_SAFE_NO_PAD.encode(sig)
                    )
                }
            };
            let result = f.verifier.verify(&token, now_at());
            if token != good {
                // A mutation may land in base64 padding bits and still decode
                // to the same bytes; only then may it verify.
                if let Ok(c) = result {
                    assert_eq!(c, f.verifier.verify(&good, now_at()).unwrap());
                }
            }
        }
    }
}
