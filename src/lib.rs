//! Tsunagi (つなぎ, "the link"): a secure inter-agency information-sharing hub for municipal
//! welfare. Agencies' systems connect over mutual TLS, users carry JWTs, every disclosure is
//! decided on a lawful basis and a Casbin sharing policy, and every decision is written to a
//! tamper-evident log before any data leaves.
//!
//! The road of a disclosure, and the module that owns each stage:
//! `tls` (who is the calling system) → `http::extract` (who is the user) → `http` (parse into
//! `domain` types) → `policy::basis` (does the basis hold) → `policy` (which categories) →
//! `audit` (on record, durably) → `store` (read and decrypt only what was released) → response.

pub mod audit;
pub mod auth;
pub mod backup;
pub mod clock;
pub mod config;
pub mod console;
pub mod crypto;
pub mod devcerts;
pub mod domain;
pub mod health;
pub mod http;
pub mod issuer_keys;
pub mod policy;
pub mod principal;
pub mod retention;
pub mod services;
pub mod startup;
pub mod state;
pub mod store;
pub mod tasks;
pub mod telemetry;
pub mod tls;
pub mod tls_reload;
pub mod webhooks;
pub mod witness;
