//! The console: the caseworker's pages: find a person by case number, the person's page, records, consents, asking for a disclosure and its result, emergency grants, notifications.

use actix_web::web;

/// Registers this area's routes (under `/console`).
pub fn routes(_cfg: &mut web::ServiceConfig) {}
