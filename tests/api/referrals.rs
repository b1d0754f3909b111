//! Referrals (つなぎ, docs/rules.md#R-T1–R-T3) over the real API, on both engines: the
//! regional support centre refers a person to JOBOTA under the person's consent; JOBOTA reads
//! what travels with it (a logged disclosure), accepts and links the person under its own case
//! number; a declined or withdrawn referral leaves JOBOTA only the fact of it; a basis that does
//! not name the receiving agency is refused; a revoked consent refuses the material (on record);
//! and with the log broken nothing changes.

use serde_json::{Value, json};
use sqlx::Connection;

use crate::helpers::*;

const NOTE: &str = "本人は就労を希望。午前中の面談が望ましい。";

fn referral_body(subject: &str, consent: &str) -> Value {
    json!({
        "subject_id": subject,
        "to_agency": "jobota",
        "purpose": "employment support",
        "categories": ["identity", "employment"],
        "basis": {"type": "consent", "consent_id": consent},
        "note": NOTE,
    })
}

/// Makes the story's referral to JOBOTA; returns its id.
async fn refer(st: &Story) -> String {
    let (s, r) = st
        .owner
        .post("/v1/referrals", &referral_body(&st.subject, &st.consent))
        .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["state"], "pending", "{r}");
    r["id"].as_str().unwrap().to_owned()
}

async fn sql_count(app: &TestApp, sql: &str) -> i64 {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&app.database_url).await.unwrap();
    let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    n
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

async fn break_log(app: &TestApp) {
    run_sql(
        app,
        match app.engine {
            Engine::Sqlite => {
                "CREATE TRIGGER audit_broken BEFORE INSERT ON audit_entries BEGIN SELECT RAISE(ABORT, 'simulated storage failure'); END;"
            }
            Engine::Postgres => {
                "CREATE FUNCTION audit_broken() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'simulated storage failure'; END; $$ LANGUAGE plpgsql; \
                 CREATE TRIGGER audit_broken BEFORE INSERT ON audit_entries FOR EACH ROW EXECUTE FUNCTION audit_broken();"
            }
        },
    )
    .await;
}

async fn repair_log(app: &TestApp) {
    run_sql(
        app,
        match app.engine {
            Engine::Sqlite => "DROP TRIGGER audit_broken;",
            Engine::Postgres => "DROP TRIGGER audit_broken ON audit_entries; DROP FUNCTION audit_broken();",
        },
    )
    .await;
}

fn code(r: &Value) -> &str {
    r["error"]["code"].as_str().unwrap_or_default()
}

async fn notices(c: &Caller, kind: &str, reference: &str) -> usize {
    let (s, n) = c.get("/v1/notifications").await;
    assert_eq!(s, 200, "{n}");
    n.as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == kind && n["reference"] == reference)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_referral_is_made_its_material_released_on_record_and_accepted_with_a_link() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let id = refer(&st).await;
        let made = app.last_entry().await;
        assert_eq!(made["kind"], "event", "{made}");
        assert_eq!(made["event"], "referral-made", "{made}");
        assert_eq!(made["reference"], id.as_str());
        assert!(
            !made.to_string().contains(NOTE),
            "the note never goes on the log: {made}"
        );
        // The note is sealed at rest.
        assert_eq!(
            sql_count(&app, "SELECT COUNT(*) FROM referrals WHERE note_ciphertext IS NOT NULL").await,
            1
        );

        // Inbox and outbox; the facts, never the note.
        let (s, inbox) = st.jobota.get("/v1/referrals?box=incoming").await;
        assert_eq!(s, 200, "{inbox}");
        let listed = &inbox["referrals"][0];
        assert_eq!(listed["id"], id.as_str());
        assert_eq!(listed["from_agency"], "regional-support-centre");
        assert_eq!(listed["has_note"], true);
        assert_eq!(listed["direction"], "incoming");
        assert!(!inbox.to_string().contains(NOTE));
        let (_, outbox) = st.owner.get("/v1/referrals?box=outgoing").await;
        assert_eq!(outbox["referrals"][0]["id"], id.as_str(), "{outbox}");
        let (_, empty) = st.owner.get("/v1/referrals").await;
        assert_eq!(empty["referrals"], json!([]), "the centre received none: {empty}");
        let (s, bad) = st.owner.get("/v1/referrals?box=sideways").await;
        assert_eq!((s, code(&bad)), (400, "invalid_query"));
        assert_eq!(notices(&st.jobota, "referral-made", &id).await, 1);

        // JOBOTA reads what travels with it: one disclosure entry, the note listed.
        let before = app.audit_size().await;
        let (s, m) = st
            .jobota
            .post(&format!("/v1/referrals/{id}/material"), &json!({}))
            .await;
        assert_eq!(s, 200, "{engine:?}: {m}");
        assert_eq!(m["note"], NOTE);
        assert_eq!(m["disclosed"], json!(["identity", "employment"]));
        let contents: Vec<&str> = m["sections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["content"].as_str().unwrap())
            .collect();
        assert!(contents.iter().any(|c| c.contains("part-time")), "{contents:?}");
        assert!(!m.to_string().contains("insulin"), "health did not travel: {m}");
        assert_eq!(app.audit_size().await, before + 1);
        let entry = app.last_entry().await;
        assert_eq!(entry["kind"], "disclosure");
        assert_eq!(entry["decision"], "allowed");
        assert_eq!(entry["requester"]["agency"], "jobota");
        assert_eq!(entry["owner_agency"], "regional-support-centre");
        assert_eq!(entry["basis"]["consent_id"], st.consent.as_str());
        assert_eq!(entry["attached"], json!([format!("referral-note:{id}")]));
        assert_eq!(m["audit_receipt"]["index"], before);

        // Accept, linking the person under JOBOTA's case number.
        let (s, a) = st
            .jobota
            .post(&format!("/v1/referrals/{id}/accept"), &json!({"local_id": "JOB-0042"}))
            .await;
        assert_eq!(s, 200, "{a}");
        assert_eq!(a["state"], "accepted");
        assert!(a["answered_at"].is_string(), "{a}");
        assert_eq!(a["local_id"], "JOB-0042");
        assert_eq!(app.last_entry().await["event"], "referral-accepted");
        let (s, found) = st.jobota.get("/v1/subjects/by-local-id/JOB-0042").await;
        assert_eq!((s, found["id"].as_str()), (200, Some(st.subject.as_str())), "{found}");
        assert_eq!(notices(&st.owner, "referral-accepted", &id).await, 1);
        // The referring agency does not learn JOBOTA's case number.
        let (_, seen) = st.owner.get(&format!("/v1/referrals/{id}")).await;
        assert_eq!(seen["state"], "accepted");
        assert_eq!(seen["local_id"], Value::Null, "{seen}");

        // Wrong-state transitions are 409 with a code.
        let (s, again) = st
            .jobota
            .post(&format!("/v1/referrals/{id}/decline"), &json!({"reason": "too late"}))
            .await;
        assert_eq!((s, code(&again)), (409, "referral_not_pending"), "{again}");
        let (s, w) = st.owner.post(&format!("/v1/referrals/{id}/withdraw"), &json!({})).await;
        assert_eq!((s, code(&w)), (409, "referral_not_pending"), "{w}");
        // Accepted: the material stays readable.
        let (s, m) = st
            .jobota
            .post(&format!("/v1/referrals/{id}/material"), &json!({}))
            .await;
        assert_eq!(s, 200, "{m}");
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_referral_leaves_the_receiver_nothing_but_the_fact() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let id = refer(&st).await;
        let (s, r) = st.jobota.post(&format!("/v1/referrals/{id}/decline"), &json!({})).await;
        assert_eq!((s, code(&r)), (422, "missing_field"), "a decline needs a reason: {r}");
        let (s, r) = st
            .jobota
            .post(
                &format!("/v1/referrals/{id}/decline"),
                &json!({"reason": "outside our remit: no employment support for this age group"}),
            )
            .await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["state"], "declined");
        assert!(r["answered_at"].is_string());
        assert_eq!(app.last_entry().await["event"], "referral-declined");
        assert_eq!(notices(&st.owner, "referral-declined", &id).await, 1);

        let before = app.audit_size().await;
        let (s, m) = st
            .jobota
            .post(&format!("/v1/referrals/{id}/material"), &json!({}))
            .await;
        assert_eq!((s, code(&m)), (409, "referral_closed"), "{m}");
        assert!(!m.to_string().contains(NOTE));
        assert_eq!(app.audit_size().await, before, "nothing was asked, nothing released");
        let (s, fact) = st.jobota.get(&format!("/v1/referrals/{id}")).await;
        assert_eq!(s, 200, "{fact}");
        assert_eq!(fact["state"], "declined");
        assert_eq!(fact["from_agency"], "regional-support-centre");
        assert!(!fact.to_string().contains(NOTE));
        // Not linked, and JOBOTA cannot read the centre's records on the strength of it.
        assert_eq!(
            sql_count(&app, "SELECT COUNT(*) FROM subject_links WHERE agency_id = 'jobota'").await,
            0
        );
        let (s, a) = st
            .jobota
            .post(&format!("/v1/referrals/{id}/accept"), &json!({"local_id": "JOB-9"}))
            .await;
        assert_eq!((s, code(&a)), (409, "referral_not_pending"), "{a}");
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_referrer_withdraws_a_pending_referral_and_only_the_referrer_may() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let id = refer(&st).await;
        let (s, r) = st
            .jobota
            .post(&format!("/v1/referrals/{id}/withdraw"), &json!({}))
            .await;
        assert_eq!((s, code(&r)), (403, "not_referring_agency"), "{r}");
        let (s, r) = st
            .owner
            .post(
                &format!("/v1/referrals/{id}/withdraw"),
                &json!({"reason": "the person moved away"}),
            )
            .await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["state"], "withdrawn");
        assert_eq!(r["reason"], "the person moved away");
        assert_eq!(app.last_entry().await["event"], "referral-withdrawn");
        assert_eq!(notices(&st.jobota, "referral-withdrawn", &id).await, 1);
        let (s, m) = st
            .jobota
            .post(&format!("/v1/referrals/{id}/material"), &json!({}))
            .await;
        assert_eq!((s, code(&m)), (409, "referral_closed"), "{m}");
        let (s, a) = st
            .jobota
            .post(&format!("/v1/referrals/{id}/accept"), &json!({"local_id": "JOB-1"}))
            .await;
        assert_eq!((s, code(&a)), (409, "referral_not_pending"), "{a}");
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agencies_and_roles_outside_the_referral_are_refused() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let id = refer(&st).await;
        let sapota = app.caller("suzuki", "sapota", "caseworker");
        for (path, body) in [
            (format!("/v1/referrals/{id}/accept"), json!({"local_id": "SAP-1"})),
            (format!("/v1/referrals/{id}/decline"), json!({"reason": "x"})),
            (format!("/v1/referrals/{id}/withdraw"), json!({})),
            (format!("/v1/referrals/{id}/material"), json!({})),
        ] {
            let (s, r) = sapota.post(&path, &body).await;
            assert_eq!((s, code(&r)), (404, "referral_not_found"), "{path}: {r}");
        }
        let (s, r) = sapota.get(&format!("/v1/referrals/{id}")).await;
        assert_eq!((s, code(&r)), (404, "referral_not_found"), "{r}");
        let (_, inbox) = sapota.get("/v1/referrals").await;
        assert_eq!(inbox["referrals"], json!([]));
        // The referrer neither answers nor receives its own referral.
        let (s, r) = st
            .owner
            .post(&format!("/v1/referrals/{id}/accept"), &json!({"local_id": "RSC-2"}))
            .await;
        assert_eq!((s, code(&r)), (403, "not_receiving_agency"), "{r}");
        let (s, r) = st.owner.post(&format!("/v1/referrals/{id}/material"), &json!({})).await;
        assert_eq!((s, code(&r)), (403, "not_receiving_agency"), "{r}");
        // Roles the policy gives no referral action.
        let system = app.caller("jobota-sys", "jobota", "system");
        let (s, r) = system
            .post(&format!("/v1/referrals/{id}/accept"), &json!({"local_id": "JOB-3"}))
            .await;
        assert_eq!((s, code(&r)), (403, "forbidden_by_policy"), "{r}");
        let officer = app.caller("ito", "regional-support-centre", "privacy-officer");
        let (s, r) = officer
            .post("/v1/referrals", &referral_body(&st.subject, &st.consent))
            .await;
        assert_eq!((s, code(&r)), (403, "forbidden_by_policy"), "{r}");
        // An agency that does not know the person cannot refer them.
        let (s, r) = sapota
            .post(
                "/v1/referrals",
                &json!({"subject_id": st.subject, "to_agency": "jobota", "purpose": "employment support",
                        "categories": ["identity"], "basis": {"type": "consent", "consent_id": st.consent}}),
            )
            .await;
        assert_eq!((s, code(&r)), (404, "subject_not_found"), "{r}");
        let (s, r) = st.owner.get("/v1/referrals/not-a-uuid").await;
        assert_eq!((s, code(&r)), (404, "referral_not_found"), "{r}");
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_basis_that_does_not_name_the_receiver_or_cover_the_categories_is_refused() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let before = app.audit_size().await;
        let cases = [
            ("to_agency", json!("sapota"), "consent_recipient_not_in_scope"),
            ("categories", json!(["identity", "health"]), "category_not_covered"),
            ("purpose", json!("housing support"), "consent_purpose_not_in_scope"),
            ("to_agency", json!("regional-support-centre"), "same_agency"),
            ("to_agency", json!("nowhere"), "agency_unknown"),
            ("categories", json!([]), "empty"),
            ("categories", json!(["reporter-identity"]), "category_sealed"),
            ("note", json!("マイナンバー 123456789018"), "my_number_refused"),
            ("basis", json!({"type": "emergency", "grant_id": "x"}), "invalid_json"),
            ("basis", json!({"type": "internal"}), "basis_not_allowed"),
            ("basis", json!({"type": "consent"}), "missing_field"),
            (
                "basis",
                json!({"type": "consent", "consent_id": "00000000-0000-4000-8000-000000000000"}),
                "consent_not_found",
            ),
            (
                "basis",
                json!({"type": "support-meeting", "session_id": "00000000-0000-4000-8000-000000000000"}),
                "not_session_member",
            ),
        ];
        for (field, value, expected) in cases {
            let mut body = referral_body(&st.subject, &st.consent);
            body[field] = value.clone();
            let (s, r) = st.owner.post("/v1/referrals", &body).await;
            let want = if expected == "invalid_json" { 400 } else { 422 };
            assert_eq!((s, code(&r)), (want, expected), "{engine:?} {field}={value}: {r}");
        }
        assert_eq!(app.audit_size().await, before, "bad input logs nothing");
        assert_eq!(sql_count(&app, "SELECT COUNT(*) FROM referrals").await, 0);
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_consent_refuses_the_material_on_record() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let id = refer(&st).await;
        let (s, r) = st
            .owner
            .post(
                &format!("/v1/consents/{}/revoke", st.consent),
                &json!({"reason": "the person withdrew consent"}),
            )
            .await;
        assert_eq!(s, 200, "{r}");
        let before = app.audit_size().await;
        let (s, m) = st
            .jobota
            .post(&format!("/v1/referrals/{id}/material"), &json!({}))
            .await;
        assert_eq!((s, code(&m)), (403, "consent_revoked"), "{m}");
        assert!(m["error"]["audit_receipt"].is_object(), "{m}");
        assert!(!m.to_string().contains(NOTE));
        assert_eq!(app.audit_size().await, before + 1);
        let entry = app.last_entry().await;
        assert_eq!(entry["decision"], "refused");
        assert_eq!(entry["reason"], "consent_revoked");
        assert_eq!(entry.get("attached"), None, "the note was not released: {entry}");
        // A new referral on the revoked consent is refused too.
        let (s, r) = st
            .owner
            .post("/v1/referrals", &referral_body(&st.subject, &st.consent))
            .await;
        assert_eq!((s, code(&r)), (422, "consent_revoked"), "{r}");
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_log_broken_no_referral_changes_and_nothing_is_released() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let id = refer(&st).await;
        let notices_before = sql_count(&app, "SELECT COUNT(*) FROM notifications").await;
        break_log(&app).await;
        let (s, r) = st
            .owner
            .post("/v1/referrals", &referral_body(&st.subject, &st.consent))
            .await;
        assert_eq!((s, code(&r)), (503, "audit_unavailable"), "{r}");
        for (who, path, body) in [
            (&st.jobota, "accept", json!({"local_id": "JOB-7"})),
            (&st.jobota, "decline", json!({"reason": "no capacity"})),
            (&st.owner, "withdraw", json!({})),
            (&st.jobota, "material", json!({})),
        ] {
            let (s, r) = who.post(&format!("/v1/referrals/{id}/{path}"), &body).await;
            assert_eq!((s, code(&r)), (503, "audit_unavailable"), "{path}: {r}");
            assert!(!r.to_string().contains(NOTE));
        }
        repair_log(&app).await;
        assert_eq!(sql_count(&app, "SELECT COUNT(*) FROM referrals").await, 1);
        assert_eq!(
            sql_count(
                &app,
                "SELECT COUNT(*) FROM referrals WHERE state = 'pending' AND answered_at_ms IS NULL"
            )
            .await,
            1
        );
        assert_eq!(
            sql_count(&app, "SELECT COUNT(*) FROM subject_links WHERE agency_id = 'jobota'").await,
            0
        );
        assert_eq!(
            sql_count(&app, "SELECT COUNT(*) FROM notifications").await,
            notices_before
        );
        let (s, r) = st
            .jobota
            .post(&format!("/v1/referrals/{id}/accept"), &json!({"local_id": "JOB-7"}))
            .await;
        assert_eq!(s, 200, "with the log repaired the referral is answered: {r}");
        app.stop().await;
    }
}
