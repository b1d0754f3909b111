//! "Logged before it takes effect", for every change that is not a meeting change: with the log
//! broken, recording and revoking a consent, making and reviewing an emergency grant, proposing,
//! approving, applying and rolling back a policy, assigning a case and filing an abuse report
//! each answer 503 `audit_unavailable` — and nothing changed. Reads of sealed content (grant
//! grounds, consent evidence) are refused too. With the log repaired, the things that were tried
//! are not in force. And the emergency rules: every grant is a privacy-officer alert, and a
//! review that finds it not justified ends it at once.

use serde_json::{Value, json};
use sqlx::Connection;

use crate::helpers::*;

async fn run_sql(app: &TestApp, sql: &str) {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&app.database_url).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
}

/// Makes every append to the log fail (as a full disk or a lost database would).
async fn break_log(app: &TestApp) {
    let sql = match app.engine {
        Engine::Sqlite => {
            "CREATE TRIGGER audit_broken BEFORE INSERT ON audit_entries BEGIN SELECT RAISE(ABORT, 'simulated storage failure'); END;"
        }
        Engine::Postgres => {
            "CREATE FUNCTION audit_broken() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'simulated storage failure'; END; $$ LANGUAGE plpgsql; \
             CREATE TRIGGER audit_broken BEFORE INSERT ON audit_entries FOR EACH ROW EXECUTE FUNCTION audit_broken();"
        }
    };
    run_sql(app, sql).await;
}

async fn repair_log(app: &TestApp) {
    let sql = match app.engine {
        Engine::Sqlite => "DROP TRIGGER audit_broken;",
        Engine::Postgres => "DROP TRIGGER audit_broken ON audit_entries; DROP FUNCTION audit_broken();",
    };
    run_sql(app, sql).await;
}

/// Row counts of every table a change here could touch.
async fn counts(app: &TestApp) -> Vec<(&'static str, i64)> {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&app.database_url).await.unwrap();
    let mut out = Vec::new();
    for table in [
        "consents",
        "emergency_grants",
        "legal_reports",
        "records",
        "sections",
        "subject_links",
        "case_assignments",
        "policy_proposals",
        "policy_versions",
        "notifications",
        "audit_alerts",
    ] {
        let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(&mut conn)
            .await
            .unwrap();
        out.push((table, n));
    }
    conn.close().await.unwrap();
    out
}

fn assert_unavailable(what: &str, (s, r): (u16, Value)) {
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (503, Some("audit_unavailable")),
        "{what}: {r}"
    );
}

fn emergency(subject: &str, grant: &str) -> Value {
    json!({"subject_id": subject, "owner_agency": "regional-support-centre", "purpose": "protect the person",
           "basis": {"type": "emergency", "grant_id": grant}})
}

fn grant_body(subject: &str) -> Value {
    json!({"subject_id": subject, "owner_agency": "regional-support-centre",
           "risk": "no answer for three days, neighbours report a fall", "why_consent_impracticable": "unreachable"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_log_down_no_change_takes_effect_and_no_sealed_content_is_read() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let officer = app.caller("ito", "welfare-coordination", "privacy-officer");
        let admin = app.caller("admin1", "welfare-coordination", "policy-admin");
        let admin2 = app.caller("admin2", "welfare-coordination", "policy-admin");
        let supervisor = app.caller("kato", "regional-support-centre", "supervisor");
        let sapota = app.caller("suzuki", "sapota", "caseworker");
        // Before the failure: JOBOTA received data under the consent (so a revocation would
        // notify it), holds a live grant, and a policy proposal waits.
        let (s, r) = st
            .jobota
            .post(
                "/v1/disclosures",
                &disclosure_body(&st.subject, &st.consent, "employment support"),
            )
            .await;
        assert_eq!(s, 200, "{r}");
        let (s, grant) = st.jobota.post("/v1/emergency-grants", &grant_body(&st.subject)).await;
        assert_eq!(s, 201, "{grant}");
        let grant_id = grant["id"].as_str().unwrap().to_owned();
        let (s, proposal) = admin
            .post(
                "/v1/policy/proposals",
                &json!({"add": ["p, caseworker, *, disclose:consent, livelihood, deny"], "reason": "tighten"}),
            )
            .await;
        assert_eq!(s, 201, "{proposal}");
        let proposal_id = proposal["id"].as_str().unwrap().to_owned();

        let audit_before = app.audit_size().await;
        let rows_before = counts(&app).await;
        break_log(&app).await;

        // Consents: record, revoke, read with evidence.
        assert_unavailable(
            "record consent",
            st.owner
                .post(
                    &format!("/v1/subjects/{}/consents", st.subject),
                    &consent_body("2026-01-01T00:00:00Z", "2099-01-01T00:00:00Z"),
                )
                .await,
        );
        assert_unavailable(
            "revoke consent",
            st.owner
                .post(
                    &format!("/v1/consents/{}/revoke", st.consent),
                    &json!({"reason": "withdrawn"}),
                )
                .await,
        );
        let read = st.owner.get(&format!("/v1/consents/{}", st.consent)).await;
        assert!(!read.1.to_string().contains("consent form 2026-117"), "{}", read.1);
        assert_unavailable("read consent evidence", read);
        let listed = st.owner.get(&format!("/v1/subjects/{}/consents", st.subject)).await;
        assert!(!listed.1.to_string().contains("consent form 2026-117"), "{}", listed.1);
        assert_unavailable("list consents with evidence", listed);
        // Emergency grants: create, read grounds, review.
        assert_unavailable(
            "create grant",
            st.jobota.post("/v1/emergency-grants", &grant_body(&st.subject)).await,
        );
        let grounds = officer.get("/v1/emergency-grants/unreviewed").await;
        assert!(!grounds.1.to_string().contains("fall"), "{}", grounds.1);
        assert_unavailable("read grant grounds", grounds);
        assert_unavailable(
            "review grant",
            officer
                .post(
                    &format!("/v1/emergency-grants/{grant_id}/review"),
                    &json!({"outcome": "not-justified", "note": "no risk found"}),
                )
                .await,
        );
        // Policy: propose, approve, apply, roll back.
        assert_unavailable(
            "propose",
            admin
                .post(
                    "/v1/policy/proposals",
                    &json!({"add": ["p, caseworker, *, disclose:consent, household, deny"], "reason": "tighten"}),
                )
                .await,
        );
        assert_unavailable(
            "approve",
            admin2
                .post(&format!("/v1/policy/proposals/{proposal_id}/approve"), &json!({}))
                .await,
        );
        assert_unavailable(
            "apply",
            admin
                .post(&format!("/v1/policy/proposals/{proposal_id}/apply"), &json!({}))
                .await,
        );
        assert_unavailable(
            "rollback",
            admin
                .post("/v1/policy/rollback", &json!({"to_version": 1, "reason": "undo"}))
                .await,
        );
        // Case assignment and abuse report.
        assert_unavailable(
            "assign",
            supervisor
                .post(
                    &format!("/v1/subjects/{}/assignments", st.subject),
                    &json!({"user_id": "sato"}),
                )
                .await,
        );
        assert_unavailable(
            "legal report",
            sapota
                .post(
                    "/v1/legal-reports",
                    &json!({"report_type": "child-abuse", "subject_id": st.subject,
                            "sections": [{"category": "safeguarding", "content": "suspected neglect"}],
                            "reporter": {"name": "鈴木 一郎"}}),
                )
                .await,
        );

        // Nothing was written anywhere: not the log, not a single row.
        assert_eq!(app.audit_size().await, audit_before, "{engine:?}");
        assert_eq!(counts(&app).await, rows_before, "{engine:?}");

        // With the log back, what was tried is not in force.
        repair_log(&app).await;
        let (s, r) = st
            .jobota
            .post(
                "/v1/disclosures",
                &disclosure_body(&st.subject, &st.consent, "employment support"),
            )
            .await;
        assert_eq!(s, 200, "the consent was not revoked: {r}");
        let (_, notices) = st.jobota.get("/v1/notifications").await;
        assert_eq!(notices, json!([]), "no revocation notice went out");
        let (s, r) = st
            .jobota
            .post("/v1/disclosures", &emergency(&st.subject, &grant_id))
            .await;
        assert_eq!(s, 200, "the unlogged review did not end the grant: {r}");
        let (_, list) = officer.get("/v1/emergency-grants/unreviewed").await;
        let ids: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [grant_id.as_str()], "one grant, still unreviewed: {list}");
        let (_, p) = admin.get(&format!("/v1/policy/proposals/{proposal_id}")).await;
        assert_eq!(
            (p["approved_by"].clone(), p["applied_version"].clone()),
            (Value::Null, Value::Null),
            "{p}"
        );
        assert_eq!(
            admin.get("/v1/policy").await.1["version"],
            1,
            "the policy head did not move"
        );
        assert_eq!(admin.get("/v1/policy/versions").await.1.as_array().unwrap().len(), 1);
        let children = app.caller("abe", "child-services", "caseworker");
        assert_eq!(
            children.get(&format!("/v1/subjects/{}/records", st.subject)).await.0,
            404,
            "the unlogged report reached nobody"
        );
        // And the same changes go through now, each with its entry first.
        let (s, r) = supervisor
            .post(
                &format!("/v1/subjects/{}/assignments", st.subject),
                &json!({"user_id": "sato"}),
            )
            .await;
        assert_eq!(s, 201, "{r}");
        let entry = app.last_entry().await;
        assert_eq!(entry["event"], "case-assigned");
        assert!(!entry.to_string().contains(&st.subject), "pseudonyms only: {entry}");
        let (s, r) = admin
            .post(&format!("/v1/policy/proposals/{proposal_id}/apply"), &json!({}))
            .await;
        assert_eq!(s, 200, "{r}");
        let entry = app.last_entry().await;
        assert_eq!(
            (entry["event"].as_str(), entry["detail"]["version"].as_i64()),
            (Some("policy-applied"), Some(2))
        );
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_of_grant_grounds_and_consent_evidence_are_logged_first() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let (s, grant) = st.jobota.post("/v1/emergency-grants", &grant_body(&st.subject)).await;
        assert_eq!(s, 201, "{grant}");
        let officer = app.caller("ito", "welfare-coordination", "privacy-officer");
        let before = app.audit_size().await;
        let (s, list) = officer.get("/v1/emergency-grants/unreviewed").await;
        assert_eq!(s, 200, "{list}");
        assert!(list[0]["grounds"].as_str().unwrap().contains("fall"));
        assert_eq!(app.audit_size().await, before + 1);
        let entry = app.last_entry().await;
        assert_eq!(
            (
                entry["event"].as_str(),
                entry["reference"].as_str(),
                entry["user"].as_str()
            ),
            (Some("emergency-grounds-read"), grant["id"].as_str(), Some("ito"))
        );
        assert!(!entry.to_string().contains(&st.subject), "pseudonyms only: {entry}");

        let (s, c) = st.owner.get(&format!("/v1/consents/{}", st.consent)).await;
        assert_eq!(s, 200, "{c}");
        assert_eq!(c["evidence_ref"], "consent form 2026-117");
        let entry = app.last_entry().await;
        assert_eq!(
            (entry["event"].as_str(), entry["reference"].as_str()),
            (Some("consent-evidence-read"), Some(st.consent.as_str()))
        );
        assert!(!entry.to_string().contains(&st.subject), "pseudonyms only: {entry}");
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_emergency_grant_alerts_officers_and_not_justified_ends_it_at_once() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let officer = app.caller("ito", "welfare-coordination", "privacy-officer");
        let mut ids = Vec::new();
        for _ in 0..2 {
            let (s, grant) = st.jobota.post("/v1/emergency-grants", &grant_body(&st.subject)).await;
            assert_eq!(s, 201, "{grant}");
            ids.push(grant["id"].as_str().unwrap().to_owned());
        }
        // The ward-wide officer, the requester's organ's officer (JOBOTA is a ward agency) and
        // the owner's officer (the regional support centre, a private organ) all see each grant.
        for officer in [
            &officer,
            &app.caller("mori", "jobota", "privacy-officer"),
            &app.caller("abe", "regional-support-centre", "privacy-officer"),
        ] {
            let (s, alerts) = officer.get("/v1/audit/alerts").await;
            assert_eq!(s, 200, "{alerts}");
            for id in &ids {
                let alert = alerts["alerts"].as_array().unwrap().iter().find(|a| {
                    a["kind"] == "emergency-grant" && a["scope"].as_str().unwrap().ends_with(&format!("/grant:{id}"))
                });
                assert!(alert.is_some(), "every grant, not one a day: {alerts}");
                assert!(!alert.unwrap().to_string().contains("fall"), "no grounds in the alert");
            }
        }
        let (justified, unjustified) = (&ids[0], &ids[1]);
        // Both work until reviewed.
        for id in &ids {
            let (s, r) = st.jobota.post("/v1/disclosures", &emergency(&st.subject, id)).await;
            assert_eq!(s, 200, "{r}");
        }
        let (s, r) = officer
            .post(
                &format!("/v1/emergency-grants/{unjustified}/review"),
                &json!({"outcome": "not-justified", "note": "the person was reachable by phone"}),
            )
            .await;
        assert_eq!(s, 200, "{r}");
        assert!(r.get("grounds").is_none(), "{r}");
        let (s, r) = st
            .jobota
            .post("/v1/disclosures", &emergency(&st.subject, unjustified))
            .await;
        assert_eq!(
            (s, r["error"]["code"].as_str()),
            (403, Some("grant_revoked")),
            "ended at the review: {r}"
        );
        let (s, r) = officer
            .post(
                &format!("/v1/emergency-grants/{justified}/review"),
                &json!({"outcome": "justified", "note": "confirmed fall"}),
            )
            .await;
        assert_eq!(s, 200, "{r}");
        let (s, r) = st
            .jobota
            .post("/v1/disclosures", &emergency(&st.subject, justified))
            .await;
        assert_eq!(s, 200, "a justified grant runs to its expiry: {r}");
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caseworker_cannot_write_a_reporter_identity_section() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let (_, index_before) = st.owner.get(&format!("/v1/subjects/{}/records", st.subject)).await;
        let audit_before = app.audit_size().await;
        for sections in [
            json!([{"category": "reporter-identity", "content": "鈴木 一郎, neighbour"}]),
            json!([{"category": "identity", "content": "山田 太郎"}, {"category": "reporter-identity", "content": "鈴木 一郎"}]),
        ] {
            let (s, r) = st
                .owner
                .post(
                    &format!("/v1/subjects/{}/records", st.subject),
                    &json!({"purpose": "long-term care support", "sections": sections}),
                )
                .await;
            assert_eq!((s, r["error"]["code"].as_str()), (422, Some("category_sealed")), "{r}");
            assert!(r["error"]["field"].as_str().unwrap().ends_with(".category"), "{r}");
        }
        let (_, index_after) = st.owner.get(&format!("/v1/subjects/{}/records", st.subject)).await;
        assert_eq!(index_after, index_before, "nothing stored");
        assert_eq!(app.audit_size().await, audit_before);
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_officers_in_scope_see_and_review_an_emergency_grant() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        // JOBOTA (ward) asks for records that SAPOTA (ward) holds: nothing of the regional
        // support centre, a private organ.
        let mut body = grant_body(&st.subject);
        body["owner_agency"] = json!("sapota");
        let (s, grant) = st.jobota.post("/v1/emergency-grants", &body).await;
        assert_eq!(s, 201, "{grant}");
        let id = grant["id"].as_str().unwrap().to_owned();
        let listed = |list: &Value| list.as_array().unwrap().iter().any(|g| g["id"] == id.as_str());
        let rsc_officer = app.caller("abe", "regional-support-centre", "privacy-officer");
        let (s, list) = rsc_officer.get("/v1/emergency-grants/unreviewed").await;
        assert_eq!(s, 200, "{list}");
        assert!(
            !listed(&list),
            "a private organ's officer does not see the ward's grant: {list}"
        );
        assert!(!list.to_string().contains("neighbours"), "nor its grounds: {list}");
        let (s, r) = rsc_officer
            .post(
                &format!("/v1/emergency-grants/{id}/review"),
                &json!({"outcome": "not-justified", "note": "not ours"}),
            )
            .await;
        assert_eq!((s, r["error"]["code"].as_str()), (404, Some("grant_not_found")), "{r}");
        let ward_officer = app.caller("mori", "jobota", "privacy-officer");
        let (s, list) = ward_officer.get("/v1/emergency-grants/unreviewed").await;
        assert_eq!(s, 200, "{list}");
        assert!(listed(&list), "the ward's own officer sees it: {list}");
        let (s, r) = ward_officer
            .post(
                &format!("/v1/emergency-grants/{id}/review"),
                &json!({"outcome": "justified", "note": "fall confirmed by the ambulance crew"}),
            )
            .await;
        assert_eq!(s, 200, "{r}");
        app.stop().await;
    }
}
