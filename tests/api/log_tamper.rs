//! Tamper evidence: an attacker with database access drops the append-only triggers and edits,
//! deletes or forges rows. `audit verify` names the exact index (or checkpoint), the
//! checkpointer refuses to sign over the damage, and privacy officers get an alert.

use sqlx::Connection;
use tsunagi::audit::checkpoint::{Checkpoint, NoteSigner};
use tsunagi::audit::merkle::leaf_hash;
use tsunagi::audit::verify::Problem;

use crate::helpers::*;
use crate::log_support::*;

const N: usize = 40;

/// A hub with `N` entries and a checkpoint over them; the triggers are dropped and a
/// connection returned for the attacker.
async fn attacked_log(engine: Engine, n: usize) -> (TestApp, u64, sqlx::AnyConnection) {
    let app = quiet_app(engine).await;
    fill(&app, n).await;
    let cp = checkpoint(&app).await;
    assert!(verify(&app).await.ok());
    tamper(&app, "SELECT 1").await;
    let conn = sqlx::AnyConnection::connect(&app.database_url).await.unwrap();
    (app, cp.size, conn)
}

async fn entry_at(app: &TestApp, index: u64) -> Vec<u8> {
    app.state.store.audit_entries(index, 1).await.unwrap().remove(0).entry
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_altered_entry_or_leaf_hash_is_reported_at_its_exact_index() {
    for engine in engines() {
        for (index, what) in [(0u64, "entry"), (17, "leaf"), (N as u64 - 1, "entry"), (23, "leaf")] {
            let (app, _, mut conn) = attacked_log(engine, N).await;
            // SQLite's replay reads the file itself (store::DirectReader); PostgreSQL's, pages.
            assert_eq!(
                app.state.store.direct_reader().map(|r| r.is_ok()),
                (engine == Engine::Sqlite).then_some(true),
                "{engine:?}"
            );
            if what == "entry" {
                let forged = String::from_utf8(entry_at(&app, index).await)
                    .unwrap()
                    .replace("filler-", "nobody-");
                sqlx::query("UPDATE audit_entries SET entry = $1 WHERE idx = $2")
                    .bind(forged.into_bytes())
                    .bind(index as i64)
                    .execute(&mut conn)
                    .await
                    .unwrap();
            } else {
                sqlx::query("UPDATE audit_entries SET leaf_hash = $1 WHERE idx = $2")
                    .bind(leaf_hash(b"something else").to_vec())
                    .bind(index as i64)
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
            let report = verify(&app).await;
            match report.problems.first() {
                Some(Problem::LeafHashMismatch { index: at, .. }) => assert_eq!(*at, index, "{engine:?} {what}"),
                other => panic!("{engine:?} {what} at {index}: {other:?}"),
            }
            conn.close().await.unwrap();
            app.stop().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_fails_with_the_index_and_the_checkpointer_refuses_to_sign() {
    for engine in engines() {
        let (app, _, mut conn) = attacked_log(engine, N).await;
        let dir = tempfile::tempdir().unwrap();
        let ok = tsunagi(&app.database_url, &["audit", "verify"], &repo());
        assert!(ok.status.success(), "{}", stdout(&ok));
        assert!(stdout(&ok).contains("OK: root"), "{}", stdout(&ok));

        sqlx::query("UPDATE audit_entries SET leaf_hash = $1 WHERE idx = 17")
            .bind(leaf_hash(b"forged").to_vec())
            .execute(&mut conn)
            .await
            .unwrap();
        let bad = tsunagi(&app.database_url, &["audit", "verify"], dir.path());
        assert!(!bad.status.success());
        assert!(stdout(&bad).contains("FAIL at index 17: entry 17"), "{}", stdout(&bad));

        // More entries arrive; the checkpointer will not sign over the altered tree.
        fill(&app, 3).await;
        let err = app.state.checkpoints.checkpoint_now().await.unwrap_err();
        assert!(err.to_string().contains("does not match"), "{err}");
        let (s, alerts) = officer(&app).get("/v1/audit/alerts").await;
        assert_eq!(s, 200);
        let kinds: Vec<(&str, &str)> = alerts["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["kind"].as_str().unwrap(), a["scope"].as_str().unwrap()))
            .collect();
        assert!(kinds.contains(&("verification-failed", "checkpointer")), "{kinds:?}");
        assert!(kinds.contains(&("verification-failed", "audit-verify")), "{kinds:?}");
        conn.close().await.unwrap();
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn altered_or_forged_checkpoints_are_reported() {
    for engine in engines() {
        let (app, size, mut conn) = attacked_log(engine, N).await;
        let note: String = sqlx::query_as::<_, (String,)>("SELECT note FROM audit_checkpoints WHERE size = $1")
            .bind(size as i64)
            .fetch_one(&mut conn)
            .await
            .unwrap()
            .0;
        // The signed text is edited (another root), the signature kept.
        let mut lines: Vec<String> = note.split('\n').map(str::to_owned).collect();
        lines[2] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into();
        sqlx::query("UPDATE audit_checkpoints SET note = $1 WHERE size = $2")
            .bind(lines.join("\n"))
            .bind(size as i64)
            .execute(&mut conn)
            .await
            .unwrap();
        let report = verify(&app).await;
        assert!(
            matches!(report.problems.first(), Some(Problem::CheckpointSignature { size: s, .. }) if *s == size),
            "{engine:?}: {:?}",
            report.problems
        );
        // A checkpoint forged with the attacker's own key is reported too.
        let forger = NoteSigner::from_seed("tsunagi.local", &[66u8; 32]).unwrap();
        let body = Checkpoint {
            origin: "tsunagi.local".into(),
            size: 3,
            root: [0u8; 32],
            extensions: vec![],
        }
        .body();
        sqlx::query(
            "INSERT INTO audit_checkpoints (size, root, note, key_name, key_id, signed_at_ms) VALUES (3, $1, $2, 'x', 'y', 0)",
        )
        .bind(vec![0u8; 32])
        .bind(forger.sign(&body).unwrap())
        .execute(&mut conn)
        .await
        .unwrap();
        let report = verify(&app).await;
        assert!(
            matches!(
                report.problems.first(),
                Some(Problem::CheckpointSignature { size: 3, .. })
            ),
            "{:?}",
            report.problems
        );
        conn.close().await.unwrap();
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_log_is_caught_against_an_earlier_checkpoint() {
    for engine in engines() {
        let (app, size, mut conn) = attacked_log(engine, N).await;
        let saved = app.state.store.checkpoint_at(size).await.unwrap().unwrap().note;
        sqlx::query("DELETE FROM audit_entries WHERE idx >= $1")
            .bind(size as i64 - 5)
            .execute(&mut conn)
            .await
            .unwrap();
        let report = verify(&app).await;
        assert!(
            matches!(report.problems.first(), Some(Problem::Truncated { end, size: s, .. }) if *end == size - 5 && *s == size),
            "{engine:?}: {:?}",
            report.problems
        );
        // The attacker deletes the checkpoints too; the auditor's saved copy still catches it.
        sqlx::query("DELETE FROM audit_checkpoints")
            .execute(&mut conn)
            .await
            .unwrap();
        assert!(verify(&app).await.ok(), "nothing left in the database to compare with");
        let report = verify_with(&app, vec![saved]).await;
        assert!(
            matches!(report.problems.first(), Some(Problem::Truncated { end, source, .. }) if *end == size - 5 && source == "saved checkpoint"),
            "{:?}",
            report.problems
        );
        conn.close().await.unwrap();
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_rows_and_rewritten_entries_with_their_hashes_are_caught() {
    for engine in engines() {
        // A row deleted from the middle leaves a gap.
        let (app, _, mut conn) = attacked_log(engine, N).await;
        sqlx::query("DELETE FROM audit_entries WHERE idx = 11")
            .execute(&mut conn)
            .await
            .unwrap();
        let report = verify(&app).await;
        assert_eq!(report.problems.first(), Some(&Problem::EntryMissing { index: 11 }));
        conn.close().await.unwrap();
        app.stop().await;

        // An entry rewritten together with its leaf hash: the signed root catches the range,
        // and the stored subtree root narrows it to its 256 entries.
        let (app, size, mut conn) = attacked_log(engine, 300).await;
        let forged = String::from_utf8(entry_at(&app, 100).await)
            .unwrap()
            .replace("filler-", "nobody-")
            .into_bytes();
        sqlx::query("UPDATE audit_entries SET leaf_hash = $1, entry = $2 WHERE idx = 100")
            .bind(leaf_hash(&forged).to_vec())
            .bind(forged)
            .execute(&mut conn)
            .await
            .unwrap();
        let report = verify(&app).await;
        let covers = |p: &Problem| match p {
            Problem::SubtreeMismatch { first, last, .. } => *first <= 100 && 100 <= *last,
            Problem::RootMismatch { since, size: s, .. } => *since <= 100 && 100 < *s && *s <= size,
            _ => false,
        };
        assert!(!report.ok());
        assert!(report.problems.iter().all(covers), "{:?}", report.problems);
        assert!(
            report.problems.iter().any(|p| matches!(
                p,
                Problem::SubtreeMismatch {
                    first: 0,
                    last: 255,
                    ..
                }
            )),
            "{:?}",
            report.problems
        );
        conn.close().await.unwrap();
        app.stop().await;
    }
}
