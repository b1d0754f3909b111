//! Sharing-policy administration over the real API: validation that changes nothing, simulation
//! against recorded history, live apply under load without mixing versions, rollback, approval,
//! and several instances converging on a new version.

use std::sync::Arc;

use serde_json::{Value, json};
use tsunagi::clock::SystemClock;

use crate::helpers::*;

const EMPLOYMENT: &str = "p, caseworker, *, disclose:consent, employment, allow";

async fn propose(admin: &Caller, add: &[&str], remove: &[&str]) -> (u16, Value) {
    admin
        .post(
            "/v1/policy/proposals",
            &json!({"add": add, "remove": remove, "reason": "test change"}),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_proposals_are_refused_with_the_reason_and_change_nothing() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let admin = app.caller("admin1", "welfare-coordination", "policy-admin");
        let audit_before = app.audit_size().await;
        let cases: [(&[&str], &[&str], &str); 8] = [
            (&["p, boss, *, disclose:consent, identity, allow"], &[], "unknown_role"),
            (
                &["p, caseworker, *, disclose:consent, regexMatch(.*), allow"],
                &[],
                "unknown_category",
            ),
            (
                &["p, caseworker, *, disclose:consent, reporter-identity, allow"],
                &[],
                "sealed_category",
            ),
            (
                &["p, caseworker, *, disclose:consent, identity, perhaps"],
                &[],
                "unknown_effect",
            ),
            (
                &["p, caseworker, nowhere-agency, disclose:consent, identity, allow"],
                &[],
                "unknown_agency",
            ),
            (
                &[],
                &["p, caseworker, *, disclose:consent, secrets-that-are-not-there, allow"],
                "unknown_category",
            ),
            (
                &[],
                &["p, system, *, disclose:consent, livelihood, allow"],
                "unknown_rule_removed",
            ),
            (
                &[],
                &["p, policy-admin, *, policy:write, *, allow"],
                "would_lock_out_admins",
            ),
        ];
        for (add, remove, code) in cases {
            let (s, r) = propose(&admin, add, remove).await;
            assert_eq!(
                (s, r["error"]["code"].as_str()),
                (422, Some(code)),
                "{add:?} {remove:?}: {r}"
            );
        }
        let caseworker = app.caller("tanaka", "jobota", "caseworker");
        assert_eq!(propose(&caseworker, &[], &[EMPLOYMENT]).await.0, 403);
        let (_, versions) = admin.get("/v1/policy/versions").await;
        assert_eq!(versions.as_array().unwrap().len(), 1, "still only the seed version");
        assert_eq!(admin.get("/v1/policy").await.1["version"], 1);
        assert_eq!(
            app.audit_size().await,
            audit_before,
            "nothing recorded for refused input"
        );
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulation_reports_exactly_the_decisions_that_would_flip() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        for _ in 0..2 {
            assert_eq!(
                st.jobota
                    .post(
                        "/v1/disclosures",
                        &disclosure_body(&st.subject, &st.consent, "employment support")
                    )
                    .await
                    .0,
                200
            );
        }
        let mut c = consent_body("2026-01-01T00:00:00Z", "2099-01-01T00:00:00Z");
        c["categories"] = json!(["identity", "health"]);
        let (_, health) = st
            .owner
            .post(&format!("/v1/subjects/{}/consents", st.subject), &c)
            .await;
        let system = app.caller("crm", "jobota", "system");
        let (s, r) = system
            .post(
                "/v1/disclosures",
                &disclosure_body(&st.subject, health["id"].as_str().unwrap(), "employment support"),
            )
            .await;
        assert_eq!(s, 200, "{r}");
        assert!(
            r["withheld"]
                .as_array()
                .unwrap()
                .contains(&json!({"category": "health", "reason": "policy_denied"}))
        );

        let admin = app.caller("admin1", "welfare-coordination", "policy-admin");
        let (s, p) = propose(
            &admin,
            &["p, system, *, disclose:consent, health, allow"],
            &[EMPLOYMENT, "p, system, *, disclose:consent, health, deny"],
        )
        .await;
        assert_eq!(s, 201, "{p}");
        let (s, report) = admin
            .post(
                &format!("/v1/policy/proposals/{}/simulate", p["id"].as_str().unwrap()),
                &json!({}),
            )
            .await;
        assert_eq!(s, 200, "{report}");
        assert_eq!(report["entries_examined"], 3);
        assert_eq!(report["allowed_to_refused"], 2, "{report}");
        assert_eq!(report["refused_to_allowed"], 1, "{report}");
        assert_eq!(report["requests_newly_refused"], 0);
        let groups = report["groups"].as_array().unwrap();
        assert_eq!(groups.len(), 2, "{report}");
        let employment = groups.iter().find(|g| g["category"] == "employment").unwrap();
        assert_eq!(
            (employment["agency"].as_str(), employment["basis"].as_str()),
            (Some("jobota"), Some("consent"))
        );
        assert_eq!(
            (employment["direction"].as_str(), employment["count"].as_u64()),
            (Some("allowed->refused"), Some(2))
        );
        let health = groups.iter().find(|g| g["category"] == "health").unwrap();
        assert_eq!(
            (health["direction"].as_str(), health["count"].as_u64()),
            (Some("refused->allowed"), Some(1))
        );
        // Explain one question under both.
        let (s, e) = admin
            .post(
                "/v1/policy/explain",
                &json!({"role": "system", "agency": "jobota", "action": "disclose:consent", "object": "health", "proposal_id": p["id"]}),
            )
            .await;
        assert_eq!(s, 200);
        assert_eq!(e["current"]["allowed"], false);
        assert_eq!(
            e["current"]["rules"],
            json!(["p, system, *, disclose:consent, health, deny"])
        );
        assert_eq!(e["proposed"]["allowed"], true);
        // Simulating changed nothing.
        assert_eq!(admin.get("/v1/policy").await.1["version"], 1);
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applying_live_under_load_mixes_no_versions_and_rollback_restores() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let admin = app.caller("admin1", "welfare-coordination", "policy-admin");
        let (_, p) = propose(&admin, &[], &[EMPLOYMENT]).await;
        let body = disclosure_body(&st.subject, &st.consent, "employment support");
        let mut load = Vec::new();
        for _ in 0..40 {
            let (client, token, url, body) = (
                st.jobota.client.clone(),
                st.jobota.token.clone(),
                app.url("/v1/disclosures"),
                body.clone(),
            );
            load.push(tokio::spawn(async move {
                let r = client.post(url).bearer_auth(token).json(&body).send().await.unwrap();
                assert_eq!(r.status().as_u16(), 200, "no request is lost during the swap");
                r.json::<Value>().await.unwrap()
            }));
        }
        let (s, applied) = admin
            .post(
                &format!("/v1/policy/proposals/{}/apply", p["id"].as_str().unwrap()),
                &json!({}),
            )
            .await;
        assert_eq!(s, 200, "{applied}");
        assert_eq!(applied["version"], 2);
        for t in load {
            let r = t.await.unwrap();
            let version = r["policy_version"].as_str().unwrap().to_owned();
            let index = r["audit_receipt"]["index"].as_u64().unwrap();
            let entry: Value =
                serde_json::from_slice(&app.state.store.audit_entries(index, 1).await.unwrap()[0].entry).unwrap();
            assert_eq!(
                entry["policy"]["version"],
                version.as_str(),
                "the log names the version that decided"
            );
            let employment = r["disclosed"].as_array().unwrap().contains(&json!("employment"));
            match version.as_str() {
                "v1" => assert!(employment, "v1 allows employment"),
                "v2" => assert!(!employment, "v2 refuses employment"),
                other => panic!("unexpected version {other}"),
            }
        }
        let (_, after) = st.jobota.post("/v1/disclosures", &body).await;
        assert_eq!(after["policy_version"], "v2");
        assert!(
            after["withheld"]
                .as_array()
                .unwrap()
                .contains(&json!({"category": "employment", "reason": "policy_denied"}))
        );
        // Applying twice is refused.
        let (s, r) = admin
            .post(
                &format!("/v1/policy/proposals/{}/apply", p["id"].as_str().unwrap()),
                &json!({}),
            )
            .await;
        assert_eq!(
            (s, r["error"]["code"].as_str()),
            (409, Some("proposal_already_applied"))
        );
        // Roll back to version 1 — as version 3.
        let (s, r) = admin
            .post(
                "/v1/policy/rollback",
                &json!({"to_version": 1, "reason": "employment is needed after all"}),
            )
            .await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["version"], 3);
        let (_, back) = st.jobota.post("/v1/disclosures", &body).await;
        assert_eq!(back["policy_version"], "v3");
        assert!(back["disclosed"].as_array().unwrap().contains(&json!("employment")));
        let (_, versions) = admin.get("/v1/policy/versions").await;
        let kinds: Vec<&str> = versions
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["rollback", "apply", "seed"]);
        // The list carries no rule text (it showed `"rules":""` for every version); one
        // version shows its rules, once.
        assert!(
            versions.as_array().unwrap().iter().all(|v| v.get("rules").is_none()),
            "{versions}"
        );
        let (_, v2) = admin.get("/v1/policy/versions/2").await;
        assert_eq!(v2["diff_from_previous"]["removed"], json!([EMPLOYMENT]));
        let v2_rules = v2["rules"].as_array().unwrap();
        assert!(!v2_rules.contains(&json!(EMPLOYMENT)) && v2_rules.len() > 10, "{v2}");
        assert!(v2["version"].get("rules").is_none(), "{v2}");
        let (_, d) = admin.get("/v1/policy/diff?from=2&to=3").await;
        assert_eq!(d["added"], json!([EMPLOYMENT]));
        // Every step is in the disclosure log.
        let n = app.audit_size().await;
        let rows = app.state.store.audit_entries(0, n as u32).await.unwrap();
        let events: Vec<String> = rows
            .iter()
            .filter_map(|r| serde_json::from_slice::<Value>(&r.entry).ok())
            .filter_map(|e| e["event"].as_str().map(str::to_owned))
            .collect();
        for e in ["policy-proposed", "policy-applied", "policy-rolled-back"] {
            assert!(events.iter().any(|x| x == e), "{e} missing from {events:?}");
        }
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_admin_must_approve_when_configured_and_stale_proposals_are_refused() {
    for engine in engines() {
        let app = spawn_configured(engine, None, Arc::new(SystemClock), |c| {
            c.policy_admin.require_approval = true
        })
        .await;
        let admin1 = app.caller("admin1", "welfare-coordination", "policy-admin");
        let admin2 = app.caller("admin2", "welfare-coordination", "policy-admin");
        let (_, p) = propose(&admin1, &[], &[EMPLOYMENT]).await;
        let (_, other) = propose(&admin2, &["p, system, *, disclose:consent, livelihood, allow"], &[]).await;
        let apply = |id: &Value| format!("/v1/policy/proposals/{}/apply", id.as_str().unwrap());
        let approve = |id: &Value| format!("/v1/policy/proposals/{}/approve", id.as_str().unwrap());
        let (s, r) = admin1.post(&apply(&p["id"]), &json!({})).await;
        assert_eq!((s, r["error"]["code"].as_str()), (409, Some("approval_required")));
        let (s, r) = admin1.post(&approve(&p["id"]), &json!({})).await;
        assert_eq!((s, r["error"]["code"].as_str()), (403, Some("cannot_approve_own")));
        let (s, r) = admin2.post(&approve(&p["id"]), &json!({})).await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["approved_by"], "admin2");
        assert_eq!(admin1.post(&apply(&p["id"]), &json!({})).await.0, 200);
        // The other proposal was made against version 1: refused, propose again.
        admin1.post(&approve(&other["id"]), &json!({})).await;
        let (s, r) = admin2.post(&apply(&other["id"]), &json!({})).await;
        assert_eq!((s, r["error"]["code"].as_str()), (409, Some("stale_proposal")));
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_converge_on_a_new_version() {
    for engine in engines() {
        let a = spawn_app(engine).await;
        let b = spawn_configured(engine, Some(a.database_url.clone()), Arc::new(SystemClock), |_| {}).await;
        assert_eq!(b.state.policy.current().number(), Some(1));
        let admin = a.caller("admin1", "welfare-coordination", "policy-admin");
        let (_, p) = propose(&admin, &[], &[EMPLOYMENT]).await;
        let (s, _) = admin
            .post(
                &format!("/v1/policy/proposals/{}/apply", p["id"].as_str().unwrap()),
                &json!({}),
            )
            .await;
        assert_eq!(s, 200);
        assert_eq!(
            a.state.policy.current().number(),
            Some(2),
            "the applying instance switches at once"
        );
        // The other instance picks it up by itself (it polls every refresh_ms = 500 ms); wait
        // up to ten seconds so a slow CI machine does not make this flaky.
        let mut converged = false;
        for _ in 0..100 {
            if b.state.policy.current().number() == Some(2) {
                converged = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(converged, "{engine:?}: instance B never saw version 2");
        // And it decides with it.
        let admin_b = b.caller("admin1", "welfare-coordination", "policy-admin");
        let (s, e) = admin_b.post("/v1/policy/explain", &json!({"role": "caseworker", "agency": "jobota", "action": "disclose:consent", "object": "employment"})).await;
        assert_eq!((s, e["current"]["allowed"].as_bool()), (200, Some(false)));
        b.stop_keeping_database().await;
        a.stop().await;
    }
}
