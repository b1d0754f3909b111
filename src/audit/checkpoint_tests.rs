//! Tests for `checkpoint`: known-answer signing, key ids, tampering, rotation, malformed notes and bodies.
#![expect(clippy::string_slice, reason = "tests slice ASCII fixtures at known positions")]
use super::*;
use proptest::prelude::*;

const ORIGIN: &str = "example.com/tsunagi";

fn signer(name: &str, byte: u8) -> NoteSigner {
    NoteSigner::from_seed(name, &[byte; 32]).unwrap()
}

fn checkpoint() -> Checkpoint {
    Checkpoint {
        origin: ORIGIN.to_owned(),
        size: 20852163,
        root: [0xab; 32],
        extensions: vec![],
    }
}

/// Replaces the base64 signature of the `n`th signature line with `f(raw)`.
fn edit_sig(note: &str, n: usize, f: impl Fn(&mut Vec<u8>)) -> String {
    let (body, sigs) = note.rsplit_once("\n\n").unwrap();
    let lines: Vec<String> = sigs
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i != n {
                return l.to_owned();
            }
            let (prefix, b64) = l.rsplit_once(' ').unwrap();
            let mut raw = STANDARD.decode(b64).unwrap();
            f(&mut raw);
            format!("{prefix} {}", STANDARD.encode(raw))
        })
        .collect();
    format!("{body}\n\n{}\n", lines.join("\n"))
}

#[test]
fn go_sumdb_note_known_answer() {
    // Example key and note from golang.org/x/mod/sumdb/note (Ed25519 is
    // deterministic, so the signature must match byte for byte).
    let skey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    let text = "If you think cryptography is the answer to your problem,\n\
                then you don't know what your problem is.\n";
    let want = format!(
        "{text}\n\u{2014} PeterNeumann \
         x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
    );
    let s = NoteSigner::from_skey(skey).unwrap();
    assert_eq!(s.name(), "PeterNeumann");
    assert_eq!(s.key_id(), [0xc7, 0x4f, 0x20, 0xa3]);
    assert_eq!(s.verifier().to_vkey_string(), vkey);
    assert_eq!(s.sign(text).unwrap(), want);
    let v = NoteVerifier::parse(vkey).unwrap();
    assert_eq!(v, s.verifier());
    assert_eq!(open_note(&want, &[v]).unwrap(), text);
}

#[test]
fn key_id_matches_definition() {
    let name = "example.com/log";
    let seed = [42u8; 32];
    let s = NoteSigner::from_seed(name, &seed).unwrap();
    // Independent computation from the spec: SHA-256(name || 0x0A || 0x01 || pk)[..4].
    let kp = Ed25519KeyPair::from_seed_unchecked(&seed).unwrap();
    let mut input = name.as_bytes().to_vec();
    input.push(0x0a);
    input.push(0x01);
    input.extend_from_slice(kp.public_key().as_ref());
    let digest = ring::digest::digest(&ring::digest::SHA256, &input);
    let want: [u8; 4] = digest.as_ref()[..4].try_into().unwrap();
    assert_eq!(s.key_id(), want);
    assert_eq!(s.verifier().key_id(), want);
    // Fixed vector, computed outside Rust (Python `cryptography` + hashlib):
    // public key 197f6b23e16c8532c6abc838facd5ea789be0c76b2920334039bfa8b3d368d61.
    assert_eq!(
        hex_key_id(&kp.public_key().as_ref()[..4].try_into().unwrap()),
        "197f6b23"
    );
    assert_eq!(hex_key_id(&s.key_id()), "58490f8b");
    let vkey = s.verifier().to_vkey_string();
    let (vname, rest) = vkey.split_once('+').unwrap();
    assert_eq!(vname, name);
    assert_eq!(&rest[..8], hex_key_id(&s.key_id()));
    let typed = STANDARD.decode(&rest[9..]).unwrap();
    assert_eq!(typed[0], 0x01);
    assert_eq!(&typed[1..], kp.public_key().as_ref());
}

#[test]
fn round_trip_sign_open() {
    let s = signer(ORIGIN, 1);
    let mut cp = checkpoint();
    cp.extensions = vec!["ext one".into(), "— two".into()];
    let note = s.sign(&cp.body()).unwrap();
    assert!(note.starts_with(&cp.body()));
    assert_eq!(open_note(&note, &[s.verifier()]).unwrap(), cp.body());
    assert_eq!(open_checkpoint(&note, &[s.verifier()]).unwrap(), cp);
    let plain = s.sign(&checkpoint().body()).unwrap();
    assert_eq!(open_checkpoint(&plain, &[s.verifier()]).unwrap(), checkpoint());
}

#[test]
fn pkcs8_signer() {
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    let s = NoteSigner::from_pkcs8(ORIGIN, pkcs8.as_ref()).unwrap();
    let note = s.sign(&checkpoint().body()).unwrap();
    assert_eq!(open_checkpoint(&note, &[s.verifier()]).unwrap(), checkpoint());
    assert!(matches!(
        NoteSigner::from_pkcs8(ORIGIN, b"not der"),
        Err(NoteError::InvalidKey(_))
    ));
}

#[test]
fn tampering_is_rejected() {
    let s = signer(ORIGIN, 2);
    let v = [s.verifier()];
    let cp = checkpoint();
    let note = s.sign(&cp.body()).unwrap();
    let sigs = &note[cp.body().len()..];
    let bad_sig = NoteError::InvalidSignature {
        name: ORIGIN.into(),
        key_id: hex_key_id(&s.key_id()),
    };

    let mut bigger = cp.clone();
    bigger.size += 1;
    assert_eq!(open_note(&format!("{}{sigs}", bigger.body()), &v), Err(bad_sig.clone()));

    let mut reroot = cp.clone();
    reroot.root[31] ^= 1;
    assert_eq!(open_note(&format!("{}{sigs}", reroot.body()), &v), Err(bad_sig.clone()));

    let mut other = cp.clone();
    other.origin.push('x');
    assert_eq!(open_note(&format!("{}{sigs}", other.body()), &v), Err(bad_sig.clone()));

    let mut extended = cp.clone();
    extended.extensions.push("extra".into());
    assert_eq!(
        open_note(&format!("{}{sigs}", extended.body()), &v),
        Err(bad_sig.clone())
    );

    for byte in [4, 20, 40, 67] {
        let flipped = edit_sig(&note, 0, |raw| raw[byte] ^= 0x80);
        assert_eq!(open_note(&flipped, &v), Err(bad_sig.clone()), "byte {byte}");
    }
    let truncated = edit_sig(&note, 0, |raw| raw.truncate(67));
    assert_eq!(open_note(&truncated, &v), Err(bad_sig.clone()));
    // Flipping the key id turns it into an unknown key's signature.
    let other_id = edit_sig(&note, 0, |raw| raw[0] ^= 1);
    assert_eq!(open_note(&other_id, &v), Err(NoteError::UnverifiedNote));
}

#[test]
fn unknown_keys() {
    let known = signer(ORIGIN, 3);
    let stranger = signer("someone.else/log", 4);
    let same_name = signer(ORIGIN, 5);
    let body = checkpoint().body();
    let v = [known.verifier()];
    for s in [&stranger, &same_name] {
        let note = s.sign(&body).unwrap();
        assert_eq!(open_note(&note, &v), Err(NoteError::UnverifiedNote));
    }
    // Same key id under a different name is a different key.
    let renamed = stranger.sign(&body).unwrap().replace("someone.else/log", ORIGIN);
    let renamed = edit_sig(&renamed, 0, |raw| raw[..4].copy_from_slice(&[9, 9, 9, 9]));
    assert_eq!(open_note(&renamed, &v), Err(NoteError::UnverifiedNote));
    // Unknown signatures are ignored next to a known one.
    let both = format!(
        "{}{}",
        stranger.sign(&body).unwrap(),
        known.signature_line(&body).unwrap()
    );
    assert_eq!(open_note(&both, &v).unwrap(), body);
    assert_eq!(open_note(&both, &[]), Err(NoteError::UnverifiedNote));
}

#[test]
fn key_rotation() {
    let old = signer(ORIGIN, 6);
    let new = signer(ORIGIN, 7);
    assert_ne!(old.key_id(), new.key_id());
    let body = checkpoint().body();
    let note = format!("{}{}", old.sign(&body).unwrap(), new.signature_line(&body).unwrap());
    for vs in [
        vec![old.verifier()],
        vec![new.verifier()],
        vec![old.verifier(), new.verifier()],
        vec![new.verifier(), old.verifier()],
    ] {
        assert_eq!(open_checkpoint(&note, &vs).unwrap(), checkpoint());
    }
    let old_only = old.sign(&body).unwrap();
    assert!(open_note(&old_only, &[new.verifier(), old.verifier()]).is_ok());
    assert_eq!(open_note(&old_only, &[new.verifier()]), Err(NoteError::UnverifiedNote));
}

#[test]
fn malformed_notes() {
    let s = signer(ORIGIN, 8);
    let v = [s.verifier()];
    let body = checkpoint().body();
    let note = s.sign(&body).unwrap();
    let line = s.signature_line(&body).unwrap();

    // Missing blank line between text and signatures.
    assert_eq!(
        open_note(&format!("{body}{line}"), &v),
        Err(NoteError::MissingSeparator)
    );
    // Missing final newline.
    assert_eq!(
        open_note(note.trim_end_matches('\n'), &v),
        Err(NoteError::MissingTrailingNewline)
    );
    // No signature lines at all.
    assert_eq!(open_note(&format!("{body}\n"), &v), Err(NoteError::NoSignatures));
    assert_eq!(open_note(&format!("{note}\n"), &v), Err(NoteError::NoSignatures));
    // Wrong dash: hyphen, en dash, double hyphen, no space.
    for dash in ["-", "\u{2013}", "--"] {
        let bad = note.replace('\u{2014}', dash);
        assert!(matches!(
            open_note(&bad, &v),
            Err(NoteError::MalformedSignature { line: 1, .. })
        ));
    }
    let no_space = note.replace("\u{2014} ", "\u{2014}");
    assert!(matches!(
        open_note(&no_space, &v),
        Err(NoteError::MalformedSignature { .. })
    ));
    // Bad base64 / missing signature / too short / bad name.
    let (prefix, b64) = line.trim_end().rsplit_once(' ').unwrap();
    for bad_sig in ["!!!!", "AAAA", "", &b64[..b64.len() - 1], &format!("{b64} x")] {
        let bad = format!("{body}\n{prefix} {bad_sig}\n");
        assert!(
            matches!(open_note(&bad, &v), Err(NoteError::MalformedSignature { .. })),
            "{bad_sig:?}"
        );
    }
    let unnamed = format!("{body}\n\u{2014}  {b64}\n");
    assert!(matches!(
        open_note(&unnamed, &v),
        Err(NoteError::MalformedSignature { .. })
    ));
    let no_sig = format!("{body}\n\u{2014} {ORIGIN}\n");
    assert!(matches!(
        open_note(&no_sig, &v),
        Err(NoteError::MalformedSignature { .. })
    ));
    // Control characters anywhere.
    for bad in [
        note.replacen('\n', "\r\n", 1),
        format!("{}\t{}", &note[..3], &note[3..]),
    ] {
        assert_eq!(open_note(&bad, &v), Err(NoteError::ControlCharacter));
    }
}

#[test]
fn signature_count_limit() {
    let s = signer(ORIGIN, 9);
    let body = checkpoint().body();
    let filler = signer("filler.example/key", 10).signature_line(&body).unwrap();
    let mine = s.signature_line(&body).unwrap();
    let at_limit = format!("{body}\n{}{mine}", filler.repeat(MAX_SIGNATURES - 1));
    assert_eq!(open_note(&at_limit, &[s.verifier()]).unwrap(), body);
    let over = format!("{body}\n{}{mine}", filler.repeat(MAX_SIGNATURES));
    assert_eq!(open_note(&over, &[s.verifier()]), Err(NoteError::TooManySignatures));
}

#[test]
fn signer_and_verifier_keys() {
    for bad in ["", "has space", "a+b", "tab\tname", "nbsp\u{a0}x", "line\nbreak"] {
        assert_eq!(
            NoteSigner::from_seed(bad, &[1; 32]).unwrap_err(),
            NoteError::InvalidKeyName(bad.to_owned())
        );
    }
    let s = signer(ORIGIN, 11);
    let vkey = s.verifier().to_vkey_string();
    assert_eq!(NoteVerifier::parse(&vkey).unwrap(), s.verifier());
    let (name, rest) = vkey.split_once('+').unwrap();
    let (id, key) = rest.split_once('+').unwrap();
    // Upper-case hex key ids are accepted (output is lower case).
    let upper = format!("{name}+{}+{key}", id.to_uppercase());
    assert_eq!(NoteVerifier::parse(&upper).unwrap(), s.verifier());
    let other_id = format!("{name}+{}+{key}", hex_key_id(&[0, 0, 0, 0]));
    let cases = [
        other_id,
        format!("{name}+{id}"),
        format!("{name}+{}+{key}", &id[..7]),
        format!("{name}+{id}0+{key}"),
        format!("{name}+{id}+{}", &key[..key.len() - 4]),
        format!("{name}+{id}+{}", STANDARD.encode([2u8; 33])),
        format!("{name}+{id}+not*base64"),
    ];
    for bad in &cases {
        assert!(
            matches!(NoteVerifier::parse(bad), Err(NoteError::MalformedVerifierKey(_))),
            "{bad}"
        );
    }
    assert!(matches!(
        NoteVerifier::parse(&format!("bad name+{id}+{key}")),
        Err(NoteError::InvalidKeyName(_))
    ));
    assert!(NoteSigner::from_skey("PRIVATE+KEY+x+00000000+AAAA").is_err());
    assert!(NoteSigner::from_skey(&vkey).is_err());
}

#[test]
fn sign_rejects_bad_bodies() {
    let s = signer(ORIGIN, 12);
    assert_eq!(s.sign("no newline"), Err(NoteError::MissingTrailingNewline));
    assert_eq!(s.sign(""), Err(NoteError::MissingTrailingNewline));
    assert_eq!(s.sign("bell\u{7}\n"), Err(NoteError::ControlCharacter));
}

#[test]
fn parse_body_rejections() {
    let root = STANDARD.encode([7u8; 32]);
    let ok = |size: &str| Checkpoint::parse_body(&format!("{ORIGIN}\n{size}\n{root}\n"));
    assert_eq!(ok("0").unwrap().size, 0);
    assert_eq!(ok("18446744073709551615").unwrap().size, u64::MAX);
    for size in [
        "",
        "+5",
        "-1",
        "05",
        "00",
        "0x5",
        " 5",
        "5 ",
        "1_000",
        "5.0",
        "\u{0665}",
        "18446744073709551616",
    ] {
        assert_eq!(ok(size), Err(NoteError::InvalidTreeSize), "{size:?}");
    }
    let body = |root: &str| Checkpoint::parse_body(&format!("{ORIGIN}\n5\n{root}\n"));
    let bad_roots = [
        STANDARD.encode([7u8; 31]),
        STANDARD.encode([7u8; 33]),
        root.trim_end_matches('=').to_owned(),
        // Non-canonical: last symbol carries non-zero padding bits ('c' -> 'd').
        format!("{}d=", &root[..42]),
        root.replace('c', "-"),
        String::new(),
        format!(" {root}"),
    ];
    for r in &bad_roots {
        assert_eq!(body(r), Err(NoteError::InvalidRootHash), "{r:?}");
    }
    assert_eq!(
        Checkpoint::parse_body(&format!("\n5\n{root}\n")),
        Err(NoteError::EmptyOrigin)
    );
    assert_eq!(
        Checkpoint::parse_body(&format!("{ORIGIN}\n5\n{root}")),
        Err(NoteError::MissingTrailingNewline)
    );
    assert_eq!(
        Checkpoint::parse_body(&format!("{ORIGIN}\n5\n")),
        Err(NoteError::CheckpointTooShort)
    );
    assert_eq!(Checkpoint::parse_body(""), Err(NoteError::MissingTrailingNewline));
    assert_eq!(
        Checkpoint::parse_body(&format!("{ORIGIN}\n5\n{root}\next\n\n")),
        Err(NoteError::EmptyExtensionLine)
    );
    assert_eq!(
        Checkpoint::parse_body(&format!("{ORIGIN}\r\n5\n{root}\n")),
        Err(NoteError::ControlCharacter)
    );
    let with_ext = Checkpoint::parse_body(&format!("{ORIGIN}\n5\n{root}\na\nb c\n")).unwrap();
    assert_eq!(with_ext.extensions, vec!["a".to_owned(), "b c".to_owned()]);
}

proptest! {
    #[test]
    fn prop_body_round_trip(
        origin in "\\PC{1,40}",
        size in any::<u64>(),
        root in any::<[u8; 32]>(),
        extensions in proptest::collection::vec("\\PC{1,30}", 0..4),
    ) {
        let cp = Checkpoint { origin, size, root, extensions };
        prop_assert_eq!(Checkpoint::parse_body(&cp.body()), Ok(cp));
    }
}
