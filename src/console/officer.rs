//! The console: the privacy officer's pages: log search, an entry and its proof, the person's report, alerts, emergency grants to review, log health, the dashboard.

use actix_web::web;

/// Registers this area's routes (under `/console`).
pub fn routes(_cfg: &mut web::ServiceConfig) {}
