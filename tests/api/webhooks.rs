//! Revocation notices pushed to an agency's system: a receiver on loopback (HTTPS, requiring the
//! hub's client certificate) that fails twice and then accepts gets the notice with a valid
//! Standard Webhooks signature and the same `webhook-id` on every attempt; every attempt is
//! recorded; an agency without an endpoint is skipped (it polls); the notice is also in
//! `GET /v1/notifications`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use rustls_pki_types::pem::PemObject;
use serde_json::{Value, json};

use super::helpers::{dev, disclosure_body, engines, spawn_app_with, story};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[derive(Default)]
struct Receiver {
    /// (webhook-id, signature valid, body) of every request, accepted or not.
    seen: Vec<(String, bool, Value)>,
    fail_first: usize,
}

async fn receive(req: HttpRequest, body: String, r: web::Data<Mutex<Receiver>>) -> HttpResponse {
    let h = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (id, ts, sig) = (h("webhook-id"), h("webhook-timestamp"), h("webhook-signature"));
    let key = tsunagi::webhooks::secret_key(SECRET).unwrap();
    let valid = ts
        .parse::<i64>()
        .is_ok_and(|t| tsunagi::webhooks::signature(&key, &id, t, &body) == sig);
    let mut r = r.lock().unwrap();
    r.seen
        .push((id, valid, serde_json::from_str(&body).unwrap_or(Value::Null)));
    if r.seen.len() <= r.fail_first {
        HttpResponse::ServiceUnavailable().finish()
    } else {
        HttpResponse::NoContent().finish()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_notice_reaches_the_agencys_system_signed_at_least_once() {
    tsunagi::tls::install_crypto_provider();
    for engine in engines() {
        let receiver = web::Data::new(Mutex::new(Receiver {
            fail_first: 2,
            ..Receiver::default()
        }));
        // The receiver requires a client certificate from the agencies' CA: the hub's own.
        let roots = {
            let mut r = rustls::RootCertStore::empty();
            for c in rustls_pki_types::CertificateDer::pem_file_iter(dev("ca.pem")).unwrap() {
                r.add(c.unwrap()).unwrap();
            }
            Arc::new(r)
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(roots, provider.clone())
            .build()
            .unwrap();
        let tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                rustls_pki_types::CertificateDer::pem_file_iter(dev("server.pem"))
                    .unwrap()
                    .collect::<Result<Vec<_>, _>>()
                    .unwrap(),
                rustls_pki_types::PrivateKeyDer::from_pem_file(dev("server.key")).unwrap(),
            )
            .unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let data = receiver.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/hooks", web::post().to(receive))
        })
        .workers(1)
        .disable_signals()
        .listen_rustls_0_23(listener, tls)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        let dir = tempfile::tempdir().unwrap();
        let secret_file = dir.path().join("jobota.whsec");
        std::fs::write(&secret_file, SECRET).unwrap();

        let app = spawn_app_with(engine, move |c| {
            c.webhooks.endpoints = vec![tsunagi::config::WebhookEndpoint {
                agency: "jobota".into(),
                url: format!("https://localhost:{port}/hooks"),
                secret_file,
            }];
            c.webhooks.ca_file = Some(dev("ca.pem"));
            c.webhooks.client_cert = Some(dev("clients/welfare-coordination.pem"));
            c.webhooks.client_key = Some(dev("clients/welfare-coordination.key"));
            c.webhooks.retry_base_ms = 100;
            c.webhooks.alert_after_attempts = 2;
        })
        .await;
        let s = story(&app).await;
        let (status, b) = s
            .jobota
            .post(
                "/v1/disclosures",
                &disclosure_body(&s.subject, &s.consent, "employment support"),
            )
            .await;
        assert_eq!(status, 200, "{b}");
        let (status, b) = s
            .owner
            .post(
                &format!("/v1/consents/{}/revoke", s.consent),
                &json!({"reason": "withdrawn in writing"}),
            )
            .await;
        assert_eq!(status, 200, "{b}");

        // Two refusals, then delivered; all three with one id and a valid signature.
        let mut delivered = false;
        for _ in 0..100 {
            if receiver.lock().unwrap().seen.len() >= 3 {
                delivered = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(delivered, "{engine:?}: delivered after the receiver recovered");
        tokio::time::sleep(Duration::from_millis(500)).await;
        let seen = receiver.lock().unwrap().seen.clone();
        assert_eq!(seen.len(), 3, "no delivery after the one accepted: {seen:?}");
        assert!(seen.iter().all(|(id, valid, _)| *valid && *id == seen[0].0), "{seen:?}");
        let body = &seen[0].2;
        assert_eq!(body["type"], "notification.consent-revoked", "{body}");
        assert_eq!(body["data"]["reference"], s.consent, "{body}");
        assert_eq!(body["data"]["agency"], "jobota");
        let text = body.to_string();
        assert!(
            !text.contains("山田") && !text.contains(&s.subject),
            "no personal data in the notice: {text}"
        );

        // Every attempt is recorded; the failures raised an alert for the agency's officers.
        let attempts = app.state.store.webhook_attempts(&seen[0].0).await.unwrap();
        let statuses: Vec<Option<i64>> = attempts.iter().map(|a| a.2).collect();
        assert_eq!(statuses, [Some(503), Some(503), Some(204)], "{attempts:?}");
        let rows = app.state.store.webhooks(None, 10).await.unwrap();
        assert_eq!(rows[0].state, "delivered", "{rows:?}");
        let officer = app.caller("po-ward", "welfare-coordination", "privacy-officer");
        let (_, alerts) = officer.get("/v1/audit/alerts").await;
        assert!(
            alerts["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["kind"] == "webhook-failing"),
            "{alerts}"
        );
        // The notice is also there to poll.
        let (status, notes) = s.jobota.get("/v1/notifications").await;
        assert_eq!(status, 200);
        assert!(notes.to_string().contains(&s.consent), "{notes}");
        app.stop().await;
        handle.stop(false).await;
    }
}
