//! Support plans (支援プラン) and monitoring (issue 11, docs/rules.md#R-T4–R-T8) over the real
//! API, on both engines: who creates and agrees a plan, who reads it (and that each read is one
//! disclosure entry listing what it released), monitoring on time and late, the coordinator's
//! overdue list and its notice, ending a plan, and that a consent revoked or a member who left
//! the session ends access at once. Changes with the log broken are 503 and change nothing.

use std::sync::Arc;

use serde_json::{Value, json};
use sqlx::Connection;
use tsunagi::clock::FixedClock;

use crate::helpers::*;

fn at(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap()
}

/// A consent by the person, recorded by the regional support centre, naming `recipients` for
/// case notes.
async fn team_consent(owner: &Caller, subject: &str, recipients: &[&str], now: time::OffsetDateTime) -> String {
    let (s, c) = owner
        .post(
            &format!("/v1/subjects/{subject}/consents"),
            &json!({
                "recipients": recipients, "purposes": ["multi-agency support plan"],
                "categories": ["case-notes"],
                "valid_from": at(now - time::Duration::days(1)), "valid_until": at(now + time::Duration::days(365)),
                "method": "written", "evidence_ref": "plan consent 2026-301"
            }),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    c["id"].as_str().unwrap().to_owned()
}

/// A plan the coordinator makes on a consent naming `recipients`, with a role for JOBOTA; its id.
async fn jobota_plan(coord: &Caller, st: &Story, recipients: &[&str], now: time::OffsetDateTime) -> String {
    let consent = team_consent(&st.owner, &st.subject, recipients, now).await;
    let (s, made) = coord
        .post(
            "/v1/plans",
            &plan_body(
                &st.subject,
                json!({"kind": "consent", "consent_ids": [consent]}),
                &["jobota"],
                now,
            ),
        )
        .await;
    assert_eq!(s, 201, "{made}");
    made["plan_id"].as_str().unwrap().to_owned()
}

fn plan_body(subject: &str, basis: Value, roles: &[&str], now: time::OffsetDateTime) -> Value {
    json!({
        "subject_id": subject,
        "basis": basis,
        "goals": ["安定した住まいを確保する", "find part-time work"],
        "roles": roles.iter().map(|a| json!({"agency": a, "role": format!("{a}: weekly contact"), "lead": "担当 佐藤"})).collect::<Vec<_>>(),
        "services": ["meal delivery"],
        "monitoring": [at(now + time::Duration::days(30)), at(now + time::Duration::days(120))]
    })
}

async fn notices(who: &Caller) -> Vec<Value> {
    let (s, n) = who.get("/v1/notifications").await;
    assert_eq!(s, 200, "{n}");
    n.as_array().unwrap().clone()
}

fn code(r: &(u16, Value)) -> (u16, Option<&str>) {
    (r.0, r.1["error"]["code"].as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_is_made_by_the_coordinator_read_by_its_team_and_ends_with_the_consent() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let now = time::OffsetDateTime::now_utc();
        let coord = app.caller("yamada", "welfare-coordination", "caseworker");
        let sapota = app.caller("suzuki", "sapota", "caseworker");
        let consent = team_consent(&st.owner, &st.subject, &["jobota", "regional-support-centre"], now).await;
        let basis = json!({"kind": "consent", "consent_ids": [consent]});
        let body = plan_body(&st.subject, basis.clone(), &["jobota", "regional-support-centre"], now);

        // Only the coordinator (or the session's secretariat) makes plans; nothing is logged.
        let size = app.audit_size().await;
        assert_eq!(
            code(&st.jobota.post("/v1/plans", &body).await),
            (403, Some("not_coordinator"))
        );
        // Every agency with a role must be named by the consent.
        let wide = plan_body(&st.subject, basis.clone(), &["jobota", "sapota"], now);
        assert_eq!(
            code(&coord.post("/v1/plans", &wide).await),
            (422, Some("role_without_basis"))
        );
        assert_eq!(app.audit_size().await, size, "refusals change and log nothing");

        let (s, made) = coord.post("/v1/plans", &body).await;
        assert_eq!(s, 201, "{made}");
        assert_eq!(made["version"], 1);
        let plan = made["plan_id"].as_str().unwrap().to_owned();
        let created = app.last_entry().await;
        assert_eq!(created["event"], "plan-created", "{created}");
        assert!(!created.to_string().contains("住まい"), "the log holds no content");
        assert!(
            notices(&st.jobota)
                .await
                .iter()
                .any(|n| n["kind"] == "plan-agreed" && n["reference"] == plan.as_str()),
            "the team is told"
        );

        // A team member reads it: one disclosure entry listing what was released.
        let before = app.audit_size().await;
        let (s, view) = st.jobota.get(&format!("/v1/plans/{plan}")).await;
        assert_eq!(s, 200, "{view}");
        assert_eq!(view["versions"][0]["content"]["goals"][0], "安定した住まいを確保する");
        assert_eq!(app.audit_size().await, before + 1);
        let read = app.last_entry().await;
        assert_eq!(read["kind"], "disclosure", "{read}");
        assert_eq!(read["decision"], "allowed");
        assert_eq!(read["disclosed"], json!(["case-notes"]));
        assert_eq!(read["basis"]["consent_id"], consent.as_str());
        assert_eq!(read["team"]["plan_id"], plan.as_str());
        assert_eq!(read["team"]["items"], json!([{"kind": "plan-version", "id": "1"}]));
        assert_eq!(view["receipt"]["index"], before);

        // No role, no access; the coordinator without a role does not read content either.
        assert_eq!(
            code(&sapota.get(&format!("/v1/plans/{plan}")).await),
            (403, Some("not_on_team"))
        );
        assert_eq!(
            code(&coord.get(&format!("/v1/plans/{plan}")).await),
            (403, Some("not_on_team"))
        );
        // The list shows it to the agencies with a role, without content.
        let (_, list) = st.jobota.get("/v1/plans").await;
        assert_eq!(list["plans"][0]["id"], plan.as_str());
        assert!(list["plans"][0].get("versions").is_none());
        assert!(sapota.get("/v1/plans").await.1["plans"].as_array().unwrap().is_empty());

        // Monitoring: JOBOTA records its round 1, on time; twice is a conflict.
        let (s, m) = st
            .jobota
            .post(
                &format!("/v1/plans/{plan}/monitoring"),
                &json!({"progress": "two interviews attended"}),
            )
            .await;
        assert_eq!(s, 201, "{m}");
        assert_eq!((m["round"].as_i64(), m["on_time"].as_bool()), (Some(1), Some(true)));
        assert_eq!(
            code(
                &st.jobota
                    .post(
                        &format!("/v1/plans/{plan}/monitoring"),
                        &json!({"round": 1, "progress": "again"})
                    )
                    .await
            ),
            (409, Some("already_recorded"))
        );
        let (s, rounds) = st.owner.get(&format!("/v1/plans/{plan}/monitoring")).await;
        assert_eq!(s, 200, "{rounds}");
        let mine = rounds["rounds"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["agency_id"] == "jobota" && r["round"] == 1)
            .unwrap();
        assert_eq!(mine["progress"], "two interviews attended");
        assert_eq!(
            app.last_entry().await["team"]["items"],
            json!([{"kind": "monitoring", "id": "1/jobota"}])
        );

        // A new version needs the version it replaces.
        let mut v2 = plan_body(&st.subject, basis.clone(), &["jobota", "regional-support-centre"], now);
        v2.as_object_mut().unwrap().remove("subject_id");
        v2["based_on"] = json!(0);
        assert_eq!(
            code(&coord.post(&format!("/v1/plans/{plan}/versions"), &v2).await),
            (409, Some("version_conflict"))
        );
        v2["based_on"] = json!(1);
        v2["goals"] = json!(["find part-time work"]);
        let (s, r) = coord.post(&format!("/v1/plans/{plan}/versions"), &v2).await;
        assert_eq!((s, r["version"].as_i64()), (201, Some(2)), "{r}");
        let (_, view) = st.jobota.get(&format!("/v1/plans/{plan}")).await;
        assert_eq!(view["current_version"], 2);
        assert_eq!(view["versions"].as_array().unwrap().len(), 2);
        assert_eq!(view["versions"][1]["agreed_by_agency"], "welfare-coordination");

        // The person withdraws consent: the team's access ends at once.
        let (s, _) = st
            .owner
            .post(
                &format!("/v1/consents/{consent}/revoke"),
                &json!({"reason": "withdrawn"}),
            )
            .await;
        assert_eq!(s, 200);
        assert_eq!(
            code(&st.jobota.get(&format!("/v1/plans/{plan}")).await),
            (403, Some("left_team"))
        );
        assert_eq!(
            code(
                &st.jobota
                    .post(&format!("/v1/plans/{plan}/monitoring"), &json!({"progress": "x"}))
                    .await
            ),
            (403, Some("left_team"))
        );

        // Ending (終結): a reason code; afterwards plan_ended, and ending twice is a conflict.
        assert_eq!(
            code(
                &coord
                    .post(&format!("/v1/plans/{plan}/end"), &json!({"reason": "bored"}))
                    .await
            ),
            (422, Some("unknown_end_reason"))
        );
        assert_eq!(
            code(
                &st.jobota
                    .post(&format!("/v1/plans/{plan}/end"), &json!({"reason": "goals-met"}))
                    .await
            ),
            (403, Some("not_coordinator"))
        );
        let (s, r) = coord
            .post(&format!("/v1/plans/{plan}/end"), &json!({"reason": "goals-met"}))
            .await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(app.last_entry().await["event"], "plan-ended");
        assert_eq!(
            code(&st.owner.get(&format!("/v1/plans/{plan}")).await),
            (403, Some("plan_ended"))
        );
        assert_eq!(
            code(
                &coord
                    .post(&format!("/v1/plans/{plan}/end"), &json!({"reason": "goals-met"}))
                    .await
            ),
            (409, Some("plan_ended"))
        );
        assert!(notices(&st.jobota).await.iter().any(|n| n["kind"] == "plan-ended"));
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_plan_is_the_secretariats_and_a_member_who_leaves_loses_it_at_once() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let now = time::OffsetDateTime::now_utc();
        let sec = app.caller("kato", "welfare-coordination", "meeting-secretariat");
        let suzuki = app.caller("suzuki", "sapota", "caseworker");
        let (s, body) = sec
            .post(
                "/v1/bodies",
                &json!({"kind": "support-meeting", "name": "大田区支援会議", "rules_text": "r", "pledge_text": "I keep it confidential."}),
            )
            .await;
        assert_eq!(s, 201, "{body}");
        let body_id = body["id"].as_str().unwrap().to_owned();
        let (s, session) = sec
            .post(
                &format!("/v1/bodies/{body_id}/sessions"),
                &json!({"held_at": at(now + time::Duration::days(1))}),
            )
            .await;
        assert_eq!(s, 201, "{session}");
        let session = session["id"].as_str().unwrap().to_owned();
        for (who, user, agency) in [(&suzuki, "suzuki", "sapota"), (&st.jobota, "tanaka", "jobota")] {
            let (s, r) = sec
                .post(
                    &format!("/v1/sessions/{session}/roster"),
                    &json!({"user_id": user, "agency_id": agency}),
                )
                .await;
            assert_eq!(s, 201, "{r}");
            assert_eq!(
                who.post(&format!("/v1/sessions/{session}/roster/confirm"), &json!({}))
                    .await
                    .0,
                200
            );
        }
        // Only suzuki pledges: tanaka is confirmed but not a member.
        assert_eq!(
            suzuki
                .post(&format!("/v1/bodies/{body_id}/pledges"), &json!({}))
                .await
                .0,
            201
        );

        let basis = json!({"kind": "support-meeting", "session_id": session});
        let (s, made) = sec
            .post("/v1/plans", &plan_body(&st.subject, basis, &["sapota", "jobota"], now))
            .await;
        assert_eq!(s, 201, "{made}");
        let plan = made["plan_id"].as_str().unwrap().to_owned();

        let (s, view) = suzuki.get(&format!("/v1/plans/{plan}")).await;
        assert_eq!(s, 200, "{view}");
        assert_eq!(view["versions"][0]["agreed_in_session"], session.as_str());
        assert_eq!(app.last_entry().await["basis"]["session_id"], session.as_str());
        assert_eq!(
            code(&st.jobota.get(&format!("/v1/plans/{plan}")).await),
            (403, Some("not_on_team"))
        );

        // Suzuki leaves the body: access ends at once.
        let r = sec
            .client
            .delete(app.url(&format!("/v1/bodies/{body_id}/members/suzuki")))
            .bearer_auth(&sec.token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        assert_eq!(
            code(&suzuki.get(&format!("/v1/plans/{plan}")).await),
            (403, Some("left_team"))
        );
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overdue_rounds_reach_the_coordinators_list_and_one_notice_and_late_records_are_late() {
    for engine in engines() {
        let start = time::OffsetDateTime::now_utc();
        let clock = Arc::new(FixedClock::new(start));
        let app = spawn_app_with_clock(engine, clock.clone()).await;
        let st = story(&app).await;
        let coord = app.caller("yamada", "welfare-coordination", "caseworker");
        let plan = jobota_plan(&coord, &st, &["jobota", "regional-support-centre"], start).await;
        assert_eq!(
            code(&st.jobota.get("/v1/plans/coordination").await),
            (403, Some("not_coordinator"))
        );
        let (_, list) = coord.get("/v1/plans/coordination").await;
        assert!(list["overdue"].as_array().unwrap().is_empty(), "{list}");

        // Round 1 is due in 30 days; 14 days' grace: on day 44 it is not yet overdue, day 45 it is.
        clock.set(start + time::Duration::days(43));
        assert_eq!(tsunagi::services::plans::notify_overdue(&app.state).await.unwrap(), 0);
        clock.set(start + time::Duration::days(45));
        let coord = app.caller("yamada", "welfare-coordination", "caseworker");
        let (s, list) = coord.get("/v1/plans/coordination").await;
        assert_eq!(s, 200, "{list}");
        let overdue = list["overdue"].as_array().unwrap();
        assert_eq!(overdue.len(), 1, "{list}");
        assert_eq!(
            (overdue[0]["plan_id"].as_str(), overdue[0]["agency_id"].as_str()),
            (Some(plan.as_str()), Some("jobota"))
        );
        assert_eq!(tsunagi::services::plans::notify_overdue(&app.state).await.unwrap(), 1);
        assert_eq!(app.last_entry().await["event"], "plan-monitoring-overdue");
        assert_eq!(
            tsunagi::services::plans::notify_overdue(&app.state).await.unwrap(),
            0,
            "told once"
        );
        assert!(
            notices(&coord)
                .await
                .iter()
                .any(|n| n["kind"] == "plan-monitoring-overdue")
        );
        let jobota = app.caller("tanaka", "jobota", "caseworker");
        assert!(
            notices(&jobota)
                .await
                .iter()
                .any(|n| n["kind"] == "plan-monitoring-overdue")
        );

        // Recorded late: on_time false, and it leaves the list.
        let (s, m) = jobota
            .post(
                &format!("/v1/plans/{plan}/monitoring"),
                &json!({"progress": "late but done"}),
            )
            .await;
        assert_eq!(s, 201, "{m}");
        assert_eq!(m["on_time"], false);
        assert!(
            coord.get("/v1/plans/coordination").await.1["overdue"]
                .as_array()
                .unwrap()
                .is_empty()
        );
        app.stop().await;
    }
}

async fn run_sql(app: &TestApp, sql: &str) {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&app.database_url).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
}

async fn count(app: &TestApp, table: &str) -> i64 {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&app.database_url).await.unwrap();
    let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_log_broken_plans_neither_change_nor_open_and_bad_input_changes_nothing() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let now = time::OffsetDateTime::now_utc();
        let coord = app.caller("yamada", "welfare-coordination", "caseworker");
        let consent = team_consent(&st.owner, &st.subject, &["jobota"], now).await;
        let basis = json!({"kind": "consent", "consent_ids": [consent]});
        let (s, made) = coord
            .post("/v1/plans", &plan_body(&st.subject, basis.clone(), &["jobota"], now))
            .await;
        assert_eq!(s, 201, "{made}");
        let plan = made["plan_id"].as_str().unwrap().to_owned();

        // Bad input: a clear 4xx, nothing logged.
        let size = app.audit_size().await;
        let mut bad = plan_body(&st.subject, basis.clone(), &["jobota"], now);
        bad["monitoring"] = json!([at(now - time::Duration::days(1))]);
        assert_eq!(
            code(&coord.post("/v1/plans", &bad).await),
            (422, Some("invalid_schedule"))
        );
        bad = plan_body(&st.subject, json!({"kind": "hearsay"}), &["jobota"], now);
        assert_eq!(code(&coord.post("/v1/plans", &bad).await), (422, Some("invalid_basis")));
        bad = plan_body(&st.subject, basis.clone(), &["jobota"], now);
        bad["goals"] = json!([]);
        assert_eq!(code(&coord.post("/v1/plans", &bad).await), (422, Some("empty")));
        assert_eq!(
            code(&coord.get("/v1/plans/not-a-plan").await),
            (404, Some("plan_not_found"))
        );
        assert_eq!(app.audit_size().await, size);

        let sql = match app.engine {
            Engine::Sqlite => {
                "CREATE TRIGGER audit_broken BEFORE INSERT ON audit_entries BEGIN SELECT RAISE(ABORT, 'simulated storage failure'); END;"
            }
            Engine::Postgres => {
                "CREATE FUNCTION audit_broken() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'simulated storage failure'; END; $$ LANGUAGE plpgsql; \
                 CREATE TRIGGER audit_broken BEFORE INSERT ON audit_entries FOR EACH ROW EXECUTE FUNCTION audit_broken();"
            }
        };
        run_sql(&app, sql).await;
        let plans = count(&app, "support_plans").await;
        let unavailable = |r: (u16, Value)| assert_eq!(code(&r), (503, Some("audit_unavailable")), "{}", r.1);
        unavailable(
            coord
                .post("/v1/plans", &plan_body(&st.subject, basis.clone(), &["jobota"], now))
                .await,
        );
        unavailable(st.jobota.get(&format!("/v1/plans/{plan}")).await);
        unavailable(
            st.jobota
                .post(&format!("/v1/plans/{plan}/monitoring"), &json!({"progress": "x"}))
                .await,
        );
        unavailable(
            coord
                .post(&format!("/v1/plans/{plan}/end"), &json!({"reason": "moved"}))
                .await,
        );
        assert_eq!(count(&app, "support_plans").await, plans);
        assert_eq!(count(&app, "plan_monitoring WHERE recorded_at_ms IS NOT NULL").await, 0);
        assert_eq!(count(&app, "support_plans WHERE state = 'ended'").await, 0);
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_about_an_erased_person_is_opened_recorded_or_logged() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let now = time::OffsetDateTime::now_utc();
        let coord = app.caller("yamada", "welfare-coordination", "caseworker");
        let consent = team_consent(&st.owner, &st.subject, &["jobota"], now).await;
        let basis = json!({"kind": "consent", "consent_ids": [consent]});
        let (s, made) = coord
            .post("/v1/plans", &plan_body(&st.subject, basis.clone(), &["jobota"], now))
            .await;
        assert_eq!(s, 201, "{made}");
        let plan = made["plan_id"].as_str().unwrap().to_owned();
        let officer = app.caller("hara", "welfare-coordination", "privacy-officer");
        let (s, r) = officer
            .post(
                &format!("/v1/subjects/{}/erasure", st.subject),
                &json!({"ground": "appi-deletion", "reason": "本人の請求"}),
            )
            .await;
        assert_eq!(s, 200, "{r}");
        let before = app.audit_size().await;
        let erased = |r: (u16, Value)| assert_eq!(code(&r), (410, Some("subject_erased")), "{}", r.1);
        erased(st.jobota.get(&format!("/v1/plans/{plan}")).await);
        erased(st.jobota.get(&format!("/v1/plans/{plan}/monitoring")).await);
        erased(
            st.jobota
                .post(&format!("/v1/plans/{plan}/monitoring"), &json!({"progress": "x"}))
                .await,
        );
        erased(
            coord
                .post("/v1/plans", &plan_body(&st.subject, basis, &["jobota"], now))
                .await,
        );
        assert_eq!(app.audit_size().await, before, "no release and no change is logged");
        app.stop().await;
    }
}

/// Two instances of one deployment on one PostgreSQL (docs/rules.md#R-T7): while one runs the
/// overdue check the other skips it and logs nothing, and run on both at once each overdue
/// round is logged and told once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_two_instances_each_overdue_round_is_logged_and_told_once() {
    for engine in engines().into_iter().filter(|e| *e == Engine::Postgres) {
        let start = time::OffsetDateTime::now_utc();
        let clock = Arc::new(FixedClock::new(start));
        let a = spawn_app_with_clock(engine, clock.clone()).await;
        let b = spawn_configured(engine, Some(a.database_url.clone()), clock.clone(), |_| {}).await;
        let st = story(&a).await;
        let coord = a.caller("yamada", "welfare-coordination", "caseworker");
        jobota_plan(&coord, &st, &["jobota"], start).await;
        clock.set(start + time::Duration::days(45));

        let size = a.audit_size().await;
        let held = a
            .state
            .store
            .begin_exclusive(tsunagi::store::Exclusive::OverdueCheck)
            .await
            .unwrap()
            .expect("the job is free");
        assert_eq!(tsunagi::services::plans::notify_overdue(&b.state).await.unwrap(), 0);
        assert_eq!(a.audit_size().await, size, "the other instance skipped the job");
        held.release().await.unwrap();

        let (x, y) = tokio::join!(
            tsunagi::services::plans::notify_overdue(&a.state),
            tsunagi::services::plans::notify_overdue(&b.state)
        );
        assert_eq!(x.unwrap() + y.unwrap(), 1, "one notice");
        let overdue = a
            .entries_since(size)
            .await
            .iter()
            .filter(|e| e["event"] == "plan-monitoring-overdue")
            .count();
        assert_eq!(overdue, 1, "one entry for the one notice");
        b.stop().await;
        a.stop().await;
    }
}
