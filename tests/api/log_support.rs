//! Shared pieces of the disclosure-log tests: verifying a test hub's log, filling it fast,
//! tampering with it as an attacker with database access would, and running the real binary.

use std::path::Path;
use std::process::Output;

use futures_util::future::join_all;
use sqlx::Connection;
use tsunagi::audit::verify::{VerifyOptions, VerifyReport, verify_log};
use tsunagi::audit::{AuditEntry, ConsentEvent, IndexFields, Receipt};

use crate::helpers::*;

/// `audit verify` in process, with the hub's own keys (and any saved checkpoints).
pub async fn verify_with(app: &TestApp, saved: Vec<String>) -> VerifyReport {
    let keys = app.state.checkpoints.keys();
    let opts = VerifyOptions {
        verifiers: keys.verifiers().to_vec(),
        origin: keys.origin().to_owned(),
        saved_checkpoints: saved,
        // Small pages: every replay in the tests crosses several stretches and workers.
        page: 7,
    };
    verify_log(&app.state.store, &opts).await.unwrap()
}

pub async fn verify(app: &TestApp) -> VerifyReport {
    verify_with(app, Vec::new()).await
}

/// A signed checkpoint of the whole current log (made now if the background round has not).
pub async fn checkpoint(app: &TestApp) -> tsunagi::store::StoredCheckpoint {
    let end = app.state.store.audit_end().await.unwrap();
    app.state.checkpoints.covering(end - 1).await.unwrap().unwrap()
}

/// A hub whose background checkpointer stays out of the way (tests sign checkpoints themselves).
pub async fn quiet_app(engine: Engine) -> TestApp {
    spawn_app_with(engine, |c| c.audit.checkpoint_interval_ms = 3_600_000).await
}

/// Appends `n` consent events concurrently (they share group commits).
pub async fn fill(app: &TestApp, n: usize) -> Vec<Receipt> {
    let appends = (0..n).map(|i| {
        let audit = app.state.audit.clone();
        async move {
            let event = ConsentEvent {
                at: "2026-11-20T00:00:00Z".into(),
                user: format!("filler-{i}"),
                agency: "jobota".into(),
                subject: format!("{i:032x}"),
                consent_id: tsunagi::domain::ConsentId::new_random(),
            };
            let index = IndexFields {
                at_ms: 1_795_000_000_000,
                decision: "recorded",
                requester_agency: Some("jobota".into()),
                ..IndexFields::default()
            };
            audit.append(&AuditEntry::ConsentRecorded(event), index).await.unwrap()
        }
    });
    join_all(appends).await
}

/// Runs SQL against the test database after dropping the log's append-only triggers, as an
/// attacker with database access would.
pub async fn tamper(app: &TestApp, sql: &str) {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&app.database_url).await.unwrap();
    let drop = match app.engine {
        Engine::Sqlite => {
            "DROP TRIGGER IF EXISTS audit_entries_no_update; DROP TRIGGER IF EXISTS audit_entries_no_delete; \
             DROP TRIGGER IF EXISTS audit_checkpoints_no_update; DROP TRIGGER IF EXISTS audit_checkpoints_no_delete; \
             DROP TRIGGER IF EXISTS audit_subtrees_no_update; DROP TRIGGER IF EXISTS audit_subtrees_no_delete;"
        }
        Engine::Postgres => {
            "DROP TRIGGER IF EXISTS audit_entries_no_update ON audit_entries; \
             DROP TRIGGER IF EXISTS audit_checkpoints_no_update ON audit_checkpoints; \
             DROP TRIGGER IF EXISTS audit_subtrees_no_update ON audit_subtrees;"
        }
    };
    sqlx::raw_sql(drop).execute(&mut conn).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
}

/// A privacy officer at the coordination division.
pub fn officer(app: &TestApp) -> Caller {
    app.caller("kobayashi", "welfare-coordination", "privacy-officer")
}

impl Caller {
    /// GET returning the status and the body as text.
    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let r = self
            .client
            .get(format!("{}{}", self.base, path))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }
}

/// Runs the real `tsunagi` binary against a database with the development keys.
pub fn tsunagi(database_url: &str, args: &[&str], cwd: &Path) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tsunagi"))
        .args(args)
        .current_dir(cwd)
        .env("TSUNAGI_DATABASE_URL", database_url)
        .env("TSUNAGI_KEYS__KEK_FILE", dev("kek.key"))
        .env("TSUNAGI_KEYS__PSEUDONYM_KEY_FILE", dev("pseudonym.key"))
        .env("TSUNAGI_KEYS__AUDIT_SIGNING_KEY_FILE", dev("audit-signing.key"))
        .output()
        .unwrap()
}

pub fn stdout(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
