//! "No content without a durable audit entry": when the log cannot be written, nothing leaves.
//! And concurrent requests share commits without losing or duplicating an index.

use sqlx::Connection;

use crate::helpers::*;

pub async fn break_audit_store(app: &TestApp) {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&app.database_url).await.unwrap();
    let sql = match app.engine {
        Engine::Sqlite => {
            "CREATE TRIGGER audit_broken BEFORE INSERT ON audit_entries BEGIN SELECT RAISE(ABORT, 'simulated storage failure'); END;"
        }
        Engine::Postgres => {
            "CREATE FUNCTION audit_broken() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'simulated storage failure'; END; $$ LANGUAGE plpgsql; \
             CREATE TRIGGER audit_broken BEFORE INSERT ON audit_entries FOR EACH ROW EXECUTE FUNCTION audit_broken();"
        }
    };
    sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_audit_store_stops_the_disclosure() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let before = app.audit_size().await;
        break_audit_store(&app).await;
        let r = st
            .jobota
            .client
            .post(app.url("/v1/disclosures"))
            .bearer_auth(&st.jobota.token)
            .json(&disclosure_body(&st.subject, &st.consent, "employment support"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 503);
        let text = r.text().await.unwrap();
        assert!(text.contains("\"audit_unavailable\""), "{text}");
        assert!(!text.contains("山田"), "no content may leave: {text}");
        assert!(
            !text.contains("simulated storage failure"),
            "no internals in the body: {text}"
        );
        assert_eq!(app.audit_size().await, before, "nothing was recorded");
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_disclosures_get_distinct_gapless_indexes() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let st = story(&app).await;
        let before = app.audit_size().await;
        let body = disclosure_body(&st.subject, &st.consent, "employment support");
        let mut tasks = Vec::new();
        for _ in 0..48 {
            let client = st.jobota.client.clone();
            let token = st.jobota.token.clone();
            let url = app.url("/v1/disclosures");
            let body = body.clone();
            tasks.push(tokio::spawn(async move {
                let r = client.post(url).bearer_auth(token).json(&body).send().await.unwrap();
                assert_eq!(r.status().as_u16(), 200);
                let v: serde_json::Value = r.json().await.unwrap();
                v["audit_receipt"]["index"].as_u64().unwrap()
            }));
        }
        let mut indexes = Vec::new();
        for t in tasks {
            indexes.push(t.await.unwrap());
        }
        indexes.sort_unstable();
        let expected: Vec<u64> = (before..before + 48).collect();
        assert_eq!(indexes, expected, "{engine:?}");
        assert_eq!(app.audit_size().await, before + 48);
        app.stop().await;
    }
}
