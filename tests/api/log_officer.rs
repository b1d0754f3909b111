//! The privacy officer's tools over the real API: search (refusals included), a subject's
//! report as JSON and CSV with proofs, pseudonym lookup, alerts — each read logged, and refused
//! to everyone else.

use serde_json::{Value, json};
use tsunagi::audit::checkpoint::open_checkpoint;
use tsunagi::audit::keys::parse_vkeys;
use tsunagi::audit::merkle::{Hash, verify_inclusion};

use crate::helpers::*;
use crate::log_support::*;

fn hash(h: &str) -> Hash {
    Hash::try_from(hex::decode(h).unwrap().as_slice()).unwrap()
}

/// The story, two allowed disclosures, a refused one (purpose out of scope) and a refused one
/// from an agency outside the consent. Returns the story and the subject's pseudonym.
async fn busy_story(app: &TestApp) -> (Story, String) {
    let st = story(app).await;
    let ok = disclosure_body(&st.subject, &st.consent, "employment support");
    for _ in 0..2 {
        let (s, b) = st.jobota.post("/v1/disclosures", &ok).await;
        assert_eq!(s, 200, "{b}");
    }
    let (s, _) = st
        .jobota
        .post(
            "/v1/disclosures",
            &disclosure_body(&st.subject, &st.consent, "marketing"),
        )
        .await;
    assert_eq!(s, 403);
    let sapota = app.caller("ito", "sapota", "caseworker");
    let (s, _) = sapota.post("/v1/disclosures", &ok).await;
    assert_eq!(s, 403);
    let pseudonym = app.last_entry().await["subject"].as_str().unwrap().to_owned();
    (st, pseudonym)
}

fn indexes(v: &Value) -> Vec<u64> {
    v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["index"].as_u64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn privacy_officers_search_the_log_and_every_read_is_logged() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let (st, pseudonym) = busy_story(&app).await;
        let po = officer(&app);

        let (s, all) = po.get(&format!("/v1/audit/entries?subject={}", st.subject)).await;
        assert_eq!(s, 200, "{all}");
        let entries = all["entries"].as_array().unwrap();
        // consent recorded + 4 disclosure decisions, all mapped back to the subject.
        assert_eq!(entries.len(), 5, "{engine:?}: {all}");
        assert!(entries.iter().all(|e| e["subject_id"] == json!(st.subject)));
        assert_eq!(entries[0]["entry"]["kind"], "consent-recorded");
        // Reading was logged first, naming the officer and the pseudonym, never the id.
        let read = app.last_entry().await;
        assert_eq!(read["kind"], "log-read");
        assert_eq!(read["user"], "kobayashi");
        assert_eq!(read["action"], "search");
        assert_eq!(read["query"]["subject"], json!(pseudonym));
        assert_eq!(read["results"], 5);
        assert!(!read.to_string().contains(&st.subject));

        let (_, refused) = po
            .get(&format!("/v1/audit/entries?subject={}&outcome=refused", st.subject))
            .await;
        let reasons: Vec<&str> = refused["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["entry"]["reason"].as_str().unwrap())
            .collect();
        assert_eq!(
            reasons,
            ["consent_purpose_not_in_scope", "consent_recipient_not_in_scope"]
        );
        let (_, by_agency) = po.get("/v1/audit/entries?agency=sapota").await;
        assert_eq!(by_agency["entries"].as_array().unwrap().len(), 1);
        let (_, by_user) = po
            .get("/v1/audit/entries?user=tanaka&kind=disclosure&basis=consent")
            .await;
        assert_eq!(by_user["entries"].as_array().unwrap().len(), 3);
        let (_, future) = po.get("/v1/audit/entries?from=2099-01-01T00:00:00Z").await;
        assert!(future["entries"].as_array().unwrap().is_empty());
        let (_, past) = po
            .get("/v1/audit/entries?until=2000-01-01T00:00:00Z&kind=disclosure")
            .await;
        assert!(past["entries"].as_array().unwrap().is_empty());

        // Pages of two, following the cursor, cover every disclosure exactly once.
        let (_, every) = po.get("/v1/audit/entries?kind=disclosure&limit=500").await;
        let mut seen = Vec::new();
        let mut after = String::new();
        loop {
            let (s, page) = po
                .get(&format!("/v1/audit/entries?kind=disclosure&limit=2{after}"))
                .await;
            assert_eq!(s, 200);
            seen.extend(indexes(&page));
            match page["next_after"].as_u64() {
                Some(n) => after = format!("&after={n}"),
                None => break,
            }
        }
        assert_eq!(seen, indexes(&every));
        assert_eq!(seen.len(), 4);

        // A meeting session reference is searchable.
        let entry = tsunagi::audit::AuditEntry::ConsentRecorded(tsunagi::audit::ConsentEvent {
            at: "2026-11-20T00:00:00Z".into(),
            user: "suzuki".into(),
            agency: "welfare-coordination".into(),
            subject: pseudonym.clone(),
            consent_id: tsunagi::domain::ConsentId::new_random(),
        });
        let fields = tsunagi::audit::IndexFields {
            decision: "recorded",
            session_ref: Some("session-2026-11".into()),
            ..Default::default()
        };
        let r = app.state.audit.append(&entry, fields).await.unwrap();
        let (_, session) = po.get("/v1/audit/entries?session=session-2026-11").await;
        assert_eq!(indexes(&session), [r.index]);

        // Bad filters are refused with stable codes.
        let (s, e) = po.get("/v1/audit/entries?outcome=maybe").await;
        assert_eq!((s, e["error"]["code"].as_str()), (422, Some("invalid_value")));
        let (s, e) = po.get("/v1/audit/entries?colour=red").await;
        assert_eq!((s, e["error"]["code"].as_str()), (400, Some("invalid_query")));

        // Nobody else reads the log, and a refused read leaves no read entry.
        let before = app.audit_size().await;
        for caller in [&st.jobota, &st.owner] {
            let (s, e) = caller.get("/v1/audit/entries").await;
            assert_eq!((s, e["error"]["code"].as_str()), (403, Some("forbidden_by_policy")));
        }
        assert_eq!(app.audit_size().await, before);
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subjects_report_has_every_disclosure_with_proofs_and_no_sealed_or_third_party_detail() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let (st, _) = busy_story(&app).await;
        // A sealed section (it comes only from legal-report intake: an elder-abuse report goes to
        // the regional support centre): the disclosure's entry records it as withheld ("sealed").
        let (s, r) = app
            .caller("suzuki", "sapota", "caseworker")
            .post(
                "/v1/legal-reports",
                &json!({"report_type": "elder-abuse", "subject_id": st.subject,
                        "sections": [{"category": "safeguarding", "content": "bruises seen at a visit"}],
                        "reporter": {"name": "佐藤 花子", "contact": "neighbour"}}),
            )
            .await;
        assert_eq!(s, 201, "{r}");
        let mut all_categories = disclosure_body(&st.subject, &st.consent, "employment support");
        all_categories["categories"] = json!(["identity", "reporter-identity"]);
        let (s, b) = st.jobota.post("/v1/disclosures", &all_categories).await;
        assert_eq!(s, 200, "{b}");
        assert!(app.last_entry().await.to_string().contains("reporter-identity"));
        // Another person's disclosures stay out of this report.
        let (s, other) = st.owner.post("/v1/subjects", &json!({"local_id": "RSC-0002"})).await;
        assert_eq!(s, 201);
        let (s, _) = st
            .jobota
            .post(
                "/v1/disclosures",
                &disclosure_body(other["id"].as_str().unwrap(), &st.consent, "employment support"),
            )
            .await;
        assert_eq!(s, 403);

        let po = officer(&app);
        let (s, report) = po.get(&format!("/v1/audit/subjects/{}/report", st.subject)).await;
        assert_eq!(s, 200, "{report}");
        let lines = report["lines"].as_array().unwrap();
        assert_eq!(lines.len(), 5, "{engine:?}: {report}");
        let decisions: Vec<&str> = lines.iter().map(|l| l["decision"].as_str().unwrap()).collect();
        assert_eq!(decisions, ["allowed", "allowed", "refused", "refused", "allowed"]);
        assert_eq!(lines[0]["recipient_agency"], "jobota");
        assert_eq!(lines[0]["disclosed"], json!(["identity", "employment"]));
        assert_eq!(lines[0]["basis_ref"], json!(st.consent));
        // Every line is provably in the one signed checkpoint of the report.
        let verifiers = parse_vkeys(report["verifier_keys"].as_array().unwrap()[0].as_str().unwrap()).unwrap();
        let cp = open_checkpoint(report["checkpoint"]["note"].as_str().unwrap(), &verifiers).unwrap();
        assert_eq!(report["checkpoint"]["size"].as_u64(), Some(cp.size));
        for l in lines {
            let proof: Vec<Hash> = l["inclusion_proof"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| hash(h.as_str().unwrap()))
                .collect();
            verify_inclusion(
                l["index"].as_u64().unwrap(),
                cp.size,
                &hash(l["leaf_hash"].as_str().unwrap()),
                &proof,
                &cp.root,
            )
            .unwrap();
        }
        let text = report.to_string();
        for hidden in [
            "reporter-identity",
            "佐藤",
            "tanaka",
            "\"ito\"",
            "client_cert",
            "\"household\":",
        ] {
            assert!(!text.contains(hidden), "{hidden} must not be in the report: {text}");
        }
        let read = app.last_entry().await;
        assert_eq!(
            (read["kind"].as_str(), read["action"].as_str()),
            (Some("log-read"), Some("subject-report"))
        );

        // The same as CSV.
        let r = po
            .client
            .get(app.url(&format!("/v1/audit/subjects/{}/report?format=csv", st.subject)))
            .bearer_auth(&po.token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        let csv = r.text().await.unwrap();
        let rows: Vec<&str> = csv.trim_end().split("\r\n").collect();
        assert_eq!(rows.len(), 6, "{csv}");
        assert!(rows[0].starts_with("index,at,decision,recipient_agency"));
        assert!(
            rows[1].contains(",allowed,jobota,ota-ward,regional-support-centre,consent,"),
            "{csv}"
        );
        assert!(!csv.contains("reporter-identity") && !csv.contains("tanaka"), "{csv}");

        let (s, e) = st
            .jobota
            .get(&format!("/v1/audit/subjects/{}/report", st.subject))
            .await;
        assert_eq!((s, e["error"]["code"].as_str()), (403, Some("forbidden_by_policy")));
        let (s, e) = po
            .get("/v1/audit/subjects/8a6e0804-2bd0-4672-b79d-d97027f9071a/report")
            .await;
        assert_eq!((s, e["error"]["code"].as_str()), (404, Some("subject_not_found")));
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pseudonyms_map_back_to_people_for_privacy_officers_only() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let (s, hh) = st.owner.post("/v1/households", &json!({})).await;
        assert_eq!(s, 201, "{hh}");
        let household = hh["id"].as_str().unwrap().to_owned();
        let (s, _) = st
            .owner
            .post(
                "/v1/subjects",
                &json!({"local_id": "RSC-0003", "household_id": household}),
            )
            .await;
        assert_eq!(s, 201);
        let subject_p = app.state.pseudonyms.pseudonym("subject", &st.subject);
        let household_p = app.state.pseudonyms.pseudonym("household", &household);
        let po = officer(&app);
        let (s, who) = po.get(&format!("/v1/audit/pseudonyms/{subject_p}")).await;
        assert_eq!(s, 200, "{who}");
        assert_eq!(
            who,
            json!({"pseudonym": subject_p, "kind": "subject", "id": st.subject,
                "case_numbers": [{"agency": "regional-support-centre", "local_id": "RSC-0001"}]})
        );
        let read = app.last_entry().await;
        assert_eq!(
            (read["action"].as_str(), read["results"].as_u64()),
            (Some("pseudonym-lookup"), Some(1))
        );
        let (s, who) = po.get(&format!("/v1/audit/pseudonyms/{household_p}")).await;
        assert_eq!(
            (s, who["kind"].as_str(), who["id"].as_str()),
            (200, Some("household"), Some(household.as_str()))
        );
        let (s, e) = po.get("/v1/audit/pseudonyms/00000000000000000000000000000000").await;
        assert_eq!((s, e["error"]["code"].as_str()), (404, Some("pseudonym_unknown")));
        assert_eq!(
            app.last_entry().await["action"],
            "pseudonym-lookup",
            "failed lookups are logged too"
        );
        let (s, e) = st.jobota.get(&format!("/v1/audit/pseudonyms/{subject_p}")).await;
        assert_eq!((s, e["error"]["code"].as_str()), (403, Some("forbidden_by_policy")));
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusual_volume_raises_one_alert_per_user_and_day() {
    for engine in engines() {
        let app = spawn_app_with(engine, |c| {
            c.audit.alerts.user_daily_min = 2;
            c.audit.alerts.agency_daily_min = 1000;
        })
        .await;
        let st = story(&app).await;
        let body = disclosure_body(&st.subject, &st.consent, "employment support");
        for _ in 0..2 {
            st.jobota.post("/v1/disclosures", &body).await;
        }
        assert_eq!(
            app.state.alerts.check_volume().await.unwrap(),
            0,
            "two is not above two"
        );
        st.jobota.post("/v1/disclosures", &body).await;
        assert_eq!(app.state.alerts.check_volume().await.unwrap(), 1);
        assert_eq!(app.state.alerts.check_volume().await.unwrap(), 0, "once per day");
        let (s, alerts) = officer(&app).get("/v1/audit/alerts").await;
        assert_eq!(s, 200, "{alerts}");
        let alerts = alerts["alerts"].as_array().unwrap();
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0]["kind"], "unusual-volume");
        assert_eq!(alerts[0]["scope"], "user:jobota/tanaka");
        assert!(
            alerts[0]["detail"]
                .as_str()
                .unwrap()
                .starts_with("3 allowed disclosures")
        );
        let (s, e) = st.jobota.get("/v1/audit/alerts").await;
        assert_eq!((s, e["error"]["code"].as_str()), (403, Some("forbidden_by_policy")));
        app.stop().await;
    }
}
