//! Faults of the database, tried for real: a PostgreSQL server of the test's own that is stopped
//! under the hub and started again, and an SQLite database on a small file system that fills
//! up. The hub answers promptly with 503 and its own code (never 500, never a hang), `/readyz`
//! says 503 while the database cannot be written, a low-disk alert comes before the log stops,
//! and everything works again once the fault is gone.
//!
//! They need root (to mount a small tmpfs, and to run PostgreSQL's `initdb`/`pg_ctl` as the
//! `postgres` user). `.ci/run` sets `TSUNAGI_FAULT_TESTS=1`, which makes a missing tool a
//! failure; elsewhere a machine without them skips these tests and says so.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::helpers::{Engine, TestApp, disclosure_body, spawn_configured, story};

fn required() -> bool {
    std::env::var("TSUNAGI_FAULT_TESTS").is_ok_and(|v| v == "1")
}

fn skip(why: &str) {
    assert!(!required(), "TSUNAGI_FAULT_TESTS=1 but {why}");
    eprintln!("SKIPPED: {why}");
}

fn run(cmd: &mut Command) -> std::process::Output {
    cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"))
}

async fn readyz(app: &TestApp) -> (u16, serde_json::Value) {
    let client = super::helpers::agency_client("jobota");
    let r = client
        .get(format!("https://localhost:{}/readyz", app.port))
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

/// Polls `/readyz` until it answers `want` (a fault takes effect, or is gone), at most ~30 s.
async fn readyz_until(app: &TestApp, want: u16) -> serde_json::Value {
    let mut last = (0, serde_json::Value::Null);
    for _ in 0..60 {
        last = readyz(app).await;
        if last.0 == want {
            return last.1;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("/readyz never answered {want}; last: {last:?}");
}

// ---- PostgreSQL stopped and started ----

/// A PostgreSQL cluster of the test's own in a temporary directory, on a free port.
struct OwnPostgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

impl OwnPostgres {
    fn create() -> Result<Self, String> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .map_err(|_| "PostgreSQL's server binaries (/usr/lib/postgresql/*/bin)".to_owned())?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .find(|b| b.join("initdb").exists())
            .ok_or("initdb")?;
        if Command::new("runuser").arg("--help").output().is_err() {
            return Err("runuser".into());
        }
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let chown = run(Command::new("chown").args(["-R", "postgres:postgres"]).arg(dir.path()));
        if !chown.status.success() {
            return Err("root (to hand a directory to the postgres user)".into());
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let pg = Self { bin, dir, port };
        let out = pg.as_postgres(
            "initdb",
            &["-D", &pg.data(), "-A", "trust", "-U", "postgres", "--no-sync"],
        );
        if !out.status.success() {
            return Err(format!("initdb failed: {}", String::from_utf8_lossy(&out.stderr)));
        }
        pg.start();
        Ok(pg)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn as_postgres(&self, tool: &str, args: &[&str]) -> std::process::Output {
        run(Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join(tool))
            .args(args)
            .current_dir("/tmp"))
    }

    fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log").display().to_string();
        let out = self.as_postgres(
            "pg_ctl",
            &["-D", &self.data(), "-l", &log, "-o", &options, "-w", "start"],
        );
        assert!(
            out.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn stop(&self) {
        let out = self.as_postgres("pg_ctl", &["-D", &self.data(), "-m", "immediate", "-w", "stop"]);
        assert!(
            out.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ = self.as_postgres("pg_ctl", &["-D", &self.data(), "-m", "immediate", "stop"]);
    }
}

#[tokio::test]
async fn a_stopped_postgresql_is_a_prompt_503_and_the_hub_recovers_when_it_is_back() {
    let pg = match OwnPostgres::create() {
        Ok(pg) => pg,
        Err(missing) => return skip(&format!("a PostgreSQL of the test's own needs {missing}")),
    };
    let app = spawn_configured(
        Engine::Postgres,
        Some(pg.url()),
        Arc::new(tsunagi::clock::SystemClock),
        |c| {
            c.database_acquire_timeout_ms = 1000;
        },
    )
    .await;
    let s = story(&app).await;
    let body = disclosure_body(&s.subject, &s.consent, "employment support");
    let (status, before) = s.jobota.post("/v1/disclosures", &body).await;
    assert_eq!(status, 200, "{before}");
    assert_eq!(readyz(&app).await.0, 200);

    pg.stop();
    // A disclosure, a change and a plain read: each a 503 with its code, none a 500.
    let (status, refused) = s.jobota.post("/v1/disclosures", &body).await;
    assert_eq!(status, 503, "{refused}");
    let code = refused["error"]["code"].as_str().unwrap_or_default().to_owned();
    assert!(
        code == "database_unavailable" || code == "audit_unavailable",
        "{refused}"
    );
    assert!(refused.get("disclosed").is_none(), "nothing is released: {refused}");
    let (status, answer) = s.owner.post("/v1/subjects", &json!({"local_id": "RSC-0002"})).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (503, Some("database_unavailable")),
        "{answer}"
    );
    let (status, answer) = s.owner.get(&format!("/v1/subjects/{}/consents", s.subject)).await;
    assert_eq!(status, 503, "{answer}");
    let (status, ready) = readyz(&app).await;
    assert_eq!(status, 503, "{ready}");
    assert_eq!(ready["error"]["code"], "database_unavailable", "{ready}");

    pg.start();
    readyz_until(&app, 200).await;
    let (status, after) = s.jobota.post("/v1/disclosures", &body).await;
    assert_eq!(status, 200, "{after}");
    // The receipt given before the stop is still in the log, and the log goes on after it.
    let before_index = before["audit_receipt"]["index"].as_u64().unwrap();
    let after_index = after["audit_receipt"]["index"].as_u64().unwrap();
    assert!(after_index > before_index);
    let rows = app.state.store.audit_entries(before_index, 1).await.unwrap();
    assert_eq!(
        hex::encode(&rows[0].leaf_hash),
        before["audit_receipt"]["leaf_hash"].as_str().unwrap()
    );
    app.stop_keeping_database().await;
}

// ---- SQLite on a file system that fills up ----

/// A tmpfs of `size` mounted at a temporary directory (unmounted on drop).
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tsunagi-test"])
            .arg(dir.path())
            .output()
            .map_err(|_| "the mount command".to_owned())?;
        if !out.status.success() {
            return Err(format!(
                "root, to mount a tmpfs ({})",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Self { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).output();
    }
}

#[tokio::test]
async fn a_full_disk_is_announced_then_a_503_and_the_hub_recovers_when_room_is_made() {
    let disk = match SmallDisk::mount("24m") {
        Ok(d) => d,
        Err(missing) => return skip(&format!("a small file system needs {missing}")),
    };
    let url = format!("sqlite://{}", disk.path().join("tsunagi.db").display());
    let app = spawn_configured(Engine::Sqlite, Some(url), Arc::new(tsunagi::clock::SystemClock), |c| {
        c.database_acquire_timeout_ms = 1000;
        // An alert while 12 MiB are still free.
        c.disk_min_free_mb = 12;
    })
    .await;
    let s = story(&app).await;
    let body = disclosure_body(&s.subject, &s.consent, "employment support");
    let (status, first) = s.jobota.post("/v1/disclosures", &body).await;
    assert_eq!(status, 200, "{first}");
    let ready = readyz_until(&app, 200).await;
    assert!(ready["disk"]["free_bytes"].as_u64().is_some(), "{ready}");

    // Leave about 10 MiB: below the minimum, so the watcher raises its alert while the log
    // still takes entries.
    let free = tsunagi::health::free_bytes(disk.path()).unwrap();
    let ballast = disk.path().join("ballast");
    std::fs::write(
        &ballast,
        vec![0u8; usize::try_from(free.saturating_sub(10 << 20)).unwrap()],
    )
    .unwrap();
    let officer = app.caller("po-ward", "welfare-coordination", "privacy-officer");
    let mut alerted = serde_json::Value::Null;
    for _ in 0..40 {
        let (status, alerts) = officer.get("/v1/audit/alerts").await;
        assert_eq!(status, 200, "{alerts}");
        if let Some(a) = alerts["alerts"]
            .as_array()
            .and_then(|a| a.iter().find(|a| a["kind"] == "low-disk-space"))
        {
            alerted = a.clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(
        alerted["kind"], "low-disk-space",
        "the alert comes before the disk is full"
    );
    let (status, still) = s.jobota.post("/v1/disclosures", &body).await;
    assert_eq!(
        status, 200,
        "the log still takes entries when the alert is raised: {still}"
    );
    assert_eq!(readyz(&app).await.1["disk"]["low"], true);

    // Fill the rest with records until the database refuses: every answer a success or a 503
    // with its code, never a 500.
    let big = "記録".repeat(20_000);
    let mut refused = None;
    for i in 0..2_000 {
        let (status, answer) = s
            .owner
            .post(
                &format!("/v1/subjects/{}/records", s.subject),
                &json!({"purpose": "care", "sections": [{"category": "health", "content": format!("{i} {big}")}]}),
            )
            .await;
        match status {
            201 => {}
            503 => {
                refused = Some(answer);
                break;
            }
            other => panic!("answer {other} while the disk fills: {answer}"),
        }
    }
    let refused = refused.expect("the disk filled up");
    let code = refused["error"]["code"].as_str().unwrap_or_default();
    assert!(
        code == "database_unavailable" || code == "audit_unavailable",
        "{refused}"
    );
    let (status, answer) = s.jobota.post("/v1/disclosures", &body).await;
    assert_ne!(status, 500, "{answer}");
    if status == 503 {
        // The log cannot be written: nothing is released, and the instance says it is not ready.
        assert!(answer.get("disclosed").is_none(), "{answer}");
        let (status, ready) = readyz(&app).await;
        assert_eq!(status, 503, "{ready}");
    }

    // Room again: the instance is ready and the road works.
    std::fs::remove_file(&ballast).unwrap();
    readyz_until(&app, 200).await;
    let (status, after) = s.jobota.post("/v1/disclosures", &body).await;
    assert_eq!(status, 200, "{after}");
    app.stop_keeping_database().await;
}
