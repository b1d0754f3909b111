use super::*;
use crate::audit::checkpoint::{Checkpoint, NoteSigner, open_checkpoint};
use proptest::prelude::*;

fn body() -> String {
    Checkpoint {
        origin: "tsunagi.local".into(),
        size: 42,
        root: [7u8; 32],
        extensions: Vec::new(),
    }
    .body()
}

#[test]
fn a_cosignature_verifies_and_leaves_the_log_signature_alone() {
    let log = NoteSigner::from_seed("tsunagi.local", &[1u8; 32]).unwrap();
    let w = Cosigner::from_seed("witness.example/w1", &[2u8; 32]).unwrap();
    let note = log.sign(&body()).unwrap();
    let line = w.cosign(&body(), 1_679_315_147).unwrap();
    let cosigned = with_lines(&note, &[line]);
    // The log's own verifier still opens the note (the cosignature is an unknown key to it).
    assert_eq!(open_checkpoint(&cosigned, &[log.verifier()]).unwrap().size, 42);
    let found = cosigned_by(&cosigned, &[w.verifier()]).unwrap();
    assert_eq!(found, vec![(w.verifier().to_vkey_string(), 1_679_315_147)]);
    // Another witness's key finds nothing.
    let other = Cosigner::from_seed("witness.example/w2", &[3u8; 32]).unwrap();
    assert!(cosigned_by(&cosigned, &[other.verifier()]).unwrap().is_empty());
    // Same name, other key: a different key id, so ignored as well.
    let impostor = Cosigner::from_seed("witness.example/w1", &[4u8; 32]).unwrap();
    assert!(cosigned_by(&cosigned, &[impostor.verifier()]).unwrap().is_empty());
}

#[test]
fn a_cosignature_on_another_tree_or_time_does_not_verify() {
    let log = NoteSigner::from_seed("tsunagi.local", &[1u8; 32]).unwrap();
    let w = Cosigner::from_seed("witness.example/w1", &[2u8; 32]).unwrap();
    let other_body = Checkpoint {
        origin: "tsunagi.local".into(),
        size: 43,
        root: [7u8; 32],
        extensions: Vec::new(),
    }
    .body();
    let note = log.sign(&body()).unwrap();
    let moved = with_lines(&note, &[w.cosign(&other_body, 5).unwrap()]);
    assert!(cosigned_by(&moved, &[w.verifier()]).is_err());
    // The timestamp is signed: changing it breaks the signature.
    let line = w.cosign(&body(), 5).unwrap();
    let parsed = parse_signature_line(line.trim_end()).unwrap();
    let mut raw = parsed.key_id.to_vec();
    let mut sig = parsed.signature.clone();
    sig[7] ^= 1;
    raw.extend_from_slice(&sig);
    let forged = format!("\u{2014} witness.example/w1 {}\n", STANDARD.encode(raw));
    assert!(cosigned_by(&with_lines(&note, &[forged]), &[w.verifier()]).is_err());
}

#[test]
fn keys_round_trip_and_differ_from_log_keys() {
    let w = Cosigner::from_seed("witness.example/w1", &[2u8; 32]).unwrap();
    let again = Cosigner::from_skey(&w.to_skey_string()).unwrap();
    assert_eq!(again.verifier(), w.verifier());
    let vkey = w.verifier().to_vkey_string();
    assert_eq!(CosignatureVerifier::parse(&vkey).unwrap(), w.verifier());
    // A log (0x01) key is not a cosignature key, and the other way round.
    let log = NoteSigner::from_seed("witness.example/w1", &[2u8; 32]).unwrap();
    assert!(CosignatureVerifier::parse(&log.verifier().to_vkey_string()).is_err());
    assert!(crate::audit::checkpoint::NoteVerifier::parse(&vkey).is_err());
    assert_ne!(log.key_id(), w.verifier().key_id);
}

proptest! {
    #[test]
    fn split_note_never_panics(s in "\\PC{0,200}") {
        let _ = split_note(&s);
    }

    #[test]
    fn split_note_round_trips_cosigned_notes(size in 0u64..u64::MAX, ts in 0u64..(1u64 << 62), n in 1usize..4) {
        let log = NoteSigner::from_seed("tsunagi.local", &[1u8; 32]).unwrap();
        let b = Checkpoint { origin: "tsunagi.local".into(), size, root: [9u8; 32], extensions: Vec::new() }.body();
        let signers: Vec<Cosigner> = (0..n).map(|i| Cosigner::from_seed(&format!("w{i}"), &[i as u8 + 10; 32]).unwrap()).collect();
        let lines: Vec<String> = signers.iter().map(|s| s.cosign(&b, ts).unwrap()).collect();
        let note = with_lines(&log.sign(&b).unwrap(), &lines);
        let (text, sigs) = split_note(&note).unwrap();
        prop_assert_eq!(text, b.as_str());
        prop_assert_eq!(sigs.len(), n + 1);
        let verifiers: Vec<_> = signers.iter().map(Cosigner::verifier).collect();
        prop_assert_eq!(cosigned_by(&note, &verifiers).unwrap().len(), n);
    }
}
