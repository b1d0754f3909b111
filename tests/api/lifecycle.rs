//! The application owns its background tasks: they run while it serves and are stopped, and
//! waited for, when the server stops — no task outlives the hub or touches its store afterwards.

use std::time::Duration;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_server_stops_every_background_task() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let mut running = app.tasks.running().await;
        running.sort_unstable();
        let mut expected = vec![
            "TLS reloader",
            "alert checks",
            "audit sequencer",
            "checkpointer",
            "plan overdue check",
            "policy watcher",
            "webhook deliverer",
        ];
        if engine == Engine::Sqlite {
            expected.extend(["WAL checkpointer", "disk watcher"]);
        }
        expected.sort_unstable();
        assert_eq!(running, expected, "{engine:?}");

        // Stop only the server, as a signal would: the application stops its tasks itself.
        app.handle.stop(true).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let still = app.tasks.running().await;
            if still.is_empty() {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "still running after stop: {still:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }

        // The sequencer is gone: nothing more reaches the log, the caller hears "unavailable".
        let size = app.audit_size().await;
        let event = tsunagi::audit::ConsentEvent {
            at: "2026-11-20T00:00:00Z".into(),
            user: "u".into(),
            agency: "jobota".into(),
            subject: "x".into(),
            consent_id: tsunagi::domain::ConsentId::new_random(),
        };
        let appended = app
            .state
            .audit
            .append(
                &tsunagi::audit::AuditEntry::ConsentRecorded(event),
                tsunagi::audit::IndexFields {
                    decision: "recorded",
                    ..Default::default()
                },
            )
            .await;
        assert!(
            matches!(appended, Err(tsunagi::audit::AuditError::Unavailable)),
            "{engine:?}"
        );
        assert_eq!(app.audit_size().await, size);
        app.stop().await;
    }
}
