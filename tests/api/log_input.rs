//! Bad input on the log endpoints gets a clear 4xx and changes nothing: positions and sizes the
//! log does not have (2^63, u64::MAX, 0, from > to, …), and individual numbers (My Number) in an
//! officer's search parameters or pseudonym lookups, refused before anything is logged.

use crate::helpers::*;
use crate::log_support::*;

const MY_NUMBER: &str = "123456789018";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn positions_beyond_the_log_are_client_errors_not_500s() {
    for engine in engines() {
        let app = quiet_app(engine).await;
        fill(&app, 5).await;
        let size = checkpoint(&app).await.size;
        let jobota = app.caller("tanaka", "jobota", "caseworker");
        let po = officer(&app);
        let big = 1u64 << 63;
        let max = u64::MAX;
        let cases: Vec<(String, u16, &str)> = vec![
            (format!("/v1/audit/checkpoint?size={big}"), 404, "checkpoint_not_found"),
            (format!("/v1/audit/checkpoint?size={max}"), 404, "checkpoint_not_found"),
            ("/v1/audit/checkpoint?size=0".into(), 404, "checkpoint_not_found"),
            (
                "/v1/audit/checkpoint?size=18446744073709551616".into(),
                400,
                "invalid_query",
            ),
            ("/v1/audit/checkpoint?size=-1".into(), 400, "invalid_query"),
            (
                format!("/v1/audit/proofs/inclusion?index={big}"),
                404,
                "entry_not_found",
            ),
            (
                format!("/v1/audit/proofs/inclusion?index={max}"),
                404,
                "entry_not_found",
            ),
            (
                format!("/v1/audit/proofs/inclusion?index={size}"),
                404,
                "entry_not_found",
            ),
            (
                format!("/v1/audit/proofs/inclusion?index=1&size={big}"),
                404,
                "checkpoint_not_found",
            ),
            (
                format!("/v1/audit/proofs/inclusion?index=1&size={max}"),
                404,
                "checkpoint_not_found",
            ),
            (
                "/v1/audit/proofs/inclusion?index=1&size=0".into(),
                404,
                "checkpoint_not_found",
            ),
            (
                format!("/v1/audit/proofs/consistency?from={big}"),
                404,
                "checkpoint_not_found",
            ),
            (
                format!("/v1/audit/proofs/consistency?from={max}"),
                404,
                "checkpoint_not_found",
            ),
            (
                "/v1/audit/proofs/consistency?from=0".into(),
                404,
                "checkpoint_not_found",
            ),
            (
                format!("/v1/audit/proofs/consistency?from={size}&to={big}"),
                404,
                "checkpoint_not_found",
            ),
            (
                format!("/v1/audit/proofs/consistency?from={size}&to={max}"),
                404,
                "checkpoint_not_found",
            ),
            (
                format!("/v1/audit/proofs/consistency?from={size}&to=0"),
                404,
                "checkpoint_not_found",
            ),
            (
                format!("/v1/audit/proofs/consistency?from={}", size + 1),
                404,
                "checkpoint_not_found",
            ),
        ];
        for (path, status, code) in &cases {
            for caller in [&jobota, &po] {
                let (s, e) = caller.get(path).await;
                assert_eq!(
                    (s, e["error"]["code"].as_str()),
                    (*status, Some(*code)),
                    "{engine:?} {path}: {e}"
                );
            }
        }
        // A second, larger checkpoint: from > to is refused, from = to is an empty proof.
        fill(&app, 3).await;
        let larger = checkpoint(&app).await.size;
        let (s, e) = po
            .get(&format!("/v1/audit/proofs/consistency?from={larger}&to={size}"))
            .await;
        assert_eq!((s, e["error"]["code"].as_str()), (422, Some("invalid_proof_request")));
        let (s, same) = po
            .get(&format!("/v1/audit/proofs/consistency?from={size}&to={size}"))
            .await;
        assert_eq!(s, 200, "{same}");
        assert!(same["proof"].as_array().unwrap().is_empty());
        let (s, e) = po
            .get(&format!("/v1/audit/proofs/inclusion?index={}&size={size}", larger - 1))
            .await;
        assert_eq!((s, e["error"]["code"].as_str()), (422, Some("index_out_of_range")));
        let (s, _) = po.get(&format!("/v1/audit/proofs/consistency?from={size}")).await;
        assert_eq!(s, 200);
        // None of it marked the log inconsistent.
        assert!(app.state.store.log_inconsistency().await.unwrap().is_none());
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_individual_number_in_an_officers_query_is_refused_before_it_is_logged() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let po = officer(&app);
        let spaced = "1234 5678 9018";
        let paths = [
            format!("/v1/audit/entries?user={MY_NUMBER}"),
            format!("/v1/audit/entries?agency={MY_NUMBER}"),
            format!("/v1/audit/entries?session={MY_NUMBER}"),
            format!("/v1/audit/entries?kind=x{MY_NUMBER}"),
            format!("/v1/audit/entries?after={MY_NUMBER}"),
            format!("/v1/audit/entries?subject_pseudonym={MY_NUMBER}"),
            format!("/v1/audit/entries?subject_pseudonym=ab{MY_NUMBER}cdef0123456789abcdef"),
            format!("/v1/audit/entries?user={}", spaced.replace(' ', "%20")),
            format!("/v1/audit/pseudonyms/{MY_NUMBER}"),
            format!("/v1/audit/pseudonyms/ab{MY_NUMBER}cdef0123456789abcdef"),
        ];
        for path in &paths {
            let before = app.audit_size().await;
            let (s, e) = po.get(path).await;
            assert_eq!(
                (s, e["error"]["code"].as_str()),
                (422, Some("my_number_refused")),
                "{engine:?} {path}: {e}"
            );
            assert_eq!(app.audit_size().await, before, "{path} was logged");
        }
        // Nothing with the number reached the log.
        let rows = app.state.store.audit_entries(0, 10_000).await.unwrap();
        for r in rows {
            let text = String::from_utf8(r.entry).unwrap();
            assert!(!text.contains(MY_NUMBER), "{text}");
        }
        // Ordinary values still work, and the subject's own pseudonym resolves.
        let (s, _) = po.get("/v1/audit/entries?user=tanaka&kind=disclosure").await;
        assert_eq!(s, 200);
        let p = app.state.pseudonyms.pseudonym("subject", &st.subject);
        let (s, _) = po.get(&format!("/v1/audit/pseudonyms/{p}")).await;
        assert_eq!(s, 200);
        app.stop().await;
    }
}
