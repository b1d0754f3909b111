//! The consent road over the real API: disclosed exactly as consented, every refusal path with
//! its reason code, every decision on record.

use serde_json::json;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consented_categories_are_disclosed_and_the_rest_withheld() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let before = app.audit_size().await;
        let (s, body) = st
            .jobota
            .post(
                "/v1/disclosures",
                &disclosure_body(&st.subject, &st.consent, "employment support"),
            )
            .await;
        assert_eq!(s, 200, "{engine:?}: {body}");
        assert_eq!(body["disclosed"], json!(["identity", "employment"]), "{engine:?}");
        let withheld: Vec<(String, String)> = body["withheld"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| {
                (
                    w["category"].as_str().unwrap().to_owned(),
                    w["reason"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert!(
            withheld.contains(&("health".into(), "not_covered_by_basis".into())),
            "{withheld:?}"
        );
        assert!(
            withheld.contains(&("household".into(), "not_covered_by_basis".into())),
            "{withheld:?}"
        );
        let sections = body["sections"].as_array().unwrap();
        assert_eq!(sections.len(), 2);
        let contents: Vec<&str> = sections.iter().map(|s| s["content"].as_str().unwrap()).collect();
        assert!(contents.iter().any(|c| c.contains("山田 太郎")));
        assert!(!contents.iter().any(|c| c.contains("insulin")), "health must not leave");
        // The receipt points at a durable entry describing exactly this disclosure.
        let receipt = &body["audit_receipt"];
        assert_eq!(receipt["index"].as_u64().unwrap(), before);
        assert_eq!(app.audit_size().await, before + 1);
        let entry = app.last_entry().await;
        assert_eq!(entry["kind"], "disclosure");
        assert_eq!(entry["decision"], "allowed");
        assert_eq!(entry["disclosed"], json!(["identity", "employment"]));
        assert_eq!(entry["requester"]["agency"], "jobota");
        assert_eq!(entry["requester"]["user"], "tanaka");
        assert_eq!(entry["requester"]["organ"], "ota-ward");
        assert_eq!(entry["owner_agency"], "regional-support-centre");
        assert_eq!(entry["basis"], json!({"type": "consent", "consent_id": st.consent}));
        assert_eq!(entry["purpose"], "employment support");
        assert_eq!(entry["records"].as_array().unwrap().len(), 1);
        assert!(
            !entry["policy"]["rules"].as_array().unwrap().is_empty(),
            "the deciding rules are recorded"
        );
        assert_ne!(
            entry["subject"],
            json!(st.subject),
            "the log names a pseudonym, not the subject id"
        );
        assert!(entry["requester"]["client_cert"].as_str().unwrap().len() == 64);
        let rows = app.state.store.audit_entries(before, 1).await.unwrap();
        assert_eq!(
            hex::encode(tsunagi::audit::merkle::leaf_hash(&rows[0].entry)),
            receipt["leaf_hash"].as_str().unwrap()
        );
        app.stop().await;
    }
}

async fn refused(app: &TestApp, caller: &Caller, body: serde_json::Value, code: &str) {
    let before = app.audit_size().await;
    let (s, resp) = caller.post("/v1/disclosures", &body).await;
    assert_eq!(s, 403, "{:?} expected refusal {code}: {resp}", app.engine);
    assert_eq!(resp["error"]["code"], code, "{resp}");
    assert!(resp.get("sections").is_none());
    assert_eq!(
        resp["error"]["audit_receipt"]["index"].as_u64().unwrap(),
        before,
        "the refusal is logged"
    );
    let entry = app.last_entry().await;
    assert_eq!(entry["decision"], "refused");
    assert_eq!(entry["reason"], code);
    assert_eq!(entry["disclosed"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_consent_refusal_has_its_reason_and_is_logged() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        // Without consent: a consent id that does not exist.
        let unknown = uuid::Uuid::new_v4().to_string();
        refused(
            &app,
            &st.jobota,
            disclosure_body(&st.subject, &unknown, "employment support"),
            "consent_not_found",
        )
        .await;
        // For a purpose the consent does not name.
        refused(
            &app,
            &st.jobota,
            disclosure_body(&st.subject, &st.consent, "debt counselling"),
            "consent_purpose_not_in_scope",
        )
        .await;
        // By an agency the consent does not name.
        let sapota = app.caller("suzuki", "sapota", "caseworker");
        refused(
            &app,
            &sapota,
            disclosure_body(&st.subject, &st.consent, "employment support"),
            "consent_recipient_not_in_scope",
        )
        .await;
        // About another person (consent covers only its own subject).
        let (_, other) = st.owner.post("/v1/subjects", &json!({"local_id": "RSC-0002"})).await;
        let other = other["id"].as_str().unwrap();
        st.owner
            .post(
                &format!("/v1/subjects/{other}/records"),
                &json!({"purpose": "care", "sections": [{"category": "identity", "content": "山田 花子"}]}),
            )
            .await;
        refused(
            &app,
            &st.jobota,
            disclosure_body(other, &st.consent, "employment support"),
            "consent_subject_mismatch",
        )
        .await;
        // Outside the consent's period: not started yet, and ended.
        let (_, future) = st
            .owner
            .post(
                &format!("/v1/subjects/{}/consents", st.subject),
                &consent_body("2098-01-01T00:00:00Z", "2099-01-01T00:00:00Z"),
            )
            .await;
        refused(
            &app,
            &st.jobota,
            disclosure_body(&st.subject, future["id"].as_str().unwrap(), "employment support"),
            "consent_not_yet_valid",
        )
        .await;
        let (_, past) = st
            .owner
            .post(
                &format!("/v1/subjects/{}/consents", st.subject),
                &consent_body("2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z"),
            )
            .await;
        refused(
            &app,
            &st.jobota,
            disclosure_body(&st.subject, past["id"].as_str().unwrap(), "employment support"),
            "consent_expired",
        )
        .await;
        // After revocation, at once.
        let (s, _) = st
            .jobota
            .post(
                "/v1/disclosures",
                &disclosure_body(&st.subject, &st.consent, "employment support"),
            )
            .await;
        assert_eq!(s, 200);
        // Only the agency that recorded a consent sees or revokes it; to others it does not exist.
        let (s, body) = st.jobota.get(&format!("/v1/consents/{}", st.consent)).await;
        assert_eq!((s, body["error"]["code"].as_str()), (404, Some("consent_not_found")));
        let (s, body) = st
            .jobota
            .post(
                &format!("/v1/consents/{}/revoke", st.consent),
                &json!({"reason": "not ours to withdraw"}),
            )
            .await;
        assert_eq!((s, body["error"]["code"].as_str()), (404, Some("consent_not_found")));
        let (s, body) = st.owner.get(&format!("/v1/consents/{}", st.consent)).await;
        assert_eq!((s, body["id"].as_str()), (200, Some(st.consent.as_str())));
        let (s, revoked) = st
            .owner
            .post(
                &format!("/v1/consents/{}/revoke", st.consent),
                &json!({"reason": "withdrawn by the person"}),
            )
            .await;
        assert_eq!(s, 200, "{revoked}");
        assert!(revoked["revoked_at"].is_string());
        refused(
            &app,
            &st.jobota,
            disclosure_body(&st.subject, &st.consent, "employment support"),
            "consent_revoked",
        )
        .await;
        // Revoking twice is a conflict.
        let (s, body) = st
            .owner
            .post(
                &format!("/v1/consents/{}/revoke", st.consent),
                &json!({"reason": "again"}),
            )
            .await;
        assert_eq!(
            (s, body["error"]["code"].as_str()),
            (409, Some("consent_already_revoked"))
        );
        // A subject that does not exist.
        refused(
            &app,
            &st.jobota,
            disclosure_body(&uuid::Uuid::new_v4().to_string(), &st.consent, "employment support"),
            "subject_not_found",
        )
        .await;
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn special_care_needs_explicit_consent_and_policy_limits_roles() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        // "all" does not include health.
        let mut body = consent_body("2026-01-01T00:00:00Z", "2099-01-01T00:00:00Z");
        body["categories"] = json!(["all"]);
        let (_, all) = st
            .owner
            .post(&format!("/v1/subjects/{}/consents", st.subject), &body)
            .await;
        assert!(
            !all["categories"].as_array().unwrap().contains(&json!("health")),
            "{all}"
        );
        let (s, resp) = st
            .jobota
            .post(
                "/v1/disclosures",
                &disclosure_body(&st.subject, all["id"].as_str().unwrap(), "employment support"),
            )
            .await;
        assert_eq!(s, 200);
        assert_eq!(resp["disclosed"], json!(["identity", "household", "employment"]));
        // Named explicitly, health flows to a caseworker — but never to an agency's system account.
        body["categories"] = json!(["identity", "health"]);
        let (_, explicit) = st
            .owner
            .post(&format!("/v1/subjects/{}/consents", st.subject), &body)
            .await;
        let explicit = explicit["id"].as_str().unwrap();
        let (s, resp) = st
            .jobota
            .post(
                "/v1/disclosures",
                &disclosure_body(&st.subject, explicit, "employment support"),
            )
            .await;
        assert_eq!(s, 200);
        assert_eq!(resp["disclosed"], json!(["identity", "health"]));
        let system = app.caller("jobota-crm", "jobota", "system");
        let (s, resp) = system
            .post(
                "/v1/disclosures",
                &disclosure_body(&st.subject, explicit, "employment support"),
            )
            .await;
        assert_eq!(s, 200, "{resp}");
        assert_eq!(resp["disclosed"], json!(["identity"]));
        assert!(
            resp["withheld"]
                .as_array()
                .unwrap()
                .contains(&json!({"category": "health", "reason": "policy_denied"}))
        );
        // A role with no disclosure rule at all is refused.
        let officer = app.caller("ito", "jobota", "privacy-officer");
        let mut req = disclosure_body(&st.subject, explicit, "employment support");
        req["categories"] = json!(["identity"]);
        let (s, resp) = officer.post("/v1/disclosures", &req).await;
        assert_eq!(
            (s, resp["error"]["code"].as_str()),
            (403, Some("no_category_allowed")),
            "{resp}"
        );
        app.stop().await;
    }
}

/// Asks for a disclosure that must be refused with `code` because its basis does not hold, and
/// checks that neither the answer nor the log entry names any category.
async fn refused_listing_nothing(app: &TestApp, caller: &Caller, body: &serde_json::Value, code: &str) {
    let before = app.audit_size().await;
    let (s, resp) = caller.post("/v1/disclosures", body).await;
    assert_eq!(
        (s, resp["error"]["code"].as_str()),
        (403, Some(code)),
        "{:?}: {resp}",
        app.engine
    );
    assert_eq!(
        resp["error"]["withheld"],
        json!([]),
        "{:?} {code}: a refusal whose basis does not hold names no category: {resp}",
        app.engine
    );
    assert!(resp.get("sections").is_none());
    assert_eq!(app.audit_size().await, before + 1, "the refusal is logged");
    let entry = app.last_entry().await;
    assert_eq!(entry["decision"], "refused");
    assert_eq!(entry["reason"], code);
    assert_eq!(
        entry["withheld"],
        json!([]),
        "{:?} {code}: the log entry names no category either",
        app.engine
    );
    assert_eq!(entry["disclosed"], json!([]));
    let text = entry.to_string();
    for category in ["mental-health", "safeguarding", "health", "identity"] {
        assert!(!text.contains(category), "{code}: the entry names {category}: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_whose_basis_does_not_hold_names_no_category() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        // The owner also holds sensitive records about the person: that it does is itself
        // sensitive, and must not leak through a refusal.
        let (s, rec) = st
            .owner
            .post(
                &format!("/v1/subjects/{}/records", st.subject),
                &json!({"purpose": "long-term care support", "sections": [
                    {"category": "mental-health", "content": "depression, outpatient"},
                    {"category": "safeguarding", "content": "suspected neglect reported"}]}),
            )
            .await;
        assert_eq!(s, 201, "{rec}");

        // A consent id that does not exist.
        let unknown = uuid::Uuid::new_v4().to_string();
        refused_listing_nothing(
            &app,
            &st.jobota,
            &disclosure_body(&st.subject, &unknown, "employment support"),
            "consent_not_found",
        )
        .await;
        // A consent that exists but does not cover the request, asking for named categories.
        let mut other_purpose = disclosure_body(&st.subject, &st.consent, "debt counselling");
        other_purpose["categories"] = json!(["identity", "mental-health", "safeguarding"]);
        refused_listing_nothing(&app, &st.jobota, &other_purpose, "consent_purpose_not_in_scope").await;

        // A meeting basis that does not hold: a session that does not exist, and a real session
        // whose roster does not list the requester.
        let sapota = app.caller("suzuki", "sapota", "caseworker");
        let meeting = |session: &str| {
            json!({"subject_id": st.subject, "owner_agency": "regional-support-centre",
                   "purpose": "multi-agency support planning",
                   "basis": {"type": "support-meeting", "session_id": session}})
        };
        refused_listing_nothing(
            &app,
            &sapota,
            &meeting(&uuid::Uuid::new_v4().to_string()),
            "session_not_found",
        )
        .await;
        let sec = app.caller("kato", "welfare-coordination", "meeting-secretariat");
        let (s, body) = sec
            .post(
                "/v1/bodies",
                &json!({"kind": "support-meeting", "name": "大田区支援会議", "rules_text": "Members share only what support needs.",
                        "pledge_text": "I will keep confidential what I learn in this meeting."}),
            )
            .await;
        assert_eq!(s, 201, "{body}");
        let held = (time::OffsetDateTime::now_utc() + time::Duration::days(1))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        let (s, session) = sec
            .post(
                &format!("/v1/bodies/{}/sessions", body["id"].as_str().unwrap()),
                &json!({"held_at": held}),
            )
            .await;
        assert_eq!(s, 201, "{session}");
        let mut req = meeting(session["id"].as_str().unwrap());
        req["justification"] = json!("coordinating a visit");
        refused_listing_nothing(&app, &sapota, &req, "not_on_roster").await;

        // The other bases alike.
        let grant = json!({"subject_id": st.subject, "owner_agency": "regional-support-centre",
            "purpose": "protect life", "basis": {"type": "emergency", "grant_id": uuid::Uuid::new_v4().to_string()}});
        refused_listing_nothing(&app, &sapota, &grant, "grant_not_found").await;
        let report = json!({"subject_id": st.subject, "owner_agency": "regional-support-centre",
            "purpose": "abuse report follow-up", "basis": {"type": "legal-report", "report_id": uuid::Uuid::new_v4().to_string()}});
        refused_listing_nothing(&app, &sapota, &report, "report_not_found").await;
        let internal = json!({"subject_id": st.subject, "owner_agency": "regional-support-centre",
            "purpose": "long-term care support", "basis": {"type": "internal", "reason": "x"}});
        refused_listing_nothing(&app, &sapota, &internal, "organ_boundary").await;
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provenance_is_judged_per_record_and_per_basis() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        // The council for children requiring protection is convened by child-services.
        let sec = app.caller("kato", "child-services", "meeting-secretariat");
        let (s, body) = sec
            .post(
                "/v1/bodies",
                &json!({"kind": "statutory-conference", "conference_type": "child-protection-council", "name": "要対協",
                        "rules_text": "rules", "pledge_text": "pledge"}),
            )
            .await;
        assert_eq!(s, 201, "{body}");
        let held = (time::OffsetDateTime::now_utc() + time::Duration::days(1))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        let (s, session) = sec
            .post(
                &format!("/v1/bodies/{}/sessions", body["id"].as_str().unwrap()),
                &json!({"held_at": held}),
            )
            .await;
        assert_eq!(s, 201, "{session}");
        let session = session["id"].as_str().unwrap();
        // Three records from the conference: one approved for consent, one approved only for
        // another basis, one not approved at all.
        let mut ids = Vec::new();
        for text in [
            "conference A: approved",
            "conference B: other basis",
            "conference C: not approved",
        ] {
            let (s, rec) = st
                .owner
                .post(
                    &format!("/v1/subjects/{}/records", st.subject),
                    &json!({"purpose": "child protection", "origin_session_id": session,
                            "sections": [{"category": "employment", "content": text}]}),
                )
                .await;
            assert_eq!(s, 201, "{rec}");
            ids.push(rec["id"].as_str().unwrap().to_owned());
        }
        for (id, basis) in [(&ids[0], "consent"), (&ids[1], "emergency")] {
            let (s, r) = sec
                .post(&format!("/v1/records/{id}/origin-approvals"), &json!({"basis": basis}))
                .await;
            assert_eq!(s, 201, "{r}");
        }
        let (s, r) = st
            .jobota
            .post(
                "/v1/disclosures",
                &disclosure_body(&st.subject, &st.consent, "employment support"),
            )
            .await;
        assert_eq!(s, 200, "{engine:?}: {r}");
        let contents: Vec<&str> = r["sections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["content"].as_str().unwrap())
            .collect();
        assert!(
            contents.iter().any(|c| c.contains("unemployed since 2019")),
            "own material flows"
        );
        assert!(contents.contains(&"conference A: approved"), "{engine:?}: {contents:?}");
        assert!(
            !contents
                .iter()
                .any(|c| c.contains("conference B") || c.contains("conference C")),
            "{engine:?}: {contents:?}"
        );
        assert!(
            r["withheld"]
                .as_array()
                .unwrap()
                .contains(&json!({"category": "employment", "reason": "onward_disclosure"})),
            "{r}"
        );
        let entry = app.last_entry().await;
        assert_eq!(entry["decision"], "allowed");
        assert_eq!(
            entry["records"].as_array().unwrap().len(),
            2,
            "the own record and the approved one: {entry}"
        );
        app.stop().await;
    }
}
