//! One integration-test binary: real servers on port 0, real TLS handshakes with the development
//! certificates, real signed tokens, a real SQLite file — and PostgreSQL too when
//! `TSUNAGI_TEST_POSTGRES_URL` is set (each test gets its own fresh database).

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::disallowed_methods,
    reason = "tests fail loudly (unwrap, expect, panic), index JSON answers of known shape, and read the wall clock to mint tokens and dates"
)]

mod audit_guarantee;
mod backup;
mod bases;
mod browser;
mod cli;
mod console;
mod console_caseworker;
mod console_figures;
mod console_meetings;
mod console_notes;
mod console_officer;
mod console_oidc;
mod console_plan_forms;
mod console_plans;
mod console_policy_admin;
mod console_referrals;
mod console_support;
mod disclosures;
mod erasure;
mod faults;
mod figures;
mod helpers;
mod issuer_keys;
mod keys;
mod lifecycle;
mod log_checkpoints;
mod log_crash;
mod log_export;
mod log_first;
mod log_input;
mod log_latch;
mod log_officer;
mod log_scope;
mod log_sealed;
mod log_support;
mod log_tamper;
mod meetings;
mod mock_idp;
mod notes;
mod plans;
mod policy_admin;
mod policy_cases;
mod readme;
mod referrals;
mod retention;
mod team_case;
mod tls_auth;
mod tls_reload;
mod validation;
mod webhooks;
mod witness;
