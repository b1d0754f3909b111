//! The witness's list of logs (`--logs FILE`, TOML):
//!
//! ```toml
//! [[log]]
//! origin = "tsunagi.ward"                 # the checkpoint origin line
//! vkeys = ["tsunagi.ward+1a2b3c4d+AQ…"]   # the log's verifier keys (current and retired)
//! ```

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

use crate::audit::checkpoint::NoteVerifier;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    log: Vec<LogEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogEntry {
    origin: String,
    vkeys: Vec<String>,
}

/// Known logs by origin, with their verifier keys.
pub type KnownLogs = HashMap<String, Vec<NoteVerifier>>;

pub fn parse(text: &str) -> anyhow::Result<KnownLogs> {
    let file: File = toml::from_str(text).context("the logs file")?;
    let mut out = KnownLogs::new();
    for l in file.log {
        anyhow::ensure!(!l.origin.is_empty(), "a log's origin is empty");
        anyhow::ensure!(!l.vkeys.is_empty(), "log {} has no verifier key", l.origin);
        let keys = l
            .vkeys
            .iter()
            .map(|v| NoteVerifier::parse(v.trim()).with_context(|| format!("a verifier key of {}", l.origin)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        anyhow::ensure!(
            out.insert(l.origin.clone(), keys).is_none(),
            "log {} is listed twice",
            l.origin
        );
    }
    Ok(out)
}

pub fn load(path: &Path) -> anyhow::Result<KnownLogs> {
    parse(&std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?)
}
