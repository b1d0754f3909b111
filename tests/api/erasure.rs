//! Erasure (APPI deletion, retention expiry): only the ward-wide privacy officer may erase; the
//! `subject-erased` entry comes first and names the person by pseudonym only; afterwards nothing
//! about the person can be disclosed (a logged refusal, `subject_erased`) or written (410), the
//! content is gone for good, while the log still verifies and the person's report still lists
//! the past disclosures.

use serde_json::json;

use super::helpers::{disclosure_body, engines, spawn_app, story};
use super::log_support::verify;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_person_can_never_be_read_again_and_the_log_stays_whole() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let s = story(&app).await;
        let body = disclosure_body(&s.subject, &s.consent, "employment support");
        let (status, before) = s.jobota.post("/v1/disclosures", &body).await;
        assert_eq!(status, 200, "{before}");

        let erase = json!({"ground": "appi-deletion", "reason": "request 2026-31 received at the ward office"});
        let path = format!("/v1/subjects/{}/erasure", s.subject);
        // Only the ward-wide privacy officer erases; anyone else is refused and nothing changes.
        for (user, agency, role) in [
            ("sato", "regional-support-centre", "caseworker"),
            ("po-rsc", "regional-support-centre", "privacy-officer"),
            ("sv", "welfare-coordination", "supervisor"),
        ] {
            let (status, b) = app.caller(user, agency, role).post(&path, &erase).await;
            assert_eq!(status, 403, "{user}@{agency}: {b}");
        }
        let (status, b) = s.jobota.post("/v1/disclosures", &body).await;
        assert_eq!(status, 200, "still readable after refused erasures: {b}");

        let officer = app.caller("po-ward", "welfare-coordination", "privacy-officer");
        let (status, bad) = officer.post(&path, &json!({"ground": "because", "reason": "x"})).await;
        assert!(status == 400 || status == 422, "{bad}");
        let size = app.audit_size().await;
        let (status, erased) = officer.post(&path, &erase).await;
        assert_eq!(status, 200, "{erased}");
        assert_eq!(app.audit_size().await, size + 1, "one entry for the erasure");
        let entry = app.last_entry().await;
        assert_eq!(entry["event"], "subject-erased", "{entry}");
        assert_eq!(entry["reference"], "appi-deletion", "{entry}");
        let text = entry.to_string();
        assert!(
            !text.contains(&s.subject),
            "the log names the person by pseudonym only: {text}"
        );
        assert_eq!(erased["audit_receipt"]["index"].as_u64(), Some(size));

        // Nothing can be disclosed (a logged refusal with its code) or written any more.
        let (status, refused) = s.jobota.post("/v1/disclosures", &body).await;
        assert_eq!(status, 403, "{refused}");
        assert_eq!(refused["error"]["code"], "subject_erased", "{refused}");
        assert!(
            refused["error"]["audit_receipt"]["index"].is_u64(),
            "the refusal is logged: {refused}"
        );
        let (status, b) = s
            .owner
            .post(
                &format!("/v1/subjects/{}/records", s.subject),
                &json!({"purpose": "care", "sections": [{"category": "identity", "content": "new"}]}),
            )
            .await;
        assert_eq!(
            (status, b["error"]["code"].as_str()),
            (410, Some("subject_erased")),
            "{b}"
        );
        let (status, b) = s.owner.get(&format!("/v1/consents/{}", s.consent)).await;
        assert_eq!(
            (status, b["error"]["code"].as_str()),
            (410, Some("subject_erased")),
            "{b}"
        );
        let (status, again) = officer.post(&path, &erase).await;
        assert_eq!(
            (status, again["error"]["code"].as_str()),
            (410, Some("subject_erased")),
            "{again}"
        );
        // In the store itself the key is gone, not only refused by the API.
        let subject = tsunagi::domain::SubjectId::parse(&s.subject).unwrap();
        assert!(app.state.store.subject_erased(subject).await.unwrap());
        let keys = app.state.store.data_keys_by_kek().await.unwrap();
        assert!(keys.iter().all(|(id, _)| id != "erased"), "{keys:?}");

        // The log is whole: it verifies, and the report still lists the past disclosures.
        let report = verify(&app).await;
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        let (status, r) = officer.get(&format!("/v1/audit/subjects/{}/report", s.subject)).await;
        assert_eq!(status, 200, "{r}");
        let decisions: Vec<&str> = r["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["decision"].as_str().unwrap())
            .collect();
        assert_eq!(decisions, ["allowed", "allowed", "refused"], "{r}");
        app.stop().await;
    }
}
