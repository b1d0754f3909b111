//! One whole case of team support (チーム支援, issue 11) over the real API, on both engines, on
//! the hub's clock moved through half a year of fiscal 2026:
//!
//! a consultation at the regional support centre → a referral to SAPOTA under the person's
//! consent (SAPOTA reads what travels with it and accepts) → a support meeting convened by the
//! ward agrees a plan with roles for SAPOTA and JOBOTA → two monitoring rounds, JOBOTA's first
//! one late (after the coordinator's overdue notice) → notes exchanged on the team timeline →
//! JOBOTA's member leaves the meeting (its access ends at once) → the person revokes the consent
//! (the referral's material is refused) → the plan ends (the team's access ends) — and the
//! programme's figures count all of it, the log still verifies.

use std::sync::Arc;

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;
use tsunagi::clock::FixedClock;

use crate::helpers::*;
use crate::log_support::verify;

fn at(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap()
}

fn code(r: &(u16, Value)) -> (u16, Option<&str>) {
    (r.0, r.1["error"]["code"].as_str())
}

/// A figures row by measure (no breakdown).
fn figures_row<'a>(f: &'a Value, measure: &str) -> &'a Value {
    f["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["measure"] == measure && r["breakdown"].is_null())
        .unwrap_or_else(|| panic!("no row {measure} in {f}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_case_from_consultation_to_the_end_of_the_plan_counted_in_the_figures() {
    for engine in engines() {
        // 10:00 in Tokyo on Monday 11 May 2026: fiscal 2026, its second month.
        let start = datetime!(2026-05-11 01:00 UTC);
        let day = |d: i64| start + time::Duration::days(d);
        let clock = Arc::new(FixedClock::new(start));
        let app = spawn_app_with_clock(engine, clock.clone()).await;

        // 1. The consultation: the regional support centre registers the person and writes the
        //    record (identity, employment, health, household).
        let st = story(&app).await;
        let rsc = &st.owner;

        // 2. The person agrees that the centre connects them to SAPOTA; the referral travels
        //    under that consent.
        let (s, c) = rsc
            .post(
                &format!("/v1/subjects/{}/consents", st.subject),
                &json!({
                    "recipients": ["sapota"], "purposes": ["livelihood support"],
                    "categories": ["identity", "household"],
                    "valid_from": at(day(-1)), "valid_until": at(day(365)),
                    "method": "written", "evidence_ref": "consent form 2026-205"
                }),
            )
            .await;
        assert_eq!(s, 201, "{c}");
        let consent = c["id"].as_str().unwrap().to_owned();
        let (s, r) = rsc
            .post(
                "/v1/referrals",
                &json!({
                    "subject_id": st.subject, "to_agency": "sapota", "purpose": "livelihood support",
                    "categories": ["identity", "household"],
                    "basis": {"type": "consent", "consent_id": consent},
                    "note": "母親(82)と二人暮らし。家計の相談を希望。",
                }),
            )
            .await;
        assert_eq!(s, 201, "{r}");
        let referral = r["id"].as_str().unwrap().to_owned();
        let sapota = app.caller("suzuki", "sapota", "caseworker");
        let (s, m) = sapota
            .post(&format!("/v1/referrals/{referral}/material"), &json!({}))
            .await;
        assert_eq!(s, 200, "{m}");
        assert_eq!(m["disclosed"], json!(["identity", "household"]));
        assert!(!m.to_string().contains("insulin"), "health did not travel: {m}");
        let (s, a) = sapota
            .post(
                &format!("/v1/referrals/{referral}/accept"),
                &json!({"local_id": "SAP-0042"}),
            )
            .await;
        assert_eq!((s, a["state"].as_str()), (200, Some("accepted")), "{a}");

        // 3. The ward convenes a support meeting (Art. 106-6); the three agencies' staff
        //    confirm their invitations and pledge confidentiality themselves.
        let sec = app.caller("kato", "welfare-coordination", "meeting-secretariat");
        let jobota = &st.jobota;
        let (s, body) = sec
            .post(
                "/v1/bodies",
                &json!({"kind": "support-meeting", "name": "大田区支援会議", "rules_text": "Members share only what support needs.", "pledge_text": "I keep what I learn here confidential."}),
            )
            .await;
        assert_eq!(s, 201, "{body}");
        let body = body["id"].as_str().unwrap().to_owned();
        let (s, session) = sec
            .post(&format!("/v1/bodies/{body}/sessions"), &json!({"held_at": at(day(1))}))
            .await;
        assert_eq!(s, 201, "{session}");
        let session = session["id"].as_str().unwrap().to_owned();
        for (who, user, agency) in [
            (rsc, "sato", "regional-support-centre"),
            (&sapota, "suzuki", "sapota"),
            (jobota, "tanaka", "jobota"),
        ] {
            let (s, r) = sec
                .post(
                    &format!("/v1/sessions/{session}/roster"),
                    &json!({"user_id": user, "agency_id": agency}),
                )
                .await;
            assert_eq!(s, 201, "{r}");
            let r = who
                .post(&format!("/v1/sessions/{session}/roster/confirm"), &json!({}))
                .await;
            assert_eq!(r.0, 200, "{}", r.1);
            let r = who.post(&format!("/v1/bodies/{body}/pledges"), &json!({})).await;
            assert_eq!(r.0, 201, "{}", r.1);
        }

        // 4. The meeting agrees the plan: roles for SAPOTA (lead) and JOBOTA, rounds on day 30
        //    and day 120.
        let (s, made) = sec
            .post(
                "/v1/plans",
                &json!({
                    "subject_id": st.subject,
                    "basis": {"kind": "support-meeting", "session_id": session},
                    "goals": ["家計を立て直す", "find part-time work"],
                    "roles": [
                        {"agency": "sapota", "role": "家計相談（月2回）", "lead": "鈴木"},
                        {"agency": "jobota", "role": "就労準備支援", "lead": "田中"}
                    ],
                    "services": ["家計改善支援事業"],
                    "monitoring": [at(day(30)), at(day(120))]
                }),
            )
            .await;
        assert_eq!(s, 201, "{made}");
        let plan = made["plan_id"].as_str().unwrap().to_owned();
        let (s, view) = jobota.get(&format!("/v1/plans/{plan}")).await;
        assert_eq!(s, 200, "{view}");
        assert_eq!(view["versions"][0]["agreed_in_session"], session.as_str());
        // The centre attended but has no role: it is not on the plan's team.
        assert_eq!(
            code(&rsc.get(&format!("/v1/plans/{plan}")).await),
            (403, Some("not_on_team"))
        );

        // 5. Round 1: SAPOTA on day 20 (on time); JOBOTA misses it, the coordinator is told on
        //    day 45 and JOBOTA records it late.
        clock.set(day(20));
        let sapota = app.caller("suzuki", "sapota", "caseworker");
        let (s, r) = sapota
            .post(
                &format!("/v1/plans/{plan}/monitoring"),
                &json!({"progress": "家計表を作成した"}),
            )
            .await;
        assert_eq!(
            (s, r["round"].as_i64(), r["on_time"].as_bool()),
            (201, Some(1), Some(true)),
            "{r}"
        );

        // Notes exchanged on the team timeline.
        clock.set(day(21));
        let sapota = app.caller("suzuki", "sapota", "caseworker");
        let jobota = app.caller("tanaka", "jobota", "caseworker");
        let (s, n1) = sapota
            .post(
                &format!("/v1/plans/{plan}/notes"),
                &json!({"content": "訪問。母親の通院に付き添いが必要。"}),
            )
            .await;
        assert_eq!(s, 201, "{n1}");
        let (s, n2) = jobota
            .post(
                &format!("/v1/plans/{plan}/notes"),
                &json!({"content": "面談の日程を調整中。"}),
            )
            .await;
        assert_eq!(s, 201, "{n2}");
        let before = app.audit_size().await;
        let (s, t) = jobota.get(&format!("/v1/plans/{plan}/notes")).await;
        assert_eq!(s, 200, "{t}");
        let contents: Vec<&str> = t["notes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["content"].as_str().unwrap())
            .collect();
        assert_eq!(contents, ["訪問。母親の通院に付き添いが必要。", "面談の日程を調整中。"]);
        assert_eq!(app.audit_size().await, before + 1, "one entry per read");
        let read = app.last_entry().await;
        assert_eq!(
            (read["kind"].as_str(), read["decision"].as_str()),
            (Some("disclosure"), Some("allowed"))
        );
        assert_eq!(read["basis"]["session_id"], session.as_str());
        assert_eq!(read["team"]["items"].as_array().unwrap().len(), 2, "{read}");

        clock.set(day(45));
        assert_eq!(tsunagi::services::plans::notify_overdue(&app.state).await.unwrap(), 1);
        let coordinator = app.caller("yamada", "welfare-coordination", "caseworker");
        let (s, desk) = coordinator.get("/v1/plans/coordination").await;
        assert_eq!(s, 200, "{desk}");
        assert_eq!(desk["overdue"][0]["agency_id"], "jobota", "{desk}");
        let jobota = app.caller("tanaka", "jobota", "caseworker");
        let (s, r) = jobota
            .post(
                &format!("/v1/plans/{plan}/monitoring"),
                &json!({"progress": "面談2回、見学1回"}),
            )
            .await;
        assert_eq!(
            (s, r["round"].as_i64(), r["on_time"].as_bool()),
            (201, Some(1), Some(false)),
            "{r}"
        );
        assert!(
            coordinator.get("/v1/plans/coordination").await.1["overdue"]
                .as_array()
                .unwrap()
                .is_empty()
        );

        // Round 2, both on time (day 110, due day 120).
        clock.set(day(110));
        for (user, agency) in [("suzuki", "sapota"), ("tanaka", "jobota")] {
            let who = app.caller(user, agency, "caseworker");
            let (s, r) = who
                .post(&format!("/v1/plans/{plan}/monitoring"), &json!({"progress": "順調"}))
                .await;
            assert_eq!(
                (s, r["round"].as_i64(), r["on_time"].as_bool()),
                (201, Some(2), Some(true)),
                "{r}"
            );
        }

        // 6. JOBOTA's member leaves the meeting: JOBOTA loses the plan and the timeline at once;
        //    SAPOTA keeps them.
        clock.set(day(111));
        let sec = app.caller("kato", "welfare-coordination", "meeting-secretariat");
        let r = sec
            .client
            .delete(app.url(&format!("/v1/bodies/{body}/members/tanaka")))
            .bearer_auth(&sec.token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let jobota = app.caller("tanaka", "jobota", "caseworker");
        let sapota = app.caller("suzuki", "sapota", "caseworker");
        assert_eq!(
            code(&jobota.get(&format!("/v1/plans/{plan}")).await),
            (403, Some("left_team"))
        );
        let refused = app.last_entry().await;
        assert_eq!(
            (
                refused["decision"].as_str(),
                refused["reason"].as_str(),
                refused["purpose"].as_str()
            ),
            (Some("refused"), Some("left_team"), Some("support-plan")),
            "a refused plan read is on record too: {refused}"
        );
        assert_eq!(
            code(&jobota.get(&format!("/v1/plans/{plan}/notes")).await),
            (403, Some("left_team"))
        );
        assert_eq!(
            app.last_entry().await["decision"],
            "refused",
            "the refusal is on record"
        );
        assert_eq!(sapota.get(&format!("/v1/plans/{plan}/notes")).await.0, 200);

        // 7. The person withdraws the consent the referral rests on: its material is refused.
        let rsc = app.caller("sato", "regional-support-centre", "caseworker");
        let (s, r) = rsc
            .post(
                &format!("/v1/consents/{consent}/revoke"),
                &json!({"reason": "本人の申出"}),
            )
            .await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(
            code(
                &sapota
                    .post(&format!("/v1/referrals/{referral}/material"), &json!({}))
                    .await
            ),
            (403, Some("consent_revoked"))
        );

        // 8. The plan ends (終結): the team's access ends.
        clock.set(day(112));
        let sec = app.caller("kato", "welfare-coordination", "meeting-secretariat");
        let (s, r) = sec
            .post(&format!("/v1/plans/{plan}/end"), &json!({"reason": "goals-met"}))
            .await;
        assert_eq!(s, 200, "{r}");
        let sapota = app.caller("suzuki", "sapota", "caseworker");
        assert_eq!(
            code(&sapota.get(&format!("/v1/plans/{plan}")).await),
            (403, Some("plan_ended"))
        );
        assert_eq!(
            code(&sapota.get(&format!("/v1/plans/{plan}/notes")).await),
            (403, Some("plan_ended"))
        );

        // 9. The programme's figures for fiscal 2026 count the case (April first; one person is
        //    a small cell, shown as "<3").
        let coordinator = app.caller("yamada", "welfare-coordination", "caseworker");
        let (s, f) = coordinator.get("/v1/figures?fiscal_year=2026").await;
        assert_eq!(s, 200, "{f}");
        assert_eq!(f["unavailable"], json!([]), "every measure is available: {f}");
        let lt = json!("<3");
        let may = |v: Value| {
            let mut m = vec![json!(0); 12];
            m[1] = v;
            Value::Array(m)
        };
        for measure in ["consultations", "referrals_made", "referrals_accepted", "plans_started"] {
            assert_eq!(figures_row(&f, measure)["months"], may(lt.clone()), "{measure}");
        }
        assert_eq!(figures_row(&f, "referrals_declined")["months"], json!(vec![0; 12]));
        // Ended on 31 August (fiscal month 5).
        let mut ended = vec![json!(0); 12];
        ended[4] = lt.clone();
        assert_eq!(figures_row(&f, "plans_ended")["months"], Value::Array(ended));
        // On time: SAPOTA in May, both agencies in August; late: JOBOTA in June.
        let on_time = &figures_row(&f, "monitoring_on_time");
        assert_eq!(on_time["months"][1], lt);
        assert_eq!(on_time["months"][4], lt);
        assert_eq!(on_time["total"], 3, "{on_time}");
        let late = &figures_row(&f, "monitoring_late");
        assert_eq!(late["months"][2], lt, "{late}");

        // The log holds the whole case and verifies.
        let report = verify(&app).await;
        assert!(report.ok(), "{:?}", report.problems);
        app.stop().await;
    }
}
