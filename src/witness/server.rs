//! The witness's HTTP interface: `POST /add-checkpoint` (C2SP `tlog-witness`) and
//! `GET /healthz`. A witness holds no secret but its key, every request is authenticated by the
//! log's signature on the checkpoint and every answer by the cosignature, so plain HTTP on
//! loopback behind the organ's TLS-terminating reverse proxy is the usual deployment; it can also
//! serve HTTPS itself (rustls with ring, server certificate only: any log may submit) with
//! `--tls-cert`/`--tls-key` (README → Operations → Witnesses).

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

/// A TLS server configuration from a PEM certificate chain and key (no client certificates:
/// submissions are authenticated by the log's signature).
pub fn tls_config(cert: &std::path::Path, key: &std::path::Path) -> anyhow::Result<rustls::ServerConfig> {
    let (chain, key) = crate::tls::server_identity(&crate::tls::TlsPaths {
        ca_cert: std::path::PathBuf::new(),
        server_cert: cert.to_owned(),
        server_key: key.to_owned(),
        crls: Vec::new(),
    })?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Starts the witness's server on `listener` (HTTPS when `tls` is given); the caller awaits the
/// returned server.
pub fn serve(
    listener: TcpListener,
    witness: Witness,
    clock: Arc<dyn Clock>,
    tls: Option<rustls::ServerConfig>,
) -> std::io::Result<actix_web::dev::Server> {
    let shared = web::Data::new(Shared { witness, clock });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(shared.clone())
            .app_data(web::PayloadConfig::new(MAX_BODY))
            .route("/add-checkpoint", web::post().to(add_checkpoint))
            .route("/healthz", web::get().to(|| async { HttpResponse::Ok().body("ok\n") }))
    })
    .workers(2);
    Ok(match tls {
        Some(config) => server.listen_rustls_0_23(listener, config)?.run(),
        None => server.listen(listener)?.run(),
    })
}
