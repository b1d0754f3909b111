//! Load benchmark: the full disclosure road against a bare TLS "hello" on the same server build.
//!
//! `cargo bench --bench load` starts a real hub (SQLite in a temp dir, dev certificates, default
//! policy), seeds one consented case, then drives, in turn, `GET /healthz` (mTLS, nothing else)
//! and `POST /v1/disclosures` (mTLS + JWT + basis + policy + durable audit append + decrypt) with
//! 32 concurrent keep-alive clients, and prints throughput, p50/p99 latency and their ratio.
//! Then it times policy decisions: cached vs. plain casbin `enforce`, on the default policy and
//! on a 1,000-rule policy.
//!
//! The two phases alternate for `BENCH_ROUNDS` rounds and the ratio is taken over all of
//! them, so that a drift of the (shared) machine's speed weighs on both sides alike.
//!
//! Knobs: `BENCH_SECS` (default 5 per phase), `BENCH_ROUNDS` (3), `BENCH_CLIENTS` (32), `BENCH_WORKERS` (server
//! worker threads, default 2), `BENCH_DB_CONNECTIONS` (pool size), `BENCH_DATABASE_URL` (e.g. a `postgres://` database to run the
//! disclosure phase on PostgreSQL; it must exist and be empty or hold a previous run).

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::string_slice,
    reason = "a benchmark fails loudly on a broken setup and indexes its own fixtures"
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tsunagi::clock::SystemClock;
use tsunagi::config::Config;
use tsunagi::domain::Role;
use tsunagi::policy::{PolicySet, parse_policy};
use tsunagi::startup::Application;

mod support;
use support::{client, env_or, repo, token};

struct Stats {
    /// Every answered request's latency, sorted.
    latencies: Vec<Duration>,
    errors: usize,
    elapsed: Duration,
}

impl Stats {
    fn new(mut latencies: Vec<Duration>, errors: usize, elapsed: Duration) -> Self {
        latencies.sort_unstable();
        Self {
            latencies,
            errors,
            elapsed,
        }
    }

    /// Several phases as one (their requests over their summed time).
    fn merged(phases: &[Stats]) -> Self {
        Self::new(
            phases.iter().flat_map(|p| p.latencies.iter().copied()).collect(),
            phases.iter().map(|p| p.errors).sum(),
            phases.iter().map(|p| p.elapsed).sum(),
        )
    }

    fn requests(&self) -> usize {
        self.latencies.len()
    }

    fn rps(&self) -> f64 {
        self.requests() as f64 / self.elapsed.as_secs_f64()
    }

    fn pct(&self, p: f64) -> Duration {
        let n = self.latencies.len();
        self.latencies
            .get(((n as f64 * p) as usize).min(n.saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    }
}

/// Builds one request on a client.
type Request = Arc<dyn Fn(&reqwest::Client) -> reqwest::RequestBuilder + Send + Sync>;

/// Runs `clients` loops, each with its own keep-alive connection, for `secs`.
async fn drive(clients: usize, secs: u64, make: Request, agency: &str) -> Stats {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let c = client(agency);
        let make = Arc::clone(&make);
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0usize;
            while Instant::now() < deadline {
                let t = Instant::now();
                match make(&c).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        lat.push(t.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        all.extend(l);
        errors += e;
    }
    Stats::new(all, errors, start.elapsed())
}

fn print(name: &str, s: &Stats) {
    println!(
        "{name:<28} {:>9.0} req/s   p50 {:>7.2} ms   p99 {:>7.2} ms   ({} ok, {} errors, {:.1} s)",
        s.rps(),
        s.pct(0.50).as_secs_f64() * 1e3,
        s.pct(0.99).as_secs_f64() * 1e3,
        s.requests(),
        s.errors,
        s.elapsed.as_secs_f64()
    );
}

fn time_decisions(set: &PolicySet, label: &str) {
    let questions: Vec<(Role, &str, &str, &str)> = vec![
        (Role::Caseworker, "jobota", "disclose:consent", "identity"),
        (Role::Caseworker, "jobota", "disclose:consent", "employment"),
        (Role::System, "jobota", "disclose:consent", "health"),
        (Role::Supervisor, "sapota", "disclose:consent", "livelihood"),
    ];
    let n = 2_000;
    let t = Instant::now();
    for i in 0..n {
        let (r, a, act, o) = questions[i % questions.len()];
        std::hint::black_box(set.decide_uncached(r, a, act, o).unwrap());
    }
    let plain = t.elapsed() / n as u32;
    let m = 200_000;
    let t = Instant::now();
    for i in 0..m {
        let (r, a, act, o) = questions[i % questions.len()];
        std::hint::black_box(set.decide(r, a, act, o).unwrap());
    }
    let cached = t.elapsed() / m as u32;
    println!(
        "policy decision ({label:<22}) casbin enforce {:>9.1} µs   cached {:>6.2} µs   speed-up {:>6.0}x",
        plain.as_secs_f64() * 1e6,
        cached.as_secs_f64() * 1e6,
        plain.as_secs_f64() / cached.as_secs_f64()
    );
}

fn main() {
    let secs: u64 = env_or("BENCH_SECS", 5);
    let rounds: usize = env_or("BENCH_ROUNDS", 3);
    let clients: usize = env_or("BENCH_CLIENTS", 32);
    let workers: usize = env_or("BENCH_WORKERS", 2);
    // The hub runs on its own runtime, as `tsunagi serve` does (one worker thread per core),
    // so its background tasks (audit sequencer, checkpointer) do not queue behind the load
    // generator's tasks; the load generator gets a runtime of its own.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    tsunagi::tls::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::rooted_at(&repo());
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.database_url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("bench.db").display()));
    config.workers = workers;
    config.database_max_connections = env_or("BENCH_DB_CONNECTIONS", config.database_max_connections);
    config.audit.checkpoint_interval_ms = env_or("BENCH_CHECKPOINT_MS", config.audit.checkpoint_interval_ms);
    config.policy_admin.refresh_ms = env_or("BENCH_POLICY_REFRESH_MS", config.policy_admin.refresh_ms);
    config.log_level = "error".into();
    let engine = if config.database_url.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let (port, state) = server_rt.block_on(async move {
        let app = Application::build_with_clock(config, Arc::new(SystemClock))
            .await
            .unwrap();
        let (port, state) = (app.port(), app.state().clone());
        tokio::spawn(app.run_until_stopped());
        (port, state)
    });
    rt.block_on(async move {
        let base = format!("https://localhost:{port}");

        // Seed one consented case.
        let owner = client("regional-support-centre");
        let owner_token = token("sato", "regional-support-centre", "caseworker");
        let local = uuid::Uuid::new_v4().to_string();
        let subject: serde_json::Value = owner
            .post(format!("{base}/v1/subjects"))
            .bearer_auth(&owner_token)
            .json(&json!({"local_id": &local[..30]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let subject = subject["id"].as_str().unwrap().to_owned();
        let rec = owner
            .post(format!("{base}/v1/subjects/{subject}/records"))
            .bearer_auth(&owner_token)
            .json(&json!({"purpose": "care", "sections": [
                {"category": "identity", "content": "山田 太郎, 大田区蒲田"},
                {"category": "employment", "content": "looking for part-time work"},
                {"category": "health", "content": "diabetes"}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(rec.status().as_u16(), 201);
        let consent: serde_json::Value = owner
            .post(format!("{base}/v1/subjects/{subject}/consents"))
            .bearer_auth(&owner_token)
            .json(&json!({"recipients": ["jobota"], "purposes": ["employment support"], "categories": ["identity", "employment"],
                "valid_until": "2099-01-01T00:00:00Z", "method": "written", "evidence_ref": "form 1"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let consent = consent["id"].as_str().unwrap().to_owned();
        let audit_before = state.store.audit_size().await.unwrap();

        println!("Tsunagi load benchmark: {clients} keep-alive mTLS clients, {rounds} rounds of {secs} s hello + {secs} s road, {workers} server workers, {} cores, {engine}",
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
        let hello_url = format!("{base}/healthz");
        let hello_req: Request = Arc::new(move |c: &reqwest::Client| c.get(&hello_url));
        let url = format!("{base}/v1/disclosures");
        let tok = token("tanaka", "jobota", "caseworker");
        let body = json!({"subject_id": subject, "owner_agency": "regional-support-centre", "purpose": "employment support",
            "basis": {"type": "consent", "consent_id": consent}});
        let road_req: Request = Arc::new(move |c: &reqwest::Client| c.post(&url).bearer_auth(&tok).json(&body));
        // Hello and road alternate, so that a drift in the machine's speed (other tenants of a
        // shared host) weighs on both sides of the ratio alike.
        let (mut hellos, mut roads) = (Vec::new(), Vec::new());
        for round in 1..=rounds {
            let hello = drive(clients, secs, Arc::clone(&hello_req), "jobota").await;
            let road = drive(clients, secs, Arc::clone(&road_req), "jobota").await;
            println!("round {round}: hello {:>7.0} req/s, road {:>6.0} req/s, ratio {:>5.1}%, road p99 {:>6.2} ms",
                hello.rps(), road.rps(), 100.0 * road.rps() / hello.rps(), road.pct(0.99).as_secs_f64() * 1e3);
            hellos.push(hello);
            roads.push(road);
        }
        let (hello, road) = (Stats::merged(&hellos), Stats::merged(&roads));
        print("bare TLS hello (/healthz)", &hello);
        print("full disclosure road", &road);
        let logged = state.store.audit_size().await.unwrap() - audit_before;
        println!(
            "ratio road/hello: {:.1}%   (bar: >= 10% with p99 < 25 ms)   audit entries written: {logged} (disclosures answered: {})",
            100.0 * road.rps() / hello.rps(),
            road.requests()
        );

        let default = PolicySet::load_dir(&repo().join("policies")).await.unwrap();
        time_decisions(&default, &format!("default, {} rules", default.rules().len()));
        let model = std::fs::read_to_string(repo().join("policies/model.conf")).unwrap();
        let mut text: String = default.rules().iter().map(|r| format!("{r}\n")).collect();
        for i in 0..(1000 - default.rules().len()) {
            text.push_str(&format!("p, caseworker, agency-{i}, disclose:consent, identity, allow\n"));
        }
        let big = PolicySet::build(&model, parse_policy(&text).unwrap()).await.unwrap();
        time_decisions(&big, "1,000 rules");
    });
}
