//! Witnesses for the log (C2SP tlog-witness / tlog-cosignature): a real `tsunagi witness serve`
//! process on loopback cosigns the hub's checkpoints; `check-proof` requires k of n
//! cosignatures; a witness refuses a forked log even when the hub's own key re-signed it; a
//! restarted witness keeps its state; a witness that stops cosigning raises `witness-lagging`.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sqlx::Connection;
use tsunagi::audit::checkpoint::{Checkpoint, NoteSigner};
use tsunagi::audit::cosignature::{CosignatureVerifier, Cosigner, cosigned_by};
use tsunagi::audit::keys::LogKeys;
use tsunagi::audit::merkle;
use tsunagi::config::{Config, WitnessConfig};
use tsunagi::witness::protocol::AddCheckpoint;

use crate::helpers::*;
use crate::log_support::*;

/// The hub's log keys (the development key), known before the hub starts.
fn hub_keys() -> LogKeys {
    LogKeys::load("local", &dev("audit-signing.key"), &[]).unwrap()
}

/// A witness process: its key, state file and address; killed when dropped.
struct WitnessProc {
    child: Option<Child>,
    dir: PathBuf,
    addr: String,
    vkey: String,
    /// Serves HTTPS itself (the development server certificate) instead of plain HTTP.
    tls: bool,
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_tsunagi")
}

impl WitnessProc {
    /// A new witness key in `dir` and a logs file naming the hub's log; then `start`.
    fn new(dir: &Path, name: &str) -> Self {
        Self::new_with(dir, name, false)
    }

    fn new_with(dir: &Path, name: &str, tls: bool) -> Self {
        let out = Command::new(bin())
            .args(["witness", "keygen", "--name", name, "--out"])
            .arg(dir.join("witness.key"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let vkey = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        let vkeys: Vec<String> = hub_keys().verifiers().iter().map(|v| v.to_vkey_string()).collect();
        std::fs::write(
            dir.join("logs.toml"),
            format!("[[log]]\norigin = \"tsunagi.local\"\nvkeys = {vkeys:?}\n"),
        )
        .unwrap();
        // `vkey` prints the same key from the file.
        let again = Command::new(bin())
            .args(["witness", "vkey", "--key"])
            .arg(dir.join("witness.key"))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(again.stdout).unwrap().trim(), vkey);
        let mut w = Self {
            child: None,
            dir: dir.to_owned(),
            addr: "127.0.0.1:0".into(),
            vkey,
            tls,
        };
        w.start();
        w
    }

    /// Starts (or restarts, on the same address and state file) the witness.
    fn start(&mut self) {
        let mut cmd = Command::new(bin());
        cmd.args(["witness", "serve", "--listen", &self.addr, "--key"])
            .arg(self.dir.join("witness.key"))
            .arg("--logs")
            .arg(self.dir.join("logs.toml"))
            .arg("--db")
            .arg(self.dir.join("witness.db"));
        if self.tls {
            cmd.arg("--tls-cert").arg(dev("server.pem"));
            cmd.arg("--tls-key").arg(dev("server.key"));
        }
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let addr = loop {
            let line = lines.next().expect("the witness printed its address").unwrap();
            if let Some((_, a)) = line.split_once("listening on ").and_then(|(_, u)| u.split_once("://")) {
                break a.trim().to_owned();
            }
        };
        // Keep draining its standard output so that it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        self.addr = addr;
        self.child = Some(child);
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn url(&self) -> String {
        match self.tls {
            true => format!("https://{}", self.addr.replace("127.0.0.1", "localhost")),
            false => format!("http://{}", self.addr),
        }
    }

    fn config(&self, name: &str) -> WitnessConfig {
        WitnessConfig {
            name: name.into(),
            url: self.url(),
            vkey: self.vkey.clone(),
        }
    }

    /// POSTs an add-checkpoint body: (status, content type, body).
    async fn post(&self, body: String) -> (u16, String, String) {
        let r = client_with(None)
            .post(format!("{}/add-checkpoint", self.url()))
            .body(body)
            .send()
            .await
            .unwrap();
        let ct = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (r.status().as_u16(), ct, r.text().await.unwrap())
    }

    async fn evidence(&self) -> i64 {
        let url = format!("sqlite://{}?mode=ro", self.dir.join("witness.db").display());
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM witness_evidence")
            .fetch_one(&mut c)
            .await
            .unwrap();
        n
    }
}

impl Drop for WitnessProc {
    fn drop(&mut self) {
        self.stop();
    }
}

fn with_witnesses(c: &mut Config, list: Vec<WitnessConfig>, k: usize) {
    c.witnesses.list = list;
    c.witnesses.k = k;
    c.witnesses.submit_interval_secs = 1;
    c.audit.checkpoint_interval_ms = 500;
}

/// Waits until `witness` has cosigned a checkpoint of at least `size`; returns its size.
async fn cosigned(app: &TestApp, witness: &str, size: u64) -> u64 {
    for _ in 0..150 {
        if let Some(s) = app.state.store.witness_status(witness).await.unwrap()
            && let Some(c) = s.cosigned_size
            && c >= size
        {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{witness} did not cosign size {size}: {:?}",
        app.state.store.witness_status(witness).await.unwrap()
    );
}

fn config_file(dir: &Path, w: &WitnessConfig, k: usize) -> PathBuf {
    let p = dir.join("hub.toml");
    std::fs::write(
        &p,
        format!(
            "[witnesses]\nk = {k}\n[[witnesses.list]]\nname = \"{}\"\nurl = \"{}\"\nvkey = \"{}\"\n",
            w.name, w.url, w.vkey
        ),
    )
    .unwrap();
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_witness_cosigns_the_hubs_checkpoints_and_check_proof_counts_k_of_n() {
    for engine in engines() {
        let wdir = tempfile::tempdir().unwrap();
        let witness = WitnessProc::new(wdir.path(), "witness.council.example/w1");
        let wc = witness.config("council");
        let app = spawn_app_with(engine, |c| with_witnesses(c, vec![wc.clone()], 1)).await;
        let st = story(&app).await;
        let body = disclosure_body(&st.subject, &st.consent, "employment support");
        let (s, d) = st.jobota.post("/v1/disclosures", &body).await;
        assert_eq!(s, 200, "{d}");
        let receipt = d["audit_receipt"].clone();
        let index = receipt["index"].as_u64().unwrap();
        let size = cosigned(&app, "council", index + 1).await;

        // The witnessed checkpoint carries the witness's valid cosignature.
        let (s, note) = st.jobota.get_text("/v1/audit/checkpoint?witnessed=true").await;
        assert_eq!(s, 200, "{engine:?}: {note}");
        let verifier = CosignatureVerifier::parse(&witness.vkey).unwrap();
        assert_eq!(cosigned_by(&note, std::slice::from_ref(&verifier)).unwrap().len(), 1);
        let (s, plain) = st.jobota.get_text(&format!("/v1/audit/checkpoint?size={size}")).await;
        assert_eq!(s, 200);
        assert!(cosigned_by(&plain, std::slice::from_ref(&verifier)).unwrap().is_empty());

        // An inclusion proof against the witnessed checkpoint, checked offline.
        let (s, proof) = st
            .jobota
            .get(&format!("/v1/audit/proofs/inclusion?index={index}&witnessed=true"))
            .await;
        assert_eq!(s, 200, "{proof}");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("entry.tlog-proof");
        std::fs::write(&file, proof["tlog_proof"].as_str().unwrap()).unwrap();
        let vkeys = dir.path().join("vkeys");
        std::fs::write(&vkeys, hub_keys().vkeys_text()).unwrap();
        let other = Cosigner::generate("witness.prefecture.example/w1")
            .unwrap()
            .verifier()
            .to_vkey_string();
        let check = |witness_args: &[&str]| {
            let mut args = vec![
                "audit",
                "check-proof",
                "inclusion",
                file.to_str().unwrap(),
                "--vkeys",
                vkeys.to_str().unwrap(),
                "--leaf-hash",
                receipt["leaf_hash"].as_str().unwrap(),
            ];
            args.extend_from_slice(witness_args);
            let out = Command::new(bin()).args(&args).current_dir(repo()).output().unwrap();
            (out.status.success(), stdout(&out))
        };
        let (ok, out) = check(&["--witness", &witness.vkey, "--witnesses-required", "1"]);
        assert!(ok, "k=1 with the witness's cosignature: {out}");
        assert!(out.contains("witness.council.example/w1"), "{out}");
        let (ok, out) = check(&[
            "--witness",
            &witness.vkey,
            "--witness",
            &other,
            "--witnesses-required",
            "2",
        ]);
        assert!(!ok, "k=2 with one witness's cosignature must fail: {out}");
        assert!(
            out.contains("1 valid cosignatures") && out.contains("2 required"),
            "{out}"
        );
        let (ok, out) = check(&["--witness", &other, "--witnesses-required", "1"]);
        assert!(!ok, "a witness that did not cosign does not count: {out}");

        // A proof without ?witnessed carries no cosignature: k=1 refuses it.
        let (s, bare) = st
            .jobota
            .get(&format!("/v1/audit/proofs/inclusion?index={index}&size={size}"))
            .await;
        assert_eq!(s, 200);
        std::fs::write(&file, bare["tlog_proof"].as_str().unwrap()).unwrap();
        let (ok, out) = check(&["--witness", &witness.vkey, "--witnesses-required", "1"]);
        assert!(!ok, "{out}");

        // The CLI's proofs and status carry what the hub holds.
        let cfg = config_file(dir.path(), &wc, 1);
        let cfg_s = cfg.to_str().unwrap();
        let out = tsunagi(&app.database_url, &["--config", cfg_s, "audit", "witnesses"], &repo());
        let text = stdout(&out);
        assert!(out.status.success(), "{text}");
        assert!(text.contains("council") && text.contains("cosigned size"), "{text}");
        assert!(text.contains("latest witnessed checkpoint: size"), "{text}");
        let out = tsunagi(
            &app.database_url,
            &[
                "audit",
                "proof",
                "inclusion",
                "--index",
                &index.to_string(),
                "--size",
                &size.to_string(),
            ],
            &repo(),
        );
        assert!(out.status.success(), "{}", stdout(&out));
        std::fs::write(&file, &out.stdout).unwrap();
        let (ok, out) = check(&["--witness", &witness.vkey, "--witnesses-required", "1"]);
        assert!(ok, "the CLI's proof carries the stored cosignature: {out}");
        app.stop().await;
    }
}

/// A forged checkpoint of the hub's log, signed with the hub's own key, over the current
/// (tampered) store: (note, leaves).
async fn resign(app: &TestApp, size: u64) -> (String, Vec<merkle::Hash>) {
    let leaves = app.state.store.audit_leaf_hashes(0, size).await.unwrap();
    let body = Checkpoint {
        origin: "tsunagi.local".into(),
        size,
        root: merkle::root(&leaves),
        extensions: Vec::new(),
    }
    .body();
    (hub_keys().signer().sign(&body).unwrap(), leaves)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_witness_refuses_a_forked_log_that_the_hubs_own_key_re_signed() {
    for engine in engines() {
        let wdir = tempfile::tempdir().unwrap();
        let witness = WitnessProc::new(wdir.path(), "witness.council.example/w1");
        let wc = witness.config("council");
        let app = spawn_app_with(engine, |c| with_witnesses(c, vec![wc], 1)).await;
        fill(&app, 20).await;
        let n = checkpoint(&app).await.size;
        assert_eq!(cosigned(&app, "council", n).await, n);

        // The operator rewrites entry 5 (entry and leaf hash, consistently), appends, and signs
        // the rewritten tree with the log's own key.
        let forged_entry = String::from_utf8(app.state.store.audit_entries(5, 1).await.unwrap().remove(0).entry)
            .unwrap()
            .replace("filler-", "nobody-");
        tamper(&app, "SELECT 1").await;
        let mut conn = sqlx::AnyConnection::connect(&app.database_url).await.unwrap();
        sqlx::query("UPDATE audit_entries SET entry = $1, leaf_hash = $2 WHERE idx = 5")
            .bind(forged_entry.as_bytes().to_vec())
            .bind(merkle::leaf_hash(forged_entry.as_bytes()).to_vec())
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        fill(&app, 5).await;
        let m = app.state.store.audit_end().await.unwrap();
        let (note, leaves) = resign(&app, m).await;
        let proof = merkle::consistency_proof(&leaves, n, m).unwrap();

        // An extension of the forked tree: the proof cannot lead from the cosigned root.
        let (s, _, body) = witness
            .post(
                AddCheckpoint {
                    old_size: n,
                    proof,
                    checkpoint: note.clone(),
                }
                .to_text(),
            )
            .await;
        assert_eq!(s, 422, "{engine:?}: {body}");
        // The same size with another root.
        let (same, _) = resign(&app, n).await;
        let (s, _, body) = witness
            .post(
                AddCheckpoint {
                    old_size: n,
                    proof: Vec::new(),
                    checkpoint: same,
                }
                .to_text(),
            )
            .await;
        assert_eq!(s, 409, "{body}");
        assert_eq!(witness.evidence().await, 2, "both signed forks are kept as evidence");

        // The other refusals of the protocol.
        let (s, ct, body) = witness
            .post(
                AddCheckpoint {
                    old_size: 1,
                    proof: Vec::new(),
                    checkpoint: note.clone(),
                }
                .to_text(),
            )
            .await;
        assert_eq!(
            (s, ct.as_str(), body.clone()),
            (409, "text/x.tlog.size", format!("{n}\n"))
        );
        let stranger = NoteSigner::from_seed("tsunagi.local", &[9u8; 32]).unwrap();
        let body = Checkpoint {
            origin: "tsunagi.local".into(),
            size: m,
            root: merkle::root(&leaves),
            extensions: Vec::new(),
        }
        .body();
        let req = |cp: String, old| {
            AddCheckpoint {
                old_size: old,
                proof: Vec::new(),
                checkpoint: cp,
            }
            .to_text()
        };
        assert_eq!(witness.post(req(stranger.sign(&body).unwrap(), n)).await.0, 403);
        let elsewhere = NoteSigner::from_seed("elsewhere.example", &[9u8; 32]).unwrap();
        let other_log = body.replacen("tsunagi.local", "elsewhere.example", 1);
        assert_eq!(witness.post(req(elsewhere.sign(&other_log).unwrap(), 0)).await.0, 404);
        assert_eq!(witness.post(req(note.clone(), m + 1)).await.0, 400);
        assert_eq!(witness.post("old 01\n\n".into()).await.0, 400);

        // The hub's own checkpointer refuses to sign over the rewrite, and its witness stays at
        // the honest size.
        assert!(app.state.checkpoints.checkpoint_now().await.is_err());
        let status = app.state.store.witness_status("council").await.unwrap().unwrap();
        assert_eq!(status.cosigned_size, Some(n));
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_witness_keeps_its_state_and_a_silent_one_raises_an_alert() {
    for engine in engines() {
        let wdir = tempfile::tempdir().unwrap();
        let mut witness = WitnessProc::new(wdir.path(), "witness.council.example/w1");
        let wc = witness.config("council");
        let app = spawn_app_with(engine, |c| {
            with_witnesses(c, vec![wc], 1);
            c.witnesses.lag_alert_secs = 2;
        })
        .await;
        fill(&app, 10).await;
        let n = checkpoint(&app).await.size;
        assert_eq!(cosigned(&app, "council", n).await, n);

        // Down: the log grows, the witness does not cosign, the alert is raised.
        witness.stop();
        fill(&app, 10).await;
        let m = checkpoint(&app).await.size;
        let mut conn = sqlx::AnyConnection::connect(&app.database_url).await.unwrap();
        let mut raised = false;
        for _ in 0..100 {
            let rows: Vec<(String, String)> =
                sqlx::query_as("SELECT kind, scope FROM audit_alerts WHERE kind = 'witness-lagging'")
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
            if rows.iter().any(|(_, s)| s == "witness:council") {
                raised = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        conn.close().await.unwrap();
        assert!(raised, "{engine:?}: no witness-lagging alert");
        let status = app.state.store.witness_status("council").await.unwrap().unwrap();
        assert!(status.last_error.is_some_and(|e| e.contains("unreachable")));

        // Restarted on its state file: it still holds size n (a fresh start is answered 409
        // with it), and takes the hub's proof from n to the new size.
        witness.start();
        let (note, _) = resign(&app, m).await;
        let (s, _, body) = witness
            .post(
                AddCheckpoint {
                    old_size: 0,
                    proof: Vec::new(),
                    checkpoint: note,
                }
                .to_text(),
            )
            .await;
        assert_eq!((s, body), (409, format!("{n}\n")), "{engine:?}");
        assert!(cosigned(&app, "council", m).await >= m);
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_witness_can_serve_https_itself() {
    for engine in engines() {
        let wdir = tempfile::tempdir().unwrap();
        let witness = WitnessProc::new_with(wdir.path(), "witness.pref.example/w1", true);
        let wc = witness.config("prefecture");
        assert!(wc.url.starts_with("https://localhost:"), "{}", wc.url);
        let app = spawn_app_with(engine, |c| {
            with_witnesses(c, vec![wc], 1);
            c.witnesses.ca_file = Some(dev("ca.pem"));
        })
        .await;
        fill(&app, 3).await;
        let n = checkpoint(&app).await.size;
        assert!(cosigned(&app, "prefecture", n).await >= n, "{engine:?}");
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_split_view_under_the_same_key_is_refused_and_alerts_at_once() {
    for engine in engines() {
        let wdir = tempfile::tempdir().unwrap();
        let witness = WitnessProc::new(wdir.path(), "witness.council.example/w1");
        let wc = witness.config("council");
        let honest = spawn_app_with(engine, |c| with_witnesses(c, vec![wc.clone()], 1)).await;
        fill(&honest, 5).await;
        let n = checkpoint(&honest).await.size;
        assert_eq!(cosigned(&honest, "council", n).await, n);

        // A second database under the same origin and key — another view of "the" log.
        let split = spawn_app_with(engine, |c| {
            with_witnesses(c, vec![wc], 1);
            c.witnesses.lag_alert_secs = 3600;
        })
        .await;
        fill(&split, 30).await;
        let m = checkpoint(&split).await.size;
        assert!(m > n);
        let mut conn = sqlx::AnyConnection::connect(&split.database_url).await.unwrap();
        let mut detail = None;
        for _ in 0..100 {
            let rows: Vec<(String,)> = sqlx::query_as(
                "SELECT detail FROM audit_alerts WHERE kind = 'witness-lagging' AND scope = 'witness:council'",
            )
            .fetch_all(&mut conn)
            .await
            .unwrap();
            if let Some((d,)) = rows.into_iter().next() {
                detail = Some(d);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        conn.close().await.unwrap();
        let detail = detail.expect("the refusal raises the alert at once");
        assert!(
            detail.contains("refused") && detail.contains("422"),
            "{engine:?}: {detail}"
        );
        let status = split.state.store.witness_status("council").await.unwrap().unwrap();
        assert_eq!((status.known_size, status.cosigned_size), (n, None));
        assert_eq!(witness.evidence().await, 1);
        split.stop().await;
        honest.stop().await;
    }
}
