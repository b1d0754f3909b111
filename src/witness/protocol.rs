//! The `add-checkpoint` request body (C2SP `tlog-witness`):
//!
//! ```text
//! old <decimal size>
//! <base64 consistency proof hash>
//! ...
//!
//! <signed checkpoint note>
//! ```
//!
//! The answer is one or more cosignature lines; a stale old size is answered 409 with the
//! witness's size (`text/x.tlog.size`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::audit::merkle::Hash;

/// At most 63 proof lines (the spec's bound).
pub const MAX_PROOF_LINES: usize = 63;
/// The 409 answer's content type.
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// One `add-checkpoint` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    pub old_size: u64,
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, verbatim.
    pub checkpoint: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("the request must start with an `old <size>` line")]
    OldLine,
    #[error("a proof line is not the base64 of a 32-byte hash")]
    ProofLine,
    #[error("more than {MAX_PROOF_LINES} proof lines")]
    TooManyProofLines,
    #[error("no blank line before the checkpoint")]
    NoCheckpoint,
}

/// Canonical ASCII decimal (no sign, no leading zero unless `0`).
pub fn parse_size(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    s.parse().ok()
}

impl AddCheckpoint {
    pub fn to_text(&self) -> String {
        let mut t = format!("old {}\n", self.old_size);
        for h in &self.proof {
            t.push_str(&STANDARD.encode(h));
            t.push('\n');
        }
        t.push('\n');
        t.push_str(&self.checkpoint);
        t
    }

    pub fn parse(text: &str) -> Result<Self, RequestError> {
        let (old_line, mut rest) = text.split_once('\n').ok_or(RequestError::OldLine)?;
        let old_size = old_line
            .strip_prefix("old ")
            .and_then(parse_size)
            .ok_or(RequestError::OldLine)?;
        let mut proof = Vec::new();
        loop {
            let (line, after) = rest.split_once('\n').ok_or(RequestError::NoCheckpoint)?;
            rest = after;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(RequestError::TooManyProofLines);
            }
            let bytes = STANDARD.decode(line).map_err(|_| RequestError::ProofLine)?;
            let hash = Hash::try_from(bytes.as_slice()).map_err(|_| RequestError::ProofLine)?;
            if STANDARD.encode(hash) != line {
                return Err(RequestError::ProofLine);
            }
            proof.push(hash);
        }
        if rest.is_empty() {
            return Err(RequestError::NoCheckpoint);
        }
        Ok(Self {
            old_size,
            proof,
            checkpoint: rest.to_owned(),
        })
    }
}

/// Parses a 409 answer's body (`<size>\n`).
pub fn parse_size_answer(body: &str) -> Option<u64> {
    parse_size(body.strip_suffix('\n').unwrap_or(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_spec_example_shape_parses() {
        let text = "old 20852014\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\njrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";
        let r = AddCheckpoint::parse(text).unwrap();
        assert_eq!(r.old_size, 20_852_014);
        assert_eq!(r.proof.len(), 2);
        assert!(r.checkpoint.starts_with("example.com/behind-the-sofa\n"));
        assert_eq!(r.to_text(), text);
    }

    #[test]
    fn malformed_requests_are_refused() {
        for bad in [
            "",
            "old 01\n\nx",
            "old -1\n\nx",
            "new 1\n\nx",
            "old 1\nnot-base64\n\nx",
            "old 1\nAAAA\n\nx",
            "old 1\n",
            "old 1\n\n",
        ] {
            assert!(AddCheckpoint::parse(bad).is_err(), "{bad:?}");
        }
        let many = format!(
            "old 1\n{}\nx",
            "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n".repeat(64)
        );
        assert_eq!(AddCheckpoint::parse(&many), Err(RequestError::TooManyProofLines));
        assert_eq!(parse_size_answer("17\n"), Some(17));
        assert_eq!(parse_size_answer("x\n"), None);
    }

    proptest! {
        #[test]
        fn parsing_never_panics(s in "\\PC{0,300}") {
            let _ = AddCheckpoint::parse(&s);
        }

        #[test]
        fn requests_round_trip(old in any::<u64>(), proof in proptest::collection::vec(any::<[u8; 32]>(), 0..63), cp in "[a-z]{1,20}\n[0-9]{1,5}\n") {
            let r = AddCheckpoint { old_size: old, proof, checkpoint: cp };
            prop_assert_eq!(AddCheckpoint::parse(&r.to_text()).unwrap(), r);
        }
    }
}
