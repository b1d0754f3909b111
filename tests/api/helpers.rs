//! Spawning a real hub for a test and talking to it as an agency would.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value, json};
use sqlx::Connection;
use tsunagi::clock::SystemClock;
use tsunagi::config::Config;
use tsunagi::startup::Application;
use tsunagi::state::AppState;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn dev(path: &str) -> PathBuf {
    repo().join("certs-dev").join(path)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// SQLite always; PostgreSQL when `TSUNAGI_TEST_POSTGRES_URL` names a server.
pub fn engines() -> Vec<Engine> {
    let mut v = vec![Engine::Sqlite];
    if std::env::var("TSUNAGI_TEST_POSTGRES_URL").is_ok_and(|u| !u.is_empty()) {
        v.push(Engine::Postgres);
    }
    v
}

/// Creates a fresh PostgreSQL database and returns its URL.
pub async fn fresh_postgres_db() -> String {
    let admin = std::env::var("TSUNAGI_TEST_POSTGRES_URL").expect("TSUNAGI_TEST_POSTGRES_URL");
    let name = format!("tsunagi_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("connect to the PostgreSQL test server");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut conn)
        .await
        .expect("create database");
    let _ = conn.close().await;
    let (base, query) = admin
        .split_once('?')
        .map_or((admin.as_str(), None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{name}?{q}"),
        None => format!("{host_part}/{name}"),
    }
}

/// Drops a test database made by [`fresh_postgres_db`].
pub async fn drop_postgres_db(url: &str) {
    let admin = std::env::var("TSUNAGI_TEST_POSTGRES_URL").expect("TSUNAGI_TEST_POSTGRES_URL");
    let name = url
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned();
    assert!(name.starts_with("tsunagi_test_"), "refusing to drop {name}");
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("connect to the PostgreSQL test server");
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await;
    let _ = conn.close().await;
}

pub struct TestApp {
    pub port: u16,
    pub engine: Engine,
    pub state: AppState,
    pub database_url: String,
    pub handle: actix_web::dev::ServerHandle,
    /// The application's background tasks (stopped with the server).
    pub tasks: tsunagi::tasks::BackgroundTasks,
    /// Keeps the SQLite file alive for the test's duration.
    pub _dir: tempfile::TempDir,
}

pub fn test_config(database_url: &str) -> Config {
    let mut c = Config::rooted_at(&repo());
    c.listen = "127.0.0.1:0".parse().unwrap();
    c.database_url = database_url.to_owned();
    c.workers = 2;
    c
}

pub async fn spawn_app(engine: Engine) -> TestApp {
    spawn_app_with_clock(engine, Arc::new(SystemClock)).await
}

/// Like [`spawn_app`], with the configuration adjusted first.
pub async fn spawn_app_with(engine: Engine, tweak: impl FnOnce(&mut Config)) -> TestApp {
    spawn_configured(engine, None, Arc::new(SystemClock), tweak).await
}

/// A hub whose clock the test controls (validity periods, windows, grant expiry).
pub async fn spawn_app_with_clock(engine: Engine, clock: Arc<dyn tsunagi::clock::Clock>) -> TestApp {
    spawn_configured(engine, None, clock, |_| {}).await
}

/// A hub with a tweaked configuration, on a fresh database or on `database_url` (a second
/// instance of the same deployment).
pub async fn spawn_configured(
    engine: Engine,
    database_url: Option<String>,
    clock: Arc<dyn tsunagi::clock::Clock>,
    tweak: impl FnOnce(&mut Config),
) -> TestApp {
    tsunagi::tls::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let database_url = match (database_url, engine) {
        (Some(url), _) => url,
        (None, Engine::Sqlite) => format!("sqlite://{}", dir.path().join("tsunagi.db").display()),
        (None, Engine::Postgres) => fresh_postgres_db().await,
    };
    let mut config = test_config(&database_url);
    tweak(&mut config);
    let app = Application::build_with_clock(config, clock).await.expect("build app");
    let port = app.port();
    let state = app.state().clone();
    let handle = app.handle();
    let tasks = app.background_tasks().clone();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        port,
        engine,
        state,
        database_url,
        handle,
        tasks,
        _dir: dir,
    }
}

/// A TLS client presenting `certs-dev/clients/<name>.pem` (or no certificate).
pub fn client_with(cert: Option<(&Path, &Path)>) -> reqwest::Client {
    let tls = tsunagi::tls::client_config(&dev("ca.pem"), cert).unwrap();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .unwrap()
}

pub fn agency_client(agency: &str) -> reqwest::Client {
    let cert = dev(&format!("clients/{agency}.pem"));
    let key = dev(&format!("clients/{agency}.key"));
    client_with(Some((&cert, &key)))
}

pub fn token(user: &str, agency: &str, roles: &[&str]) -> String {
    token_at(user, agency, roles, time::OffsetDateTime::now_utc())
}

/// A token issued at `now` (the hub judges `exp` and `nbf` by its own clock).
pub fn token_at(user: &str, agency: &str, roles: &[&str], now: time::OffsetDateTime) -> String {
    let key = std::fs::read(dev("jwt-signing.key")).unwrap();
    let now = now.unix_timestamp();
    let roles: Vec<String> = roles.iter().map(|r| (*r).to_owned()).collect();
    let claims = tsunagi::auth::dev_claims(
        tsunagi::devcerts::DEV_ISSUER,
        tsunagi::devcerts::DEV_AUDIENCE,
        user,
        agency,
        &roles,
        600,
        now,
    );
    tsunagi::auth::mint_token(&key, tsunagi::devcerts::DEV_JWT_KID, &claims).unwrap()
}

/// A user at an agency, calling over that agency's client certificate.
pub struct Caller {
    pub client: reqwest::Client,
    pub token: String,
    pub base: String,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{}", self.port, path)
    }

    /// The token is issued at the hub's clock, which a test may have moved.
    pub fn caller(&self, user: &str, agency: &str, role: &str) -> Caller {
        Caller {
            client: agency_client(agency),
            token: token_at(user, agency, &[role], self.state.clock.now()),
            base: self.url(""),
        }
    }

    pub async fn audit_size(&self) -> u64 {
        self.state.store.audit_size().await.unwrap()
    }

    /// Every audit entry from index `from` on, parsed.
    pub async fn entries_since(&self, from: u64) -> Vec<Value> {
        let n = self.audit_size().await;
        let rows = self
            .state
            .store
            .audit_entries(from, u32::try_from(n.saturating_sub(from)).unwrap())
            .await
            .unwrap();
        rows.iter().map(|r| serde_json::from_slice(&r.entry).unwrap()).collect()
    }

    /// The last audit entry, parsed.
    pub async fn last_entry(&self) -> Value {
        let n = self.audit_size().await;
        assert!(n > 0, "the audit log is empty");
        let rows = self.state.store.audit_entries(n - 1, 1).await.unwrap();
        serde_json::from_slice(&rows[0].entry).unwrap()
    }

    pub async fn stop(self) {
        self.stop_keeping_database().await;
        if self.engine == Engine::Postgres {
            drop_postgres_db(&self.database_url).await;
        }
    }

    /// Stops this instance; the database stays (another instance may use it).
    pub async fn stop_keeping_database(&self) {
        self.handle.stop(true).await;
        // The application stops its tasks once the server has stopped; wait for that before
        // closing the store under them.
        self.tasks.stop().await;
        self.state.store.close().await;
    }
}

impl Caller {
    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self
            .client
            .post(format!("{}{}", self.base, path))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .client
            .get(format!("{}{}", self.base, path))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

/// The quick-start story: the regional support centre registers a person, writes a record with
/// several categories, and records consent to share identity and employment with JOBOTA for
/// "employment support". Returns (subject id, consent id).
pub struct Story {
    pub subject: String,
    pub consent: String,
    pub owner: Caller,
    pub jobota: Caller,
}

pub fn consent_body(valid_from: &str, valid_until: &str) -> Value {
    json!({
        "recipients": ["jobota"],
        "purposes": ["employment support"],
        "categories": ["identity", "employment"],
        "valid_from": valid_from,
        "valid_until": valid_until,
        "method": "written",
        "evidence_ref": "consent form 2026-117"
    })
}

pub async fn story(app: &TestApp) -> Story {
    let owner = app.caller("sato", "regional-support-centre", "caseworker");
    let jobota = app.caller("tanaka", "jobota", "caseworker");
    let (s, subject) = owner.post("/v1/subjects", &json!({"local_id": "RSC-0001"})).await;
    assert_eq!(s, 201, "{subject}");
    let subject = subject["id"].as_str().unwrap().to_owned();
    let (s, rec) = owner
        .post(
            &format!("/v1/subjects/{subject}/records"),
            &json!({
                "purpose": "long-term care support",
                "sections": [
                    {"category": "identity", "content": "山田 太郎, born 1976-05-01, 大田区蒲田"},
                    {"category": "employment", "content": "unemployed since 2019; interested in part-time work"},
                    {"category": "health", "content": "diabetes, insulin"},
                    {"category": "household", "content": "lives with mother (82)"}
                ]
            }),
        )
        .await;
    assert_eq!(s, 201, "{rec}");
    let (s, consent) = owner
        .post(
            &format!("/v1/subjects/{subject}/consents"),
            &consent_body("2026-01-01T00:00:00Z", "2099-01-01T00:00:00Z"),
        )
        .await;
    assert_eq!(s, 201, "{consent}");
    let consent = consent["id"].as_str().unwrap().to_owned();
    Story {
        subject,
        consent,
        owner,
        jobota,
    }
}

pub fn disclosure_body(subject: &str, consent: &str, purpose: &str) -> Value {
    json!({
        "subject_id": subject,
        "owner_agency": "regional-support-centre",
        "purpose": purpose,
        "basis": {"type": "consent", "consent_id": consent}
    })
}
