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

/// A My Number (526044213780, valid check digit) in the spellings the attack used.
const MY_NUMBER_SPELLINGS: [&str; 8] = [
    "５２６０ー４４２１ー３７８０",
    "5260.4421.3780",
    "5260\u{200B}4421\u{200B}3780",
    "五二六〇四四二一三七八〇",
    "٥٢٦٠٤٤٢١٣٧٨٠",
    "5260\u{A0}4421\u{A0}3780",
    "526-044-213-780",
    "52604421\u{2010}3780",
];

fn in_days(days: i64) -> String {
    (time::OffsetDateTime::now_utc() + time::Duration::days(days))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// Percent-encodes a path segment (every byte that is not unreserved).
fn path_segment(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn my_number_in_free_text_is_refused_in_every_spelling_and_nothing_is_logged() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let records_path = format!("/v1/subjects/{}/records", st.subject);
        let (_, records_before) = st.owner.get(&records_path).await;
        let audit_before = app.audit_size().await;
        for spelling in MY_NUMBER_SPELLINGS {
            // In a disclosure's justification: refused before any decision is logged.
            let mut d = disclosure_body(&st.subject, &st.consent, "employment support");
            d["justification"] = json!(format!("本人の個人番号は {spelling} です"));
            let (s, b) = st.jobota.post("/v1/disclosures", &d).await;
            assert_eq!(
                (s, b["error"]["code"].as_str(), b["error"]["field"].as_str()),
                (422, Some("my_number_refused"), Some("justification")),
                "{engine:?} {spelling:?}: {b}"
            );
            // In a record's content and purpose.
            let (s, b) = st
                .owner
                .post(
                    &records_path,
                    &json!({"purpose": "care", "sections": [{"category": "identity", "content": format!("番号\n{spelling}\n")}]}),
                )
                .await;
            assert_eq!(
                (s, b["error"]["code"].as_str()),
                (422, Some("my_number_refused")),
                "{spelling:?}: {b}"
            );
            let (s, b) = st
                .owner
                .post(
                    &records_path,
                    &json!({"purpose": format!("care {spelling}"), "sections": [{"category": "identity", "content": "x"}]}),
                )
                .await;
            assert_eq!(
                (s, b["error"]["code"].as_str()),
                (422, Some("my_number_refused")),
                "{spelling:?}: {b}"
            );
        }
        // The same digits with a wrong check digit are an ordinary number.
        let mut d = disclosure_body(&st.subject, &st.consent, "employment support");
        d["justification"] = json!("照会番号 ５２６０ー４４２１ー３７８１");
        let (s, b) = st.jobota.post("/v1/disclosures", &d).await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(
            app.audit_size().await,
            audit_before + 1,
            "only the allowed disclosure is logged"
        );
        let entries = app
            .state
            .store
            .audit_entries(0, u32::try_from(audit_before + 1).unwrap())
            .await
            .unwrap();
        for e in entries {
            let text = String::from_utf8_lossy(&e.entry).to_string();
            assert!(
                !tsunagi::domain::my_number::contains_individual_number(&text),
                "no My Number in the log: {text}"
            );
        }
        let (_, records_after) = st.owner.get(&records_path).await;
        assert_eq!(records_before, records_after, "no record was written");
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn my_number_is_never_an_id_and_nothing_is_stored_or_logged() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let sec = app.caller("kato", "welfare-coordination", "meeting-secretariat");
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
        let session = session["id"].as_str().unwrap().to_owned();
        let supervisor = app.caller("ito", "regional-support-centre", "supervisor");
        let (_, session_before) = sec.get(&format!("/v1/sessions/{session}")).await;
        let audit_before = app.audit_size().await;

        for my_number in ["526044213780", "5260-4421-3780", "5260.4421.3780", "u-526044213780"] {
            let expect = |what: &str, s: u16, b: &serde_json::Value, field: &str| {
                assert_eq!(
                    (s, b["error"]["code"].as_str(), b["error"]["field"].as_str()),
                    (422, Some("my_number_refused"), Some(field)),
                    "{engine:?} {what} {my_number}: {b}"
                );
            };
            let (s, b) = sec
                .post(
                    &format!("/v1/sessions/{session}/roster"),
                    &json!({"user_id": my_number, "agency_id": "sapota"}),
                )
                .await;
            expect("roster", s, &b, "user_id");
            let (s, b) = sec
                .post(
                    &format!("/v1/sessions/{session}/followups"),
                    &json!({"subject_id": st.subject, "user_id": my_number, "agency_id": "sapota", "until": in_days(30)}),
                )
                .await;
            expect("follow-up", s, &b, "user_id");
            let (s, b) = sec
                .post(
                    &format!("/v1/sessions/{session}/info-requests"),
                    &json!({"asked_agency": "regional-support-centre", "subject_id": st.subject,
                            "recipient_user": my_number, "recipient_agency": "welfare-coordination"}),
                )
                .await;
            expect("info request", s, &b, "recipient_user");
            let (s, b) = supervisor
                .post(
                    &format!("/v1/subjects/{}/assignments", st.subject),
                    &json!({"user_id": my_number}),
                )
                .await;
            expect("assignment", s, &b, "user_id");
            let (s, b) = st.owner.post("/v1/subjects", &json!({"local_id": my_number})).await;
            expect("local id", s, &b, "local_id");

            // A token naming a My Number as its subject is refused like any invalid token.
            let forged = Caller {
                client: agency_client("jobota"),
                token: token(my_number, "jobota", &["caseworker"]),
                base: app.url(""),
            };
            let (s, b) = forged.get("/v1/agencies").await;
            assert_eq!(
                (s, b["error"]["code"].as_str()),
                (401, Some("token_subject_refused")),
                "{engine:?} token sub {my_number}: {b}"
            );
            let (s, b) = forged
                .post(
                    "/v1/disclosures",
                    &disclosure_body(&st.subject, &st.consent, "employment support"),
                )
                .await;
            assert_eq!(s, 401, "{b}");
        }
        let (_, session_after) = sec.get(&format!("/v1/sessions/{session}")).await;
        assert_eq!(session_before, session_after, "roster and agenda unchanged");
        assert_eq!(app.audit_size().await, audit_before, "nothing was logged");
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn look_alike_local_ids_are_one_subject_or_refused() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await; // knows the person as RSC-0001
        // Invisible and format characters are refused, whatever else the id says.
        for hidden in [
            "RSC\u{200B}-0001",
            "\u{FEFF}RSC-0001",
            "\u{200F}RSC-0001",
            "RSC-0001\u{200E}",
            "\u{202E}1000-CSR",
            "RSC\u{2060}-0001",
            "RSC\u{00AD}-0001",
            "RSC-0001\n",
        ] {
            let (s, b) = st.owner.post("/v1/subjects", &json!({"local_id": hidden})).await;
            assert_eq!(
                (s, b["error"]["code"].as_str(), b["error"]["field"].as_str()),
                (422, Some("invisible_characters"), Some("local_id")),
                "{engine:?} {hidden:?}: {b}"
            );
            let (s, b) = st
                .owner
                .get(&format!("/v1/subjects/by-local-id/{}", path_segment(hidden)))
                .await;
            assert_eq!(
                (s, b["error"]["code"].as_str()),
                (422, Some("invisible_characters")),
                "{hidden:?}: {b}"
            );
        }
        // Look-alikes are the same local id: the subject exists already.
        for same in [
            "ＲＳＣ－０００１",
            "ＲＳＣ-０００１",
            "RSC\u{2010}0001",
            "RSC\u{2212}0001",
            " RSC-0001 ",
            "\u{3000}RSC-0001",
        ] {
            let (s, b) = st.owner.post("/v1/subjects", &json!({"local_id": same})).await;
            assert_eq!(
                (s, b["error"]["code"].as_str()),
                (409, Some("local_id_taken")),
                "{engine:?} {same:?}: {b}"
            );
            let (s, b) = st
                .owner
                .get(&format!("/v1/subjects/by-local-id/{}", path_segment(same)))
                .await;
            assert_eq!(s, 200, "{same:?}: {b}");
            assert_eq!(b["id"], st.subject.as_str());
            assert_eq!(b["local_id"], "RSC-0001");
            let (s, b) = st
                .owner
                .post(
                    &format!("/v1/subjects/{}/links", st.subject),
                    &json!({"local_id": same}),
                )
                .await;
            assert_eq!(
                (s, b["error"]["code"].as_str()),
                (409, Some("local_id_taken")),
                "{same:?}: {b}"
            );
        }
        // A new id is stored in its normalised form.
        let (s, b) = st
            .owner
            .post("/v1/subjects", &json!({"local_id": " ＲＳＣ－０００２ "}))
            .await;
        assert_eq!(s, 201, "{b}");
        assert_eq!(b["local_id"], "RSC-0002");
        let (s, found) = st.owner.get("/v1/subjects/by-local-id/RSC-0002").await;
        assert_eq!((s, &found["id"]), (200, &b["id"]));
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_declares_the_answers_it_can_give() {
    let app = spawn_app(Engine::Sqlite).await;
    let r = agency_client("jobota")
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    let doc: serde_json::Value = r.json().await.unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let mut operations = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            let has = |s: &str| responses.contains_key(s);
            if path.starts_with("/v1/") {
                for s in ["401", "403", "500"] {
                    assert!(has(s), "{method} {path} does not declare {s}");
                }
            }
            if op.get("requestBody").is_some() {
                for s in ["400", "413", "415", "422"] {
                    assert!(has(s), "{method} {path} does not declare {s}");
                }
            }
            if path.contains('{') {
                assert!(has("404") && has("422"), "{method} {path}");
            }
            if path.starts_with("/v1/") {
                assert_eq!(
                    responses["401"]["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/ErrorBody",
                    "{method} {path}: error answers carry the error body"
                );
            }
            operations += 1;
        }
    }
    assert!(operations >= 50, "{operations} operations");
    // A change that is logged can fail for want of the log, and any operation for want of the
    // database (tests/api/faults.rs): every /v1 operation declares 503.
    for (path, method) in [
        ("/v1/disclosures", "post"),
        ("/v1/consents/{id}/revoke", "post"),
        ("/v1/subjects", "post"),
        ("/v1/subjects/{id}/consents", "get"),
    ] {
        assert!(paths[path][method]["responses"].get("503").is_some(), "{method} {path}");
    }

    // A query string that cannot be read is a 400 with the usual error body.
    let po = app.caller("admin", "welfare-coordination", "policy-admin");
    let (s, b) = po.get("/v1/policy/diff?from=abc&to=1").await;
    assert_eq!((s, b["error"]["code"].as_str()), (400, Some("invalid_query")), "{b}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_search_cursor_beyond_any_index_finds_nothing_rather_than_failing() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let officer = app.caller("mori", "welfare-coordination", "privacy-officer");
        for after in ["9223372036854775807", "9223372036854775808", "18446744073709551615"] {
            let (s, b) = officer.get(&format!("/v1/audit/entries?after={after}")).await;
            assert_eq!(s, 200, "{engine:?} after={after}: {b}");
            assert_eq!(b["entries"], serde_json::json!([]), "{b}");
        }
        app.stop().await;
    }
}
