//! Witness cosignatures: C2SP `tlog-cosignature` (`cosignature/v1`, Ed25519 via `ring`).
//!
//! A cosignature is one more signature line on a checkpoint note,
//! `— <witness name> base64(key id || u64 timestamp (big-endian) || Ed25519 signature)`, where
//!
//! - the key id is `SHA-256(name || "\n" || 0x04 || public key)[..4]` (type `0x04`, so it never
//!   collides with the log's own `0x01` key, whose signature lines a verifier of either ignores);
//! - the signed message is `cosignature/v1\ntime <timestamp>\n` followed by the whole checkpoint
//!   body (origin, size, root and any extension lines, with the final newline).
//!
//! A cosignature says: "as of `timestamp`, the largest consistent tree I have seen for this
//! origin has this root". Verifier keys are written `<name>+<hex key id>+<base64(0x04 || key)>`,
//! signer keys `PRIVATE+KEY+<name>+<hex key id>+<base64(0x04 || seed)>`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::digest::{SHA256, digest};
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};

use super::checkpoint::{MAX_SIGNATURES, NoteError};

/// Signature type byte of an Ed25519 `cosignature/v1` key.
const COSIGNATURE_TYPE: u8 = 0x04;
const SIG_PREFIX: &str = "\u{2014} ";
const SKEY_PREFIX: &str = "PRIVATE+KEY+";
/// Timestamps must not exceed 2^63 - 1.
const MAX_TIMESTAMP: u64 = i64::MAX as u64;

/// `SHA-256(name || 0x0A || 0x04 || public key)[..4]`.
fn key_id(name: &str, public_key: &[u8; 32]) -> [u8; 4] {
    let mut input = Vec::with_capacity(name.len() + 2 + 32);
    input.extend_from_slice(name.as_bytes());
    input.push(b'\n');
    input.push(COSIGNATURE_TYPE);
    input.extend_from_slice(public_key);
    digest(&SHA256, &input)
        .as_ref()
        .first_chunk::<4>()
        .copied()
        .unwrap_or_default()
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

fn hex_id(id: &[u8; 4]) -> String {
    format!("{:08x}", u32::from_be_bytes(*id))
}

fn parse_hex_id(s: &str) -> Option<[u8; 4]> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(s, 16).ok().map(u32::to_be_bytes)
}

fn decode_typed(b64: &str) -> Option<[u8; 32]> {
    let bytes = STANDARD.decode(b64).ok()?;
    match bytes.split_first() {
        Some((&COSIGNATURE_TYPE, key)) => key.try_into().ok(),
        _ => None,
    }
}

fn typed(key: &[u8; 32]) -> String {
    let mut t = Vec::with_capacity(33);
    t.push(COSIGNATURE_TYPE);
    t.extend_from_slice(key);
    STANDARD.encode(t)
}

/// The message a `cosignature/v1` signs.
fn message(body: &str, timestamp: u64) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{body}")
}

/// A witness's signing key.
pub struct Cosigner {
    key_pair: Ed25519KeyPair,
    seed: [u8; 32],
    name: String,
    key_id: [u8; 4],
}

impl std::fmt::Debug for Cosigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cosigner")
            .field("name", &self.name)
            .field("key_id", &hex_id(&self.key_id))
            .finish_non_exhaustive()
    }
}

impl Cosigner {
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, NoteError> {
        if !valid_name(name) {
            return Err(NoteError::InvalidKeyName(name.to_owned()));
        }
        let key_pair = Ed25519KeyPair::from_seed_unchecked(seed).map_err(|e| NoteError::InvalidKey(e.to_string()))?;
        let mut public = [0u8; 32];
        public.copy_from_slice(key_pair.public_key().as_ref());
        Ok(Self {
            key_pair,
            seed: *seed,
            name: name.to_owned(),
            key_id: key_id(name, &public),
        })
    }

    /// A new key from the system's random source.
    pub fn generate(name: &str) -> Result<Self, NoteError> {
        let mut seed = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut seed)
            .map_err(|_| NoteError::InvalidKey("no randomness".into()))?;
        Self::from_seed(name, &seed)
    }

    /// From `PRIVATE+KEY+<name>+<hex key id>+<base64(0x04 || seed)>`.
    pub fn from_skey(skey: &str) -> Result<Self, NoteError> {
        let rest = skey
            .trim()
            .strip_prefix(SKEY_PREFIX)
            .ok_or(NoteError::MalformedSignerKey("missing PRIVATE+KEY+ prefix"))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::MalformedSignerKey("expected name+keyid+key"));
        };
        let id = parse_hex_id(id).ok_or(NoteError::MalformedSignerKey("bad key id"))?;
        let seed = decode_typed(key).ok_or(NoteError::MalformedSignerKey(
            "key is not base64 of 0x04 || 32-byte seed",
        ))?;
        let signer = Self::from_seed(name, &seed)?;
        if signer.key_id != id {
            return Err(NoteError::MalformedSignerKey("key id does not match key"));
        }
        Ok(signer)
    }

    /// The private key text (for the key file only; never logged).
    pub fn to_skey_string(&self) -> String {
        format!(
            "{SKEY_PREFIX}{}+{}+{}",
            self.name,
            hex_id(&self.key_id),
            typed(&self.seed)
        )
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn verifier(&self) -> CosignatureVerifier {
        let mut public_key = [0u8; 32];
        public_key.copy_from_slice(self.key_pair.public_key().as_ref());
        CosignatureVerifier {
            name: self.name.clone(),
            key_id: self.key_id,
            public_key,
        }
    }

    /// The cosignature line (`— <name> <base64>\n`) on a checkpoint `body` at `timestamp`
    /// (seconds since the epoch).
    pub fn cosign(&self, body: &str, timestamp: u64) -> Result<String, NoteError> {
        if !body.ends_with('\n') {
            return Err(NoteError::MissingTrailingNewline);
        }
        let timestamp = timestamp.min(MAX_TIMESTAMP);
        let sig = self.key_pair.sign(message(body, timestamp).as_bytes());
        let mut raw = Vec::with_capacity(4 + 8 + 64);
        raw.extend_from_slice(&self.key_id);
        raw.extend_from_slice(&timestamp.to_be_bytes());
        raw.extend_from_slice(sig.as_ref());
        Ok(format!("{SIG_PREFIX}{} {}\n", self.name, STANDARD.encode(raw)))
    }
}

/// A witness's verifier key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CosignatureVerifier {
    name: String,
    key_id: [u8; 4],
    public_key: [u8; 32],
}

impl CosignatureVerifier {
    /// Parses `<name>+<hex key id>+<base64(0x04 || public key)>`.
    pub fn parse(vkey: &str) -> Result<Self, NoteError> {
        let mut parts = vkey.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::MalformedVerifierKey("expected name+keyid+key"));
        };
        if !valid_name(name) {
            return Err(NoteError::InvalidKeyName(name.to_owned()));
        }
        let key_id = parse_hex_id(id).ok_or(NoteError::MalformedVerifierKey("bad key id"))?;
        let public_key = decode_typed(key).ok_or(NoteError::MalformedVerifierKey(
            "key is not base64 of 0x04 || 32-byte public key (a cosignature/v1 key)",
        ))?;
        if self::key_id(name, &public_key) != key_id {
            return Err(NoteError::MalformedVerifierKey("key id does not match key"));
        }
        Ok(Self {
            name: name.to_owned(),
            key_id,
            public_key,
        })
    }

    pub fn to_vkey_string(&self) -> String {
        format!("{}+{}+{}", self.name, hex_id(&self.key_id), typed(&self.public_key))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The timestamp of this witness's valid cosignature on `body`, if `line` is one. `Ok(None)`
    /// when the line is some other key's; an error when it claims this key and does not verify.
    pub fn check_line(&self, body: &str, line: &SignatureLine) -> Result<Option<u64>, NoteError> {
        if line.name != self.name || line.key_id != self.key_id {
            return Ok(None);
        }
        let bad = || NoteError::InvalidSignature {
            name: self.name.clone(),
            key_id: hex_id(&self.key_id),
        };
        let (ts, sig) = line.signature.split_first_chunk::<8>().ok_or_else(bad)?;
        let timestamp = u64::from_be_bytes(*ts);
        if timestamp > MAX_TIMESTAMP || sig.len() != 64 {
            return Err(bad());
        }
        UnparsedPublicKey::new(&ED25519, &self.public_key)
            .verify(message(body, timestamp).as_bytes(), sig)
            .map_err(|_| bad())?;
        Ok(Some(timestamp))
    }
}

/// One parsed signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureLine {
    pub name: String,
    pub key_id: [u8; 4],
    /// The bytes after the key id.
    pub signature: Vec<u8>,
    /// The line as it was (with its newline).
    pub text: String,
}

/// Parses one signature line (`— <name> <base64>`, without the newline).
pub fn parse_signature_line(line: &str) -> Result<SignatureLine, &'static str> {
    let rest = line
        .strip_prefix(SIG_PREFIX)
        .ok_or("must start with an em dash and a space")?;
    let (name, b64) = rest.split_once(' ').ok_or("missing signature")?;
    if !valid_name(name) {
        return Err("invalid key name");
    }
    let raw = STANDARD.decode(b64).map_err(|_| "signature is not valid base64")?;
    match raw.split_first_chunk::<4>() {
        Some((id, sig)) if !sig.is_empty() => Ok(SignatureLine {
            name: name.to_owned(),
            key_id: *id,
            signature: sig.to_vec(),
            text: format!("{line}\n"),
        }),
        _ => Err("signature too short"),
    }
}

/// Splits a signed note into its body (with the final newline) and its signature lines.
pub fn split_note(note: &str) -> Result<(&str, Vec<SignatureLine>), NoteError> {
    if note.chars().any(|c| c < '\u{20}' && c != '\n') {
        return Err(NoteError::ControlCharacter);
    }
    let split = note.rfind("\n\n").ok_or(NoteError::MissingSeparator)?;
    let (text, rest) = note.split_at_checked(split + 1).ok_or(NoteError::MissingSeparator)?;
    let sigs = rest.strip_prefix('\n').ok_or(NoteError::MissingSeparator)?;
    if sigs.is_empty() {
        return Err(NoteError::NoSignatures);
    }
    let sigs = sigs.strip_suffix('\n').ok_or(NoteError::MissingTrailingNewline)?;
    let mut out = Vec::new();
    for (i, line) in sigs.split('\n').enumerate() {
        if i >= MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures);
        }
        out.push(parse_signature_line(line).map_err(|reason| NoteError::MalformedSignature { line: i + 1, reason })?);
    }
    Ok((text, out))
}

/// The witnesses (by verifier) with a valid cosignature on `note`, each counted once, with the
/// cosignature's timestamp. Unknown keys are ignored; a line that claims a known witness key and
/// does not verify is an error (as [`super::checkpoint::open_note`] treats the log's own key).
pub fn cosigned_by(note: &str, witnesses: &[CosignatureVerifier]) -> Result<Vec<(String, u64)>, NoteError> {
    let (body, lines) = split_note(note)?;
    let mut found: Vec<(String, u64)> = Vec::new();
    for line in &lines {
        for w in witnesses {
            if let Some(ts) = w.check_line(body, line)?
                && !found.iter().any(|(v, _)| *v == w.to_vkey_string())
            {
                found.push((w.to_vkey_string(), ts));
            }
        }
    }
    Ok(found)
}

/// Appends signature lines to a signed note (e.g. cosignatures to the log's checkpoint).
pub fn with_lines(note: &str, lines: &[String]) -> String {
    let mut out = note.to_owned();
    for l in lines {
        out.push_str(l);
        if !l.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
#[path = "cosignature_tests.rs"]
mod tests;
