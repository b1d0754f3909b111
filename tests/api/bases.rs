//! The other lawful bases over the real API: emergency break-glass (minimal categories, expiry,
//! alert, review), abuse reports (designated receiver only, reporter sealed), internal use
//! (organ boundary, assignment, reason), and revocation notices.

use std::sync::Arc;

use serde_json::{Value, json};
use tsunagi::clock::{Clock as _, FixedClock};

use crate::helpers::*;

fn request(subject: &str, owner: &str, basis: Value) -> Value {
    json!({"subject_id": subject, "owner_agency": owner, "purpose": "protect the person", "basis": basis})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emergency_grants_are_minimal_short_alerted_and_reviewed() {
    for engine in engines() {
        let clock = Arc::new(FixedClock::new(time::OffsetDateTime::now_utc()));
        let app = spawn_app_with_clock(engine, clock.clone()).await;
        let st = story(&app).await;
        let grant_body = json!({"subject_id": st.subject, "owner_agency": "regional-support-centre",
            "risk": "no answer for three days, neighbours report a fall", "why_consent_impracticable": "unreachable"});
        let system = app.caller("crm", "jobota", "system");
        assert_eq!(system.post("/v1/emergency-grants", &grant_body).await.0, 403);
        let (s, grant) = st.jobota.post("/v1/emergency-grants", &grant_body).await;
        assert_eq!(s, 201, "{grant}");
        assert!(
            grant.get("grounds").is_none(),
            "grounds are not echoed to the requester"
        );
        let grant_id = grant["id"].as_str().unwrap().to_owned();
        let basis = json!({"type": "emergency", "grant_id": grant_id});
        let (s, r) = st
            .jobota
            .post(
                "/v1/disclosures",
                &request(&st.subject, "regional-support-centre", basis.clone()),
            )
            .await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(
            r["disclosed"],
            json!(["identity", "health"]),
            "only the minimal categories"
        );
        assert!(
            r["withheld"]
                .as_array()
                .unwrap()
                .contains(&json!({"category": "employment", "reason": "not_covered_by_basis"}))
        );
        let entry = app.last_entry().await;
        assert_eq!(
            entry["basis_context"]["statute"], "個人情報保護法 第27条第1項第2号",
            "the owner is a private organ"
        );
        // Someone else cannot use the grant.
        let other = app.caller("mori", "jobota", "caseworker");
        let (s, r) = other
            .post(
                "/v1/disclosures",
                &request(&st.subject, "regional-support-centre", basis.clone()),
            )
            .await;
        assert_eq!((s, r["error"]["code"].as_str()), (403, Some("grant_not_yours")));
        // The grant lasts 72 hours at most. (73 hours on, the user's token has expired too: the
        // hub judges tokens by its clock, so they sign in again.)
        clock.set(clock.now() + time::Duration::hours(73));
        let jobota = app.caller("tanaka", "jobota", "caseworker");
        let (s, r) = jobota
            .post(
                "/v1/disclosures",
                &request(&st.subject, "regional-support-centre", basis),
            )
            .await;
        assert_eq!((s, r["error"]["code"].as_str()), (403, Some("grant_expired")));
        // Privacy officers see it as unreviewed until they record an outcome, which is logged.
        let officer = app.caller("ito", "welfare-coordination", "privacy-officer");
        assert_eq!(jobota.get("/v1/emergency-grants/unreviewed").await.0, 403);
        let (s, list) = officer.get("/v1/emergency-grants/unreviewed").await;
        assert_eq!(s, 200);
        let listed = list
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["id"] == grant_id.as_str())
            .unwrap();
        assert!(listed["grounds"].as_str().unwrap().contains("fall"));
        let review = json!({"outcome": "justified", "note": "confirmed fall, ambulance called"});
        let (s, r) = officer
            .post(&format!("/v1/emergency-grants/{grant_id}/review"), &review)
            .await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(app.last_entry().await["event"], "emergency-reviewed");
        let (s, r) = officer
            .post(&format!("/v1/emergency-grants/{grant_id}/review"), &review)
            .await;
        assert_eq!((s, r["error"]["code"].as_str()), (409, Some("grant_already_reviewed")));
        let (_, list) = officer.get("/v1/emergency-grants/unreviewed").await;
        assert!(!list.as_array().unwrap().iter().any(|g| g["id"] == grant_id.as_str()));
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abuse_reports_reach_only_the_designated_agency_and_the_reporter_stays_sealed() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let sapota = app.caller("suzuki", "sapota", "caseworker");
        let children = app.caller("abe", "child-services", "caseworker");
        sapota
            .post(
                &format!("/v1/subjects/{}/links", st.subject),
                &json!({"local_id": "SAP-9"}),
            )
            .await;
        sapota
            .post(
                &format!("/v1/subjects/{}/records", st.subject),
                &json!({"purpose": "outreach", "sections": [{"category": "safeguarding", "content": "child seen with bruises at visit"}]}),
            )
            .await;
        // Filing: no consent needed; it goes to child-services whatever the reporter names.
        let (s, report) = sapota
            .post(
                "/v1/legal-reports",
                &json!({"report_type": "child-abuse", "subject_id": st.subject,
                        "sections": [{"category": "safeguarding", "content": "suspected neglect of the grandchild"}],
                        "reporter": {"name": "鈴木 一郎", "contact": "03-0000-0000"}}),
            )
            .await;
        assert_eq!(s, 201, "{report}");
        assert_eq!(report["receiving_agency"], "child-services");
        let report_id = report["id"].as_str().unwrap();
        assert_eq!(app.last_entry().await["event"], "legal-report-filed");
        let (s, r) = sapota
            .post(
                "/v1/legal-reports",
                &json!({"report_type": "gossip", "subject_id": st.subject, "sections": [], "reporter": {"name": "x"}}),
            )
            .await;
        assert_eq!((s, r["error"]["code"].as_str()), (422, Some("unknown_report_type")));

        // The receiving agency may ask the reporter for its material; nobody else may.
        let basis = json!({"type": "legal-report", "report_id": report_id});
        let (s, r) = children
            .post("/v1/disclosures", &request(&st.subject, "sapota", basis.clone()))
            .await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["disclosed"], json!(["safeguarding"]));
        let (s, r) = st
            .jobota
            .post("/v1/disclosures", &request(&st.subject, "sapota", basis))
            .await;
        assert_eq!((s, r["error"]["code"].as_str()), (403, Some("not_designated_receiver")));

        // The report itself is child-services' record; the reporter's identity never leaves it.
        let (s, index) = children.get(&format!("/v1/subjects/{}/records", st.subject)).await;
        assert_eq!(s, 200, "{index}");
        let categories: Vec<&str> = index[0]["sections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["category"].as_str().unwrap())
            .collect();
        assert!(categories.contains(&"reporter-identity"));
        let sup = app.caller("ueda", "sapota", "supervisor");
        let (s, _) = sup
            .post(
                &format!("/v1/subjects/{}/assignments", st.subject),
                &json!({"user_id": "suzuki"}),
            )
            .await;
        assert_eq!(s, 201);
        let mut internal = request(
            &st.subject,
            "child-services",
            json!({"type": "internal", "reason": "coordinate a home visit"}),
        );
        internal["categories"] = json!(["safeguarding", "reporter-identity"]);
        let (s, r) = sapota.post("/v1/disclosures", &internal).await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["disclosed"], json!(["safeguarding"]));
        assert!(
            r["withheld"]
                .as_array()
                .unwrap()
                .contains(&json!({"category": "reporter-identity", "reason": "sealed"}))
        );
        let text = r.to_string();
        assert!(
            !text.contains("鈴木") && !text.contains("03-0000-0000"),
            "reporter sealed: {text}"
        );
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_use_stays_inside_one_organ_for_assigned_staff_with_a_reason() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        // JOBOTA (ward) and the regional support centre (contracted corporation): two organs.
        let (s, r) = st
            .jobota
            .post(
                "/v1/disclosures",
                &request(&st.subject, "regional-support-centre", json!({"type": "internal"})),
            )
            .await;
        assert_eq!((s, r["error"]["code"].as_str()), (403, Some("organ_boundary")));
        // SAPOTA and JOBOTA are both the ward.
        st.jobota
            .post(
                &format!("/v1/subjects/{}/links", st.subject),
                &json!({"local_id": "JOB-1"}),
            )
            .await;
        st.jobota
            .post(
                &format!("/v1/subjects/{}/records", st.subject),
                &json!({"purpose": "employment support", "sections": [{"category": "livelihood", "content": "debt 2.1m yen"}]}),
            )
            .await;
        let sapota = app.caller("suzuki", "sapota", "caseworker");
        let internal = |reason: Option<&str>| {
            let mut basis = json!({"type": "internal"});
            if let Some(r) = reason {
                basis["reason"] = json!(r);
            }
            request(&st.subject, "jobota", basis)
        };
        let (s, r) = sapota.post("/v1/disclosures", &internal(None)).await;
        assert_eq!((s, r["error"]["code"].as_str()), (403, Some("not_assigned")));
        sapota
            .post(
                &format!("/v1/subjects/{}/links", st.subject),
                &json!({"local_id": "SAP-1"}),
            )
            .await;
        let sup = app.caller("ueda", "sapota", "supervisor");
        let (s, _) = sup
            .post(
                &format!("/v1/subjects/{}/assignments", st.subject),
                &json!({"user_id": "suzuki"}),
            )
            .await;
        assert_eq!(s, 201);
        // Another purpose than the record's own needs a recorded reason (APPI Art. 69(2)(ii)).
        let (s, r) = sapota.post("/v1/disclosures", &internal(None)).await;
        assert_eq!(
            (s, r["error"]["code"].as_str()),
            (403, Some("internal_reason_required"))
        );
        let (s, r) = sapota
            .post(
                "/v1/disclosures",
                &internal(Some("household debt blocks the outreach plan")),
            )
            .await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["disclosed"], json!(["livelihood"]));
        assert_eq!(
            app.last_entry().await["basis"]["reason"],
            "household debt blocks the outreach plan"
        );
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_consent_notifies_the_agencies_that_received_data() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let (s, _) = st
            .jobota
            .post(
                "/v1/disclosures",
                &disclosure_body(&st.subject, &st.consent, "employment support"),
            )
            .await;
        assert_eq!(s, 200);
        let (_, before) = st.jobota.get("/v1/notifications").await;
        assert!(before.as_array().unwrap().is_empty());
        st.owner
            .post(
                &format!("/v1/consents/{}/revoke", st.consent),
                &json!({"reason": "withdrawn"}),
            )
            .await;
        let (s, after) = st.jobota.get("/v1/notifications").await;
        assert_eq!(s, 200);
        let n = &after.as_array().unwrap()[0];
        assert_eq!(n["kind"], "consent-revoked");
        assert_eq!(n["reference"], st.consent.as_str());
        let sapota = app.caller("suzuki", "sapota", "caseworker");
        assert!(
            sapota.get("/v1/notifications").await.1.as_array().unwrap().is_empty(),
            "only past recipients are told"
        );
        app.stop().await;
    }
}
