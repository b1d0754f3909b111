//! The console: the pages of meeting members (confirm an invitation, accept the pledge) and of a body's secretariat (bodies, pledge versions, sessions, the printable session record).

use actix_web::web;

/// Registers this area's routes (under `/console`).
pub fn routes(_cfg: &mut web::ServiceConfig) {}
