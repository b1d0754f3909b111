//! Support meetings under Social Welfare Act Art. 106-6 over the real API: every precondition
//! of docs/rules.md#R-B2, both ways, with its refusal code; convening by the configured agency,
//! invitations each person confirms themselves, pledges, agenda, window, follow-up, leaving,
//! information requests answered by the asked agency, who reads the session record; and
//! statutory conferences' provenance. The attacks of issue 9 §1 are here too.

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

/// The secretariat invites `user` at `agency` to the session.
async fn invite(sec: &Caller, session: &str, user: &str, agency: &str) {
    let (s, r) = sec
        .post(
            &format!("/v1/sessions/{session}/roster"),
            &json!({"user_id": user, "agency_id": agency}),
        )
        .await;
    assert_eq!(s, 201, "{r}");
}

/// The invited person confirms for themselves, with their own token.
async fn confirm(who: &Caller, session: &str) {
    let (s, r) = who
        .post(&format!("/v1/sessions/{session}/roster/confirm"), &json!({}))
        .await;
    assert_eq!(s, 200, "{r}");
}

/// The person accepts the body's current pledge, with their own token.
async fn pledge(who: &Caller, body: &str) {
    let (s, r) = who.post(&format!("/v1/bodies/{body}/pledges"), &json!({})).await;
    assert_eq!(s, 201, "{r}");
}

/// Invited, confirmed and pledged: a member.
async fn join(sec: &Caller, who: &Caller, user: &str, agency: &str, session: &str, body: &str) {
    invite(sec, session, user, agency).await;
    confirm(who, session).await;
    pledge(who, body).await;
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
        // The secretariat's roster rows are invitations: they count for nothing yet.
        for (user, agency) in [("suzuki", "sapota"), ("sato", "regional-support-centre")] {
            invite(&sec, &session, user, agency).await;
        }
        let (s, view) = sec.get(&format!("/v1/sessions/{session}")).await;
        assert_eq!(s, 200, "{view}");
        assert!(
            view["roster"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["status"] == "invited" && e["member"] == false),
            "{view}"
        );
        expect_refusal(&app, &suzuki, &req, "not_confirmed").await;
        // Someone else cannot confirm suzuki's invitation.
        let (s, r) = st
            .jobota
            .post(&format!("/v1/sessions/{session}/roster/confirm"), &json!({}))
            .await;
        assert_eq!((s, r["error"]["code"].as_str()), (403, Some("not_invited")));
        confirm(&suzuki, &session).await;
        expect_refusal(&app, &suzuki, &req, "no_pledge").await;
        pledge(&suzuki, &body_id).await;
        // The owner (the regional support centre) is invited, but nobody from it has joined.
        expect_refusal(&app, &suzuki, &req, "owner_not_member").await;
        confirm(&st.owner, &session).await;
        expect_refusal(&app, &suzuki, &req, "owner_not_member").await;
        pledge(&st.owner, &body_id).await;
        let (_, view) = sec.get(&format!("/v1/sessions/{session}")).await;
        assert!(
            view["roster"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["status"] == "confirmed" && e["pledge_current"] == true && e["member"] == true),
            "{view}"
        );
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
        pledge(&suzuki, &body_id).await;
        // The owner's member must accept the new version too before the owner counts again.
        expect_refusal(&app, &suzuki, &req, "owner_not_member").await;
        pledge(&st.owner, &body_id).await;
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
        // Removing someone who is not (or no longer) on the roster changes and logs nothing.
        let size = app.audit_size().await;
        let (s, r) = send(
            &sec,
            reqwest::Method::DELETE,
            &format!("/v1/bodies/{body_id}/members/suzuki"),
            None,
        )
        .await;
        assert_eq!((s, r["error"]["code"].as_str()), (404, Some("member_not_found")));
        assert_eq!(app.audit_size().await, size);

        // The session record: privacy officers in scope, the secretariat and confirmed members may
        // read it, others may not.
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
        assert_eq!(former["status"], "removed");
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
        assert_eq!(s, 200, "a confirmed member reads the record");
        let (s, _) = sec.get(&format!("/v1/sessions/{session}/record")).await;
        assert_eq!(s, 200, "the secretariat reads the record");
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
        join(&sec, &yamada, "yamada", "sapota", &session, &body_id).await;
        join(&sec, &st.owner, "sato", "regional-support-centre", &session, &body_id).await;
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

        // Art. 106-6(3): the meeting asks JOBOTA (not a member) for material; JOBOTA decides
        // what to provide, and the answer goes to the named recipient only.
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
        expect_refusal(&app, &sec, &answer, "info_request_unanswered").await;
        let (s, answered) = st
            .jobota
            .post(
                &format!("/v1/info-requests/{}/answer", ir["id"].as_str().unwrap()),
                &json!({"provide": ["employment"]}),
            )
            .await;
        assert_eq!(s, 200, "{answered}");
        assert_eq!(answered["status"], "provided");
        let (s, r) = sec.post("/v1/disclosures", &answer).await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["disclosed"], json!(["employment"]));
        // Someone else cannot ride on the request.
        let suzuki = app.caller("suzuki", "sapota", "caseworker");
        expect_refusal(&app, &suzuki, &answer, "not_request_recipient").await;
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conference_material_stays_in_its_body_unless_the_coordinator_approves() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        // The council for children requiring protection is convened by child services
        // (policies/bases.toml), not by the ward's support-meeting secretariat.
        let ward = app.caller("kato", "welfare-coordination", "meeting-secretariat");
        let council = json!({"kind": "statutory-conference", "conference_type": "child-protection-council", "name": "要対協",
                             "rules_text": "rules", "pledge_text": "pledge"});
        let (s, r) = ward.post("/v1/bodies", &council).await;
        assert_eq!(
            (s, r["error"]["code"].as_str()),
            (403, Some("not_convening_agency")),
            "{r}"
        );
        let sec = app.caller("kobayashi", "child-services", "meeting-secretariat");
        let (s, body) = sec.post("/v1/bodies", &council).await;
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

/// Issue 9 §1: one agency cannot fabricate a meeting. JOBOTA's secretariat cannot convene a
/// support meeting; in the ward's meeting an invented user of the owner on the roster does not
/// make the owner take part; JOBOTA's caseworker gets nothing beyond the consent; JOBOTA's
/// secretariat cannot read the ward's session, its record or the body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_agency_cannot_fabricate_a_support_meeting() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let job_sec = app.caller("mori", "jobota", "meeting-secretariat");
        let sec = app.caller("kato", "welfare-coordination", "meeting-secretariat");

        let before = app.audit_size().await;
        let (s, r) = job_sec
            .post(
                "/v1/bodies",
                &json!({"kind": "support-meeting", "name": "JOBOTA支援会議", "rules_text": "x", "pledge_text": "x"}),
            )
            .await;
        assert_eq!(
            (s, r["error"]["code"].as_str()),
            (403, Some("not_convening_agency")),
            "{engine:?}: {r}"
        );
        assert_eq!(app.audit_size().await, before, "nothing logged as a change");

        // The ward convenes. Its secretariat puts the JOBOTA caseworker (who joins properly) and
        // an invented user of the regional support centre on the roster.
        let (body_id, session) = convene(&sec, 1).await;
        join(&sec, &st.jobota, "tanaka", "jobota", &session, &body_id).await;
        invite(&sec, &session, "ghost", "regional-support-centre").await;
        sec.post(
            &format!("/v1/sessions/{session}/agenda"),
            &json!({"subject_id": st.subject}),
        )
        .await;
        let (s, _) = sec
            .post(&format!("/v1/sessions/{session}/publish-agenda"), &json!({}))
            .await;
        assert_eq!(s, 200);
        let mut req = meeting_request(&st.subject, "regional-support-centre", &session);
        req["justification"] = json!("needed for the support plan");
        expect_refusal(&app, &st.jobota, &req, "owner_not_member").await;

        // JOBOTA's secretariat cannot add itself to the ward's session either.
        let (s, r) = job_sec
            .post(
                &format!("/v1/sessions/{session}/roster"),
                &json!({"user_id": "mori", "agency_id": "jobota"}),
            )
            .await;
        assert_eq!((s, r["error"]["code"].as_str()), (403, Some("not_secretariat")));

        // The JOBOTA caseworker gets what the consent covers and nothing more.
        let (s, r) = st
            .jobota
            .post(
                "/v1/disclosures",
                &disclosure_body(&st.subject, &st.consent, "employment support"),
            )
            .await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["disclosed"], json!(["identity", "employment"]));

        // JOBOTA's secretariat reads neither the ward's session nor its record nor the body.
        for path in [
            format!("/v1/sessions/{session}"),
            format!("/v1/sessions/{session}/record"),
        ] {
            let (s, r) = job_sec.get(&path).await;
            assert_eq!((s, r["error"]["code"].as_str()), (403, Some("not_on_roster")), "{path}");
            assert!(!r.to_string().contains(&st.subject), "no subject id leaks: {r}");
        }
        let (s, r) = job_sec.get(&format!("/v1/bodies/{body_id}")).await;
        assert_eq!((s, r["error"]["code"].as_str()), (403, Some("not_participant")));
        // A privacy officer of another organ (the contracted centre's operator) is out of scope;
        // the ward's officer is in scope.
        let rsc_officer = app.caller("oda", "regional-support-centre", "privacy-officer");
        let (s, _) = rsc_officer.get(&format!("/v1/sessions/{session}/record")).await;
        assert_eq!(s, 403);
        let officer = app.caller("ito", "welfare-coordination", "privacy-officer");
        assert_eq!(officer.get(&format!("/v1/sessions/{session}/record")).await.0, 200);
        assert_eq!(officer.get(&format!("/v1/bodies/{body_id}")).await.0, 200);
        // An invitee reads the body; the invented user's invitation stays unconfirmed.
        assert_eq!(st.jobota.get(&format!("/v1/bodies/{body_id}")).await.0, 200);
        let (_, view) = sec.get(&format!("/v1/sessions/{session}")).await;
        let ghost = view["roster"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["user_id"] == "ghost")
            .unwrap()
            .clone();
        assert_eq!(
            (ghost["status"].as_str(), ghost["member"].as_bool()),
            (Some("invited"), Some(false))
        );
        app.stop().await;
    }
}

/// Issue 9 §1: an information request releases nothing until the asked agency answers; then
/// only the categories it provides, only to the recipient the request names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_information_request_releases_only_what_the_asked_agency_answers_to_the_named_recipient() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let sec = app.caller("kato", "welfare-coordination", "meeting-secretariat");
        let dc = app.caller("nakamura", "disability-centre", "caseworker");
        let suzuki = app.caller("suzuki", "sapota", "caseworker");
        let (s, r) = dc
            .post(
                &format!("/v1/subjects/{}/links", st.subject),
                &json!({"local_id": "DC-0042"}),
            )
            .await;
        assert_eq!(s, 201, "{r}");
        let (s, r) = dc
            .post(
                &format!("/v1/subjects/{}/records", st.subject),
                &json!({"purpose": "disability support", "sections": [
                    {"category": "identity", "content": "山田 太郎"},
                    {"category": "disability", "content": "certificate grade 2"},
                    {"category": "mental-health", "content": "depression, treated"}]}),
            )
            .await;
        assert_eq!(s, 201, "{r}");

        let (body_id, session) = convene(&sec, 1).await;
        join(&sec, &suzuki, "suzuki", "sapota", &session, &body_id).await;
        let (s, ir) = sec
            .post(
                &format!("/v1/sessions/{session}/info-requests"),
                &json!({"asked_agency": "disability-centre", "subject_id": st.subject,
                        "recipient_user": "kato", "recipient_agency": "welfare-coordination"}),
            )
            .await;
        assert_eq!(s, 201, "{ir}");
        assert_eq!(ir["status"], "open");
        let entry = app.last_entry().await;
        assert_eq!(entry["event"], "meeting-info-request-created");
        assert!(
            !entry.to_string().contains(&st.subject),
            "the log names the person by pseudonym only: {entry}"
        );
        let ir_id = ir["id"].as_str().unwrap().to_owned();
        sec.post(&format!("/v1/sessions/{session}/publish-agenda"), &json!({}))
            .await;
        pledge(&sec, &body_id).await;
        let mut req = meeting_request(&st.subject, "disability-centre", &session);
        req["basis"]["info_request_id"] = json!(ir_id);
        req["justification"] = json!("the support plan depends on it");
        expect_refusal(&app, &sec, &req, "info_request_unanswered").await;

        // Only the asked agency answers; it sees what is asked of it.
        let answer_path = format!("/v1/info-requests/{ir_id}/answer");
        let (s, _) = sec.post(&answer_path, &json!({"provide": ["identity"]})).await;
        assert_eq!(s, 403, "the secretariat cannot answer for the centre");
        let (s, r) = st.jobota.post(&answer_path, &json!({"provide": ["identity"]})).await;
        assert_eq!((s, r["error"]["code"].as_str()), (403, Some("not_asked_agency")));
        let (s, inbox) = dc.get("/v1/info-requests").await;
        assert_eq!(s, 200, "{inbox}");
        assert!(
            inbox
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["id"] == ir_id && r["status"] == "open")
        );
        let (_, other) = st.jobota.get("/v1/info-requests").await;
        assert!(!other.as_array().unwrap().iter().any(|r| r["id"] == ir_id));
        let (s, r) = dc.post(&answer_path, &json!({"provide": ["reporter-identity"]})).await;
        assert_eq!((s, r["error"]["code"].as_str()), (422, Some("category_sealed")));
        let (s, r) = dc
            .post(&answer_path, &json!({"provide": ["identity", "disability"]}))
            .await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["status"], "provided");
        let entry = app.last_entry().await;
        assert_eq!(entry["event"], "meeting-info-request-answered");
        assert!(!entry.to_string().contains(&st.subject), "{entry}");
        let (s, r) = dc.post(&answer_path, &json!({"provide": ["mental-health"]})).await;
        assert_eq!(
            (s, r["error"]["code"].as_str()),
            (409, Some("info_request_already_answered"))
        );

        // The named recipient receives exactly what was provided, in one logged disclosure.
        let before = app.audit_size().await;
        let (s, r) = sec.post("/v1/disclosures", &req).await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["disclosed"], json!(["identity", "disability"]));
        assert!(
            r["withheld"]
                .as_array()
                .unwrap()
                .contains(&json!({"category": "mental-health", "reason": "not_covered_by_basis"})),
            "{r}"
        );
        assert_eq!(
            app.audit_size().await,
            before + 1,
            "the release is one logged disclosure"
        );
        // A confirmed SAPOTA member with the request's id is refused.
        expect_refusal(&app, &suzuki, &req, "not_request_recipient").await;

        // An agency may decline; then nothing flows under that request.
        let (s, second) = sec
            .post(
                &format!("/v1/sessions/{session}/info-requests"),
                &json!({"asked_agency": "disability-centre", "subject_id": st.subject,
                        "recipient_user": "kato", "recipient_agency": "welfare-coordination"}),
            )
            .await;
        assert_eq!(s, 201, "{second}");
        let (s, r) = dc
            .post(
                &format!("/v1/info-requests/{}/answer", second["id"].as_str().unwrap()),
                &json!({"decline_reason": "the person asked us not to share this"}),
            )
            .await;
        assert_eq!((s, r["status"].as_str()), (200, Some("declined")), "{r}");
        assert!(
            !app.last_entry().await.to_string().contains("asked us not to share"),
            "free text stays out of the log"
        );
        let mut declined = req.clone();
        declined["basis"]["info_request_id"] = second["id"].clone();
        expect_refusal(&app, &sec, &declined, "info_request_declined").await;
        app.stop().await;
    }
}

async fn send(who: &Caller, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut r = who
        .client
        .request(method, format!("{}{}", who.base, path))
        .bearer_auth(&who.token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Issue 9 §2: every meeting change is logged before it takes effect. With the log broken each
/// answers 503 `audit_unavailable` and nothing changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_log_broken_no_meeting_change_takes_effect() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let sec = app.caller("kato", "welfare-coordination", "meeting-secretariat");
        let suzuki = app.caller("suzuki", "sapota", "caseworker");
        let (body_id, session) = convene(&sec, 1).await;
        invite(&sec, &session, "suzuki", "sapota").await;
        let (_, item) = sec
            .post(
                &format!("/v1/sessions/{session}/agenda"),
                &json!({"subject_id": st.subject}),
            )
            .await;
        let (_, ir) = sec
            .post(
                &format!("/v1/sessions/{session}/info-requests"),
                &json!({"asked_agency": "jobota", "subject_id": st.subject,
                        "recipient_user": "kato", "recipient_agency": "welfare-coordination"}),
            )
            .await;
        let (s, rec) = st
            .owner
            .post(
                &format!("/v1/subjects/{}/records", st.subject),
                &json!({"purpose": "support", "origin_session_id": session,
                        "sections": [{"category": "employment", "content": "from the meeting"}]}),
            )
            .await;
        assert_eq!(s, 201, "{rec}");
        let (_, record_before) = sec.get(&format!("/v1/sessions/{session}/record")).await;
        let size = app.audit_size().await;
        crate::audit_guarantee::break_audit_store(&app).await;

        let post = reqwest::Method::POST;
        let attempts: Vec<(&Caller, reqwest::Method, String, Option<Value>)> = vec![
            (
                &sec,
                post.clone(),
                "/v1/bodies".into(),
                Some(json!({"kind": "support-meeting", "name": "n", "rules_text": "r", "pledge_text": "p"})),
            ),
            (
                &sec,
                post.clone(),
                format!("/v1/bodies/{body_id}/pledge-texts"),
                Some(json!({"text": "v2"})),
            ),
            (&suzuki, post.clone(), format!("/v1/bodies/{body_id}/pledges"), None),
            (
                &sec,
                post.clone(),
                format!("/v1/bodies/{body_id}/sessions"),
                Some(json!({"held_at": in_days(2)})),
            ),
            (
                &sec,
                post.clone(),
                format!("/v1/sessions/{session}/roster"),
                Some(json!({"user_id": "yamada", "agency_id": "sapota"})),
            ),
            (
                &suzuki,
                post.clone(),
                format!("/v1/sessions/{session}/roster/confirm"),
                None,
            ),
            (
                &sec,
                reqwest::Method::DELETE,
                format!("/v1/bodies/{body_id}/members/suzuki"),
                None,
            ),
            (
                &sec,
                post.clone(),
                format!("/v1/sessions/{session}/agenda"),
                Some(json!({"subject_id": st.subject})),
            ),
            (
                &sec,
                reqwest::Method::DELETE,
                format!("/v1/sessions/{session}/agenda/{}", item["id"].as_str().unwrap()),
                None,
            ),
            (
                &sec,
                post.clone(),
                format!("/v1/sessions/{session}/publish-agenda"),
                None,
            ),
            (
                &sec,
                post.clone(),
                format!("/v1/sessions/{session}/info-requests"),
                Some(json!({"asked_agency": "sapota", "subject_id": st.subject,
                            "recipient_user": "kato", "recipient_agency": "welfare-coordination"})),
            ),
            (
                &st.jobota,
                post.clone(),
                format!("/v1/info-requests/{}/answer", ir["id"].as_str().unwrap()),
                Some(json!({"provide": ["employment"]})),
            ),
            (
                &sec,
                post.clone(),
                format!("/v1/sessions/{session}/followups"),
                Some(
                    json!({"subject_id": st.subject, "user_id": "suzuki", "agency_id": "sapota", "until": in_days(30)}),
                ),
            ),
            (
                &sec,
                reqwest::Method::PUT,
                format!("/v1/sessions/{session}/decision-summary"),
                Some(json!({"text": "SAPOTA visits weekly."})),
            ),
            (
                &sec,
                post.clone(),
                format!("/v1/records/{}/origin-approvals", rec["id"].as_str().unwrap()),
                Some(json!({"basis": "consent"})),
            ),
        ];
        for (who, method, path, body) in attempts {
            let (s, r) = send(who, method.clone(), &path, body.or(Some(json!({})))).await;
            assert_eq!(
                (s, r["error"]["code"].as_str()),
                (503, Some("audit_unavailable")),
                "{engine:?} {method} {path}: {r}"
            );
        }
        assert_eq!(app.audit_size().await, size, "nothing was logged");
        let (s, record_after) = sec.get(&format!("/v1/sessions/{session}/record")).await;
        assert_eq!(s, 200);
        assert_eq!(record_after, record_before, "the session record is unchanged");
        let (_, body) = sec.get(&format!("/v1/bodies/{body_id}")).await;
        assert_eq!(body["pledge_version"], 1);
        let record_id = tsunagi::domain::RecordId::parse(rec["id"].as_str().unwrap()).unwrap();
        assert!(!app.state.store.origin_approved(record_id, "consent").await.unwrap());
        app.stop().await;
    }
}
