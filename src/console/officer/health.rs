//! The log's health: its size, the latest signed checkpoint (and so the last verification), the
//! inconsistency latch, and the downloads an outside auditor starts from.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use base64::Engine as _;

use super::{SubLink, subnav};
use crate::console::error::ConsoleError;
use crate::console::i18n::Tr;
use crate::console::session::ConsoleUser;
use crate::console::views::{self, Chrome};
use crate::services::log;
use crate::state::AppState;

/// The latest checkpoint as the page shows it.
pub struct CheckpointView {
    pub size: u64,
    pub signed_at: String,
    pub signer: String,
    pub key_id: String,
    pub root: String,
}

/// The latch as the page shows it.
pub struct LatchView {
    /// When and by what it was found, in a sentence.
    pub summary: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "console/officer/health.html")]
struct HealthPage {
    t: Tr,
    chrome: Chrome,
    sub: Vec<SubLink>,
    size: u64,
    latest: Option<CheckpointView>,
    latch: Option<LatchView>,
    unsigned: u64,
}

/// `GET /console/log/health` (privacy officers).
pub async fn page(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
) -> Result<HttpResponse, ConsoleError> {
    let h = log::health(&state, &user.principal).await?;
    let t = user.tr;
    let unsigned = h.size.saturating_sub(h.latest.as_ref().map_or(0, |c| c.size));
    views::page(&HealthPage {
        t,
        chrome: Chrome::of(&user, req.path()),
        sub: subnav(&t, "/console/log/health"),
        size: h.size,
        latest: h.latest.map(|c| CheckpointView {
            size: c.size,
            signed_at: views::local_time_ms(c.signed_at_ms),
            signer: c.key_name,
            key_id: c.key_id,
            root: base64::engine::general_purpose::STANDARD.encode(c.root),
        }),
        latch: h.inconsistency.map(|l| LatchView {
            summary: t.with(
                "off-health-inconsistent-detail",
                &[("at", &views::local_time_ms(l.detected_at_ms)), ("source", &l.source)],
            ),
            detail: l.detail,
        }),
        unsigned,
    })
}

fn download(body: String, name: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{name}\"")))
        .body(body)
}

/// `GET /console/log/health/checkpoint`: the latest signed checkpoint (as `GET
/// /v1/audit/checkpoint`), to keep and compare later (`tsunagi audit verify --checkpoint`).
pub async fn checkpoint(state: web::Data<AppState>, user: ConsoleUser) -> Result<HttpResponse, ConsoleError> {
    crate::services::officer_scope(&state, &user.principal)?;
    let cp = log::checkpoint(&state, &user.principal, None).await?;
    Ok(download(cp.note, &format!("checkpoint-{}.txt", cp.size)))
}

/// `GET /console/log/health/vkeys`: the log's verifier keys (as `GET /v1/audit/verifier-keys`).
pub async fn verifier_keys(state: web::Data<AppState>, user: ConsoleUser) -> Result<HttpResponse, ConsoleError> {
    crate::services::officer_scope(&state, &user.principal)?;
    Ok(download(log::verifier_keys(&state, &user.principal)?, "vkeys.txt"))
}
