//! `tsunagi audit …`: the auditor's commands. `verify`, `checkpoint`, `export`, `vkeys`, `proof`
//! and `clear-inconsistency` read the hub's database (configuration as for `serve`);
//! `check-proof` is offline and needs only the proof file, the entry (or its leaf hash) and the
//! log's verifier keys.
//!
//! A failed `verify` sets the log-inconsistency latch (proof endpoints answer 503
//! `log_inconsistent`); `clear-inconsistency` clears it only when the whole log verifies again,
//! and logs who cleared it and why before it does.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Subcommand;

use tsunagi::audit::alerts::Alerts;
use tsunagi::audit::checkpoint::NoteVerifier;
use tsunagi::audit::checkpointer::Checkpointer;
use tsunagi::audit::keys::parse_vkeys;
use tsunagi::audit::merkle::{self, Hash};
use tsunagi::audit::proof_file::{ConsistencyProofFile, InclusionProofFile};
use tsunagi::audit::proofs::ProofBuilder;
use tsunagi::audit::verify::{VerifyOptions, verify_log};
use tsunagi::clock::SystemClock;
use tsunagi::config::Config;
use tsunagi::store::Store;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Replay the whole log and check every entry, leaf hash, checkpoint and subtree; exit 0
    /// only when everything holds.
    Verify {
        /// A signed checkpoint saved earlier (repeatable): the log must still contain its tree.
        #[arg(long = "checkpoint")]
        checkpoints: Vec<PathBuf>,
        /// Verifier keys to trust instead of those derived from the configuration.
        #[arg(long)]
        vkeys: Option<PathBuf>,
        /// Rows per database read.
        #[arg(long, default_value_t = 1024)]
        page: u32,
    },
    /// Sign a checkpoint of the current log now (the server does this every few seconds).
    Checkpoint,
    /// Write the log as C2SP tlog-tiles static files, cut at a signed checkpoint.
    Export {
        dir: PathBuf,
        /// The size of a stored checkpoint to cut at (default: the latest).
        #[arg(long)]
        size: Option<u64>,
    },
    /// Print the log's verifier keys (current first).
    Vkeys,
    /// After the log has been repaired (e.g. restored from a backup): verify the whole log and, if
    /// it holds, log the clearing and let the hub serve proofs again.
    ClearInconsistency {
        /// Who clears it (a user id; logged).
        #[arg(long)]
        operator: String,
        /// Why it may be cleared, e.g. what was restored (logged).
        #[arg(long)]
        reason: String,
        /// Signed checkpoints saved earlier (repeatable): the log must still contain them.
        #[arg(long = "checkpoint")]
        checkpoints: Vec<PathBuf>,
    },
    /// Write a proof file.
    Proof {
        #[command(subcommand)]
        kind: ProofKind,
    },
    /// Check a proof file offline.
    CheckProof {
        #[command(subcommand)]
        kind: CheckKind,
    },
    /// The configured witnesses: the size each holds, its latest cosignature, its last error,
    /// and the latest witnessed checkpoint.
    Witnesses,
}

/// Witness requirements of `check-proof`.
#[derive(clap::Args)]
pub struct WitnessArgs {
    /// A witness's verifier key (`name+keyid+base64`, from `tsunagi witness vkey`); repeatable.
    #[arg(long = "witness")]
    witnesses: Vec<String>,
    /// How many of those witnesses must have cosigned the checkpoint (default: 0).
    #[arg(long, default_value_t = 0)]
    witnesses_required: usize,
}

impl WitnessArgs {
    /// Refuses unless the note carries at least `witnesses_required` valid cosignatures from
    /// distinct given witnesses; returns the witnesses that cosigned.
    fn check(&self, note: &str) -> anyhow::Result<Vec<String>> {
        let verifiers = self
            .witnesses
            .iter()
            .map(|v| {
                tsunagi::audit::cosignature::CosignatureVerifier::parse(v).with_context(|| format!("--witness {v}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        if self.witnesses_required > verifiers.len() {
            bail!(
                "--witnesses-required {} but only {} --witness keys given",
                self.witnesses_required,
                verifiers.len()
            );
        }
        if verifiers.is_empty() {
            return Ok(Vec::new());
        }
        let found = tsunagi::audit::cosignature::cosigned_by(note, &verifiers)
            .context("a witness cosignature on the checkpoint does not verify")?;
        if found.len() < self.witnesses_required {
            bail!(
                "the checkpoint carries {} valid cosignatures of the given witnesses; {} required",
                found.len(),
                self.witnesses_required
            );
        }
        Ok(found
            .into_iter()
            .map(|(v, _)| v.split('+').next().unwrap_or_default().to_owned())
            .collect())
    }
}

#[derive(Subcommand)]
pub enum ProofKind {
    /// C2SP tlog-proof of one entry in a signed checkpoint.
    Inclusion {
        #[arg(long)]
        index: u64,
        /// A stored checkpoint's size (default: the latest containing the entry).
        #[arg(long)]
        size: Option<u64>,
        /// Proof file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also write the entry's exact bytes here.
        #[arg(long)]
        entry_out: Option<PathBuf>,
    },
    /// Consistency proof between two stored checkpoints.
    Consistency {
        #[arg(long)]
        old: u64,
        /// Default: the latest checkpoint.
        #[arg(long)]
        new: Option<u64>,
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum CheckKind {
    Inclusion {
        file: PathBuf,
        /// The log's verifier keys, one per line.
        #[arg(long)]
        vkeys: PathBuf,
        /// The entry's exact bytes.
        #[arg(long, conflicts_with = "leaf_hash", required_unless_present = "leaf_hash")]
        entry: Option<PathBuf>,
        /// Or its leaf hash (hex), as on a disclosure receipt.
        #[arg(long)]
        leaf_hash: Option<String>,
        /// The origin the checkpoint must name.
        #[arg(long)]
        origin: Option<String>,
        #[command(flatten)]
        witness: WitnessArgs,
    },
    Consistency {
        file: PathBuf,
        #[arg(long)]
        vkeys: PathBuf,
        #[arg(long)]
        origin: Option<String>,
        /// Witness cosignatures required on the newer checkpoint.
        #[command(flatten)]
        witness: WitnessArgs,
    },
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn read_vkeys(path: &Path) -> anyhow::Result<Vec<NoteVerifier>> {
    let keys = parse_vkeys(&read_text(path)?).with_context(|| format!("verifier keys in {}", path.display()))?;
    if keys.is_empty() {
        bail!("{} holds no verifier key", path.display());
    }
    Ok(keys)
}

fn emit(out: Option<&Path>, text: &str) -> anyhow::Result<()> {
    match out {
        Some(p) => std::fs::write(p, text).with_context(|| format!("writing {}", p.display())),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

/// Runs an audit command. `Ok(false)` means "ran, but the log did not verify".
pub fn run(config: anyhow::Result<Config>, cmd: AuditCommand) -> anyhow::Result<bool> {
    if let AuditCommand::CheckProof { kind } = cmd {
        return check_proof(kind).map(|()| true);
    }
    let config = config?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let store = tsunagi::startup::open_store(&config).await?;
        let result = with_store(&config, &store, cmd).await;
        store.close().await;
        result
    })
}

async fn with_store(config: &Config, store: &Store, cmd: AuditCommand) -> anyhow::Result<bool> {
    let keys = Arc::new(tsunagi::startup::log_keys(config)?);
    let clock = Arc::new(SystemClock);
    let alerts = Alerts::new(store.clone(), clock.clone(), config.audit.alerts.clone());
    let checkpointer = Checkpointer::new(store.clone(), keys.clone(), clock, alerts.clone());
    match cmd {
        AuditCommand::Verify {
            checkpoints,
            vkeys,
            page,
        } => {
            let verifiers = match vkeys {
                Some(p) => read_vkeys(&p)?,
                None => keys.verifiers().to_vec(),
            };
            let saved = checkpoints
                .iter()
                .map(|p| read_text(p))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let started = std::time::Instant::now();
            let opts = VerifyOptions {
                verifiers,
                origin: keys.origin().to_owned(),
                saved_checkpoints: saved,
                page,
            };
            let report = verify_log(store, &opts).await?;
            let secs = started.elapsed().as_secs_f64();
            println!(
                "replayed {} entries in {secs:.2}s ({:.0} entries/s); {} checkpoints, {} subtree roots checked",
                report.entries,
                report.entries as f64 / secs.max(1e-9),
                report.checkpoints,
                report.subtrees
            );
            match report.problems.split_first() {
                None => {
                    println!("OK: root {} at size {}", hex::encode(report.root), report.entries);
                    Ok(true)
                }
                Some((first, rest)) => {
                    println!("FAIL at index {}: {first}", first.index());
                    for p in rest {
                        println!("also: {p}");
                    }
                    checkpointer.mark_inconsistent("audit-verify", &first.to_string()).await;
                    Ok(false)
                }
            }
        }
        AuditCommand::Checkpoint => {
            match checkpointer.checkpoint_now().await? {
                Some(cp) => print!("{}", cp.note),
                None => println!("no new entries since the latest checkpoint"),
            }
            Ok(true)
        }
        AuditCommand::Export { dir, size } => {
            let s = tsunagi::audit::export::export(store, keys.verifiers(), &dir, size).await?;
            println!(
                "exported {} entries ({} tiles, {} entry bundles) at checkpoint root {} to {}",
                s.checkpoint.size,
                s.tiles,
                s.bundles,
                hex::encode(s.checkpoint.root),
                dir.display()
            );
            Ok(true)
        }
        AuditCommand::Vkeys => {
            print!("{}", keys.vkeys_text());
            Ok(true)
        }
        AuditCommand::Proof { kind } => proof(store, &checkpointer, kind).await.map(|()| true),
        AuditCommand::ClearInconsistency {
            operator,
            reason,
            checkpoints,
        } => clear_inconsistency(store, &keys, &SystemClock, &operator, &reason, &checkpoints).await,
        AuditCommand::CheckProof { .. } => Ok(true),
        AuditCommand::Witnesses => witnesses(config, store).await.map(|()| true),
    }
}

async fn witnesses(config: &Config, store: &Store) -> anyhow::Result<()> {
    let policy = tsunagi::audit::witnessing::WitnessPolicy::from_config(&config.witnesses)?;
    if !policy.enabled() {
        println!("no witnesses configured ([witnesses] in the configuration)");
        return Ok(());
    }
    let latest = store.latest_checkpoint().await?;
    println!(
        "latest checkpoint: {}; witnessed needs {} of {} cosignatures",
        latest
            .as_ref()
            .map_or_else(|| "none".to_owned(), |c| format!("size {}", c.size)),
        policy.k,
        policy.witnesses.len()
    );
    let statuses = store.witness_statuses().await?;
    let when = |ms: Option<i64>| {
        ms.and_then(|ms| time::OffsetDateTime::from_unix_timestamp(ms / 1000).ok())
            .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
            .unwrap_or_else(|| "never".to_owned())
    };
    for w in &policy.witnesses {
        let s = statuses.iter().find(|s| s.witness == w.name);
        let cosigned = s.and_then(|s| s.cosigned_size);
        let state = match (cosigned, &latest) {
            (Some(c), Some(l)) if c == l.size => "up to date",
            (_, None) => "idle",
            _ => "behind",
        };
        println!(
            "{}	{}	{state}	cosigned size {}	at {}	last error: {}",
            w.name,
            w.url,
            cosigned.map_or_else(|| "none".to_owned(), |c| c.to_string()),
            when(s.and_then(|s| s.cosigned_at_ms)),
            s.and_then(|s| s.last_error.clone())
                .unwrap_or_else(|| "none".to_owned())
        );
    }
    match policy.latest_witnessed(store, None).await? {
        Some((cp, _)) => println!("latest witnessed checkpoint: size {}", cp.size),
        None => println!("no witnessed checkpoint yet"),
    }
    Ok(())
}

async fn proof(store: &Store, checkpointer: &Checkpointer, kind: ProofKind) -> anyhow::Result<()> {
    match kind {
        ProofKind::Inclusion {
            index,
            size,
            out,
            entry_out,
        } => {
            let cp = match size {
                Some(s) => store.checkpoint_at(s).await?,
                None => checkpointer.covering(index).await?,
            }
            .context("no signed checkpoint contains that entry")?;
            let entry = store
                .audit_entry_for_operator(index)
                .await?
                .context("no entry with that index")?;
            let proof = ProofBuilder::new(store).inclusion(index, cp.size).await?;
            let file = InclusionProofFile {
                extra: None,
                index,
                proof,
                checkpoint: tsunagi::audit::export::with_cosignatures(store, &cp).await?,
            };
            emit(out.as_deref(), &file.to_text())?;
            if let Some(p) = entry_out {
                std::fs::write(&p, &entry.entry).with_context(|| format!("writing {}", p.display()))?;
            }
        }
        ProofKind::Consistency { old, new, out } => {
            let old = store
                .checkpoint_at(old)
                .await?
                .context("no stored checkpoint of size --old")?;
            let new = match new {
                Some(n) => store.checkpoint_at(n).await?,
                None => store.latest_checkpoint().await?,
            }
            .context("no stored checkpoint of size --new")?;
            if old.size > new.size {
                bail!("--old must not be larger than --new");
            }
            let proof = ProofBuilder::new(store).consistency(old.size, new.size).await?;
            let file = ConsistencyProofFile {
                proof,
                old_checkpoint: tsunagi::audit::export::with_cosignatures(store, &old).await?,
                new_checkpoint: tsunagi::audit::export::with_cosignatures(store, &new).await?,
            };
            emit(out.as_deref(), &file.to_text())?;
        }
    }
    Ok(())
}

async fn clear_inconsistency(
    store: &Store,
    keys: &tsunagi::audit::keys::LogKeys,
    clock: &dyn tsunagi::clock::Clock,
    operator: &str,
    reason: &str,
    checkpoints: &[PathBuf],
) -> anyhow::Result<bool> {
    let operator =
        tsunagi::domain::UserId::parse(operator).map_err(|e| anyhow::anyhow!("--operator: {}", e.message))?;
    let reason = tsunagi::domain::text::FreeText::parse("reason", reason.trim())
        .map_err(|e| anyhow::anyhow!("--reason: {}", e.message))?;
    if reason.as_str().is_empty() {
        bail!("--reason must say why the latch may be cleared");
    }
    let Some(latch) = store.log_inconsistency().await? else {
        println!("the log is not marked inconsistent; nothing to clear");
        return Ok(true);
    };
    let opts = VerifyOptions {
        verifiers: keys.verifiers().to_vec(),
        origin: keys.origin().to_owned(),
        saved_checkpoints: checkpoints
            .iter()
            .map(|p| read_text(p))
            .collect::<anyhow::Result<Vec<_>>>()?,
        page: 1024,
    };
    let report = verify_log(store, &opts).await?;
    if let Some(first) = report.problems.first() {
        println!("FAIL at index {}: {first}", first.index());
        println!("the log still does not verify; the latch stays set");
        return Ok(false);
    }
    let now = clock.now();
    let tasks = tsunagi::tasks::BackgroundTasks::new();
    let log = tsunagi::audit::AuditLog::start(store.clone(), 1, &tasks);
    let entry = tsunagi::audit::AuditEntry::Event(tsunagi::audit::EventEntry {
        event: "log-inconsistency-cleared",
        at: now
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        user: operator.to_string(),
        agency: "hub-operator".to_owned(),
        subject: None,
        reference: format!("verified at size {}", report.entries),
        detail: serde_json::json!({
            "reason": reason.as_str(),
            "detected_at_ms": latch.detected_at_ms,
            "source": latch.source,
            "detail": latch.detail,
            "verified_root": hex::encode(report.root),
        }),
    });
    let index = tsunagi::audit::IndexFields {
        at_ms: i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or_default(),
        decision: "recorded",
        requester_user: Some(operator.to_string()),
        ..Default::default()
    };
    let logged = log
        .record_change(&entry, index)
        .await
        .map_err(|e| anyhow::anyhow!("the clearing could not be logged, so the latch stays set: {e}"))?;
    drop(log);
    tasks.stop().await;
    store.clear_log_inconsistency(&logged).await?;
    println!(
        "OK: the log verifies ({} entries); latch cleared, logged at index {}",
        report.entries,
        logged.receipt().index
    );
    Ok(true)
}

fn check_proof(kind: CheckKind) -> anyhow::Result<()> {
    match kind {
        CheckKind::Inclusion {
            file,
            vkeys,
            entry,
            leaf_hash,
            origin,
            witness,
        } => {
            let verifiers = read_vkeys(&vkeys)?;
            let proof = InclusionProofFile::parse(&read_text(&file)?)?;
            let leaf: Hash = match (entry, leaf_hash) {
                (Some(p), _) => {
                    merkle::leaf_hash(&std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?)
                }
                (None, Some(h)) => hex::decode(h.trim())
                    .ok()
                    .and_then(|b| Hash::try_from(b.as_slice()).ok())
                    .context("--leaf-hash must be 64 hex digits")?,
                (None, None) => bail!("give --entry or --leaf-hash"),
            };
            let cp = proof.check(&leaf, &verifiers, origin.as_deref())?;
            let cosigned = witness.check(&proof.checkpoint)?;
            if !cosigned.is_empty() {
                println!("cosigned by the witnesses {}", cosigned.join(", "));
            }
            println!(
                "OK: entry {} (leaf {}) is in the log {} of size {}",
                proof.index,
                hex::encode(leaf),
                cp.origin,
                cp.size
            );
        }
        CheckKind::Consistency {
            file,
            vkeys,
            origin,
            witness,
        } => {
            let verifiers = read_vkeys(&vkeys)?;
            let proof = ConsistencyProofFile::parse(&read_text(&file)?)?;
            let (old, new) = proof.check(&verifiers, origin.as_deref())?;
            let cosigned = witness.check(&proof.new_checkpoint)?;
            if !cosigned.is_empty() {
                println!(
                    "the newer checkpoint is cosigned by the witnesses {}",
                    cosigned.join(", ")
                );
            }
            println!(
                "OK: the log {} of size {} extends its earlier tree of size {}",
                new.origin, new.size, old.size
            );
        }
    }
    Ok(())
}
