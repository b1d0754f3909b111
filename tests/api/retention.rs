//! Retention: sections whose retention period ended are deleted (each record after its
//! `record-sections-expired` entry), a person with nothing left is erased (`subject-erased`,
//! ground `retention-expiry`), what is still within its period stays readable, and the log
//! still verifies.

use serde_json::json;

use super::helpers::{disclosure_body, engines, spawn_app, story};
use super::log_support::verify;

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
                subjects_erased: 1
            }
        );
        let n = app.audit_size().await;
        let rows = st
            .store
            .audit_entries(size, u32::try_from(n - size).unwrap())
            .await
            .unwrap();
        let events: Vec<serde_json::Value> = rows.iter().map(|r| serde_json::from_slice(&r.entry).unwrap()).collect();
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
