//! Cryptography, all through ring: envelope encryption of record bodies (AES-256-GCM with
//! per-subject data keys wrapped by a key-encryption key), keyed pseudonyms (HMAC-SHA256) for
//! the audit log, and loading of key files.

pub mod envelope;
pub mod keyfile;
pub mod pseudonym;

pub use envelope::{DataKey, Kek, KekRing, WrappedKey};
pub use pseudonym::Pseudonymizer;

/// A cryptographic operation failed. Deliberately carries no detail: the cause is either a
/// wrong key or tampered data, and saying which helps only an attacker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("key material is invalid")]
    BadKey,
    #[error("decryption failed (wrong key or tampered data)")]
    Decrypt,
    #[error("the system random number generator failed")]
    Random,
}
