//! A log known to be altered serves no proofs: the first check that fails (a proof that does not
//! verify before it is served, the checkpointer, `audit verify`) sets a persisted latch, and the
//! proof endpoints answer 503 `log_inconsistent` — after a restart too — until an operator clears
//! it with `tsunagi audit clear-inconsistency`, which needs the log to verify and is itself logged.

use std::sync::Arc;

use sqlx::Connection;
use tsunagi::clock::SystemClock;

use crate::helpers::*;
use crate::log_support::*;

const N: usize = 40;

async fn status_code(caller: &Caller, path: &str) -> (u16, Option<String>) {
    let (s, e) = caller.get(path).await;
    (s, e["error"]["code"].as_str().map(str::to_owned))
}

fn inconsistent() -> (u16, Option<String>) {
    (503, Some("log_inconsistent".to_owned()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_altered_entry_stops_every_proof_until_an_operator_clears_it() {
    for engine in engines() {
        let app = quiet_app(engine).await;
        let st = story(&app).await;
        fill(&app, N).await;
        let size = checkpoint(&app).await.size;
        let po = officer(&app);
        let jobota = app.caller("tanaka", "jobota", "caseworker");
        let report = format!("/v1/audit/subjects/{}/report", st.subject);
        let (s, _) = po.get(&report).await;
        assert_eq!(s, 200);
        let inclusion = |i: u64| format!("/v1/audit/proofs/inclusion?index={i}&size={size}");
        let (s, _) = jobota.get(&inclusion(17)).await;
        assert_eq!(s, 200, "{engine:?}: proofs are served while the log is intact");

        // An attacker with database access alters entry 17 (its leaf hash left as it was).
        tamper(&app, "SELECT 1").await;
        let mut conn = sqlx::AnyConnection::connect(&app.database_url).await.unwrap();
        let original = app.state.store.audit_entries(17, 1).await.unwrap().remove(0).entry;
        let forged = String::from_utf8(original.clone())
            .unwrap()
            .replace("filler-", "nobody-")
            .into_bytes();
        sqlx::query("UPDATE audit_entries SET entry = $1 WHERE idx = 17")
            .bind(forged)
            .execute(&mut conn)
            .await
            .unwrap();

        // The proof for entry 17 would not verify: it is not served, and the log is latched.
        assert_eq!(status_code(&jobota, &inclusion(17)).await, inconsistent());
        // From then on no proof is served, whoever asks and whatever it covers.
        assert_eq!(status_code(&jobota, &inclusion(3)).await, inconsistent());
        assert_eq!(status_code(&po, &inclusion(30)).await, inconsistent());
        assert_eq!(
            status_code(&po, &format!("/v1/audit/proofs/consistency?from={size}")).await,
            inconsistent()
        );
        // Subject reports carry proofs: refused too, before the read is logged.
        let before = app.audit_size().await;
        assert_eq!(status_code(&po, &report).await, inconsistent());
        assert_eq!(app.audit_size().await, before);
        let (s, alerts) = po.get("/v1/audit/alerts").await;
        assert_eq!(s, 200);
        assert!(
            alerts["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["kind"] == "verification-failed" && a["scope"] == "proof-check"),
            "{alerts}"
        );

        // A restart does not clear it.
        app.stop_keeping_database().await;
        let app = spawn_configured(engine, Some(app.database_url.clone()), Arc::new(SystemClock), |c| {
            c.audit.checkpoint_interval_ms = 3_600_000
        })
        .await;
        let po = officer(&app);
        assert_eq!(status_code(&po, &inclusion(3)).await, inconsistent());

        // The operator cannot clear it while the log still does not verify.
        let dir = tempfile::tempdir().unwrap();
        let clear = [
            "audit",
            "clear-inconsistency",
            "--operator",
            "yamada",
            "--reason",
            "entry 17 restored from the backup of 2026-12-01",
        ];
        let out = tsunagi(&app.database_url, &clear, dir.path());
        assert!(!out.status.success(), "{}", stdout(&out));
        assert!(stdout(&out).contains("FAIL at index 17"), "{}", stdout(&out));
        assert_eq!(status_code(&po, &inclusion(3)).await, inconsistent());

        // Repaired (restored) and cleared: proofs are served again, and the clearing is logged.
        sqlx::query("UPDATE audit_entries SET entry = $1 WHERE idx = 17")
            .bind(original)
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        let out = tsunagi(&app.database_url, &clear, dir.path());
        assert!(out.status.success(), "{}", stdout(&out));
        assert!(stdout(&out).contains("latch cleared"), "{}", stdout(&out));
        let cleared = app.last_entry().await;
        assert_eq!(
            (cleared["event"].as_str(), cleared["user"].as_str()),
            (Some("log-inconsistency-cleared"), Some("yamada"))
        );
        assert_eq!(
            cleared["detail"]["reason"],
            "entry 17 restored from the backup of 2026-12-01"
        );
        let (s, proof) = po.get(&inclusion(17)).await;
        assert_eq!(s, 200, "{proof}");
        let (s, _) = po.get(&report).await;
        assert_eq!(s, 200);
        let (s, _) = po.get(&format!("/v1/audit/proofs/consistency?from={size}")).await;
        assert_eq!(s, 200);
        // Nothing left to clear.
        let out = tsunagi(&app.database_url, &clear, dir.path());
        assert!(stdout(&out).contains("not marked inconsistent"), "{}", stdout(&out));
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_checkpoint_round_or_audit_verify_latches_too() {
    for engine in engines() {
        let app = quiet_app(engine).await;
        fill(&app, N).await;
        let size = checkpoint(&app).await.size;
        let po = officer(&app);
        tamper(
            &app,
            "UPDATE audit_entries SET leaf_hash = (SELECT leaf_hash FROM audit_entries WHERE idx = 2) WHERE idx = 5",
        )
        .await;
        let out = tsunagi(&app.database_url, &["audit", "verify"], &repo());
        assert!(!out.status.success());
        let latch = app.state.store.log_inconsistency().await.unwrap().unwrap();
        assert_eq!(latch.source, "audit-verify");
        assert_eq!(
            status_code(&po, &format!("/v1/audit/proofs/inclusion?index=30&size={size}")).await,
            inconsistent()
        );
        app.stop().await;

        // The checkpointer refusing to sign sets it as well.
        let app = quiet_app(engine).await;
        fill(&app, N).await;
        checkpoint(&app).await;
        tamper(&app, "DELETE FROM audit_entries WHERE idx = 11").await;
        fill(&app, 2).await;
        assert!(app.state.checkpoints.checkpoint_now().await.is_err());
        let latch = app.state.store.log_inconsistency().await.unwrap().unwrap();
        assert_eq!(latch.source, "checkpointer");
        assert_eq!(
            status_code(&officer(&app), "/v1/audit/proofs/inclusion?index=1").await,
            inconsistent()
        );
        app.stop().await;
    }
}
