//! The console: the policy admin's pages: the policy as a matrix, proposals, diff, simulation, approvals, history and rollback, explain.

use actix_web::web;

/// Registers this area's routes (under `/console`).
pub fn routes(_cfg: &mut web::ServiceConfig) {}
