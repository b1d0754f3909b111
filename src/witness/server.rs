//! The witness's HTTP interface: `POST /add-checkpoint` (C2SP `tlog-witness`) and
//! `GET /healthz`. Plain HTTP: a witness holds no secrets but its key, and every request is
//! authenticated by the log's signature on the checkpoint, so it runs on loopback or an internal
//! network behind the organ's TLS-terminating reverse proxy (README → Operations → Witnesses).

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::{App, HttpResponse, HttpServer, web};

use super::protocol::SIZE_CONTENT_TYPE;
use super::state::{Refusal, Witness};
use crate::clock::Clock;

/// Largest accepted request body: a checkpoint with many signatures and 63 proof lines.
const MAX_BODY: usize = 64 * 1024;

struct Shared {
    witness: Witness,
    clock: Arc<dyn Clock>,
}

async fn add_checkpoint(shared: web::Data<Shared>, body: web::Bytes) -> HttpResponse {
    let Ok(text) = std::str::from_utf8(&body) else {
        return HttpResponse::BadRequest().body("the request is not UTF-8\n");
    };
    let now = u64::try_from(shared.clock.now().unix_timestamp()).unwrap_or(0);
    match shared.witness.add_checkpoint(text, now).await {
        Ok(line) => HttpResponse::Ok().content_type("text/plain; charset=utf-8").body(line),
        Err(Refusal::StaleOldSize { size }) => HttpResponse::Conflict()
            .content_type(SIZE_CONTENT_TYPE)
            .body(format!("{size}\n")),
        Err(Refusal::Storage(e)) => {
            tracing::error!(error = %e, "witness storage failed");
            HttpResponse::InternalServerError().body("internal error\n")
        }
        Err(other) => {
            tracing::info!(status = other.status(), reason = %other, "checkpoint not cosigned");
            let status = actix_web::http::StatusCode::from_u16(other.status())
                .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST);
            HttpResponse::build(status)
                .content_type("text/plain; charset=utf-8")
                .body(format!("{other}\n"))
        }
    }
}

/// Starts the witness's server on `listener`; the caller awaits the returned server.
pub fn serve(
    listener: TcpListener,
    witness: Witness,
    clock: Arc<dyn Clock>,
) -> std::io::Result<actix_web::dev::Server> {
    let shared = web::Data::new(Shared { witness, clock });
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(shared.clone())
            .app_data(web::PayloadConfig::new(MAX_BODY))
            .route("/add-checkpoint", web::post().to(add_checkpoint))
            .route("/healthz", web::get().to(|| async { HttpResponse::Ok().body("ok\n") }))
    })
    .workers(2)
    .listen(listener)?
    .run())
}
