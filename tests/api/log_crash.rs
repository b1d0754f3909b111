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

/// Two hubs on one PostgreSQL database, as behind a load balancer: 32 clients disclose through
/// both (a client whose instance stops answering moves to the other, as the balancer would send
/// it), one instance is killed with SIGKILL mid-load, the other carries on. Every acknowledged
/// receipt from either instance is in the log with its leaf hash, no index was handed out
/// twice, and `tsunagi audit verify` passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgresql_lose_nothing_when_one_is_killed() {
    tsunagi::tls::install_crypto_provider();
    if !engines().contains(&Engine::Postgres) {
        eprintln!("SKIPPED: needs TSUNAGI_TEST_POSTGRES_URL (several instances share one PostgreSQL)");
        return;
    }
    let url = fresh_postgres_db().await;
    let (port_a, port_b) = (free_port(), free_port());
    let mut a = serve(&url, port_a);
    ready(port_a).await;
    let mut b = serve(&url, port_b);
    ready(port_b).await;

    let owner = caller(port_a, "sato", "regional-support-centre", "caseworker");
    let (s, subject) = owner.post("/v1/subjects", &json!({"local_id": "RSC-MI-1"})).await;
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

    let acked: Arc<Mutex<Vec<(u64, String, u16)>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut clients = Vec::new();
    for i in 0..32 {
        let jobota = caller(port_a, "tanaka", "jobota", "caseworker");
        let (body, acked, stop) = (body.clone(), acked.clone(), stop.clone());
        // Half start on each instance.
        let mut ports = if i % 2 == 0 {
            vec![port_a, port_b]
        } else {
            vec![port_b, port_a]
        };
        clients.push(tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let Some(&port) = ports.first() else { return };
                let sent = jobota
                    .client
                    .post(format!("https://localhost:{port}/v1/disclosures"))
                    .bearer_auth(&jobota.token)
                    .json(&body)
                    .send()
                    .await;
                let answer = match sent {
                    Ok(r) if r.status().as_u16() == 200 => r.json::<Value>().await.ok(),
                    Ok(r) => panic!("instance {port} answered {}", r.status()),
                    Err(_) => None,
                };
                match answer {
                    Some(v) => {
                        let receipt = &v["audit_receipt"];
                        acked.lock().unwrap().push((
                            receipt["index"].as_u64().unwrap(),
                            receipt["leaf_hash"].as_str().unwrap().to_owned(),
                            port,
                        ));
                    }
                    // The instance is gone: the balancer sends this client to the other one.
                    None => {
                        ports.remove(0);
                    }
                }
            }
        }));
    }
    while acked.lock().unwrap().len() < 300 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    a.kill().unwrap(); // SIGKILL, mid-flight
    a.wait().unwrap();
    let at_kill = acked.lock().unwrap().len();
    while acked.lock().unwrap().len() < at_kill + 300 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.iter().any(|(_, _, p)| *p == port_a) && acked.iter().any(|(_, _, p)| *p == port_b));
    let mut indexes: Vec<u64> = acked.iter().map(|(i, _, _)| *i).collect();
    indexes.sort_unstable();
    indexes.dedup();
    assert_eq!(indexes.len(), acked.len(), "an index was acknowledged twice");

    let jobota = caller(port_b, "tanaka", "jobota", "caseworker");
    for (index, leaf, port) in &acked {
        let (s, p) = jobota.get(&format!("/v1/audit/proofs/inclusion?index={index}")).await;
        assert_eq!(
            s, 200,
            "entry {index} acknowledged by the instance on {port} is lost: {p}"
        );
        assert_eq!(p["leaf_hash"].as_str(), Some(leaf.as_str()), "entry {index} changed");
    }
    b.kill().unwrap();
    b.wait().unwrap();
    let out = tsunagi(&url, &["audit", "verify"], &repo());
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).contains("OK: root"), "{}", stdout(&out));
    drop_postgres_db(&url).await;
}
