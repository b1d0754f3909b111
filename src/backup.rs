//! Backups and restores of the embedded (SQLite) database.
//!
//! `tsunagi backup DIR` takes a consistent online copy while the hub runs (`VACUUM INTO`, one
//! read transaction: every entry committed before it began is in the copy, none half-written)
//! and writes `manifest.json` beside it: the copy's SHA-256 and size, and the log's size, root
//! and latest signed checkpoint as the copy holds them.
//!
//! `tsunagi restore DIR` restores into a *fresh* database only (it refuses to overwrite one): it
//! checks the copy against the manifest, writes it beside the target under a temporary name,
//! applies migrations, replays and verifies the whole log with the configured verifier keys
//! (`audit verify`), and only then moves it into place — so the hub can never start on a
//! restored database whose log does not verify.
//!
//! PostgreSQL deployments back up with `pg_dump --format=custom` and restore with `pg_restore`
//! into a fresh database, then run `tsunagi audit verify` before starting the hub (README →
//! Operations); `backup` says so rather than half-doing it.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::audit::verify::{VerifyOptions, verify_log};
use crate::config::Config;
use crate::store::{Engine, Store};

/// The file name of the database copy inside a backup directory.
pub const DATABASE_FILE: &str = "tsunagi.db";
/// The file name of the manifest inside a backup directory.
pub const MANIFEST_FILE: &str = "manifest.json";

/// What a backup holds, written beside the copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format of this manifest (1).
    pub format: u32,
    pub engine: String,
    /// RFC 3339, when the copy was taken.
    pub created_at: String,
    pub tsunagi_version: String,
    pub database_file: String,
    pub database_sha256: String,
    pub database_bytes: u64,
    /// Entries in the copy's log.
    pub log_entries: u64,
    /// The latest signed checkpoint in the copy (its size and the note as signed), if any.
    pub checkpoint_size: Option<u64>,
    pub checkpoint_note: Option<String>,
}

/// What a restore did.
#[derive(Debug, Clone)]
pub struct Restored {
    pub path: PathBuf,
    pub log_entries: u64,
    pub root_hex: String,
}

/// The file path of a `sqlite://` URL (without its query).
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty()).then(|| PathBuf::from(path))
}

fn sha256_file(path: &Path) -> anyhow::Result<(String, u64)> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        ctx.update(buf.get(..n).unwrap_or_default());
        total += n as u64;
    }
    Ok((hex::encode(ctx.finish()), total))
}

/// Takes a consistent online copy of the running hub's SQLite database into `dir` (created; must
/// not already hold a backup) and writes its manifest.
pub async fn backup(store: &Store, config: &Config, dir: &Path, now: time::OffsetDateTime) -> anyhow::Result<Manifest> {
    if store.engine() != Engine::Sqlite {
        bail!(
            "this hub runs on PostgreSQL: back it up with `pg_dump --format=custom --file DIR/tsunagi.pgdump <url>` \
             and restore with `pg_restore` into a fresh database, then `tsunagi audit verify` (README → Operations)"
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let target = dir.join(DATABASE_FILE);
    if target.exists() || dir.join(MANIFEST_FILE).exists() {
        bail!("{} already holds a backup; choose an empty directory", dir.display());
    }
    store
        .vacuum_into(&target)
        .await
        .with_context(|| format!("copying the database into {}", target.display()))?;
    // Read the log's state from the copy itself, not from the live database.
    let copy = open(&format!("sqlite://{}", target.display()), config).await?;
    let entries = copy.audit_size().await?;
    let latest = copy.latest_checkpoint().await?;
    copy.close().await;
    let (sha, bytes) = sha256_file(&target)?;
    let manifest = Manifest {
        format: 1,
        engine: "sqlite".into(),
        created_at: now
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        tsunagi_version: env!("CARGO_PKG_VERSION").into(),
        database_file: DATABASE_FILE.into(),
        database_sha256: sha,
        database_bytes: bytes,
        log_entries: entries,
        checkpoint_size: latest.as_ref().map(|c| c.size),
        checkpoint_note: latest.map(|c| c.note),
    };
    let json = serde_json::to_vec_pretty(&manifest)?;
    std::fs::write(dir.join(MANIFEST_FILE), json).context("writing the manifest")?;
    Ok(manifest)
}

/// `tsunagi backup`: connects to the configured database (without migrating or changing
/// anything) and takes the backup.
pub async fn backup_configured(config: &Config, dir: &Path, now: time::OffsetDateTime) -> anyhow::Result<Manifest> {
    let store = open(&config.database_url, config).await?;
    let result = backup(&store, config, dir, now).await;
    store.close().await;
    result
}

async fn open(url: &str, config: &Config) -> anyhow::Result<Store> {
    crate::startup::connect_store(config, url, 2).await
}

/// Restores the backup in `dir` into the configured SQLite database, which must not exist yet;
/// the log must verify before the file is moved into place.
pub async fn restore(config: &Config, dir: &Path) -> anyhow::Result<Restored> {
    let Some(target) = sqlite_path(&config.database_url) else {
        bail!(
            "the configured database is not SQLite: restore a PostgreSQL dump with `pg_restore` into a fresh \
             database, then run `tsunagi audit verify` before starting the hub"
        );
    };
    if target.exists() {
        bail!(
            "{} exists: restore only into a fresh database (move the old one away first)",
            target.display()
        );
    }
    let manifest: Manifest = serde_json::from_slice(
        &std::fs::read(dir.join(MANIFEST_FILE))
            .with_context(|| format!("reading {}/{MANIFEST_FILE}", dir.display()))?,
    )
    .context("the manifest is not valid")?;
    if manifest.format != 1 || manifest.engine != "sqlite" || manifest.database_file != DATABASE_FILE {
        bail!("the manifest describes a backup this version cannot restore");
    }
    let source = dir.join(DATABASE_FILE);
    let (sha, bytes) = sha256_file(&source)?;
    if sha != manifest.database_sha256 || bytes != manifest.database_bytes {
        bail!("the database copy does not match its manifest (SHA-256 or size differs): the backup is damaged");
    }
    if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let staging = target.with_extension("restoring");
    let _ = std::fs::remove_file(&staging);
    std::fs::copy(&source, &staging).with_context(|| format!("copying into {}", staging.display()))?;
    let result = verify_staged(config, &staging, &manifest).await;
    match result {
        Ok((entries, root_hex)) => {
            // A write-ahead log left beside the staged copy moves with it (SQLite normally
            // folds it in when the last connection closes).
            for suffix in ["-wal", "-shm"] {
                let from = PathBuf::from(format!("{}{suffix}", staging.display()));
                if from.exists() {
                    std::fs::rename(&from, format!("{}{suffix}", target.display()))?;
                }
            }
            std::fs::rename(&staging, &target).with_context(|| format!("moving into {}", target.display()))?;
            Ok(Restored {
                path: target,
                log_entries: entries,
                root_hex,
            })
        }
        Err(e) => {
            for ext in ["restoring", "restoring-wal", "restoring-shm"] {
                let _ = std::fs::remove_file(target.with_extension(ext));
            }
            Err(e)
        }
    }
}

async fn verify_staged(config: &Config, staging: &Path, manifest: &Manifest) -> anyhow::Result<(u64, String)> {
    let store = open(&format!("sqlite://{}", staging.display()), config).await?;
    let outcome = async {
        store
            .migrate()
            .await
            .context("applying migrations to the restored copy")?;
        let entries = store.audit_size().await?;
        if entries != manifest.log_entries {
            bail!(
                "the copy holds {entries} log entries, its manifest says {}",
                manifest.log_entries
            );
        }
        let keys = crate::startup::log_keys(config)?;
        let opts = VerifyOptions {
            verifiers: keys.verifiers().to_vec(),
            origin: keys.origin().to_owned(),
            saved_checkpoints: manifest.checkpoint_note.iter().cloned().collect(),
            page: 10_000,
        };
        let report = verify_log(&store, &opts).await?;
        if let Some(first) = report.problems.first() {
            bail!("the restored log does not verify: {first}");
        }
        Ok((report.entries, hex::encode(report.root)))
    }
    .await;
    store.close().await;
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths_come_from_the_url_without_the_query() {
        assert_eq!(
            sqlite_path("sqlite://data/tsunagi.db"),
            Some(PathBuf::from("data/tsunagi.db"))
        );
        assert_eq!(
            sqlite_path("sqlite:///var/lib/t.db?mode=rwc"),
            Some(PathBuf::from("/var/lib/t.db"))
        );
        assert_eq!(sqlite_path("postgres://h/db"), None);
        assert_eq!(sqlite_path("sqlite://"), None);
    }
}
