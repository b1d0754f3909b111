//! What the benchmarks share: the checkout's paths, knobs from the environment, and an
//! agency's mTLS client and development token (the hub's own dev certificates and key).

#![allow(dead_code, reason = "each benchmark uses a part of this module")]

use std::path::PathBuf;

/// The checkout (where `certs-dev/` and `policies/` are).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file of the development PKI.
pub fn dev(p: &str) -> PathBuf {
    repo().join("certs-dev").join(p)
}

/// The environment variable `name` parsed, or `default`.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A keep-alive HTTPS client on `agency`'s terminal (its development client certificate).
pub fn client(agency: &str) -> reqwest::Client {
    let (c, k) = (
        dev(&format!("clients/{agency}.pem")),
        dev(&format!("clients/{agency}.key")),
    );
    let tls = tsunagi::tls::client_config(&dev("ca.pem"), Some((&c, &k))).unwrap();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .pool_max_idle_per_host(1)
        .build()
        .unwrap()
}

/// A development token (one hour) for `user` at `agency` with `role`.
pub fn token(user: &str, agency: &str, role: &str) -> String {
    let key = std::fs::read(dev("jwt-signing.key")).unwrap();
    let now = tsunagi::clock::Clock::now(&tsunagi::clock::SystemClock).unix_timestamp();
    let claims = tsunagi::auth::dev_claims(
        tsunagi::devcerts::DEV_ISSUER,
        tsunagi::devcerts::DEV_AUDIENCE,
        user,
        agency,
        &[role.to_owned()],
        3600,
        now,
    );
    tsunagi::auth::mint_token(&key, tsunagi::devcerts::DEV_JWT_KID, &claims).unwrap()
}
