//! The console's forms to create a support plan and to agree a new version (issue 11,
//! docs/rules.md#R-T4–R-T5), over real TLS on both engines: the coordinator finds
//! "新しい支援プラン" under 支援プラン, a form with an empty goal comes back with the sentence and
//! the entered values (nothing logged), the filled form creates the plan through
//! `services::plans::create` (the team sees it), the next version is agreed from the list's
//! link and a stale one is refused as a conflict beside the form; a caseworker elsewhere has no
//! link and a logged 403; a secretariat bases a plan on its own support-meeting session. Every
//! page in Japanese and English.

use serde_json::json;

use super::console_support::Browser;
use super::helpers::{engines, spawn_app, story};

fn at(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap()
}

/// A date input's value `days` from now, in Japan time.
fn date_in(days: i64) -> String {
    let t = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+9)) + time::Duration::days(days);
    t.date().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_coordinator_creates_a_plan_and_agrees_a_new_version_from_the_console() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let now = time::OffsetDateTime::now_utc();
        let (s, c) = st
            .owner
            .post(
                &format!("/v1/subjects/{}/consents", st.subject),
                &json!({
                    "recipients": ["jobota", "sapota"], "purposes": ["multi-agency support plan"],
                    "categories": ["case-notes"], "valid_from": at(now - time::Duration::days(1)),
                    "valid_until": at(now + time::Duration::days(365)), "method": "written", "evidence_ref": "form 302"
                }),
            )
            .await;
        assert_eq!(s, 201, "{c}");
        let consent = c["id"].as_str().unwrap().to_owned();

        // The person's page at the coordination desk offers the form with the person filled in.
        let (s, l) = app
            .caller("yamada", "welfare-coordination", "caseworker")
            .post(
                &format!("/v1/subjects/{}/links", st.subject),
                &json!({"local_id": "WC-0001"}),
            )
            .await;
        assert_eq!(s, 201, "{l}");
        let mut cb = Browser::new(&app, "welfare-coordination");
        cb.login("yamada", "caseworker").await;
        let person = cb.get(&format!("/console/persons/{}", st.subject)).await;
        assert_eq!(person.status, 200, "{}", person.body);
        assert!(
            person.body.contains(&format!(
                "href=\"/console/plans/new?subject={}\" id=\"person-new-plan\"",
                st.subject
            )),
            "{}",
            person.body
        );
        let list = cb.get("/console/plans").await;
        assert!(list.body.contains("href=\"/console/plans/new\""), "{}", list.body);
        assert!(list.body.contains("新しい支援プラン"));
        let form = cb.get(&format!("/console/plans/new?subject={}", st.subject)).await;
        assert_eq!(form.status, 200, "{}", form.body);
        assert!(
            form.body.contains(&format!("value=\"{}\"", st.subject)),
            "the person is filled in"
        );
        let csrf = form.csrf();
        let due1 = date_in(30);
        let due2 = date_in(120);
        let mut fields = vec![
            ("csrf", csrf.as_str()),
            ("subject", st.subject.as_str()),
            ("basis", "consent"),
            ("session", ""),
            ("consents", consent.as_str()),
            ("goals", ""),
            ("agency-1", "jobota"),
            ("role-1", "就労体験の調整"),
            ("lead-1", "田中"),
            ("agency-2", "sapota"),
            ("role-2", "家計相談"),
            ("lead-2", "鈴木"),
            ("agency-3", ""),
            ("role-3", ""),
            ("lead-3", ""),
            ("services", "配食サービス\n\n家計改善支援事業\n"),
            ("due-1", due1.as_str()),
            ("due-2", due2.as_str()),
            ("due-3", ""),
        ];

        // No goal: the sentence beside the form, the values kept, nothing logged.
        let before = app.audit_size().await;
        let bad = cb.post("/console/plans/new", &fields).await;
        assert_eq!(bad.status, 422, "{}", bad.body);
        assert!(bad.body.contains("id=\"form-error\""), "{}", bad.body);
        assert!(bad.body.contains("コード: empty"), "{}", bad.body);
        assert!(
            bad.body.contains("value=\"就労体験の調整\""),
            "the entered values are kept"
        );
        assert!(bad.body.contains(&format!("value=\"{due2}\"")));
        assert_eq!(app.audit_size().await, before, "nothing logged");

        // Filled in: the plan is made through the service (logged first, the team told).
        fields[5] = ("goals", "週3回の就労体験に通う\n家計を立て直す");
        let made = cb.post("/console/plans/new", &fields).await;
        assert_eq!(made.status, 303, "{}", made.body);
        let list = cb.follow(made).await;
        assert!(list.body.contains("支援プランを作成しました"), "{}", list.body);
        assert!(app.entries_since(0).await.iter().any(|e| e["event"] == "plan-created"));
        let (s, plans) = st.jobota.get("/v1/plans").await;
        assert_eq!(s, 200, "{plans}");
        let plan_id = plans["plans"][0]["id"].as_str().unwrap().to_owned();
        let (s, view) = st.jobota.get(&format!("/v1/plans/{plan_id}")).await;
        assert_eq!(s, 200, "{view}");
        let v1 = &view["versions"][0]["content"];
        assert_eq!(
            v1["goals"],
            json!(["週3回の就労体験に通う", "家計を立て直す"]),
            "{view}"
        );
        assert_eq!(v1["services"], json!(["配食サービス", "家計改善支援事業"]));
        assert_eq!(v1["roles"].as_array().unwrap().len(), 2, "the empty row is ignored");
        assert_eq!(
            view["monitoring"].as_array().unwrap().len(),
            4,
            "two rounds, two agencies"
        );

        // The next version, from the list's link.
        assert!(
            list.body
                .contains(&format!("href=\"/console/plans/{plan_id}/versions/new\""))
        );
        let vform = cb.get(&format!("/console/plans/{plan_id}/versions/new")).await;
        assert_eq!(vform.status, 200, "{}", vform.body);
        assert!(vform.body.contains("name=\"based_on\" value=\"1\""), "{}", vform.body);
        let csrf = vform.csrf();
        let mut vfields: Vec<(&str, &str)> = fields
            .iter()
            .filter(|(k, _)| *k != "subject" && *k != "csrf")
            .copied()
            .collect();
        vfields.push(("csrf", csrf.as_str()));
        vfields.push(("based_on", "1"));
        for f in &mut vfields {
            if f.0 == "goals" {
                f.1 = "週4回の就労体験に通う";
            }
        }
        let agreed = cb.post(&format!("/console/plans/{plan_id}/versions"), &vfields).await;
        assert_eq!(agreed.status, 303, "{}", agreed.body);
        let list = cb.follow(agreed).await;
        assert!(list.body.contains("新しい版を合意しました"), "{}", list.body);
        let (_, view) = st.jobota.get(&format!("/v1/plans/{plan_id}")).await;
        assert_eq!(view["current_version"], 2, "{view}");
        // The same form again: another version was agreed meanwhile.
        let stale = cb.post(&format!("/console/plans/{plan_id}/versions"), &vfields).await;
        assert_eq!(stale.status, 409, "{}", stale.body);
        assert!(stale.body.contains("先に別の版が合意されました"), "{}", stale.body);

        for lang in ["en", "ja"] {
            let r = cb.post("/console/lang", &[("lang", lang), ("back", "/console/")]).await;
            assert_eq!(r.status, 303);
            for path in [
                "/console/plans".to_owned(),
                "/console/plans/new".to_owned(),
                format!("/console/plans/{plan_id}/versions/new"),
            ] {
                let page = cb.get(&path).await;
                assert_eq!(page.status, 200, "{path}");
                assert!(page.body.contains(&format!("<html lang=\"{lang}\">")));
                assert!(
                    !page.body.contains(">plan-") && !page.body.contains("code-unknown"),
                    "{lang} {path}: {}",
                    page.body
                );
            }
        }

        // A caseworker elsewhere: no link, a logged 403.
        let mut jb = Browser::new(&app, "jobota");
        jb.login("tanaka", "caseworker").await;
        let list = jb.get("/console/plans").await;
        assert!(!list.body.contains("href=\"/console/plans/new\""));
        let (s, l) = st
            .jobota
            .post(
                &format!("/v1/subjects/{}/links", st.subject),
                &json!({"local_id": "JOB-0001"}),
            )
            .await;
        assert_eq!(s, 201, "{l}");
        let person = jb.get(&format!("/console/persons/{}", st.subject)).await;
        assert_eq!(person.status, 200, "{}", person.body);
        assert!(
            !person.body.contains("person-new-plan"),
            "only plan authors get the link"
        );
        assert!(!list.body.contains("/versions/new"));
        let refused = jb.get("/console/plans/new").await;
        assert_eq!(refused.status, 403);
        assert!(refused.body.contains("not_coordinator"), "{}", refused.body);
        assert!(
            app.entries_since(0)
                .await
                .iter()
                .any(|e| e["event"] == "console-forbidden" && e["detail"]["code"] == "not_coordinator")
        );
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secretariat_bases_a_plan_on_its_own_support_meeting_session_from_the_console() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let sec = app.caller("kato", "welfare-coordination", "meeting-secretariat");
        let (s, body) = sec
            .post(
                "/v1/bodies",
                &json!({"kind": "support-meeting", "name": "大田区支援会議", "rules_text": "r", "pledge_text": "p"}),
            )
            .await;
        assert_eq!(s, 201, "{body}");
        let held = at(time::OffsetDateTime::now_utc() + time::Duration::days(1));
        let (s, session) = sec
            .post(
                &format!("/v1/bodies/{}/sessions", body["id"].as_str().unwrap()),
                &json!({"held_at": held}),
            )
            .await;
        assert_eq!(s, 201, "{session}");
        let session = session["id"].as_str().unwrap().to_owned();
        let (s, item) = sec
            .post(
                &format!("/v1/sessions/{session}/agenda"),
                &json!({"subject_id": st.subject}),
            )
            .await;
        assert_eq!(s, 201, "{item}");

        let mut b = Browser::new(&app, "welfare-coordination");
        b.login("kato", "meeting-secretariat").await;
        let page = b.get(&format!("/console/meetings/sessions/{session}")).await;
        assert!(
            page.body
                .contains(&format!("href=\"/console/plans/new?session={session}\"")),
            "{}",
            page.body
        );
        // Each person on the agenda has a link to a plan for them, on this session.
        let for_person = format!("/console/plans/new?session={session}&amp;subject={}", st.subject);
        assert!(page.body.contains(&format!("href=\"{for_person}\"")), "{}", page.body);
        assert!(page.body.contains("この人の支援プランを作る"));
        let form = b
            .get(&format!("/console/plans/new?session={session}&subject={}", st.subject))
            .await;
        assert_eq!(form.status, 200, "{}", form.body);
        assert!(
            form.body.contains(&format!("value=\"{}\"", st.subject)),
            "the person is filled in: {}",
            form.body
        );
        assert!(
            form.body.contains(&format!("<option value=\"{session}\"")),
            "{}",
            form.body
        );
        assert!(form.body.contains("大田区支援会議"));
        let csrf = form.csrf();
        let due = date_in(60);
        let fields = [
            ("csrf", csrf.as_str()),
            ("subject", st.subject.as_str()),
            ("basis", "session"),
            ("session", session.as_str()),
            ("consents", ""),
            ("goals", "find part-time work"),
            ("agency-1", "jobota"),
            ("role-1", "就労準備支援"),
            ("lead-1", "田中"),
            ("services", ""),
            ("due-1", due.as_str()),
        ];
        // No session chosen: the sentence, nothing logged.
        let before = app.audit_size().await;
        let mut none = fields;
        none[3] = ("session", "");
        let bad = b.post("/console/plans/new", &none).await;
        assert_eq!(bad.status, 422, "{}", bad.body);
        assert!(bad.body.contains("支援会議の開催回を選んでください"), "{}", bad.body);
        assert_eq!(app.audit_size().await, before);

        let made = b.post("/console/plans/new", &fields).await;
        assert_eq!(made.status, 303, "{}", made.body);
        assert_eq!(
            made.location(),
            format!("/console/meetings/sessions/{session}?done=plan-created")
        );
        let back = b.follow(made).await;
        assert!(back.body.contains("支援プランを作成しました"), "{}", back.body);
        let e = app
            .entries_since(0)
            .await
            .into_iter()
            .rev()
            .find(|e| e["event"] == "plan-created")
            .expect("logged");
        assert_eq!(e["detail"]["basis"]["session_id"], session.as_str(), "{e}");

        // The next version on the same session: back to the session's page too.
        let (s, plans) = st.jobota.get("/v1/plans").await;
        assert_eq!(s, 200, "{plans}");
        let plan_id = plans["plans"][0]["id"].as_str().unwrap().to_owned();
        let vform = b.get(&format!("/console/plans/{plan_id}/versions/new")).await;
        assert_eq!(vform.status, 200, "{}", vform.body);
        assert!(vform.body.contains(&format!("<option value=\"{session}\" selected")));
        let mut vfields: Vec<(&str, &str)> = fields.iter().filter(|(k, _)| *k != "subject").copied().collect();
        vfields.push(("based_on", "1"));
        let agreed = b.post(&format!("/console/plans/{plan_id}/versions"), &vfields).await;
        assert_eq!(agreed.status, 303, "{}", agreed.body);
        assert_eq!(
            agreed.location(),
            format!("/console/meetings/sessions/{session}?done=plan-version")
        );
        let back = b.follow(agreed).await;
        assert!(back.body.contains("新しい版を合意しました"), "{}", back.body);

        // Another agency's secretariat: not this plan's author.
        let mut other = Browser::new(&app, "jobota");
        other.login("sec-ito", "meeting-secretariat").await;
        let refused = other.get(&format!("/console/plans/{plan_id}/versions/new")).await;
        assert_eq!(refused.status, 403, "{}", refused.body);
        assert!(refused.body.contains("not_coordinator"));
        assert!(!refused.body.contains(&st.subject), "nothing of the plan");
        app.stop().await;
    }
}
