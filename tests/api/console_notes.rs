//! The team timeline in the console over real TLS, on both engines: a team member reads the
//! plan's notes and posts one (the JSON API's service: one logged read per page, the note logged
//! first), a refused post shows its reason beside the form, and someone not on the team gets a
//! 403 page whose refusal is logged. In Japanese and in English.

use serde_json::json;
use tsunagi::domain::ConsentId;
use tsunagi::domain::plan::PlanBasis;

use super::console_support::Browser;
use super::helpers::{engines, spawn_app};
use super::notes::{consent, person, plan};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_member_reads_and_posts_notes_on_the_plan_page() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let rsc = app.caller("sato", "regional-support-centre", "caseworker");
        let jobota = app.caller("tanaka", "jobota", "caseworker");
        let subject = person(&rsc).await;
        let c1 = consent(&rsc, &subject, &["sapota"], &["case-notes"]).await;
        let c2 = consent(&rsc, &subject, &["jobota"], &["case-notes"]).await;
        let plan_id = plan(
            &app,
            &subject,
            PlanBasis::Consent {
                consent_ids: vec![ConsentId::parse(&c1).unwrap(), ConsentId::parse(&c2).unwrap()],
            },
            &["sapota", "jobota"],
        )
        .await;
        let (s, r) = jobota
            .post(
                &format!("/v1/plans/{plan_id}/notes"),
                &json!({"content": "求人票を3件紹介した"}),
            )
            .await;
        assert_eq!(s, 201, "{r}");

        let mut b = Browser::new(&app, "sapota");
        b.login("ito", "caseworker").await;
        let before = app.audit_size().await;
        let page = b.get(&format!("/console/plans/{plan_id}/notes")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert_eq!(app.audit_size().await, before + 1, "the page is one logged read");
        assert!(page.body.contains("チームのタイムライン"), "{}", page.body);
        assert!(page.body.contains("求人票を3件紹介した"));
        assert!(page.body.contains("tanaka"));
        let e = app.last_entry().await;
        assert_eq!(e["team"]["items"][0]["kind"], "note");

        // Post: the service, logged first; back on the timeline with a notice.
        let csrf = page.csrf();
        let posted = b
            .post(
                &format!("/console/plans/{plan_id}/notes"),
                &[
                    ("csrf", &csrf),
                    ("content", "同行支援の日程を調整中"),
                    ("category", "case-notes"),
                    ("justification", ""),
                ],
            )
            .await;
        assert_eq!(posted.status, 303, "{}", posted.body);
        let page = b.follow(posted).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            page.body.contains("メモをチームのタイムラインに投稿しました"),
            "{}",
            page.body
        );
        assert!(page.body.contains("同行支援の日程を調整中"));

        // A refused post: the reason beside the form, the text kept, nothing logged.
        let csrf = page.csrf();
        let before = app.audit_size().await;
        let refused = b
            .post(
                &format!("/console/plans/{plan_id}/notes"),
                &[
                    ("csrf", &csrf),
                    ("content", "番号 1234 5678 9018"),
                    ("category", "case-notes"),
                ],
            )
            .await;
        assert_eq!(refused.status, 422, "{}", refused.body);
        assert!(refused.body.contains("my_number_refused"), "{}", refused.body);
        // Re-showing the page is itself one logged read; the refused post added nothing.
        assert_eq!(app.audit_size().await, before + 1);

        // The plan page carries the post form and a link to the timeline, not the notes: its
        // one logged read stays the plan's.
        let before = app.audit_size().await;
        let plan_page = b.get(&format!("/console/plans/{plan_id}")).await;
        assert_eq!(plan_page.status, 200, "{}", plan_page.body);
        assert!(
            plan_page.body.contains("チームのタイムラインを開く"),
            "{}",
            plan_page.body
        );
        assert!(
            plan_page
                .body
                .contains(&format!("action=\"/console/plans/{plan_id}/notes\""))
        );
        assert!(!plan_page.body.contains("同行支援の日程を調整中"));
        assert_eq!(app.audit_size().await, before + 1, "only the plan read");

        // English.
        let en = b.post("/console/lang", &[("lang", "en"), ("back", "/console/")]).await;
        assert_eq!(en.status, 303, "{}", en.body);
        let page = b.get(&format!("/console/plans/{plan_id}/notes")).await;
        assert!(page.body.contains("Team timeline"), "{}", page.body);

        // Not on the team: a 403 page, the refusal logged.
        let mut other = Browser::new(&app, "child-services");
        other.login("mori", "caseworker").await;
        let before = app.audit_size().await;
        let page = other.get(&format!("/console/plans/{plan_id}/notes")).await;
        assert_eq!(page.status, 403, "{}", page.body);
        assert!(!page.body.contains("求人票"));
        let n = app.audit_size().await;
        assert!(n > before, "the refusal is on record");
        let rows = app
            .state
            .store
            .audit_entries(before, u32::try_from(n - before).unwrap())
            .await
            .unwrap();
        assert!(
            rows.iter().any(|r| {
                let e: serde_json::Value = serde_json::from_slice(&r.entry).unwrap();
                e["reason"] == "not_on_team"
            }),
            "a refused read entry"
        );
        app.stop().await;
    }
}
