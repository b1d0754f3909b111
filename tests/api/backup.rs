//! Backups as an operator takes them: `tsunagi backup DIR` while the hub is under load, then
//! `tsunagi restore DIR` into a fresh database. Every receipt acknowledged before the backup
//! began is in the restored log, and the restored log verifies; a damaged backup, or a restore
//! over an existing database, is refused and leaves nothing behind.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Mutex;

use crate::helpers::{Engine, disclosure_body, engines, repo, spawn_app, story};

/// Runs the hub binary with the test hub's configuration (its database URL).
fn tsunagi(database_url: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tsunagi"))
        .args(args)
        .current_dir(repo())
        .env("TSUNAGI_DATABASE_URL", database_url)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test]
async fn a_backup_taken_under_load_restores_every_acknowledged_entry_and_verifies() {
    let app = spawn_app(Engine::Sqlite).await;
    let s = story(&app).await;
    let receipts: Arc<Mutex<Vec<(u64, String)>>> = Arc::default();
    let running = Arc::new(AtomicBool::new(true));
    let mut load = Vec::new();
    for _ in 0..4 {
        let caller = app.caller("tanaka", "jobota", "caseworker");
        let body = disclosure_body(&s.subject, &s.consent, "employment support");
        let receipts = receipts.clone();
        let running = running.clone();
        load.push(tokio::spawn(async move {
            while running.load(Ordering::Relaxed) {
                let (status, answer) = caller.post("/v1/disclosures", &body).await;
                assert_eq!(status, 200, "{answer}");
                let r = &answer["audit_receipt"];
                receipts.lock().await.push((
                    r["index"].as_u64().unwrap(),
                    r["leaf_hash"].as_str().unwrap().to_owned(),
                ));
            }
        }));
    }
    // Let the load run (however fast this machine is) until 20 receipts are in.
    for _ in 0..600 {
        if receipts.lock().await.len() >= 20 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Everything acknowledged up to here must be in the backup.
    let acknowledged = receipts.lock().await.clone();
    assert!(
        acknowledged.len() >= 20,
        "the load is running ({} receipts)",
        acknowledged.len()
    );
    let dir = tempfile::tempdir().unwrap();
    let backup_dir = dir.path().join("backup");
    let (ok, out) = tsunagi(&app.database_url, &["backup", backup_dir.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(out.contains("backed up"), "{out}");
    let during = receipts.lock().await.len();
    for _ in 0..600 {
        if receipts.lock().await.len() > during {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    running.store(false, Ordering::Relaxed);
    for t in load {
        t.await.unwrap();
    }
    let after = receipts.lock().await.len();
    assert!(
        after > acknowledged.len(),
        "the load went on during and after the backup"
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(backup_dir.join("manifest.json")).unwrap()).unwrap();
    assert!(manifest["log_entries"].as_u64().unwrap() >= acknowledged.len() as u64);

    // Restore into a fresh database.
    let restored = dir.path().join("restored").join("tsunagi.db");
    let restored_url = format!("sqlite://{}", restored.display());
    let (ok, out) = tsunagi(&restored_url, &["restore", backup_dir.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(out.contains("the log verifies"), "{out}");
    let (ok, out) = tsunagi(&restored_url, &["audit", "verify"]);
    assert!(ok, "{out}");
    let kek = tsunagi::crypto::keyfile::read_key::<32>(&repo().join("certs-dev/kek.key")).unwrap();
    let store = tsunagi::store::Store::connect(
        &restored_url,
        tsunagi::crypto::Kek::from_bytes("kek-1", &kek).unwrap(),
        2,
    )
    .await
    .unwrap();
    let size = store.audit_size().await.unwrap();
    for (index, leaf) in &acknowledged {
        assert!(
            *index < size,
            "entry {index} acknowledged before the backup is in it (size {size})"
        );
        let row = store.audit_entries(*index, 1).await.unwrap();
        assert_eq!(hex::encode(&row[0].leaf_hash), *leaf, "entry {index}");
    }
    store.close().await;

    // A restore never overwrites a database.
    let (ok, out) = tsunagi(&restored_url, &["restore", backup_dir.to_str().unwrap()]);
    assert!(!ok, "{out}");
    assert!(out.contains("fresh database"), "{out}");

    // A damaged copy is refused and leaves nothing behind.
    let copy = backup_dir.join("tsunagi.db");
    let mut bytes = std::fs::read(&copy).unwrap();
    let last = bytes.len() - 100;
    bytes[last] ^= 0xff;
    std::fs::write(&copy, bytes).unwrap();
    let elsewhere = dir.path().join("other").join("tsunagi.db");
    let (ok, out) = tsunagi(
        &format!("sqlite://{}", elsewhere.display()),
        &["restore", backup_dir.to_str().unwrap()],
    );
    assert!(!ok, "{out}");
    assert!(out.contains("damaged"), "{out}");
    assert!(!elsewhere.exists());
    app.stop().await;
}

#[tokio::test]
async fn a_backup_of_a_postgresql_hub_points_to_pg_dump() {
    for engine in engines().into_iter().filter(|e| *e == Engine::Postgres) {
        let app = spawn_app(engine).await;
        let dir = tempfile::tempdir().unwrap();
        let (ok, out) = tsunagi(&app.database_url, &["backup", dir.path().join("b").to_str().unwrap()]);
        assert!(!ok, "{out}");
        assert!(out.contains("pg_dump"), "{out}");
        app.stop().await;
    }
}
