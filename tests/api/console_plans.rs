//! The console's support-plan screens over real TLS, on both engines (issue 11): a team member
//! finds the plan in the list, opens it (one logged disclosure), records their agency's
//! monitoring round from the form; an agency without a role gets a logged 403 page
//! (`not_on_team`); the coordinator sees the overdue list and ends the plan, after which the
//! team gets `plan_ended`. Every page in Japanese and English.

use serde_json::json;

use super::console_support::Browser;
use super::helpers::{engines, spawn_app, story};

fn at(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_member_reads_and_monitors_a_plan_and_the_coordinator_ends_it_from_the_console() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let now = time::OffsetDateTime::now_utc();
        let (s, c) = st
            .owner
            .post(
                &format!("/v1/subjects/{}/consents", st.subject),
                &json!({
                    "recipients": ["jobota", "regional-support-centre"], "purposes": ["multi-agency support plan"],
                    "categories": ["case-notes"], "valid_from": at(now - time::Duration::days(1)),
                    "valid_until": at(now + time::Duration::days(365)), "method": "written", "evidence_ref": "form 301"
                }),
            )
            .await;
        assert_eq!(s, 201, "{c}");
        let coord = app.caller("yamada", "welfare-coordination", "caseworker");
        let (s, made) = coord
            .post(
                "/v1/plans",
                &json!({
                    "subject_id": st.subject,
                    "basis": {"kind": "consent", "consent_ids": [c["id"]]},
                    "goals": ["週3回の就労体験に通う"],
                    "roles": [
                        {"agency": "jobota", "role": "就労体験の調整", "lead": "田中"},
                        {"agency": "regional-support-centre", "role": "母親の介護の相談", "lead": "佐藤"}
                    ],
                    "services": ["配食サービス"],
                    "monitoring": [at(now + time::Duration::days(30))]
                }),
            )
            .await;
        assert_eq!(s, 201, "{made}");
        let plan = made["plan_id"].as_str().unwrap().to_owned();

        // A team member: the list, then the plan (one logged read).
        let mut b = Browser::new(&app, "jobota");
        let home = b.login("tanaka", "caseworker").await;
        assert!(home.body.contains("href=\"/console/plans\""), "{}", home.body);
        let list = b.get("/console/plans").await;
        assert_eq!(list.status, 200, "{}", list.body);
        assert!(list.body.contains(&plan));
        assert!(
            !list.body.contains("期限超過のモニタリング"),
            "only the coordinator sees the overdue list"
        );
        let before = app.audit_size().await;
        let page = b.get(&format!("/console/plans/{plan}")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("週3回の就労体験に通う"));
        assert!(page.body.contains("就労体験の調整") && page.body.contains("配食サービス"));
        assert!(page.body.contains("この表示は開示記録に残ります"));
        assert_eq!(app.audit_size().await, before + 1);
        assert_eq!(app.last_entry().await["team"]["plan_id"], plan.as_str());

        // Monitoring from the form.
        let csrf = page.csrf();
        let done = b
            .post(
                &format!("/console/plans/{plan}/monitoring"),
                &[("csrf", &csrf), ("round", "1"), ("progress", "面接に2回参加")],
            )
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
        let page = b.follow(done).await;
        assert!(page.body.contains("進捗を記録しました"), "{}", page.body);
        assert!(page.body.contains("面接に2回参加"));
        assert!(
            !page.body.contains("name=\"progress\""),
            "the round is recorded: no form"
        );
        assert!(
            app.entries_since(0)
                .await
                .iter()
                .any(|e| e["event"] == "plan-monitoring-recorded")
        );

        for lang in ["en", "ja"] {
            let r = b.post("/console/lang", &[("lang", lang), ("back", "/console/")]).await;
            assert_eq!(r.status, 303);
            for path in ["/console/plans".to_owned(), format!("/console/plans/{plan}")] {
                let page = b.get(&path).await;
                assert_eq!(page.status, 200, "{path}");
                assert!(page.body.contains(&format!("<html lang=\"{lang}\">")));
                assert!(
                    !page.body.contains(">plan-") && !page.body.contains("code-unknown"),
                    "{lang} {path}"
                );
            }
        }

        // No role: a logged 403 page.
        let mut other = Browser::new(&app, "sapota");
        other.login("suzuki", "caseworker").await;
        let refused = other.get(&format!("/console/plans/{plan}")).await;
        assert_eq!(refused.status, 403);
        assert!(refused.body.contains("not_on_team"), "{}", refused.body);
        assert!(
            app.entries_since(0)
                .await
                .iter()
                .any(|e| e["event"] == "console-forbidden" && e["detail"]["code"] == "not_on_team")
        );

        // The coordinator: the overdue list (empty) and ending the plan.
        let mut cb = Browser::new(&app, "welfare-coordination");
        cb.login("yamada", "caseworker").await;
        let list = cb.get("/console/plans").await;
        assert_eq!(list.status, 200, "{}", list.body);
        assert!(list.body.contains("期限超過のモニタリング") && list.body.contains("期限超過の回はありません"));
        let csrf = list.csrf();
        let ended = cb
            .post(
                &format!("/console/plans/{plan}/end"),
                &[("csrf", &csrf), ("reason", "goals-met")],
            )
            .await;
        assert_eq!(ended.status, 303, "{}", ended.body);
        let list = cb.follow(ended).await;
        assert!(list.body.contains("プランを終結しました"), "{}", list.body);
        assert_eq!(app.last_entry().await["event"], "plan-ended");
        let gone = b.get(&format!("/console/plans/{plan}")).await;
        assert_eq!(gone.status, 403);
        assert!(gone.body.contains("plan_ended"));
        app.stop().await;
    }
}
