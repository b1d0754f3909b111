//! Console benchmark: concurrent privacy officers' console sessions on a big log — the log
//! search page and a person's report page, rendered by a real hub over mTLS.
//!
//! `cargo bench --bench console` fills an SQLite log with `BENCH_ENTRIES` (1,000,000) realistic
//! entries spread over 90 days and six agencies (straight into the store, before the hub
//! starts), starts the hub on it (dev certificates, default policy, checkpointer), makes 100
//! real disclosures about one person, waits until the checkpointer covers the log, opens
//! `BENCH_SESSIONS` (32) console sessions by the development login — half ward-wide officers
//! (welfare-coordination), half officers of the contracted operator (regional-support-centre,
//! scoped to its organ) — and then, for `BENCH_SECS` (10) seconds each, has every session load
//! search pages (five filter sets, as officers use them) and then the person's report.
//! Prints requests/s and p50/p95/p99 per page. `BENCH_DIR` keeps the database for a later run
//! (a filled log is reused).

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::cast_precision_loss,
    clippy::disallowed_methods,
    reason = "a benchmark fails loudly on a broken setup, indexes its own fixtures and reads the wall clock"
)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tsunagi::audit::merkle;
use tsunagi::audit::{AuditEntry, DisclosureEntry, Outcome, PolicyRef, Requester, Withheld};
use tsunagi::clock::SystemClock;
use tsunagi::config::Config;
use tsunagi::crypto::Kek;
use tsunagi::domain::{Basis, Category, ConsentId, RecordId, Role};
use tsunagi::startup::Application;
use tsunagi::store::{NewAuditRow, Store};

mod support;
use support::{client, dev, env_or, repo, token};

const AGENCIES: [&str; 6] = [
    "regional-support-centre",
    "disability-centre",
    "jobota",
    "sapota",
    "child-services",
    "welfare-coordination",
];

/// Entry `i` of `n`, dated within the 90 days before `end_ms`.
fn row(i: u64, n: u64, end_ms: i64) -> NewAuditRow {
    let h = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let requester = AGENCIES[(h % 6) as usize];
    let owner = AGENCIES[((h >> 8) % 6) as usize];
    let refused = (h >> 16).is_multiple_of(10);
    let at_ms = end_ms - 90 * 86_400_000 + (i as i64) * (90 * 86_400_000 / n.max(1) as i64);
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at_ms) * 1_000_000)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let subject = format!("{:032x}", u128::from(h % 50_000).wrapping_mul(0x2545_f491_4f6c_dd1d));
    let entry = DisclosureEntry {
        request_id: uuid::Uuid::new_v4(),
        at,
        requester: Requester {
            user: format!("user-{}", h % 97),
            roles: vec![Role::Caseworker],
            agency: requester.into(),
            organ: "ota-ward".into(),
            client_cert: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
        },
        owner_agency: owner.into(),
        subject: subject.clone(),
        household: None,
        records: vec![RecordId::new_random()],
        disclosed: if refused {
            vec![]
        } else {
            vec![Category::Identity, Category::Employment]
        },
        withheld: vec![Withheld {
            category: Category::Health,
            reason: tsunagi::domain::WithheldReason::NotCoveredByBasis,
        }],
        basis: Basis::Consent {
            consent_id: ConsentId::new_random(),
        },
        basis_context: Default::default(),
        justification: None,
        purpose: "employment support".into(),
        decision: if refused { Outcome::Refused } else { Outcome::Allowed },
        reason: refused.then(|| "consent_revoked".to_owned()),
        policy: PolicyRef {
            version: "v1".into(),
            rules: vec!["p, caseworker, *, disclose:consent, identity, allow".into()],
        },
        attached: Vec::new(),
        team: None,
    };
    let bytes = AuditEntry::Disclosure(Box::new(entry)).to_bytes().unwrap();
    NewAuditRow {
        leaf_hash: merkle::leaf_hash(&bytes),
        entry: bytes,
        at_ms,
        kind: "disclosure",
        decision: if refused { "refused" } else { "allowed" },
        reason: refused.then(|| "consent_revoked".to_owned()),
        subject_pseudonym: Some(subject),
        household_pseudonym: None,
        requester_agency: Some(requester.into()),
        requester_user: Some(format!("user-{}", h % 97)),
        owner_agency: Some(owner.into()),
        basis: Some("consent".into()),
        basis_ref: None,
        session_ref: None,
    }
}

async fn fill(url: &str, n: u64) {
    let kek = tsunagi::crypto::keyfile::read_key::<32>(&dev("kek.key")).unwrap();
    let store = Store::connect(url, Kek::from_bytes("kek-1", &kek).unwrap(), 4)
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let mut i = store.audit_size().await.unwrap();
    if i >= n {
        println!("the log holds {i} entries already (BENCH_DIR): not filled again");
        store.close().await;
        return;
    }
    let end_ms = time::OffsetDateTime::now_utc().unix_timestamp() * 1000 - 86_400_000;
    let t = Instant::now();
    while i < n {
        let rows: Vec<NewAuditRow> = (i..(i + 500).min(n)).map(|k| row(k, n, end_ms)).collect();
        store.append_audit_batch(&rows).await.unwrap();
        i += rows.len() as u64;
    }
    println!("filled the log with {n} entries in {:.0} s", t.elapsed().as_secs_f64());
    store.close().await;
}

/// A console session on `agency`'s terminal: a client with its certificate and the session
/// cookie of a development login.
struct Session {
    client: reqwest::Client,
    cookie: String,
}

async fn login(base: &str, agency: &str, user: &str, role: &str) -> Session {
    let tls = tsunagi::tls::client_config(
        &dev("ca.pem"),
        Some((
            &dev(&format!("clients/{agency}.pem")),
            &dev(&format!("clients/{agency}.key")),
        )),
    )
    .unwrap();
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();
    let r = client
        .post(format!("{base}/console/login/dev"))
        .header("origin", base)
        .header("sec-fetch-site", "same-origin")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("user={user}&role={role}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303, "dev login");
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter(|p| p.starts_with("__Host-tsunagi="))
        .collect::<Vec<_>>()
        .join("; ");
    assert!(!cookie.is_empty(), "a session cookie");
    Session { client, cookie }
}

struct Stats {
    latencies: Vec<Duration>,
    errors: BTreeMap<u16, usize>,
    elapsed: Duration,
}

impl Stats {
    fn pct(&self, p: f64) -> f64 {
        let n = self.latencies.len();
        self.latencies
            .get(((n as f64 * p) as usize).min(n.saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1e3)
    }
}

/// Every session loads the pages `paths(session, k)` gives, back to back, for `secs`.
async fn drive(
    sessions: &Arc<Vec<Session>>,
    base: &str,
    secs: u64,
    paths: Arc<dyn Fn(usize, usize) -> String + Send + Sync>,
) -> Stats {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for s in 0..sessions.len() {
        let sessions = Arc::clone(sessions);
        let paths = Arc::clone(&paths);
        let base = base.to_owned();
        tasks.push(tokio::spawn(async move {
            let session = &sessions[s];
            let (mut lat, mut errors) = (Vec::new(), BTreeMap::new());
            let mut k = 0;
            while Instant::now() < deadline {
                let url = format!("{base}{}", paths(s, k));
                k += 1;
                let t = Instant::now();
                let r = session
                    .client
                    .get(&url)
                    .header("cookie", &session.cookie)
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                let _ = r.bytes().await.unwrap();
                if status == 200 {
                    lat.push(t.elapsed());
                } else {
                    *errors.entry(status).or_insert(0) += 1;
                }
            }
            (lat, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = BTreeMap::new();
    for t in tasks {
        let (l, e) = t.await.unwrap();
        latencies.extend(l);
        for (k, v) in e {
            *errors.entry(k).or_insert(0) += v;
        }
    }
    latencies.sort_unstable();
    Stats {
        latencies,
        errors,
        elapsed: start.elapsed(),
    }
}

fn print(name: &str, s: &Stats) {
    println!(
        "{name}: {} pages in {:.1} s = {:.0}/s; p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms; not 200: {:?}",
        s.latencies.len(),
        s.elapsed.as_secs_f64(),
        s.latencies.len() as f64 / s.elapsed.as_secs_f64(),
        s.pct(0.50),
        s.pct(0.95),
        s.pct(0.99),
        s.errors
    );
}

fn main() {
    let n: u64 = env_or("BENCH_ENTRIES", 1_000_000);
    let secs: u64 = env_or("BENCH_SECS", 10);
    let sessions_n: usize = env_or("BENCH_SESSIONS", 32);
    tsunagi::tls::install_crypto_provider();
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = std::env::var("BENCH_DIR").map_or_else(|_| tmp.path().to_path_buf(), PathBuf::from);
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("console-bench.db").display());
    rt.block_on(fill(&url, n));

    let mut config = Config::rooted_at(&repo());
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.database_url = url;
    config.workers = env_or("BENCH_WORKERS", 2);
    config.log_level = "error".into();
    let (port, state) = server_rt.block_on(async move {
        let app = Application::build_with_clock(config, Arc::new(SystemClock))
            .await
            .unwrap();
        let (port, state) = (app.port(), app.state().clone());
        tokio::spawn(app.run_until_stopped());
        (port, state)
    });
    let base = format!("https://localhost:{port}");
    rt.block_on(async move {
        // One person with 100 real disclosures (the report's lines).
        let owner = tsunagi_api("regional-support-centre", "sato", "caseworker");
        let (subject, consent) = seed(&owner, &base).await;
        let jobota = tsunagi_api("jobota", "tanaka", "caseworker");
        for _ in 0..100 {
            let r = jobota
                .client
                .post(format!("{base}/v1/disclosures"))
                .bearer_auth(&jobota.token)
                .json(
                    &json!({"subject_id": subject, "owner_agency": "regional-support-centre",
                    "purpose": "employment support", "basis": {"type": "consent", "consent_id": consent}}),
                )
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 200);
        }
        let t = Instant::now();
        loop {
            let size = state.store.audit_size().await.unwrap();
            let covered = state.store.latest_checkpoint().await.unwrap().map_or(0, |c| c.size);
            if covered + 50 >= size {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        println!(
            "log of {} entries checkpointed ({:.0} s after start)",
            state.store.audit_size().await.unwrap(),
            t.elapsed().as_secs_f64()
        );

        let mut sessions = Vec::new();
        for i in 0..sessions_n {
            let agency = if i % 2 == 0 {
                "welfare-coordination"
            } else {
                "regional-support-centre"
            };
            sessions.push(login(&base, agency, &format!("po-{i}"), "privacy-officer").await);
        }
        let sessions = Arc::new(sessions);
        println!(
            "console benchmark: {sessions_n} sessions (half ward-wide, half scoped), {} cores, {secs} s per page",
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
        );
        let searches = [
            String::new(),
            "?agency=jobota".to_owned(),
            "?decision=refused".to_owned(),
            "?basis=consent&agency=sapota".to_owned(),
            format!(
                "?from={}",
                (time::OffsetDateTime::now_utc() - time::Duration::days(7)).date()
            ),
        ];
        let search = drive(
            &sessions,
            &base,
            secs,
            Arc::new(move |_, k| format!("/console/log{}", searches[k % searches.len()])),
        )
        .await;
        print("log search page", &search);
        let subject_path = format!("/console/log/subjects/{subject}/report");
        let report = drive(&sessions, &base, secs, Arc::new(move |_, _| subject_path.clone())).await;
        print("person's report page", &report);
        println!("bar: p95 < 100 ms for both");
    });
}

struct Api {
    client: reqwest::Client,
    token: String,
}

fn tsunagi_api(agency: &str, user: &str, role: &str) -> Api {
    Api {
        client: client(agency),
        token: token(user, agency, role),
    }
}

async fn seed(owner: &Api, base: &str) -> (String, String) {
    let local = uuid::Uuid::new_v4().simple().to_string();
    let subject: serde_json::Value = owner
        .client
        .post(format!("{base}/v1/subjects"))
        .bearer_auth(&owner.token)
        .json(&json!({"local_id": local.chars().take(20).collect::<String>()}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let subject = subject["id"].as_str().unwrap().to_owned();
    let r = owner
        .client
        .post(format!("{base}/v1/subjects/{subject}/records"))
        .bearer_auth(&owner.token)
        .json(&json!({"purpose": "care", "sections": [
            {"category": "identity", "content": "山田 太郎, 大田区蒲田"},
            {"category": "employment", "content": "looking for part-time work"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let consent: serde_json::Value = owner
        .client
        .post(format!("{base}/v1/subjects/{subject}/consents"))
        .bearer_auth(&owner.token)
        .json(&json!({"recipients": ["jobota"], "purposes": ["employment support"], "categories": ["identity", "employment"],
            "valid_until": "2099-01-01T00:00:00Z", "method": "written", "evidence_ref": "form 1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (subject, consent["id"].as_str().unwrap().to_owned())
}
