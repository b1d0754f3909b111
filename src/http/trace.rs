//! One tracing span per HTTP request, named by the matched route pattern (never the concrete
//! path, which may carry ids) — the parent of the disclosure road's stage spans.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use tracing::Instrument;

pub async fn trace_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".to_owned());
    let span =
        tracing::info_span!("http_request", method = %req.method(), route = %route, status = tracing::field::Empty);
    let res = next.call(req).instrument(span.clone()).await?;
    span.record("status", res.status().as_u16());
    tracing::debug!(parent: &span, status = res.status().as_u16(), "request handled");
    Ok(res)
}
