//! Privacy officers are scoped: an officer sees the log entries of their own organ (as requester,
//! actor or owner); officers of the agencies on the configured ward-wide list see everything.
//! Search, subject reports (JSON and CSV), pseudonym lookups, inclusion proofs and alerts alike;
//! every log-read entry records the scope it was read in.

use serde_json::{Value, json};
use tsunagi::audit::alerts::AlertKind;

use crate::helpers::*;
use crate::log_support::*;

/// The agencies an entry involves (requesting or acting agency, owning agency).
fn agencies_of(e: &Value) -> Vec<String> {
    let entry = &e["entry"];
    [&entry["requester"]["agency"], &entry["owner_agency"], &entry["agency"]]
        .into_iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

fn indexes(v: &Value) -> Vec<u64> {
    v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["index"].as_u64().unwrap())
        .collect()
}

const RSC: &str = "regional-support-centre";
const WARD: [&str; 5] = [
    "disability-centre",
    "jobota",
    "sapota",
    "child-services",
    "welfare-coordination",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_officer_reads_their_own_organ_and_the_ward_wide_officer_reads_everything() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        // RSC-internal: RSC registers a person and records their consent.
        let st = story(&app).await;
        let rsc_internal = app.audit_size().await - 1;
        assert_eq!(app.last_entry().await["kind"], "consent-recorded");
        // Across organs: JOBOTA (ward) asks RSC (private) under the consent.
        let (s, b) = st
            .jobota
            .post(
                "/v1/disclosures",
                &disclosure_body(&st.subject, &st.consent, "employment support"),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        let across = b["audit_receipt"]["index"].as_u64().unwrap();
        // Ward-internal: JOBOTA registers its own person and records a consent for SAPOTA.
        let (s, own) = st.jobota.post("/v1/subjects", &json!({"local_id": "JOB-0001"})).await;
        assert_eq!(s, 201, "{own}");
        let ward_subject = own["id"].as_str().unwrap().to_owned();
        let mut consent = consent_body("2026-01-01T00:00:00Z", "2099-01-01T00:00:00Z");
        consent["recipients"] = json!(["sapota"]);
        let (s, c) = st
            .jobota
            .post(&format!("/v1/subjects/{ward_subject}/consents"), &consent)
            .await;
        assert_eq!(s, 201, "{c}");
        let ward_internal = app.audit_size().await - 1;

        let rsc_po = app.caller("ogawa", RSC, "privacy-officer");
        let ward_po = app.caller("mori", "jobota", "privacy-officer");
        let wide_po = officer(&app);

        // The contracted corporation's officer: only entries involving RSC.
        let (s, seen) = rsc_po.get("/v1/audit/entries?limit=500").await;
        assert_eq!(s, 200, "{seen}");
        let got = indexes(&seen);
        assert!(
            got.contains(&rsc_internal) && got.contains(&across),
            "{engine:?}: {got:?}"
        );
        assert!(
            !got.contains(&ward_internal),
            "{engine:?}: RSC's officer read a ward entry"
        );
        for e in seen["entries"].as_array().unwrap() {
            assert!(agencies_of(e).iter().any(|a| a == RSC), "out of scope: {e}");
        }
        let read = app.last_entry().await;
        assert_eq!(
            (read["kind"].as_str(), read["scope"].as_str()),
            (Some("log-read"), Some("organ:regional-support-operator"))
        );

        // A ward agency's officer: ward entries, not RSC-internal ones.
        let (s, seen) = ward_po.get("/v1/audit/entries?limit=500").await;
        assert_eq!(s, 200, "{seen}");
        let got = indexes(&seen);
        assert!(
            got.contains(&ward_internal) && got.contains(&across),
            "{engine:?}: {got:?}"
        );
        assert!(
            !got.contains(&rsc_internal),
            "{engine:?}: a ward officer read an RSC-internal entry"
        );
        for e in seen["entries"].as_array().unwrap() {
            assert!(
                agencies_of(e).iter().any(|a| WARD.contains(&a.as_str())),
                "out of scope: {e}"
            );
        }
        assert_eq!(app.last_entry().await["scope"], "organ:ota-ward");
        // Filters cannot widen the scope.
        let (_, rsc_only) = ward_po.get(&format!("/v1/audit/entries?agency={RSC}")).await;
        assert_eq!(indexes(&rsc_only), [across]);

        // The ward-wide officer (configured in policies/bases.toml) reads everything.
        let size = app.audit_size().await;
        let (s, seen) = wide_po.get("/v1/audit/entries?limit=500").await;
        assert_eq!(s, 200);
        assert_eq!(indexes(&seen), (0..size).collect::<Vec<_>>());
        assert_eq!(app.last_entry().await["scope"], "ward-wide");

        // Subject reports: only lines in scope.
        let (s, report) = rsc_po.get(&format!("/v1/audit/subjects/{}/report", st.subject)).await;
        assert_eq!(s, 200, "{report}");
        assert_eq!(report["lines"].as_array().unwrap().len(), 1);
        assert_eq!(app.last_entry().await["scope"], "organ:regional-support-operator");
        let (s, text) = rsc_po
            .get_text(&format!("/v1/audit/subjects/{}/report?format=csv", st.subject))
            .await;
        assert_eq!(s, 200);
        assert_eq!(text.trim_end().split("\r\n").count(), 2, "{text}");
        // JOBOTA's own person has no disclosure involving RSC.
        let sapota = app.caller("ito", "sapota", "caseworker");
        let (s, _) = sapota
            .post(
                "/v1/disclosures",
                &json!({"subject_id": ward_subject, "owner_agency": "jobota", "purpose": "employment support",
                        "basis": {"type": "consent", "consent_id": c["id"]}}),
            )
            .await;
        assert!(s == 200 || s == 403, "{s}");
        for (po, lines) in [(&rsc_po, 0), (&ward_po, 1), (&wide_po, 1)] {
            let (s, report) = po.get(&format!("/v1/audit/subjects/{ward_subject}/report")).await;
            assert_eq!(s, 200, "{report}");
            assert_eq!(report["lines"].as_array().unwrap().len(), lines, "{report}");
            let (_, csv) = po
                .get_text(&format!("/v1/audit/subjects/{ward_subject}/report?format=csv"))
                .await;
            assert_eq!(csv.trim_end().split("\r\n").count(), 1 + lines, "{csv}");
        }

        // Pseudonym lookups: only people in the officer's entries (searching for a pseudonym, or
        // asking for a report, does not bring it into scope).
        let ward_p = app.state.pseudonyms.pseudonym("subject", &ward_subject);
        let rsc_p = app.state.pseudonyms.pseudonym("subject", &st.subject);
        let (s, none) = rsc_po
            .get(&format!("/v1/audit/entries?subject_pseudonym={ward_p}"))
            .await;
        assert_eq!(s, 200);
        assert!(
            none["entries"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["entry"]["kind"] == "log-read" && e["entry"]["agency"] == RSC),
            "only RSC's own reports on that person: {none}"
        );
        let (s, e) = rsc_po.get(&format!("/v1/audit/pseudonyms/{ward_p}")).await;
        assert_eq!((s, e["error"]["code"].as_str()), (404, Some("pseudonym_unknown")));
        assert_eq!(
            (
                app.last_entry().await["results"].as_u64(),
                app.last_entry().await["scope"].as_str()
            ),
            (Some(0), Some("organ:regional-support-operator"))
        );
        let (s, who) = rsc_po.get(&format!("/v1/audit/pseudonyms/{rsc_p}")).await;
        assert_eq!((s, who["id"].as_str()), (200, Some(st.subject.as_str())));
        let (s, who) = ward_po.get(&format!("/v1/audit/pseudonyms/{ward_p}")).await;
        assert_eq!((s, who["id"].as_str()), (200, Some(ward_subject.as_str())));
        let (s, _) = wide_po.get(&format!("/v1/audit/pseudonyms/{ward_p}")).await;
        assert_eq!(s, 200);

        // Inclusion proofs: an officer gets them for entries in scope.
        checkpoint(&app).await;
        let proof = |i: u64| format!("/v1/audit/proofs/inclusion?index={i}");
        let (s, e) = rsc_po.get(&proof(ward_internal)).await;
        assert_eq!((s, e["error"]["code"].as_str()), (403, Some("entry_not_yours")));
        let (s, _) = rsc_po.get(&proof(rsc_internal)).await;
        assert_eq!(s, 200);
        let (s, e) = ward_po.get(&proof(rsc_internal)).await;
        assert_eq!((s, e["error"]["code"].as_str()), (403, Some("entry_not_yours")));
        let (s, _) = wide_po.get(&proof(ward_internal)).await;
        assert_eq!(s, 200);

        // Alerts: about one's own organ's agencies and users, and the log's own integrity.
        let alerts = &app.state.alerts;
        alerts
            .raise(AlertKind::UnusualVolume, "user:jobota/tanaka", "x")
            .await
            .unwrap();
        alerts
            .raise(AlertKind::UnusualVolume, &format!("agency:{RSC}"), "y")
            .await
            .unwrap();
        alerts
            .raise(AlertKind::VerificationFailed, "checkpointer", "z")
            .await
            .unwrap();
        let scopes = |v: &Value| {
            let mut s: Vec<String> = v["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["scope"].as_str().unwrap().to_owned())
                .collect();
            s.sort();
            s
        };
        let (_, a) = rsc_po.get("/v1/audit/alerts").await;
        assert_eq!(scopes(&a), ["agency:regional-support-centre", "checkpointer"]);
        let (_, a) = ward_po.get("/v1/audit/alerts").await;
        assert_eq!(scopes(&a), ["checkpointer", "user:jobota/tanaka"]);
        let (_, a) = wide_po.get("/v1/audit/alerts").await;
        assert_eq!(scopes(&a).len(), 3);

        // Everyone else is still refused, and nothing is logged for them.
        let before = app.audit_size().await;
        let (s, e) = st.jobota.get("/v1/audit/entries").await;
        assert_eq!((s, e["error"]["code"].as_str()), (403, Some("forbidden_by_policy")));
        assert_eq!(app.audit_size().await, before);
        app.stop().await;
    }
}
