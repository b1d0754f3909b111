//! Bad input gets a clear error with a machine-readable code and changes nothing.

use serde_json::json;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_and_changes_nothing() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let records_path = format!("/v1/subjects/{}/records", st.subject);
        let (_, before) = st.owner.get(&records_path).await;
        let audit_before = app.audit_size().await;

        // A My Number anywhere is refused.
        let (s, b) = st
            .owner
            .post(&records_path, &json!({"purpose": "care", "sections": [{"category": "identity", "content": "個人番号 1234-5678-9018"}]}))
            .await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (422, Some("my_number_refused")),
            "{b}"
        );
        assert_eq!(b["error"]["field"], "sections[0].content");
        let (s, b) = st
            .owner
            .post("/v1/subjects", &json!({"local_id": "123456789018"}))
            .await;
        assert_eq!((s, b["error"]["code"].as_str()), (422, Some("my_number_refused")));
        // Unknown category, unknown field, not JSON, too large.
        let (s, b) = st
            .owner
            .post(
                &records_path,
                &json!({"purpose": "care", "sections": [{"category": "secrets", "content": "x"}]}),
            )
            .await;
        assert_eq!((s, b["error"]["code"].as_str()), (422, Some("unknown_category")));
        let (s, b) = st
            .owner
            .post(&records_path, &json!({"purpose": "care", "sections": [], "extra": 1}))
            .await;
        assert_eq!((s, b["error"]["code"].as_str()), (400, Some("invalid_json")));
        let r = st
            .owner
            .client
            .post(app.url(&records_path))
            .bearer_auth(&st.owner.token)
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400);
        let big = "x".repeat(300 * 1024);
        let (s, b) = st
            .owner
            .post(
                &records_path,
                &json!({"purpose": "care", "sections": [{"category": "case-notes", "content": big}]}),
            )
            .await;
        assert_eq!((s, b["error"]["code"].as_str()), (413, Some("payload_too_large")));
        // Consent with a sealed category, an oral consent without witness, a period that ends first.
        let consents_path = format!("/v1/subjects/{}/consents", st.subject);
        let mut c = consent_body("2026-01-01T00:00:00Z", "2099-01-01T00:00:00Z");
        c["categories"] = json!(["reporter-identity"]);
        let (s, b) = st.owner.post(&consents_path, &c).await;
        assert_eq!((s, b["error"]["code"].as_str()), (422, Some("category_sealed")));
        let mut c = consent_body("2026-01-01T00:00:00Z", "2099-01-01T00:00:00Z");
        c["method"] = json!("oral-with-witness");
        let (s, b) = st.owner.post(&consents_path, &c).await;
        assert_eq!((s, b["error"]["code"].as_str()), (422, Some("witness_required")));
        let c = consent_body("2099-01-01T00:00:00Z", "2026-01-01T00:00:00Z");
        let (s, b) = st.owner.post(&consents_path, &c).await;
        assert_eq!((s, b["error"]["code"].as_str()), (422, Some("invalid_period")));
        // A disclosure request with an unknown basis.
        let mut d = disclosure_body(&st.subject, &st.consent, "employment support");
        d["basis"] = json!({"type": "gut-feeling"});
        let (s, b) = st.jobota.post("/v1/disclosures", &d).await;
        assert_eq!((s, b["error"]["code"].as_str()), (422, Some("unknown_basis")));
        // Another agency cannot write records about a subject it does not know.
        let (s, b) = st
            .jobota
            .post(
                &records_path,
                &json!({"purpose": "x", "sections": [{"category": "identity", "content": "x"}]}),
            )
            .await;
        assert_eq!((s, b["error"]["code"].as_str()), (404, Some("subject_not_found")));

        let (_, after) = st.owner.get(&records_path).await;
        assert_eq!(before, after, "no record changed");
        assert_eq!(
            app.audit_size().await,
            audit_before,
            "no decision was made, nothing logged"
        );
        let (_, consents) = st.owner.get(&consents_path).await;
        assert_eq!(consents.as_array().unwrap().len(), 1, "no consent was added");
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_describes_the_api() {
    let app = spawn_app(Engine::Sqlite).await;
    let r = agency_client("jobota")
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let doc: serde_json::Value = r.json().await.unwrap();
    assert!(doc["paths"]["/v1/disclosures"]["post"].is_object());
    assert!(doc["paths"]["/v1/subjects/{id}/consents"]["post"].is_object());
    app.stop().await;
}
