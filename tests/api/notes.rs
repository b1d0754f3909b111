//! Shared case notes on a plan's team timeline (docs/rules.md#R-T9–R-T11) over the real API, on
//! both engines: posting (category, justification under a meeting, provenance, logged first,
//! notices), reading as one logged disclosure listing the notes released, per-note withholding,
//! refusals with the team gate's codes (logged), a member leaving the session, a revoked
//! consent, an ended plan, and no onward disclosure.

use serde_json::{Value, json};
use tsunagi::domain::plan::{PlanBasis, PlanContent, PlanRole};
use tsunagi::domain::{AgencyId, ConsentId, PlanId, SessionId, SubjectId, UserId};
use tsunagi::store::NewPlanVersion;

use crate::helpers::*;

fn in_days(days: i64) -> String {
    (time::OffsetDateTime::now_utc() + time::Duration::days(days))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// A plan about `subject` with a role for each of `agencies`, agreed by the coordinator on
/// `basis` (made through the store, after its log entry, as the plans service does).
pub async fn plan(app: &TestApp, subject: &str, basis: PlanBasis, agencies: &[&str]) -> String {
    let id = PlanId::new_random();
    let subject = SubjectId::parse(subject).unwrap();
    let who = tsunagi::principal::Principal {
        user: UserId::parse("kato").unwrap(),
        agency: AgencyId::parse("welfare-coordination").unwrap(),
        organ: tsunagi::domain::OrganId::parse("ota-ward").unwrap(),
        roles: vec![tsunagi::domain::Role::Caseworker],
        cert_fingerprint: String::new(),
    };
    let now = app.state.clock.now();
    let logged = app
        .state
        .audit
        .record_event(&who, "plan-created", now, None, id.to_string(), json!({}))
        .await
        .unwrap();
    let version = NewPlanVersion {
        basis,
        agreed_in_session: None,
        agreed_by_agency: who.agency.clone(),
        agreed_by_user: who.user.clone(),
        content: PlanContent {
            goals: vec!["安定した就労".into()],
            roles: agencies
                .iter()
                .map(|a| PlanRole {
                    agency: AgencyId::parse(a).unwrap(),
                    role: "支援".into(),
                    lead: "担当".into(),
                })
                .collect(),
            services: vec!["就労準備支援".into()],
        },
        schedule: vec![now + time::Duration::days(120)],
    };
    app.state
        .store
        .create_plan(id, subject, &version, now, &logged)
        .await
        .unwrap();
    id.to_string()
}

/// A consent the regional support centre recorded about `subject`, naming `recipients`.
pub async fn consent(owner: &Caller, subject: &str, recipients: &[&str], categories: &[&str]) -> String {
    let (s, c) = owner
        .post(
            &format!("/v1/subjects/{subject}/consents"),
            &json!({
                "recipients": recipients, "purposes": ["multi-agency support"], "categories": categories,
                "valid_from": "2026-01-01T00:00:00Z", "valid_until": "2099-01-01T00:00:00Z",
                "method": "written", "evidence_ref": "consent form 2026-211"
            }),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    c["id"].as_str().unwrap().to_owned()
}

pub async fn person(owner: &Caller) -> String {
    let (s, subject) = owner.post("/v1/subjects", &json!({"local_id": "RSC-0311"})).await;
    assert_eq!(s, 201, "{subject}");
    subject["id"].as_str().unwrap().to_owned()
}

async fn post_note(who: &Caller, plan: &str, body: Value) -> (u16, Value) {
    who.post(&format!("/v1/plans/{plan}/notes"), &body).await
}

async fn expect_refused(app: &TestApp, who: &Caller, plan: &str, code: &str) {
    let before = app.audit_size().await;
    let (s, r) = who.get(&format!("/v1/plans/{plan}/notes")).await;
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (403, Some(code)),
        "{:?}: {r}",
        app.engine
    );
    assert_eq!(app.audit_size().await, before + 1, "the refusal is on record");
    let e = app.last_entry().await;
    assert_eq!(
        (e["decision"].as_str(), e["reason"].as_str()),
        (Some("refused"), Some(code))
    );
    assert_eq!(e["disclosed"], json!([]), "a refusal lists nothing");
    let (s, r) = post_note(who, plan, json!({"content": "訪問しました"})).await;
    assert_eq!((s, r["error"]["code"].as_str()), (403, Some(code)), "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consent_team_posts_and_reads_notes_each_read_one_logged_disclosure() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let rsc = app.caller("sato", "regional-support-centre", "caseworker");
        let sapota = app.caller("ito", "sapota", "caseworker");
        let jobota = app.caller("tanaka", "jobota", "caseworker");
        let outsider = app.caller("mori", "child-services", "caseworker");
        let subject = person(&rsc).await;
        let c_sapota = consent(&rsc, &subject, &["sapota"], &["case-notes", "mental-health"]).await;
        let c_jobota = consent(&rsc, &subject, &["jobota"], &["case-notes"]).await;
        let plan_id = plan(
            &app,
            &subject,
            PlanBasis::Consent {
                consent_ids: vec![
                    ConsentId::parse(&c_sapota).unwrap(),
                    ConsentId::parse(&c_jobota).unwrap(),
                ],
            },
            &["sapota", "jobota"],
        )
        .await;

        // Posting: logged first (no content on the log), provenance kept.
        let before = app.audit_size().await;
        let (s, n1) = post_note(&sapota, &plan_id, json!({"content": "初回面談。外出は週1回程度。"})).await;
        assert_eq!(s, 201, "{n1}");
        assert_eq!(app.audit_size().await, before + 1);
        let e = app.last_entry().await;
        assert_eq!(e["event"], "case-note-posted");
        assert_eq!(e["reference"], n1["id"]);
        assert!(!e.to_string().contains("外出"), "no content on the log: {e}");
        assert_eq!(
            (
                n1["category"].as_str(),
                n1["author_agency"].as_str(),
                n1["author_user"].as_str()
            ),
            (Some("case-notes"), Some("sapota"), Some("ito"))
        );
        assert_eq!(
            (n1["basis"].as_str(), n1["basis_ref"].as_str()),
            (Some("consent"), Some(c_sapota.as_str()))
        );
        assert_eq!(n1["audit_receipt"]["index"], before);
        // A special-care note under a consent: no justification needed to post it.
        let (s, n2) = post_note(
            &sapota,
            &plan_id,
            json!({"content": "精神科に通院中（月1回）", "category": "mental-health"}),
        )
        .await;
        assert_eq!(s, 201, "{n2}");

        // The rest of the team is told (no content).
        let (s, notices) = jobota.get("/v1/notifications").await;
        assert_eq!(s, 200);
        assert!(
            notices.to_string().contains("case-note-posted"),
            "jobota is notified: {notices}"
        );
        assert!(!notices.to_string().contains("外出"));

        // Bad input changes nothing and logs nothing.
        let before = app.audit_size().await;
        for (body, code) in [
            (
                json!({"content": "x", "category": "reporter-identity"}),
                "category_sealed",
            ),
            (json!({"content": "x", "category": "gossip"}), "unknown_category"),
            (json!({"content": "個人番号 1234 5678 9018"}), "my_number_refused"),
            (json!({"content": "  "}), "empty"),
        ] {
            let (s, r) = post_note(&sapota, &plan_id, body).await;
            assert_eq!((s, r["error"]["code"].as_str()), (422, Some(code)), "{r}");
        }
        let (s, _) = post_note(&sapota, &plan_id, json!({"content": "x", "extra": 1})).await;
        assert_eq!(s, 400);
        assert_eq!(app.audit_size().await, before, "nothing logged");

        // JOBOTA's consent covers case notes only: the mental-health note is withheld.
        let before = app.audit_size().await;
        let (s, t) = jobota.get(&format!("/v1/plans/{plan_id}/notes")).await;
        assert_eq!(s, 200, "{t}");
        assert_eq!(app.audit_size().await, before + 1, "one entry per read");
        let notes = t["notes"].as_array().unwrap();
        assert_eq!(notes.len(), 1, "{t}");
        assert_eq!(notes[0]["id"], n1["id"]);
        assert_eq!(notes[0]["content"], "初回面談。外出は週1回程度。");
        assert_eq!(notes[0]["author_agency"], "sapota");
        assert_eq!(
            t["withheld"],
            json!([{"note_id": n2["id"], "category": "mental-health", "reason": "not_covered_by_basis"}])
        );
        let e = app.last_entry().await;
        assert_eq!(e["kind"], "disclosure");
        assert_eq!(e["decision"], "allowed");
        assert_eq!(e["requester"]["agency"], "jobota");
        assert_eq!(e["basis"], json!({"type": "consent", "consent_id": c_jobota}));
        assert_eq!(e["team"]["plan_id"], plan_id.as_str());
        assert_eq!(e["team"]["items"], json!([{"kind": "note", "id": n1["id"]}]));
        assert_eq!(e["disclosed"], json!(["case-notes"]));
        assert_eq!(
            e["withheld"],
            json!([{"category": "mental-health", "reason": "not_covered_by_basis"}])
        );
        assert!(!e.to_string().contains("外出"), "no content on the log");
        assert_eq!(t["audit_receipt"]["index"], before);

        // SAPOTA's consent names mental-health: both notes, the entry lists both.
        let (s, t) = sapota.get(&format!("/v1/plans/{plan_id}/notes")).await;
        assert_eq!(s, 200, "{t}");
        assert_eq!(t["notes"].as_array().unwrap().len(), 2);
        assert_eq!(t["notes"][1]["content"], "精神科に通院中（月1回）");
        assert_eq!(t["withheld"], json!([]));
        let e = app.last_entry().await;
        assert_eq!(e["team"]["items"].as_array().unwrap().len(), 2);
        assert_eq!(e["disclosed"], json!(["mental-health", "case-notes"]));

        // Not on the team: refused, logged, nothing shown.
        expect_refused(&app, &outsider, &plan_id, "not_on_team").await;
        // An agency's software is not on any team (policy: notes:read).
        let system = app.caller("bot", "jobota", "system");
        let (s, r) = system.get(&format!("/v1/plans/{plan_id}/notes")).await;
        assert_eq!((s, r["error"]["code"].as_str()), (403, Some("forbidden_by_policy")));
        let (s, r) = jobota.get(&format!("/v1/plans/{}/notes", PlanId::new_random())).await;
        assert_eq!((s, r["error"]["code"].as_str()), (404, Some("plan_not_found")), "{r}");

        // No onward disclosure: notes are not records, so no disclosure can carry one.
        let (s, r) = jobota
            .post(
                "/v1/disclosures",
                &json!({"subject_id": subject, "owner_agency": "sapota", "purpose": "multi-agency support",
                        "basis": {"type": "consent", "consent_id": c_jobota}}),
            )
            .await;
        assert_eq!(s, 403, "{r}");
        assert!(!r.to_string().contains("外出"));

        // The consent naming JOBOTA is revoked: JOBOTA has left the team at once.
        let (s, r) = rsc
            .post(
                &format!("/v1/consents/{c_jobota}/revoke"),
                &json!({"reason": "本人の申出"}),
            )
            .await;
        assert_eq!(s, 200, "{r}");
        expect_refused(&app, &jobota, &plan_id, "left_team").await;
        let (s, _) = sapota.get(&format!("/v1/plans/{plan_id}/notes")).await;
        assert_eq!(s, 200, "SAPOTA's own consent still holds");

        // The plan ends: the team's access ends.
        let now = app.state.clock.now();
        let who = tsunagi::principal::Principal {
            user: UserId::parse("kato").unwrap(),
            agency: AgencyId::parse("welfare-coordination").unwrap(),
            organ: tsunagi::domain::OrganId::parse("ota-ward").unwrap(),
            roles: vec![tsunagi::domain::Role::Caseworker],
            cert_fingerprint: String::new(),
        };
        let logged = app
            .state
            .audit
            .record_event(&who, "plan-ended", now, None, plan_id.clone(), json!({}))
            .await
            .unwrap();
        app.state
            .store
            .end_plan(
                PlanId::parse(&plan_id).unwrap(),
                tsunagi::domain::plan::EndReason::GoalsMet,
                &who.agency,
                now,
                &logged,
            )
            .await
            .unwrap();
        expect_refused(&app, &sapota, &plan_id, "plan_ended").await;
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_a_meeting_special_care_notes_need_a_justification_and_a_member_who_leaves_loses_access() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let rsc = app.caller("sato", "regional-support-centre", "caseworker");
        let sec = app.caller("yamada", "welfare-coordination", "meeting-secretariat");
        let sapota = app.caller("ito", "sapota", "caseworker");
        let jobota = app.caller("suzuki", "jobota", "caseworker");
        let subject = person(&rsc).await;
        let (s, body) = sec
            .post(
                "/v1/bodies",
                &json!({"kind": "support-meeting", "name": "大田区支援会議", "rules_text": "Members share only what support needs.",
                        "pledge_text": "I will keep confidential what I learn in this meeting."}),
            )
            .await;
        assert_eq!(s, 201, "{body}");
        let body_id = body["id"].as_str().unwrap().to_owned();
        let (s, session) = sec
            .post(
                &format!("/v1/bodies/{body_id}/sessions"),
                &json!({"held_at": in_days(1)}),
            )
            .await;
        assert_eq!(s, 201, "{session}");
        let session_id = session["id"].as_str().unwrap().to_owned();
        for (who, user, agency) in [(&sapota, "ito", "sapota"), (&jobota, "suzuki", "jobota")] {
            let (s, r) = sec
                .post(
                    &format!("/v1/sessions/{session_id}/roster"),
                    &json!({"user_id": user, "agency_id": agency}),
                )
                .await;
            assert_eq!(s, 201, "{r}");
            let (s, r) = who
                .post(&format!("/v1/sessions/{session_id}/roster/confirm"), &json!({}))
                .await;
            assert_eq!(s, 200, "{r}");
            let (s, r) = who.post(&format!("/v1/bodies/{body_id}/pledges"), &json!({})).await;
            assert_eq!(s, 201, "{r}");
        }
        let plan_id = plan(
            &app,
            &subject,
            PlanBasis::SupportMeeting {
                session_id: SessionId::parse(&session_id).unwrap(),
            },
            &["sapota", "jobota"],
        )
        .await;

        // A special-care note without a justification: refused, nothing stored or logged.
        let before = app.audit_size().await;
        let (s, r) = post_note(
            &sapota,
            &plan_id,
            json!({"content": "服薬状況を確認", "category": "health"}),
        )
        .await;
        assert_eq!(
            (s, r["error"]["code"].as_str()),
            (422, Some("justification_required")),
            "{r}"
        );
        assert_eq!(app.audit_size().await, before);
        let (s, n) = post_note(
            &sapota,
            &plan_id,
            json!({"content": "服薬状況を確認", "category": "health", "justification": "就労時間の調整に必要"}),
        )
        .await;
        assert_eq!(s, 201, "{n}");
        assert_eq!(n["basis"], "support-meeting");
        assert_eq!(n["basis_ref"], session_id.as_str());
        let e = app.last_entry().await;
        assert_eq!(
            e["detail"]["justification"], "就労時間の調整に必要",
            "the justification goes on the log"
        );

        let (s, t) = jobota.get(&format!("/v1/plans/{plan_id}/notes")).await;
        assert_eq!(s, 200, "{t}");
        assert_eq!(t["notes"][0]["content"], "服薬状況を確認");
        assert_eq!(t["notes"][0]["justification"], "就労時間の調整に必要");
        assert_eq!(t["notes"][0]["basis"], "support-meeting");
        let e = app.last_entry().await;
        assert_eq!(e["basis"]["type"], "support-meeting");
        assert_eq!(e["disclosed"], json!(["health"]));

        // JOBOTA's member leaves the meeting: access to the timeline ends at once.
        let r = sec
            .client
            .delete(app.url(&format!("/v1/bodies/{body_id}/members/suzuki")))
            .bearer_auth(&sec.token)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        expect_refused(&app, &jobota, &plan_id, "left_team").await;

        // The person's data is erased: the key that seals the notes is gone; nothing is read.
        let officer = app.caller("hara", "welfare-coordination", "privacy-officer");
        let (s, r) = officer
            .post(
                &format!("/v1/subjects/{subject}/erasure"),
                &json!({"ground": "appi-deletion", "reason": "本人の請求"}),
            )
            .await;
        assert_eq!(s, 200, "{r}");
        let before = app.audit_size().await;
        let (s, r) = sapota.get(&format!("/v1/plans/{plan_id}/notes")).await;
        assert_eq!((s, r["error"]["code"].as_str()), (410, Some("subject_erased")), "{r}");
        assert!(!r.to_string().contains("服薬"));
        assert_eq!(app.audit_size().await, before, "no release is recorded");
        let (s, r) = post_note(&sapota, &plan_id, json!({"content": "追記"})).await;
        assert_eq!((s, r["error"]["code"].as_str()), (410, Some("subject_erased")), "{r}");
        assert_eq!(
            app.audit_size().await,
            before,
            "nothing logged for a post that cannot be kept"
        );
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_log_broken_no_note_is_posted_or_read() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let rsc = app.caller("sato", "regional-support-centre", "caseworker");
        let sapota = app.caller("ito", "sapota", "caseworker");
        let subject = person(&rsc).await;
        let c = consent(&rsc, &subject, &["sapota"], &["case-notes"]).await;
        let plan_id = plan(
            &app,
            &subject,
            PlanBasis::Consent {
                consent_ids: vec![ConsentId::parse(&c).unwrap()],
            },
            &["sapota"],
        )
        .await;
        let (s, _) = post_note(&sapota, &plan_id, json!({"content": "記録1"})).await;
        assert_eq!(s, 201);
        crate::audit_guarantee::break_audit_store(&app).await;
        let (s, r) = post_note(&sapota, &plan_id, json!({"content": "記録2"})).await;
        assert_eq!(
            (s, r["error"]["code"].as_str()),
            (503, Some("audit_unavailable")),
            "{r}"
        );
        let (s, r) = sapota.get(&format!("/v1/plans/{plan_id}/notes")).await;
        assert_eq!(
            (s, r["error"]["code"].as_str()),
            (503, Some("audit_unavailable")),
            "{r}"
        );
        assert!(!r.to_string().contains("記録1"), "nothing opened");
        assert_eq!(
            app.state
                .store
                .plan_note_count(PlanId::parse(&plan_id).unwrap())
                .await
                .unwrap(),
            1,
            "the second note was not stored"
        );
        app.stop().await;
    }
}
