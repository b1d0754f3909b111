//! TLS material reloaded without a restart: a client certificate revoked by a new CRL written
//! while the hub runs is refused on the next connection (others still work), a broken CRL file
//! keeps the CRL in force, and a CRL whose next update is near raises `tls-expiring` and shows
//! in `/readyz`.

use std::time::Duration;

use serde_json::Value;

use super::helpers::{Engine, dev, spawn_app_with};

fn client(cert: &std::path::Path, key: &std::path::Path) -> reqwest::Client {
    let tls = tsunagi::tls::client_config(&dev("ca.pem"), Some((cert, key))).unwrap();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crl_written_while_the_hub_runs_takes_effect_on_the_next_connection() {
    tsunagi::tls::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let crl = dir.path().join("crl.pem");
    std::fs::copy(dev("crl.pem"), &crl).unwrap();
    let ca_pem = std::fs::read_to_string(dev("ca.pem")).unwrap();
    let ca_key = std::fs::read_to_string(dev("ca.key")).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let (cert, key) = tsunagi::devcerts::issue_client_cert(
        &ca_pem,
        &ca_key,
        "sapota",
        now - time::Duration::days(1),
        now + time::Duration::days(30),
    )
    .unwrap();
    let (cert_path, key_path) = (dir.path().join("sapota.pem"), dir.path().join("sapota.key"));
    std::fs::write(&cert_path, &cert).unwrap();
    std::fs::write(&key_path, &key).unwrap();
    let der = rustls_pki_types::pem::PemObject::from_pem_slice(cert.as_bytes())
        .map(|d: rustls_pki_types::CertificateDer| d.to_vec())
        .unwrap();
    let serial = x509_parser::parse_x509_certificate(&der)
        .unwrap()
        .1
        .raw_serial()
        .to_vec();

    let crl_path = crl.clone();
    let app = spawn_app_with(Engine::Sqlite, move |c| {
        c.tls.crls = vec![crl_path];
        c.tls.reload_secs = 1;
        c.tls.expiry_warning_days = 30;
    })
    .await;
    let healthz = app.url("/healthz");
    let fresh = || client(&cert_path, &key_path);
    assert_eq!(fresh().get(&healthz).send().await.unwrap().status(), 200);

    // A broken CRL file: the CRL in force stays (the certificate still works).
    std::fs::write(&crl, "-----BEGIN X509 CRL-----\nbroken\n-----END X509 CRL-----\n").unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(fresh().get(&healthz).send().await.unwrap().status(), 200);

    // A new CRL revokes it, with a next update 10 days away.
    let pem = tsunagi::devcerts::crl_revoking(&ca_pem, &ca_key, &[serial], now + time::Duration::days(10)).unwrap();
    std::fs::write(&crl, pem).unwrap();
    let mut refused = false;
    for _ in 0..40 {
        if fresh().get(&healthz).send().await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(refused, "the revoked certificate is refused without a restart");
    // Other agencies' certificates still work.
    let jobota = client(&dev("clients/jobota.pem"), &dev("clients/jobota.key"));
    let ready: Value = jobota
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let next = ready["tls"]["crl_next_update"].as_str().unwrap_or_default().to_owned();
    assert!(
        next.starts_with(&(now + time::Duration::days(10)).date().to_string()),
        "{ready}"
    );

    // The near next update is an alert for the ward-wide officers.
    let officer = app.caller("po-ward", "welfare-coordination", "privacy-officer");
    let mut alerted = false;
    for _ in 0..20 {
        let (_, alerts) = officer.get("/v1/audit/alerts").await;
        if alerts["alerts"]
            .as_array()
            .is_some_and(|a| a.iter().any(|a| a["kind"] == "tls-expiring"))
        {
            alerted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(alerted, "a tls-expiring alert");
    app.stop().await;
}
