//! Retention: sections whose retention period ended are deleted (each record after its
//! `record-sections-expired` entry), a person with nothing left is erased (`subject-erased`,
//! ground `retention-expiry`), what is still within its period stays readable, and the log
//! still verifies.

use serde_json::json;

use super::helpers::{TestApp, disclosure_body, engines, spawn_app, story};
use super::log_support::verify;

fn retention_actor() -> tsunagi::principal::Principal {
    tsunagi::principal::Principal {
        user: tsunagi::domain::UserId::parse("tsunagi-retention").unwrap(),
        agency: tsunagi::domain::AgencyId::parse("welfare-coordination").unwrap(),
        organ: tsunagi::domain::OrganId::parse("ota-ward").unwrap(),
        roles: vec![tsunagi::domain::Role::System],
        cert_fingerprint: String::new(),
    }
}

/// One retention run `years` (and a few days) from now.
async fn run_at(app: &TestApp, rules: &str, years: i64, dry: bool) -> tsunagi::retention::Outcome {
    let rules = tsunagi::retention::RetentionRules::parse(rules).unwrap();
    let st = &app.state;
    tsunagi::retention::apply(
        &st.store,
        &st.audit,
        &st.pseudonyms,
        &rules,
        &retention_actor(),
        st.clock.now() + time::Duration::days(365 * years + 3),
        dry,
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_sections_go_after_their_entry_and_a_person_with_nothing_left_is_erased() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let s = story(&app).await; // the regional support centre's record about person A
        // JOBOTA's own record (employment only) about person B.
        let jobota = app.caller("ito", "jobota", "caseworker");
        let (status, b) = jobota.post("/v1/subjects", &json!({"local_id": "J-77"})).await;
        assert_eq!(status, 201, "{b}");
        let b_id = b["id"].as_str().unwrap().to_owned();
        let (status, rec) = jobota
            .post(
                &format!("/v1/subjects/{b_id}/records"),
                &json!({"purpose": "employment support", "sections": [{"category": "employment", "content": "job club"}]}),
            )
            .await;
        assert_eq!(status, 201, "{rec}");

        let rules = tsunagi::retention::RetentionRules::parse(
            "[[rule]]\nagency = \"*\"\ncategory = \"*\"\nyears = 10\n\
             [[rule]]\nagency = \"jobota\"\ncategory = \"employment\"\nyears = 5\n",
        )
        .unwrap();
        let actor = tsunagi::principal::Principal {
            user: tsunagi::domain::UserId::parse("tsunagi-retention").unwrap(),
            agency: tsunagi::domain::AgencyId::parse("welfare-coordination").unwrap(),
            organ: tsunagi::domain::OrganId::parse("ota-ward").unwrap(),
            roles: vec![tsunagi::domain::Role::System],
            cert_fingerprint: String::new(),
        };
        let st = &app.state;
        let run = |years: i64, dry: bool| {
            let actor = actor.clone();
            let rules = rules.clone();
            async move {
                tsunagi::retention::apply(
                    &st.store,
                    &st.audit,
                    &st.pseudonyms,
                    &rules,
                    &actor,
                    st.clock.now() + time::Duration::days(365 * years + 3),
                    dry,
                )
                .await
                .unwrap()
            }
        };

        // Within every period: nothing happens.
        assert_eq!(run(1, false).await, tsunagi::retention::Outcome::default());
        // Six years on: JOBOTA's employment record has expired (5 years), the centre's (10) not.
        let size = app.audit_size().await;
        let dry = run(6, true).await;
        assert_eq!((dry.sections_expired, dry.records_touched), (1, 1));
        assert_eq!(app.audit_size().await, size, "a dry run writes nothing");
        let done = run(6, false).await;
        assert_eq!(
            done,
            tsunagi::retention::Outcome {
                sections_expired: 1,
                records_touched: 1,
                subjects_erased: 1,
                ..Default::default()
            }
        );
        let events = app.entries_since(size).await;
        assert_eq!(events[0]["event"], "record-sections-expired", "{events:?}");
        assert_eq!(events[0]["reference"], rec["id"], "{events:?}");
        assert_eq!(events[1]["event"], "subject-erased", "{events:?}");
        assert_eq!(events[1]["reference"], "retention-expiry");
        assert!(
            !serde_json::to_string(&events).unwrap().contains(&b_id),
            "pseudonyms only"
        );
        let subject_b = tsunagi::domain::SubjectId::parse(&b_id).unwrap();
        assert!(st.store.subject_erased(subject_b).await.unwrap());
        // Person A is untouched: the centre's record still flows under the consent.
        let (status, v) = s
            .jobota
            .post(
                "/v1/disclosures",
                &disclosure_body(&s.subject, &s.consent, "employment support"),
            )
            .await;
        assert_eq!(status, 200, "{v}");

        // Eleven years on, the centre's record has expired too, and person A is erased.
        let done = run(11, false).await;
        assert_eq!((done.sections_expired, done.subjects_erased), (4, 1));
        let (status, v) = s
            .jobota
            .post(
                "/v1/disclosures",
                &disclosure_body(&s.subject, &s.consent, "employment support"),
            )
            .await;
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (403, Some("subject_erased")),
            "{v}"
        );
        let report = verify(&app).await;
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        app.stop().await;
    }
}

/// A team's shared notes age under their author agency's rule for the note's category: deleted
/// plan by plan after a `case-notes-expired` entry (no content, the person by pseudonym), gone
/// from the timeline; a person whose support plan still runs is not erased, and is once it ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn team_notes_expire_after_their_entry_and_a_running_plan_keeps_the_person() {
    use tsunagi::domain::ConsentId;
    use tsunagi::domain::plan::PlanBasis;
    let rules = "[[rule]]\nagency = \"*\"\ncategory = \"*\"\nyears = 10\n\
                 [[rule]]\nagency = \"sapota\"\ncategory = \"case-notes\"\nyears = 3\n";
    for engine in engines() {
        let app = spawn_app(engine).await;
        let rsc = app.caller("sato", "regional-support-centre", "caseworker");
        let sapota = app.caller("ito", "sapota", "caseworker");
        let coord = app.caller("kato", "welfare-coordination", "caseworker");
        let subject = super::notes::person(&rsc).await;
        let (s, rec) = rsc
            .post(
                &format!("/v1/subjects/{subject}/records"),
                &json!({"purpose": "long-term care support", "sections": [{"category": "household", "content": "lives alone"}]}),
            )
            .await;
        assert_eq!(s, 201, "{rec}");
        let consent = super::notes::consent(&rsc, &subject, &["sapota"], &["case-notes"]).await;
        let plan = super::notes::plan(
            &app,
            &subject,
            PlanBasis::Consent {
                consent_ids: vec![ConsentId::parse(&consent).unwrap()],
            },
            &["sapota"],
        )
        .await;
        let (s, n) = sapota
            .post(
                &format!("/v1/plans/{plan}/notes"),
                &json!({"content": "初回訪問。本人と面談できた。"}),
            )
            .await;
        assert_eq!(s, 201, "{n}");

        // Within every period: nothing.
        assert_eq!(
            run_at(&app, rules, 1, false).await,
            tsunagi::retention::Outcome::default()
        );
        // Four years on, SAPOTA's note (3 years) has expired; the centre's record (10) has not.
        let size = app.audit_size().await;
        let dry = run_at(&app, rules, 4, true).await;
        assert_eq!((dry.notes_expired, dry.plans_touched, dry.sections_expired), (1, 1, 0));
        assert_eq!(app.audit_size().await, size, "a dry run writes nothing");
        let done = run_at(&app, rules, 4, false).await;
        assert_eq!(
            done,
            tsunagi::retention::Outcome {
                notes_expired: 1,
                plans_touched: 1,
                ..Default::default()
            }
        );
        assert_eq!(app.audit_size().await, size + 1, "one entry for the plan's notes");
        let e = app.last_entry().await;
        assert_eq!(e["event"], "case-notes-expired", "{e}");
        assert_eq!(e["reference"], plan.as_str());
        assert_eq!(e["detail"]["categories"], json!(["case-notes"]), "{e}");
        assert_eq!(e["detail"]["authors"], json!(["sapota"]), "{e}");
        let text = e.to_string();
        assert!(
            !text.contains(&subject) && !text.contains("初回訪問"),
            "no id, no content: {e}"
        );
        let (s, t) = sapota.get(&format!("/v1/plans/{plan}/notes")).await;
        assert_eq!(s, 200, "{t}");
        assert_eq!(t["notes"], json!([]), "the timeline is empty: {t}");

        // Eleven years on the centre's record expires too, but the plan still runs: kept.
        let done = run_at(&app, rules, 11, false).await;
        assert_eq!((done.sections_expired, done.subjects_erased), (1, 0));
        let id = tsunagi::domain::SubjectId::parse(&subject).unwrap();
        assert!(!app.state.store.subject_erased(id).await.unwrap());
        // Once the plan has ended, nothing is left about the person: erased.
        let (s, r) = coord
            .post(&format!("/v1/plans/{plan}/end"), &json!({"reason": "goals-met"}))
            .await;
        assert_eq!(s, 200, "{r}");
        let (s, more) = rsc
            .post(
                &format!("/v1/subjects/{subject}/records"),
                &json!({"purpose": "closing", "sections": [{"category": "household", "content": "moved"}]}),
            )
            .await;
        assert_eq!(s, 201, "{more}");
        let done = run_at(&app, rules, 11, false).await;
        assert_eq!((done.sections_expired, done.subjects_erased), (1, 1));
        assert!(app.state.store.subject_erased(id).await.unwrap());
        let report = verify(&app).await;
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        app.stop().await;
    }
}
