//! Offline proof files: round trips, checks and refusals.
use super::*;
use crate::audit::checkpoint::NoteSigner;
use crate::audit::merkle::{consistency_proof, inclusion_proof, leaf_hash, root};

fn signer() -> NoteSigner {
    NoteSigner::from_seed("tsunagi.test", &[7u8; 32]).unwrap()
}

fn note(s: &NoteSigner, leaves: &[Hash]) -> String {
    let body = Checkpoint {
        origin: "tsunagi.test".into(),
        size: leaves.len() as u64,
        root: root(leaves),
        extensions: vec![],
    }
    .body();
    s.sign(&body).unwrap()
}

fn leaves(n: usize) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(format!("e{i}").as_bytes())).collect()
}

#[test]
fn inclusion_files_round_trip_and_check() {
    let s = signer();
    let all = leaves(13);
    for (index, extra) in [(0u64, None), (7, Some(b"ctx".to_vec())), (12, None)] {
        let f = InclusionProofFile {
            extra,
            index,
            proof: inclusion_proof(&all, index, 13).unwrap(),
            checkpoint: note(&s, &all),
        };
        let text = f.to_text();
        assert!(text.starts_with("c2sp.org/tlog-proof@v1\n"));
        let back = InclusionProofFile::parse(&text).unwrap();
        assert_eq!(back, f);
        let cp = back
            .check(&all[index as usize], &[s.verifier()], Some("tsunagi.test"))
            .unwrap();
        assert_eq!(cp.size, 13);
        // Another leaf, another log or another key fails.
        assert!(back.check(&all[5], &[s.verifier()], None).is_err() || index == 5);
        assert!(matches!(
            back.check(&all[index as usize], &[s.verifier()], Some("other.log")),
            Err(ProofFileError::WrongOrigin { .. })
        ));
        let other = NoteSigner::from_seed("tsunagi.test", &[8u8; 32]).unwrap();
        assert!(back.check(&all[index as usize], &[other.verifier()], None).is_err());
    }
}

#[test]
fn a_single_entry_tree_has_an_empty_proof() {
    let s = signer();
    let all = leaves(1);
    let f = InclusionProofFile {
        extra: None,
        index: 0,
        proof: vec![],
        checkpoint: note(&s, &all),
    };
    let back = InclusionProofFile::parse(&f.to_text()).unwrap();
    back.check(&all[0], &[s.verifier()], None).unwrap();
}

#[test]
fn consistency_files_round_trip_and_check() {
    let s = signer();
    let all = leaves(40);
    let f = ConsistencyProofFile {
        proof: consistency_proof(&all, 11, 40).unwrap(),
        old_checkpoint: note(&s, &all[..11]),
        new_checkpoint: note(&s, &all),
    };
    let back = ConsistencyProofFile::parse(&f.to_text()).unwrap();
    assert_eq!(back, f);
    let (old, new) = back.check(&[s.verifier()], Some("tsunagi.test")).unwrap();
    assert_eq!((old.size, new.size), (11, 40));
    // A forked newer tree is refused.
    let mut forked = all.clone();
    forked[3] = leaf_hash(b"rewritten");
    let bad = ConsistencyProofFile {
        new_checkpoint: note(&s, &forked),
        ..f
    };
    assert!(matches!(
        bad.check(&[s.verifier()], None),
        Err(ProofFileError::Proof(_))
    ));
}

#[test]
fn garbage_is_refused() {
    for text in [
        "",
        "c2sp.org/tlog-proof@v1\n",
        "c2sp.org/tlog-proof@v1\nindex 01\n\nx",
        "nope",
    ] {
        assert!(InclusionProofFile::parse(text).is_err(), "{text:?}");
    }
    assert!(ConsistencyProofFile::parse("tsunagi/consistency-proof@v1\nAAAA\n\n").is_err());
}
