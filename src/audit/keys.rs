//! The log's identity: its origin line and the Ed25519 key that signs its checkpoints, plus the
//! verifier keys of earlier signing keys (rotation: old checkpoints stay verifiable).

use std::path::Path;

use super::checkpoint::{NoteError, NoteSigner, NoteVerifier};
use crate::crypto::keyfile::read_key;

/// Signing key and every verifier key of the log.
#[derive(Debug)]
pub struct LogKeys {
    origin: String,
    signer: NoteSigner,
    /// The current key's verifier first, then retired ones.
    verifiers: Vec<NoteVerifier>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("log signing key: {0}")]
    File(#[from] crate::crypto::keyfile::KeyFileError),
    #[error("log name {0:?}: use letters, digits, '.', '-', '_' or '/'")]
    BadName(String),
    #[error("log key: {0}")]
    Note(#[from] NoteError),
}

/// The checkpoint origin for a configured log name: `tsunagi.<name>`.
pub fn origin_for(log_name: &str) -> Result<String, KeyError> {
    let ok = !log_name.is_empty()
        && log_name.len() <= 100
        && log_name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'/'));
    if ok {
        Ok(format!("tsunagi.{log_name}"))
    } else {
        Err(KeyError::BadName(log_name.to_owned()))
    }
}

impl LogKeys {
    /// The key is named after the origin (the C2SP convention for a log's own key).
    pub fn new(origin: &str, seed: &[u8; 32], old_verifier_keys: &[String]) -> Result<Self, KeyError> {
        let signer = NoteSigner::from_seed(origin, seed)?;
        let mut verifiers = vec![signer.verifier()];
        for v in old_verifier_keys {
            let v = NoteVerifier::parse(v.trim())?;
            if !verifiers.contains(&v) {
                verifiers.push(v);
            }
        }
        Ok(Self {
            origin: origin.to_owned(),
            signer,
            verifiers,
        })
    }

    /// Loads the seed file (32 bytes, base64).
    pub fn load(log_name: &str, seed_file: &Path, old_verifier_keys: &[String]) -> Result<Self, KeyError> {
        let origin = origin_for(log_name)?;
        Self::new(&origin, &read_key::<32>(seed_file)?, old_verifier_keys)
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn signer(&self) -> &NoteSigner {
        &self.signer
    }

    pub fn verifiers(&self) -> &[NoteVerifier] {
        &self.verifiers
    }

    /// Every verifier key in C2SP text form, one per line, the current key first.
    pub fn vkeys_text(&self) -> String {
        self.verifiers.iter().map(|v| v.to_vkey_string() + "\n").collect()
    }
}

/// Parses verifier keys from text: one per line; blank lines and `#` comments are skipped.
pub fn parse_vkeys(text: &str) -> Result<Vec<NoteVerifier>, NoteError> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(NoteVerifier::parse)
        .collect()
}
