//! Crash safety with the real binary: `tsunagi serve` is killed with SIGKILL while 32 clients
//! are disclosing and the checkpointer is signing; after a restart every acknowledged receipt
//! is in the log with the same leaf hash (and provable against a signed checkpoint), indexes
//! continue without a gap, and `tsunagi audit verify` passes.

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;
use crate::log_support::*;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn serve(database_url: &str, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_tsunagi"))
        .arg("serve")
        .current_dir(repo())
        .env("TSUNAGI_DATABASE_URL", database_url)
        .env("TSUNAGI_LISTEN", format!("127.0.0.1:{port}"))
        .env("TSUNAGI_WORKERS", "2")
        .env("TSUNAGI_LOG_LEVEL", "error")
        .env("TSUNAGI_AUDIT__CHECKPOINT_INTERVAL_MS", "50")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn caller(port: u16, user: &str, agency: &str, role: &str) -> Caller {
    Caller {
        client: agency_client(agency),
        token: token(user, agency, &[role]),
        base: format!("https://localhost:{port}"),
    }
}

/// Waits until the server answers (a readiness wait, not a timing assertion).
async fn ready(port: u16) {
    let c = agency_client("jobota");
    for _ in 0..600 {
        if let Ok(r) = c.get(format!("https://localhost:{port}/readyz")).send().await
            && r.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not come up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_hub_loses_no_acknowledged_entry_and_its_log_verifies() {
    tsunagi::tls::install_crypto_provider();
    for engine in engines() {
        let dir = tempfile::tempdir().unwrap();
        let url = match engine {
            Engine::Sqlite => format!("sqlite://{}", dir.path().join("hub.db").display()),
            Engine::Postgres => fresh_postgres_db().await,
        };
        let port = free_port();
        let mut child = serve(&url, port);
        ready(port).await;

        let owner = caller(port, "sato", "regional-support-centre", "caseworker");
        let jobota = caller(port, "tanaka", "jobota", "caseworker");
        let (s, subject) = owner.post("/v1/subjects", &json!({"local_id": "RSC-9"})).await;
        assert_eq!(s, 201, "{subject}");
        let subject = subject["id"].as_str().unwrap().to_owned();
        let record = json!({"purpose": "support", "sections": [{"category": "identity", "content": "山田"}]});
        let (s, _) = owner.post(&format!("/v1/subjects/{subject}/records"), &record).await;
        assert_eq!(s, 201);
        let (s, consent) = owner
            .post(
                &format!("/v1/subjects/{subject}/consents"),
                &consent_body("2026-01-01T00:00:00Z", "2099-01-01T00:00:00Z"),
            )
            .await;
        assert_eq!(s, 201);
        let body = disclosure_body(&subject, consent["id"].as_str().unwrap(), "employment support");

        // 32 clients disclose as fast as they can; every acknowledged receipt is kept.
        let acked: Arc<Mutex<Vec<(u64, String)>>> = Arc::default();
        let mut clients = Vec::new();
        for _ in 0..32 {
            let (client, token, url, body, acked) = (
                jobota.client.clone(),
                jobota.token.clone(),
                format!("{}/v1/disclosures", jobota.base),
                body.clone(),
                acked.clone(),
            );
            clients.push(tokio::spawn(async move {
                loop {
                    let Ok(r) = client.post(&url).bearer_auth(&token).json(&body).send().await else {
                        return;
                    };
                    assert_eq!(r.status().as_u16(), 200);
                    let Ok(v) = r.json::<Value>().await else { return };
                    let receipt = &v["audit_receipt"];
                    acked.lock().unwrap().push((
                        receipt["index"].as_u64().unwrap(),
                        receipt["leaf_hash"].as_str().unwrap().to_owned(),
                    ));
                }
            }));
        }
        while acked.lock().unwrap().len() < 300 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        child.kill().unwrap(); // SIGKILL, mid-flight
        child.wait().unwrap();
        for c in clients {
            c.await.unwrap();
        }
        let acked = acked.lock().unwrap().clone();

        // Restart on the same database.
        let port = free_port();
        let mut child = serve(&url, port);
        ready(port).await;
        let jobota = caller(port, "tanaka", "jobota", "caseworker");
        for (index, leaf) in &acked {
            let (s, p) = jobota.get(&format!("/v1/audit/proofs/inclusion?index={index}")).await;
            assert_eq!(s, 200, "{engine:?}: acknowledged entry {index} lost: {p}");
            assert_eq!(
                p["leaf_hash"].as_str(),
                Some(leaf.as_str()),
                "{engine:?}: entry {index} changed"
            );
        }
        // Indexes continue where the durable log ends.
        let max = acked.iter().map(|(i, _)| *i).max().unwrap();
        let (s, v) = jobota.post("/v1/disclosures", &body).await;
        assert_eq!(s, 200, "{v}");
        assert!(v["audit_receipt"]["index"].as_u64().unwrap() > max);
        child.kill().unwrap();
        child.wait().unwrap();

        let out = tsunagi(&url, &["audit", "verify"], &repo());
        assert!(out.status.success(), "{engine:?}: {}", stdout(&out));
        assert!(stdout(&out).contains("OK: root"), "{}", stdout(&out));
        if engine == Engine::Postgres {
            drop_postgres_db(&url).await;
        }
    }
}
