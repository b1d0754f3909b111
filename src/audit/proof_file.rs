//! Offline proof files, checkable without the hub.
//!
//! **Inclusion** proofs use the C2SP `tlog-proof` text format (`.tlog-proof`):
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! [extra <base64>]
//! index <decimal>
//! <base64 hash, from the leaf's sibling up>
//! ...
//!
//! <the signed checkpoint, verbatim>
//! ```
//!
//! The entry itself is not in the file: the checker hashes the entry it holds (RFC 6962 leaf
//! hash), or takes the leaf hash from a disclosure receipt.
//!
//! **Consistency** proofs use the same shape (`.consistency-proof`): a header line, the proof
//! hashes, a blank line, the older signed checkpoint, a blank line, the newer one:
//!
//! ```text
//! tsunagi/consistency-proof@v1
//! <base64 hash>
//! ...
//!
//! <older signed checkpoint>
//!
//! <newer signed checkpoint>
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::checkpoint::{Checkpoint, NoteError, NoteVerifier, open_checkpoint};
use super::merkle::{self, Hash, ProofError};

pub const INCLUSION_HEADER: &str = "c2sp.org/tlog-proof@v1";
pub const CONSISTENCY_HEADER: &str = "tsunagi/consistency-proof@v1";
/// More proof lines than any tree of 2^64 entries needs.
const MAX_HASHES: usize = 130;

#[derive(Debug, thiserror::Error)]
pub enum ProofFileError {
    #[error("malformed proof file: {0}")]
    Malformed(&'static str),
    #[error("checkpoint: {0}")]
    Note(#[from] NoteError),
    #[error("the checkpoint is for log {got:?}, expected {want:?}")]
    WrongOrigin { got: String, want: String },
    #[error("the proof does not hold: {0}")]
    Proof(#[from] ProofError),
}

/// An inclusion proof with its checkpoint (C2SP tlog-proof).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProofFile {
    pub extra: Option<Vec<u8>>,
    pub index: u64,
    pub proof: Vec<Hash>,
    /// The signed checkpoint note.
    pub checkpoint: String,
}

/// A consistency proof between two signed checkpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyProofFile {
    pub proof: Vec<Hash>,
    pub old_checkpoint: String,
    pub new_checkpoint: String,
}

fn hash_lines(proof: &[Hash]) -> String {
    proof.iter().map(|h| STANDARD.encode(h) + "\n").collect()
}

fn parse_hash(line: &str) -> Result<Hash, ProofFileError> {
    let bytes = STANDARD
        .decode(line)
        .map_err(|_| ProofFileError::Malformed("a proof line is not base64"))?;
    Hash::try_from(bytes.as_slice()).map_err(|_| ProofFileError::Malformed("a proof line is not a 32-byte hash"))
}

/// Splits `text` at its first blank line: (lines before, text after).
fn split_blank(text: &str) -> Result<(&str, &str), ProofFileError> {
    if let Some(rest) = text.strip_prefix('\n') {
        return Ok(("", rest));
    }
    text.split_once("\n\n")
        .ok_or(ProofFileError::Malformed("no blank line before the checkpoint"))
}

fn check_origin(cp: &Checkpoint, origin: Option<&str>) -> Result<(), ProofFileError> {
    match origin {
        Some(want) if cp.origin != want => Err(ProofFileError::WrongOrigin {
            got: cp.origin.clone(),
            want: want.to_owned(),
        }),
        _ => Ok(()),
    }
}

impl InclusionProofFile {
    pub fn to_text(&self) -> String {
        let mut t = format!("{INCLUSION_HEADER}\n");
        if let Some(extra) = &self.extra {
            t.push_str(&format!("extra {}\n", STANDARD.encode(extra)));
        }
        t.push_str(&format!("index {}\n", self.index));
        t.push_str(&hash_lines(&self.proof));
        t.push('\n');
        t.push_str(&self.checkpoint);
        t
    }

    pub fn parse(text: &str) -> Result<Self, ProofFileError> {
        let rest = text
            .strip_prefix(INCLUSION_HEADER)
            .and_then(|r| r.strip_prefix('\n'))
            .ok_or(ProofFileError::Malformed("missing the c2sp.org/tlog-proof@v1 line"))?;
        let (head, checkpoint) = split_blank(rest)?;
        let mut lines = head.split('\n').peekable();
        let extra = match lines.peek().and_then(|l| l.strip_prefix("extra ")) {
            Some(b64) => {
                let e = STANDARD
                    .decode(b64)
                    .map_err(|_| ProofFileError::Malformed("extra is not base64"))?;
                lines.next();
                Some(e)
            }
            None => None,
        };
        let index = lines
            .next()
            .and_then(|l| l.strip_prefix("index "))
            .filter(|d| *d == "0" || (!d.starts_with('0') && d.bytes().all(|b| b.is_ascii_digit())))
            .and_then(|d| d.parse().ok())
            .ok_or(ProofFileError::Malformed("missing or bad index line"))?;
        let proof = lines.map(parse_hash).collect::<Result<Vec<_>, _>>()?;
        if proof.len() > MAX_HASHES {
            return Err(ProofFileError::Malformed("too many proof lines"));
        }
        Ok(Self {
            extra,
            index,
            proof,
            checkpoint: checkpoint.to_owned(),
        })
    }

    /// Opens the checkpoint with the verifier keys, checks its origin (when given) and that
    /// `leaf` is at `index` in its tree. Returns the checkpoint.
    pub fn check(
        &self,
        leaf: &Hash,
        verifiers: &[NoteVerifier],
        origin: Option<&str>,
    ) -> Result<Checkpoint, ProofFileError> {
        let cp = open_checkpoint(&self.checkpoint, verifiers)?;
        check_origin(&cp, origin)?;
        merkle::verify_inclusion(self.index, cp.size, leaf, &self.proof, &cp.root)?;
        Ok(cp)
    }
}

impl ConsistencyProofFile {
    pub fn to_text(&self) -> String {
        format!(
            "{CONSISTENCY_HEADER}\n{}\n{}\n{}",
            hash_lines(&self.proof),
            self.old_checkpoint,
            self.new_checkpoint
        )
    }

    pub fn parse(text: &str) -> Result<Self, ProofFileError> {
        let rest = text
            .strip_prefix(CONSISTENCY_HEADER)
            .and_then(|r| r.strip_prefix('\n'))
            .ok_or(ProofFileError::Malformed(
                "missing the tsunagi/consistency-proof@v1 line",
            ))?;
        let (head, notes) = split_blank(rest)?;
        let proof = head
            .split('\n')
            .filter(|l| !l.is_empty())
            .map(parse_hash)
            .collect::<Result<Vec<_>, _>>()?;
        if proof.len() > MAX_HASHES {
            return Err(ProofFileError::Malformed("too many proof lines"));
        }
        // Each note holds exactly one blank line; the one between the notes is the second.
        let first = notes
            .find("\n\n")
            .ok_or(ProofFileError::Malformed("the older checkpoint is incomplete"))?;
        let missing = || ProofFileError::Malformed("the newer checkpoint is missing");
        let second = notes
            .get(first + 2..)
            .and_then(|rest| rest.find("\n\n"))
            .map(|i| i + first + 2)
            .ok_or_else(missing)?;
        // The older note keeps its closing newline; the newer one starts after the blank line.
        let (old, rest) = notes.split_at_checked(second + 1).ok_or_else(missing)?;
        let new = rest.strip_prefix('\n').ok_or_else(missing)?;
        Ok(Self {
            proof,
            old_checkpoint: old.to_owned(),
            new_checkpoint: new.to_owned(),
        })
    }

    /// Opens both checkpoints, checks their origin and that the newer tree extends the older.
    pub fn check(
        &self,
        verifiers: &[NoteVerifier],
        origin: Option<&str>,
    ) -> Result<(Checkpoint, Checkpoint), ProofFileError> {
        let old = open_checkpoint(&self.old_checkpoint, verifiers)?;
        let new = open_checkpoint(&self.new_checkpoint, verifiers)?;
        check_origin(&old, origin)?;
        check_origin(&new, Some(origin.unwrap_or(&old.origin)))?;
        merkle::verify_consistency(old.size, new.size, &old.root, &new.root, &self.proof)?;
        Ok((old, new))
    }
}

#[cfg(test)]
#[path = "proof_file_tests.rs"]
mod tests;
