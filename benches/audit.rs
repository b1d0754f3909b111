//! Disclosure-log benchmark: durable appends/s under 32 concurrent writers (SQLite, and
//! PostgreSQL when `BENCH_POSTGRES_URL` names a server), the first checkpoint and `audit verify`
//! over a log of a million entries, proof latency from the store, and proof sizes.
//!
//! `cargo bench --bench audit`. Knobs: `BENCH_SECS` (append phase, default 5),
//! `BENCH_WRITERS` (32), `BENCH_ENTRIES` (verify log size, default 1,000,000), `BENCH_PAGE`
//! (entries per read in `audit verify`, 16,384), `BENCH_SECS=0` (skip the append phase),
//! `BENCH_POSTGRES_URL` (an admin URL; a fresh database is created and dropped),
//! `BENCH_POSTGRES_SOCKET` (a directory such as `/var/run/postgresql`: also append over the Unix
//! socket to the same database, alternating with TCP for `BENCH_ROUNDS` (3) rounds, and print
//! the TCP / socket ratio), `BENCH_VERIFY_POSTGRES=1` (also build and verify the big log on PostgreSQL), `BENCH_DIR`
//! (keep the SQLite files there instead of a temporary directory).

#![expect(
    clippy::unwrap_used,
    clippy::cast_precision_loss,
    reason = "a benchmark fails loudly on a broken setup, and its rates are approximate"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sqlx::Connection;
use tsunagi::audit::alerts::Alerts;
use tsunagi::audit::checkpointer::Checkpointer;
use tsunagi::audit::keys::LogKeys;
use tsunagi::audit::merkle;
use tsunagi::audit::proof_file::InclusionProofFile;
use tsunagi::audit::proofs::{ProofBuilder, consistency_spans, inclusion_spans};
use tsunagi::audit::tiles::TileTree;
use tsunagi::audit::verify::{VerifyOptions, verify_log};
use tsunagi::audit::{AuditEntry, AuditLog, DisclosureEntry, IndexFields, Outcome, PolicyRef, Requester, Withheld};
use tsunagi::clock::SystemClock;
use tsunagi::crypto::Kek;
use tsunagi::domain::{Basis, Category, ConsentId, RecordId, Role};
use tsunagi::store::{NewAuditRow, Store};
use tsunagi::tasks::BackgroundTasks;

mod support;
use support::env_or;

/// A disclosure entry of realistic size (≈ 980 bytes as serialised today).
fn entry(i: u64) -> DisclosureEntry {
    DisclosureEntry {
        request_id: uuid::Uuid::new_v4(),
        at: "2026-11-20T01:02:03.456Z".into(),
        requester: Requester {
            user: format!("user-{}", i % 97),
            roles: vec![Role::Caseworker],
            agency: "jobota".into(),
            organ: "ota-ward".into(),
            client_cert: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
        },
        owner_agency: "regional-support-centre".into(),
        subject: format!("{:032x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
        household: Some(format!("{:032x}", i ^ 0xdead_beef)),
        records: vec![RecordId::new_random()],
        disclosed: vec![Category::Identity, Category::Employment],
        withheld: vec![
            Withheld {
                category: Category::Health,
                reason: tsunagi::domain::WithheldReason::NotCoveredByBasis,
            },
            Withheld {
                category: Category::Household,
                reason: tsunagi::domain::WithheldReason::NotCoveredByBasis,
            },
        ],
        basis: Basis::Consent {
            consent_id: ConsentId::new_random(),
        },
        basis_context: Default::default(),
        justification: None,
        purpose: "employment support".into(),
        decision: Outcome::Allowed,
        reason: None,
        policy: PolicyRef {
            version: "sha256:4f2a9c0e1b7d".into(),
            rules: vec![
                "p, caseworker, *, disclose:consent, identity, allow".into(),
                "p, caseworker, *, disclose:consent, employment, allow".into(),
            ],
        },
        attached: Vec::new(),
        team: None,
    }
}

fn row(i: u64) -> NewAuditRow {
    let bytes = AuditEntry::Disclosure(Box::new(entry(i))).to_bytes().unwrap();
    NewAuditRow {
        leaf_hash: merkle::leaf_hash(&bytes),
        entry: bytes,
        at_ms: 1_795_000_000_000 + i as i64,
        kind: "disclosure",
        decision: "allowed",
        reason: None,
        subject_pseudonym: Some(format!("{:032x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15))),
        household_pseudonym: None,
        requester_agency: Some("jobota".into()),
        requester_user: Some(format!("user-{}", i % 97)),
        owner_agency: Some("regional-support-centre".into()),
        basis: Some("consent".into()),
        basis_ref: None,
        session_ref: None,
    }
}

async fn store(url: &str) -> Store {
    let kek = Kek::from_bytes("bench", &[7u8; 32]).unwrap();
    let store = Store::connect(url, kek, 8).await.unwrap();
    store.migrate().await.unwrap();
    store
}

async fn fresh_postgres(admin: &str) -> String {
    let name = format!("tsunagi_bench_{}", uuid::Uuid::new_v4().simple());
    let mut c = sqlx::PgConnection::connect(admin).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut c)
        .await
        .unwrap();
    let (base, query) = admin.split_once('?').map_or((admin, None), |(b, q)| (b, Some(q)));
    let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// The same database as `url` (a TCP URL), reached over the Unix socket in `dir`.
fn socket_url(url: &str, dir: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let (front, name) = base.rsplit_once('/').unwrap();
    let user = front.trim_start_matches("postgres://").split('@').next().unwrap();
    let extra = query.map(|q| format!("&{q}")).unwrap_or_default();
    format!("postgres://{user}@localhost/{name}?host={dir}{extra}")
}

async fn drop_postgres(admin: &str, url: &str) {
    let name = url.split('?').next().unwrap().rsplit('/').next().unwrap();
    let mut c = sqlx::PgConnection::connect(admin).await.unwrap();
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .execute(&mut c)
    .await;
}

/// `writers` tasks append through one `AuditLog` for `secs`; returns durable appends/s.
async fn appends(store: &Store, writers: usize, secs: u64) -> f64 {
    let background = BackgroundTasks::new();
    let log = AuditLog::start(store.clone(), tsunagi::audit::DEFAULT_MAX_BATCH, &background);
    let done = Arc::new(AtomicU64::new(0));
    let stop = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let (log, done) = (log.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = w as u64;
            while Instant::now() < stop {
                let e = AuditEntry::Disclosure(Box::new(entry(i)));
                let fields = IndexFields {
                    at_ms: 1_795_000_000_000,
                    decision: "allowed",
                    ..IndexFields::default()
                };
                log.append(&e, fields).await.unwrap();
                done.fetch_add(1, Ordering::Relaxed);
                i += writers as u64;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let rate = done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    background.stop().await;
    rate
}

/// CPU seconds this process has used so far (all threads; Linux `/proc`), to report rates per
/// core independently of other load on the machine.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, r)| r)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line (11 and 12 after the command name).
    (ticks(11) + ticks(12)) / 100.0
}

/// Fills the log with `n` entries in large batches (bypassing the sequencer).
async fn fill(store: &Store, url: &str, n: u64, background: &BackgroundTasks) {
    // As the server does: the write-ahead log is copied back in the background.
    store.spawn_wal_checkpointer(Duration::from_millis(500), background);
    let batch = 200u64;
    let mut i = store.audit_end().await.unwrap();
    let rows_per_sec = Instant::now();
    while i < n {
        let rows: Vec<NewAuditRow> = (i..(i + batch).min(n)).map(row).collect();
        store.append_audit_batch(&rows).await.unwrap();
        i += rows.len() as u64;
    }
    println!(
        "  generated {n} entries in {:.1}s",
        rows_per_sec.elapsed().as_secs_f64()
    );
    if url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut c)
            .await
            .unwrap();
    }
}

async fn big_log(label: &str, store: &Store, url: &str, n: u64) {
    println!("{label}: a log of {n} entries");
    let background = BackgroundTasks::new();
    fill(store, url, n, &background).await;
    let keys = Arc::new(LogKeys::new("tsunagi.bench", &[1u8; 32], &[]).unwrap());
    let alerts = Alerts::new(store.clone(), Arc::new(SystemClock), Default::default());
    let cp = Checkpointer::new(store.clone(), keys.clone(), Arc::new(SystemClock), alerts);
    let t = Instant::now();
    let signed = cp.covering(n - 1).await.unwrap().unwrap();
    println!(
        "  first checkpoint (checks every new entry, stores subtree roots): {:.2}s",
        t.elapsed().as_secs_f64()
    );
    let opts = VerifyOptions {
        verifiers: keys.verifiers().to_vec(),
        origin: keys.origin().to_owned(),
        saved_checkpoints: vec![],
        page: env_or("BENCH_PAGE", 16_384u32),
    };
    for run in 1..=3 {
        let (t, cpu) = (Instant::now(), cpu_secs());
        let report = verify_log(store, &opts).await.unwrap();
        let (secs, cpu) = (t.elapsed().as_secs_f64(), cpu_secs() - cpu);
        assert!(report.ok(), "{:?}", report.problems);
        println!(
            "  audit verify (run {run}): {} entries in {secs:.2}s = {:.0} entries/s; {cpu:.2} CPU-s in this process = {:.0} entries per CPU-second",
            report.entries,
            report.entries as f64 / secs,
            report.entries as f64 / cpu.max(0.01)
        );
    }
    let t = Instant::now();
    let mut bytes = 0;
    for k in 0..100u64 {
        let index = (k * 9_973) % signed.size;
        let proof = ProofBuilder::new(store).inclusion(index, signed.size).await.unwrap();
        bytes += proof.len() * 32;
    }
    println!(
        "  inclusion proof from the store at size {}: {:.2} ms each ({} bytes of hashes)",
        signed.size,
        t.elapsed().as_secs_f64() * 10.0,
        bytes / 100
    );
    let t = Instant::now();
    let proof = ProofBuilder::new(store)
        .consistency(signed.size / 3, signed.size)
        .await
        .unwrap();
    println!(
        "  consistency proof {} -> {} from the store: {:.2} ms ({} bytes)",
        signed.size / 3,
        signed.size,
        t.elapsed().as_secs_f64() * 1000.0,
        proof.len() * 32
    );
    background.stop().await;
}

/// The floor under `audit verify`: the SHA-256 work alone (leaf hashes and the tree over them,
/// as the replay does) over entries already in memory, on one core.
fn hashing_only() {
    let n = 100_000u64;
    let entries: Vec<Vec<u8>> = (0..n)
        .map(|i| AuditEntry::Disclosure(Box::new(entry(i))).to_bytes().unwrap())
        .collect();
    let bytes: usize = entries.iter().map(Vec::len).sum();
    let rounds = 10;
    let cpu = cpu_secs();
    let t = Instant::now();
    let mut root = [0u8; 32];
    for _ in 0..rounds {
        let mut tree = TileTree::new();
        for e in &entries {
            tree.push(merkle::leaf_hash(e), |_| {});
        }
        root = tree.root();
    }
    let (secs, cpu) = (t.elapsed().as_secs_f64(), cpu_secs() - cpu);
    let total = (n * rounds) as f64;
    println!(
        "SHA-256 alone (leaf hashes + tree, entries in memory, mean {} bytes, one core): {:.0} entries/s; {:.0} per CPU-second (root {})",
        bytes / entries.len(),
        total / secs,
        total / cpu.max(0.01),
        hex::encode(root.get(..4).unwrap_or_default())
    );
}

fn proof_sizes() {
    println!("proof sizes (SHA-256 hashes of 32 bytes; tlog-proof file includes a one-signature checkpoint)");
    let note_len = "tsunagi.local\n1000000000\npeKKT7CtH8zBof35/+U8gWwRAUo0WaVFnuzpDntdLn4=\n\n— tsunagi.local 7ky7irnpOT4a5UaEu+Y98DVaG/N2cdf3qAs8M+XxG6qIBnhtRn+5AGtrPkaUNpPoE+Yk+t7Rsc+4Di64Z/LCp/GfqQ4=\n".len();
    for size in [1_000u64, 100_000, 1_000_000, 10_000_000, 1_000_000_000] {
        let worst = [0, size / 3, size / 2, size - 1]
            .into_iter()
            .map(|i| inclusion_spans(i, size).unwrap().len())
            .max()
            .unwrap();
        let file = InclusionProofFile {
            extra: None,
            index: size / 2,
            proof: vec![[0u8; 32]; inclusion_spans(size / 2, size).unwrap().len()],
            checkpoint: "x".repeat(note_len),
        }
        .to_text()
        .len();
        let consistency = consistency_spans(size / 2 + 1, size).unwrap().len();
        println!(
            "  size {size:>13}: inclusion ≤ {worst} hashes = {} bytes (tlog-proof file ≈ {file} bytes); consistency from {} ≈ {} bytes",
            worst * 32,
            size / 2 + 1,
            consistency * 32
        );
    }
}

fn main() {
    tsunagi::tls::install_crypto_provider();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let secs = env_or("BENCH_SECS", 5u64);
    let writers = env_or("BENCH_WRITERS", 32usize);
    let n = env_or("BENCH_ENTRIES", 1_000_000u64);
    let pg = std::env::var("BENCH_POSTGRES_URL").ok().filter(|u| !u.is_empty());
    rt.block_on(async {
        let tmp = tempfile::tempdir().unwrap();
        let dir = std::env::var("BENCH_DIR").map_or_else(|_| tmp.path().to_path_buf(), std::path::PathBuf::from);
        let url = format!("sqlite://{}", dir.join("append.db").display());
        let s = store(&url).await;
        if secs > 0 {
            let rate = appends(&s, writers, secs).await;
            println!("durable appends, SQLite (WAL, synchronous=FULL), {writers} writers: {rate:.0}/s");
        }
        s.close().await;
        if let Some(admin) = pg.as_ref().filter(|_| secs > 0) {
            let url = fresh_postgres(admin).await;
            let socket = std::env::var("BENCH_POSTGRES_SOCKET").ok().filter(|d| !d.is_empty());
            // Over TCP, and (BENCH_POSTGRES_SOCKET) over the Unix socket to the same server and
            // database, alternating so that a drift of the machine weighs on both alike.
            let rounds = if socket.is_some() {
                env_or("BENCH_ROUNDS", 3usize)
            } else {
                1
            };
            let (mut tcp, mut uds) = (Vec::new(), Vec::new());
            for round in 1..=rounds {
                let s = store(&url).await;
                let rate = appends(&s, writers, secs).await;
                s.close().await;
                println!("durable appends, PostgreSQL (TCP), {writers} writers, round {round}: {rate:.0}/s");
                tcp.push(rate);
                if let Some(dir) = &socket {
                    let s = store(&socket_url(&url, dir)).await;
                    let rate = appends(&s, writers, secs).await;
                    s.close().await;
                    println!(
                        "durable appends, PostgreSQL (Unix socket {dir}), {writers} writers, round {round}: {rate:.0}/s"
                    );
                    uds.push(rate);
                }
            }
            let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
            println!("durable appends, PostgreSQL over TCP: {:.0}/s", mean(&tcp));
            if !uds.is_empty() {
                println!(
                    "durable appends, PostgreSQL over the Unix socket: {:.0}/s; TCP / socket = {:.2}",
                    mean(&uds),
                    mean(&tcp) / mean(&uds)
                );
            }
            drop_postgres(admin, &url).await;
        }

        let url = format!("sqlite://{}", dir.join("big.db").display());
        let s = store(&url).await;
        big_log("SQLite", &s, &url, n).await;
        s.close().await;
        if let Some(admin) = &pg
            && std::env::var("BENCH_VERIFY_POSTGRES").is_ok_and(|v| v == "1")
        {
            let url = fresh_postgres(admin).await;
            let s = store(&url).await;
            big_log("PostgreSQL", &s, &url, n).await;
            s.close().await;
            drop_postgres(admin, &url).await;
        }
    });
    hashing_only();
    proof_sizes();
}
