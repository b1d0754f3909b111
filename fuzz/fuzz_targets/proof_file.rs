//! Fuzzes what an auditor hands `tsunagi audit check-proof`: the offline inclusion and
//! consistency proof files and the signed checkpoint notes inside them. No input panics; a
//! parsed file prints back to itself; a note never opens under a key that did not sign it.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tsunagi::audit::checkpoint::{NoteVerifier, open_checkpoint};
use tsunagi::audit::keys::{LogKeys, parse_vkeys};
use tsunagi::audit::proof_file::{ConsistencyProofFile, InclusionProofFile};

/// A log key the fuzzer cannot know the secret of: no mutated note verifies under it unless
/// it carries a signature the key made.
fn verifiers() -> &'static [NoteVerifier] {
    static KEYS: OnceLock<Vec<NoteVerifier>> = OnceLock::new();
    KEYS.get_or_init(|| {
        LogKeys::new("tsunagi.fuzz", &[9u8; 32], &[])
            .map(|k| k.verifiers().to_vec())
            .unwrap_or_default()
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(f) = InclusionProofFile::parse(&text) {
        assert_eq!(InclusionProofFile::parse(&f.to_text()).ok(), Some(f.clone()));
        let _ = open_checkpoint(&f.checkpoint, verifiers());
    }
    if let Ok(f) = ConsistencyProofFile::parse(&text) {
        assert_eq!(ConsistencyProofFile::parse(&f.to_text()).ok(), Some(f.clone()));
        let _ = open_checkpoint(&f.old_checkpoint, verifiers());
    }
    if let Ok(c) = open_checkpoint(&text, verifiers()) {
        // Only a note that carries a signature of the key opens; its origin is the key's log.
        assert_eq!(c.origin, "tsunagi.fuzz");
    }
    let _ = parse_vkeys(&text);
});
