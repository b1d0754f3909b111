//! Signed tree heads: C2SP `tlog-checkpoint` bodies in C2SP `signed-note`s,
//! signed with Ed25519 (via `ring`).
//!
//! A checkpoint body is
//!
//! ```text
//! <origin>\n<decimal tree size>\n<base64 root hash>\n[<extension line>\n ...]
//! ```
//!
//! and a signed note is the body, a blank line, then one or more signature
//! lines `— <key name> <base64(4-byte key id || signature)>\n` (U+2014 EM DASH,
//! space). For Ed25519 (signature type `0x01`) the key id is
//! `SHA-256(name || 0x0A || 0x01 || public key)[..4]`, the signature covers
//! the body text exactly, verifier keys are written
//! `<name>+<hex key id>+<base64(0x01 || public key)>` and signer keys
//! `PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || seed)>`.
//!
//! [`open_note`] accepts a note when at least one signature from a supplied
//! verifier checks out; signatures from unknown keys are ignored (this is what
//! allows key rotation and witness cosignatures), but a signature that claims
//! a known key and fails to verify rejects the whole note. Callers must still
//! check that the checkpoint's `origin` is the log they expect.

use super::merkle::Hash;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::digest::{SHA256, digest};
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};

/// Signature type identifier byte for Ed25519 in the signed-note spec.
const ED25519_TYPE: u8 = 0x01;
/// Upper bound on signature lines in a note we are willing to process.
pub const MAX_SIGNATURES: usize = 100;
/// EM DASH (U+2014) and a space: the start of every signature line.
const SIG_PREFIX: &str = "\u{2014} ";
const SKEY_PREFIX: &str = "PRIVATE+KEY+";

/// Errors from parsing, signing or verifying notes and checkpoints.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum NoteError {
    #[error("invalid key name {0:?}: must be non-empty without whitespace or '+'")]
    InvalidKeyName(String),
    #[error("Ed25519 key rejected: {0}")]
    InvalidKey(String),
    #[error("malformed verifier key: {0}")]
    MalformedVerifierKey(&'static str),
    #[error("malformed signer key: {0}")]
    MalformedSignerKey(&'static str),
    #[error("text must end with a newline")]
    MissingTrailingNewline,
    #[error("text contains an ASCII control character other than newline")]
    ControlCharacter,
    #[error("note has no blank line separating the text from the signatures")]
    MissingSeparator,
    #[error("note has no signature lines")]
    NoSignatures,
    #[error("malformed signature line {line}: {reason}")]
    MalformedSignature { line: usize, reason: &'static str },
    #[error("note has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    #[error("signature from known key {name}+{key_id} does not verify")]
    InvalidSignature { name: String, key_id: String },
    #[error("note carries no signature from a known key")]
    UnverifiedNote,
    #[error("checkpoint needs an origin, a tree size and a root hash line")]
    CheckpointTooShort,
    #[error("checkpoint origin is empty")]
    EmptyOrigin,
    #[error("checkpoint tree size is not a canonical decimal u64")]
    InvalidTreeSize,
    #[error("checkpoint root hash is not the canonical base64 of 32 bytes")]
    InvalidRootHash,
    #[error("checkpoint extension lines must be non-empty")]
    EmptyExtensionLine,
}

/// A transparency log checkpoint (signed tree head body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Unique identifier of the log, e.g. `example.com/log42`.
    pub origin: String,
    /// Number of leaves in the tree.
    pub size: u64,
    /// RFC 6962 root hash of the tree at `size`.
    pub root: Hash,
    /// Optional opaque extension lines (each non-empty, without newline).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The note body text. Round-trips through [`Checkpoint::parse_body`]
    /// when the origin and extension lines are non-empty and free of control
    /// characters (including newline).
    pub fn body(&self) -> String {
        let mut text = format!("{}\n{}\n{}\n", self.origin, self.size, STANDARD.encode(self.root));
        for ext in &self.extensions {
            text.push_str(ext);
            text.push('\n');
        }
        text
    }

    /// Parses a checkpoint body, strictly per C2SP tlog-checkpoint.
    pub fn parse_body(text: &str) -> Result<Self, NoteError> {
        check_text(text)?;
        let Some(text) = text.strip_suffix('\n') else {
            return Err(NoteError::MissingTrailingNewline);
        };
        let mut lines = text.split('\n');
        let origin = lines.next().unwrap_or_default();
        if origin.is_empty() {
            return Err(NoteError::EmptyOrigin);
        }
        let size_line = lines.next().ok_or(NoteError::CheckpointTooShort)?;
        let root_line = lines.next().ok_or(NoteError::CheckpointTooShort)?;
        let size = parse_tree_size(size_line)?;
        let root = parse_root(root_line)?;
        let extensions = lines
            .map(|l| {
                if l.is_empty() {
                    Err(NoteError::EmptyExtensionLine)
                } else {
                    Ok(l.to_owned())
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }
}

/// ASCII decimal with no sign, no leading zeros (except `0` itself), fitting
/// in a u64.
fn parse_tree_size(line: &str) -> Result<u64, NoteError> {
    let digits_only = !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit());
    if !digits_only || (line.len() > 1 && line.starts_with('0')) {
        return Err(NoteError::InvalidTreeSize);
    }
    line.parse().map_err(|_| NoteError::InvalidTreeSize)
}

/// Standard padded base64 of exactly 32 bytes, in canonical form.
fn parse_root(line: &str) -> Result<Hash, NoteError> {
    let bytes = STANDARD.decode(line).map_err(|_| NoteError::InvalidRootHash)?;
    let root: Hash = bytes.as_slice().try_into().map_err(|_| NoteError::InvalidRootHash)?;
    if STANDARD.encode(root) != line {
        return Err(NoteError::InvalidRootHash);
    }
    Ok(root)
}

/// Notes must not contain ASCII control characters other than newline
/// (valid UTF-8 is guaranteed by `&str`).
fn check_text(text: &str) -> Result<(), NoteError> {
    if text.chars().any(|c| c < '\u{20}' && c != '\n') {
        return Err(NoteError::ControlCharacter);
    }
    Ok(())
}

/// Key names are non-empty and contain no Unicode whitespace and no `+`.
fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

fn check_name(name: &str) -> Result<(), NoteError> {
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(NoteError::InvalidKeyName(name.to_owned()))
    }
}

/// `SHA-256(name || 0x0A || 0x01 || public key)[..4]`.
fn ed25519_key_id(name: &str, public_key: &[u8; 32]) -> [u8; 4] {
    let mut input = Vec::with_capacity(name.len() + 2 + public_key.len());
    input.extend_from_slice(name.as_bytes());
    input.push(b'\n');
    input.push(ED25519_TYPE);
    input.extend_from_slice(public_key);
    let d = digest(&SHA256, &input);
    // A SHA-256 digest always has (more than) four bytes.
    d.as_ref().first_chunk::<4>().copied().unwrap_or_default()
}

fn hex_key_id(id: &[u8; 4]) -> String {
    format!("{:08x}", u32::from_be_bytes(*id))
}

fn parse_hex_key_id(s: &str) -> Option<[u8; 4]> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(s, 16).ok().map(u32::to_be_bytes)
}

/// Decodes `base64(0x01 || 32 bytes)`.
fn decode_typed_key(b64: &str) -> Option<[u8; 32]> {
    let bytes = STANDARD.decode(b64).ok()?;
    match bytes.split_first() {
        Some((&ED25519_TYPE, key)) => key.try_into().ok(),
        _ => None,
    }
}

/// An Ed25519 note signer: key pair, key name and key id.
pub struct NoteSigner {
    key_pair: Ed25519KeyPair,
    name: String,
    key_id: [u8; 4],
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("key_id", &hex_key_id(&self.key_id))
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    fn new(name: &str, key_pair: Ed25519KeyPair) -> Self {
        let mut public_key = [0u8; 32];
        public_key.copy_from_slice(key_pair.public_key().as_ref());
        Self {
            key_id: ed25519_key_id(name, &public_key),
            name: name.to_owned(),
            key_pair,
        }
    }

    /// Signer from a 32-byte Ed25519 seed (RFC 8032 private key).
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, NoteError> {
        check_name(name)?;
        let key_pair = Ed25519KeyPair::from_seed_unchecked(seed).map_err(|e| NoteError::InvalidKey(e.to_string()))?;
        Ok(Self::new(name, key_pair))
    }

    /// Signer from a PKCS#8 (v1 or v2) DER Ed25519 private key.
    pub fn from_pkcs8(name: &str, pkcs8_der: &[u8]) -> Result<Self, NoteError> {
        check_name(name)?;
        let key_pair =
            Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8_der).map_err(|e| NoteError::InvalidKey(e.to_string()))?;
        Ok(Self::new(name, key_pair))
    }

    /// Signer from the text form
    /// `PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || seed)>`; the key id
    /// must match the one computed from the name and public key.
    pub fn from_skey(skey: &str) -> Result<Self, NoteError> {
        let rest = skey
            .strip_prefix(SKEY_PREFIX)
            .ok_or(NoteError::MalformedSignerKey("missing PRIVATE+KEY+ prefix"))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::MalformedSignerKey("expected name+keyid+key"));
        };
        let id = parse_hex_key_id(id).ok_or(NoteError::MalformedSignerKey("bad key id"))?;
        let seed = decode_typed_key(key).ok_or(NoteError::MalformedSignerKey(
            "key is not base64 of 0x01 || 32-byte seed",
        ))?;
        let signer = Self::from_seed(name, &seed)?;
        if signer.key_id != id {
            return Err(NoteError::MalformedSignerKey("key id does not match key"));
        }
        Ok(signer)
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 4-byte key id (big-endian, as it appears in signatures).
    pub fn key_id(&self) -> [u8; 4] {
        self.key_id
    }

    /// The matching verifier.
    pub fn verifier(&self) -> NoteVerifier {
        let mut public_key = [0u8; 32];
        public_key.copy_from_slice(self.key_pair.public_key().as_ref());
        NoteVerifier {
            name: self.name.clone(),
            key_id: self.key_id,
            public_key,
        }
    }

    /// Signs `body` and returns one signature line
    /// (`— <name> <base64>\n`), e.g. to add a cosignature to a note.
    pub fn signature_line(&self, body: &str) -> Result<String, NoteError> {
        check_text(body)?;
        if !body.ends_with('\n') {
            return Err(NoteError::MissingTrailingNewline);
        }
        let sig = self.key_pair.sign(body.as_bytes());
        let mut raw = Vec::with_capacity(4 + sig.as_ref().len());
        raw.extend_from_slice(&self.key_id);
        raw.extend_from_slice(sig.as_ref());
        Ok(format!("{SIG_PREFIX}{} {}\n", self.name, STANDARD.encode(raw)))
    }

    /// Signs `body` and returns the full signed note text.
    pub fn sign(&self, body: &str) -> Result<String, NoteError> {
        let line = self.signature_line(body)?;
        Ok(format!("{body}\n{line}"))
    }
}

/// An Ed25519 note verifier: key name, key id and public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_id: [u8; 4],
    public_key: [u8; 32],
}

impl NoteVerifier {
    /// Parses `<name>+<hex key id>+<base64(0x01 || public key)>`; the key id
    /// must match the one computed from the name and public key.
    pub fn parse(vkey: &str) -> Result<Self, NoteError> {
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::MalformedVerifierKey("expected name+keyid+key"));
        };
        check_name(name)?;
        let key_id = parse_hex_key_id(id).ok_or(NoteError::MalformedVerifierKey("bad key id"))?;
        let public_key = decode_typed_key(key).ok_or(NoteError::MalformedVerifierKey(
            "key is not base64 of 0x01 || 32-byte public key",
        ))?;
        if ed25519_key_id(name, &public_key) != key_id {
            return Err(NoteError::MalformedVerifierKey("key id does not match key"));
        }
        Ok(Self {
            name: name.to_owned(),
            key_id,
            public_key,
        })
    }

    /// The text form `<name>+<hex key id>+<base64(0x01 || public key)>`.
    pub fn to_vkey_string(&self) -> String {
        let mut typed = Vec::with_capacity(33);
        typed.push(ED25519_TYPE);
        typed.extend_from_slice(&self.public_key);
        format!("{}+{}+{}", self.name, hex_key_id(&self.key_id), STANDARD.encode(typed))
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 4-byte key id (big-endian, as it appears in signatures).
    pub fn key_id(&self) -> [u8; 4] {
        self.key_id
    }

    fn verify(&self, text: &str, sig: &[u8]) -> bool {
        UnparsedPublicKey::new(&ED25519, &self.public_key)
            .verify(text.as_bytes(), sig)
            .is_ok()
    }
}

/// Verifies a signed note against any of the given verifiers (key rotation:
/// pass old and new keys) and returns the body text.
///
/// Signatures whose (name, key id) match no verifier are ignored; a signature
/// that matches a verifier but does not verify rejects the note; at least one
/// signature must verify.
pub fn open_note(note: &str, verifiers: &[NoteVerifier]) -> Result<String, NoteError> {
    check_text(note)?;
    // The text is separated from the signatures by the last blank line.
    let split = note.rfind("\n\n").ok_or(NoteError::MissingSeparator)?;
    // `split` is the first of two ASCII newlines: the text keeps it, the signatures follow the second.
    let (text, rest) = note.split_at_checked(split + 1).ok_or(NoteError::MissingSeparator)?;
    let sigs = rest.strip_prefix('\n').ok_or(NoteError::MissingSeparator)?;
    if sigs.is_empty() {
        return Err(NoteError::NoSignatures);
    }
    let Some(sigs) = sigs.strip_suffix('\n') else {
        return Err(NoteError::MissingTrailingNewline);
    };
    let mut verified = false;
    for (i, line) in sigs.split('\n').enumerate() {
        let malformed = |reason| NoteError::MalformedSignature { line: i + 1, reason };
        if i >= MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures);
        }
        let rest = line
            .strip_prefix(SIG_PREFIX)
            .ok_or_else(|| malformed("must start with an em dash and a space"))?;
        let (name, b64) = rest.split_once(' ').ok_or_else(|| malformed("missing signature"))?;
        if !is_valid_name(name) {
            return Err(malformed("invalid key name"));
        }
        let raw = STANDARD
            .decode(b64)
            .map_err(|_| malformed("signature is not valid base64"))?;
        let (id, sig) = match raw.split_first_chunk::<4>() {
            Some((id, sig)) if !sig.is_empty() => (*id, sig),
            _ => return Err(malformed("signature too short")),
        };
        let mut known = verifiers.iter().filter(|v| v.name == name && v.key_id == id).peekable();
        if known.peek().is_none() {
            continue;
        }
        if !known.any(|v| v.verify(text, sig)) {
            return Err(NoteError::InvalidSignature {
                name: name.to_owned(),
                key_id: hex_key_id(&id),
            });
        }
        verified = true;
    }
    if !verified {
        return Err(NoteError::UnverifiedNote);
    }
    Ok(text.to_owned())
}

/// Opens a signed checkpoint note (see [`open_note`]) and parses its body.
pub fn open_checkpoint(note: &str, verifiers: &[NoteVerifier]) -> Result<Checkpoint, NoteError> {
    Checkpoint::parse_body(&open_note(note, verifiers)?)
}

#[cfg(test)]
#[path = "checkpoint_tests.rs"]
mod tests;
