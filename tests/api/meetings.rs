//! Support meetings under Social Welfare Act Art. 106-6 over the real API: every precondition
//! of docs/rules.md#R-B2, both ways, with its refusal code; pledges, agenda, window, follow-up,
//! leaving, information requests, the session record; and statutory conferences' provenance.

use serde_json::{Value, json};

use crate::helpers::*;

fn meeting_request(subject: &str, owner: &str, session: &str) -> Value {
    json!({
        "subject_id": subject, "owner_agency": owner, "purpose": "multi-agency support planning",
        "basis": {"type": "support-meeting", "session_id": session}
    })
}

async fn expect_refusal(app: &TestApp, who: &Caller, body: &Value, code: &str) {
    let (s, r) = who.post("/v1/disclosures", body).await;
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (403, Some(code)),
        "{:?}: {r}",
        app.engine
    );
    assert_eq!(app.last_entry().await["reason"], code, "the refusal is on record");
}

fn in_days(days: i64) -> String {
    (time::OffsetDateTime::now_utc() + time::Duration::days(days))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// Convenes a support meeting and a session held `held_in_days` from now; returns (body, session).
async fn convene(sec: &Caller, held_in_days: i64) -> (String, String) {
    let (s, body) = sec
        .post(
            "/v1/bodies",
            &json!({"kind": "support-meeting", "name": "大田区支援会議", "rules_text": "Members share only what support needs.",
                    "pledge_text": "I will keep confidential what I learn in this meeting (社会福祉法 第106条の6第5項)."}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    assert_eq!(body["legal_basis"], "社会福祉法 第106条の6");
    let body_id = body["id"].as_str().unwrap().to_owned();
    let (s, session) = sec
        .post(
            &format!("/v1/bodies/{body_id}/sessions"),
            &json!({"held_at": in_days(held_in_days)}),
        )
        .await;
    assert_eq!(s, 201, "{session}");
    (body_id, session["id"].as_str().unwrap().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_support_meeting_shares_only_among_pledged_members_about_its_agenda_in_its_window() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let sec = app.caller("kato", "welfare-coordination", "meeting-secretariat");
        let suzuki = app.caller("suzuki", "sapota", "caseworker");

        // Only the secretariat role convenes.
        let (s, b) = suzuki
            .post(
                "/v1/bodies",
                &json!({"kind": "support-meeting", "name": "x", "rules_text": "x", "pledge_text": "x"}),
            )
            .await;
        assert_eq!((s, b["error"]["code"].as_str()), (403, Some("forbidden_by_policy")));
        let (body_id, session) = convene(&sec, 1).await;
        let req = meeting_request(&st.subject, "regional-support-centre", &session);

        expect_refusal(&app, &suzuki, &req, "not_on_roster").await;
        for (user, agency) in [("suzuki", "sapota"), ("sato", "regional-support-centre")] {
            let (s, r) = sec
                .post(
                    &format!("/v1/sessions/{session}/roster"),
                    &json!({"user_id": user, "agency_id": agency}),
                )
                .await;
            assert_eq!(s, 201, "{r}");
        }
        expect_refusal(&app, &suzuki, &req, "no_pledge").await;
        let (s, _) = suzuki.post(&format!("/v1/bodies/{body_id}/pledges"), &json!({})).await;
        assert_eq!(s, 201);
        expect_refusal(&app, &suzuki, &req, "not_on_agenda").await;
        let (s, item) = sec
            .post(
                &format!("/v1/sessions/{session}/agenda"),
                &json!({"subject_id": st.subject}),
            )
            .await;
        assert_eq!(s, 201, "{item}");
        expect_refusal(&app, &suzuki, &req, "window_not_open").await;
        let (s, _) = sec
            .post(&format!("/v1/sessions/{session}/publish-agenda"), &json!({}))
            .await;
        assert_eq!(s, 200);

        // Allowed, without consent. Special-care needs a justification.
        let (s, r) = suzuki.post("/v1/disclosures", &req).await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["disclosed"], json!(["identity", "household", "employment"]));
        assert!(
            r["withheld"]
                .as_array()
                .unwrap()
                .contains(&json!({"category": "health", "reason": "justification_required"}))
        );
        let entry = app.last_entry().await;
        assert_eq!(
            entry["basis"],
            json!({"type": "support-meeting", "session_id": session})
        );
        assert_eq!(entry["basis_context"]["statute"], "社会福祉法 第106条の6");
        assert_eq!(entry["basis_context"]["agenda_item"], item["id"]);
        let mut with_reason = req.clone();
        with_reason["justification"] = json!("diabetes management affects which work is possible");
        let (s, r) = suzuki.post("/v1/disclosures", &with_reason).await;
        assert_eq!(s, 200);
        assert!(r["disclosed"].as_array().unwrap().contains(&json!("health")), "{r}");

        // A non-member gets nothing.
        expect_refusal(&app, &st.jobota, &req, "not_on_roster").await;

        // A new pledge version must be accepted again.
        let (s, _) = sec
            .post(
                &format!("/v1/bodies/{body_id}/pledge-texts"),
                &json!({"text": "Pledge, version 2."}),
            )
            .await;
        assert_eq!(s, 201);
        expect_refusal(&app, &suzuki, &req, "no_pledge").await;
        suzuki.post(&format!("/v1/bodies/{body_id}/pledges"), &json!({})).await;
        assert_eq!(suzuki.post("/v1/disclosures", &req).await.0, 200);

        // Leaving ends access at once; the person stays on record as a former member.
        let r = sec
            .client
            .delete(app.url(&format!("/v1/bodies/{body_id}/members/suzuki")))
            .bearer_auth(&sec.token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        expect_refusal(&app, &suzuki, &req, "former_member").await;

        // The session record: privacy officers and the roster may read it, others may not.
        let officer = app.caller("ito", "welfare-coordination", "privacy-officer");
        let (s, record) = officer.get(&format!("/v1/sessions/{session}/record")).await;
        assert_eq!(s, 200, "{record}");
        let former = record["attendance"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["user_id"] == "suzuki")
            .unwrap();
        assert!(former["removed_at"].is_string(), "former member listed with the date");
        let disclosures = record["disclosures"].as_array().unwrap();
        assert!(
            disclosures
                .iter()
                .any(|d| d["decision"] == "allowed" && d["recipient_user"] == "suzuki")
        );
        assert!(disclosures.iter().any(|d| d["reason"] == "former_member"));
        let (s, r) = st.jobota.get(&format!("/v1/sessions/{session}/record")).await;
        assert_eq!((s, r["error"]["code"].as_str()), (403, Some("not_on_roster")));
        let (s, _) = st.owner.get(&format!("/v1/sessions/{session}/record")).await;
        assert_eq!(s, 200, "a current roster member reads the record");
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_window_only_follow_up_assignees_keep_access_and_info_requests_reach_non_members() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let sec = app.caller("kato", "welfare-coordination", "meeting-secretariat");
        let yamada = app.caller("yamada", "sapota", "caseworker");
        // A session held 20 days ago: the 14-day window has closed.
        let (body_id, session) = convene(&sec, -20).await;
        for (user, agency) in [("yamada", "sapota"), ("sato", "regional-support-centre")] {
            sec.post(
                &format!("/v1/sessions/{session}/roster"),
                &json!({"user_id": user, "agency_id": agency}),
            )
            .await;
        }
        yamada.post(&format!("/v1/bodies/{body_id}/pledges"), &json!({})).await;
        sec.post(
            &format!("/v1/sessions/{session}/agenda"),
            &json!({"subject_id": st.subject}),
        )
        .await;
        sec.post(&format!("/v1/sessions/{session}/publish-agenda"), &json!({}))
            .await;
        let req = meeting_request(&st.subject, "regional-support-centre", &session);
        expect_refusal(&app, &yamada, &req, "window_closed").await;
        let (s, r) = sec
            .post(
                &format!("/v1/sessions/{session}/followups"),
                &json!({"subject_id": st.subject, "user_id": "yamada", "agency_id": "sapota", "until": in_days(30)}),
            )
            .await;
        assert_eq!(s, 201, "{r}");
        let (s, r) = yamada.post("/v1/disclosures", &req).await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(app.last_entry().await["basis_context"]["via_follow_up"], true);

        // Art. 106-6(3): the meeting asks JOBOTA (not a member) for material; the answer goes
        // to the named recipient only.
        let (s, _) = st
            .jobota
            .post(
                &format!("/v1/subjects/{}/links", st.subject),
                &json!({"local_id": "JOB-77"}),
            )
            .await;
        assert_eq!(s, 201);
        st.jobota
            .post(
                &format!("/v1/subjects/{}/records", st.subject),
                &json!({"purpose": "employment support", "sections": [{"category": "employment", "content": "attends job club"}]}),
            )
            .await;
        let (_, current) = convene(&sec, 1).await;
        let (s, ir) = sec
            .post(
                &format!("/v1/sessions/{current}/info-requests"),
                &json!({"asked_agency": "jobota", "subject_id": st.subject, "recipient_user": "kato", "recipient_agency": "welfare-coordination"}),
            )
            .await;
        assert_eq!(s, 201, "{ir}");
        sec.post(&format!("/v1/sessions/{current}/publish-agenda"), &json!({}))
            .await;
        let current_body = sec.get(&format!("/v1/sessions/{current}")).await.1["body"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        sec.post(&format!("/v1/bodies/{current_body}/pledges"), &json!({}))
            .await;
        let mut answer = meeting_request(&st.subject, "jobota", &current);
        expect_refusal(&app, &sec, &answer, "not_on_roster").await;
        answer["basis"]["info_request_id"] = ir["id"].clone();
        let (s, r) = sec.post("/v1/disclosures", &answer).await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["disclosed"], json!(["employment"]));
        // Someone else cannot ride on the request.
        let suzuki = app.caller("suzuki", "sapota", "caseworker");
        expect_refusal(&app, &suzuki, &answer, "not_on_roster").await;
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conference_material_stays_in_its_body_unless_the_coordinator_approves() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let sec = app.caller("kato", "welfare-coordination", "meeting-secretariat");
        let (s, body) = sec
            .post(
                "/v1/bodies",
                &json!({"kind": "statutory-conference", "conference_type": "child-protection-council", "name": "要対協",
                        "rules_text": "rules", "pledge_text": "pledge"}),
            )
            .await;
        assert_eq!(s, 201, "{body}");
        assert_eq!(body["legal_basis"], "児童福祉法 第25条の2, 第25条の5");
        let (s, bad) = sec.post("/v1/bodies", &json!({"kind": "statutory-conference", "conference_type": "tea-party", "name": "x", "rules_text": "x", "pledge_text": "x"})).await;
        assert_eq!(
            (s, bad["error"]["code"].as_str()),
            (422, Some("unknown_conference_type"))
        );
        let (_, session) = sec
            .post(
                &format!("/v1/bodies/{}/sessions", body["id"].as_str().unwrap()),
                &json!({"held_at": in_days(1)}),
            )
            .await;
        let session = session["id"].as_str().unwrap();
        // A support-meeting basis cannot name a conference session.
        expect_refusal(
            &app,
            &st.jobota,
            &meeting_request(&st.subject, "regional-support-centre", session),
            "basis_body_mismatch",
        )
        .await;

        // The regional support centre files material it got from the conference.
        let (s, rec) = st
            .owner
            .post(
                &format!("/v1/subjects/{}/records", st.subject),
                &json!({"purpose": "child protection", "origin_session_id": session,
                        "sections": [{"category": "employment", "content": "conference: father lost his job"}]}),
            )
            .await;
        assert_eq!(s, 201, "{rec}");
        // Under consent, the conference material is withheld; the centre's own record flows.
        let (s, r) = st
            .jobota
            .post(
                "/v1/disclosures",
                &disclosure_body(&st.subject, &st.consent, "employment support"),
            )
            .await;
        assert_eq!(s, 200, "{r}");
        assert!(
            r["withheld"]
                .as_array()
                .unwrap()
                .contains(&json!({"category": "employment", "reason": "onward_disclosure"})),
            "{r}"
        );
        assert!(
            !r["sections"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["content"].as_str().unwrap().contains("conference"))
        );
        // Only the conference's coordinator may approve; then it flows.
        let path = format!("/v1/records/{}/origin-approvals", rec["id"].as_str().unwrap());
        let (s, r) = st.owner.post(&path, &json!({"basis": "consent"})).await;
        assert_eq!(s, 403, "{r}");
        let (s, r) = sec.post(&path, &json!({"basis": "consent"})).await;
        assert_eq!(s, 201, "{r}");
        let (_, r) = st
            .jobota
            .post(
                "/v1/disclosures",
                &disclosure_body(&st.subject, &st.consent, "employment support"),
            )
            .await;
        assert!(
            r["sections"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["content"].as_str().unwrap().contains("conference")),
            "{r}"
        );
        app.stop().await;
    }
}
