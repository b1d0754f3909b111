//! Envelope encryption of record content. Each subject has a random 256-bit data key; the data
//! key is stored only wrapped (AES-256-GCM) by the key-encryption key (KEK) from configuration.
//! Section bodies are sealed with the data key and bound, through the AEAD's associated data, to
//! where they belong (subject, record, section, category), so a ciphertext moved to another row
//! fails to open.
//!
//! Ciphertext layout: `nonce (12 bytes) || ciphertext || tag (16 bytes)`, nonces random.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

use super::CryptoError;

fn seal(key: &LessSafeKey, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new().fill(&mut nonce).map_err(|_| CryptoError::Random)?;
    let mut buf = plaintext.to_vec();
    key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut buf)
        .map_err(|_| CryptoError::Decrypt)?;
    let mut out = Vec::with_capacity(NONCE_LEN + buf.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&buf);
    Ok(out)
}

fn open(key: &LessSafeKey, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if sealed.len() < NONCE_LEN + AES_256_GCM.tag_len() {
        return Err(CryptoError::Decrypt);
    }
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Decrypt)?;
    let mut buf = body.to_vec();
    let plain = key
        .open_in_place(nonce, Aad::from(aad), &mut buf)
        .map_err(|_| CryptoError::Decrypt)?;
    Ok(plain.to_vec())
}

fn aes_key(bytes: &[u8; 32]) -> Result<LessSafeKey, CryptoError> {
    UnboundKey::new(&AES_256_GCM, bytes)
        .map(LessSafeKey::new)
        .map_err(|_| CryptoError::BadKey)
}

/// The key-encryption key. `id` is recorded next to each wrapped key so that a rotated KEK
/// can still unwrap keys wrapped by its predecessor.
pub struct Kek {
    pub id: String,
    key: LessSafeKey,
}

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kek").field("id", &self.id).finish_non_exhaustive()
    }
}

/// A data key as stored: wrapped by a KEK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    pub kek_id: String,
    pub bytes: Vec<u8>,
}

/// A subject's data key, in memory only for the duration of one operation.
pub struct DataKey {
    key: LessSafeKey,
}

impl Kek {
    pub fn from_bytes(id: impl Into<String>, bytes: &[u8; 32]) -> Result<Self, CryptoError> {
        Ok(Self {
            id: id.into(),
            key: aes_key(bytes)?,
        })
    }

    /// Makes a new random data key and returns it together with its wrapped form.
    pub fn new_data_key(&self, context: &[u8]) -> Result<(DataKey, WrappedKey), CryptoError> {
        let mut raw = [0u8; 32];
        SystemRandom::new().fill(&mut raw).map_err(|_| CryptoError::Random)?;
        let wrapped = seal(&self.key, context, &raw)?;
        Ok((
            DataKey { key: aes_key(&raw)? },
            WrappedKey {
                kek_id: self.id.clone(),
                bytes: wrapped,
            },
        ))
    }

    /// Unwraps a stored data key; `context` must be the one it was wrapped with (the subject id).
    pub fn unwrap_key(&self, wrapped: &WrappedKey, context: &[u8]) -> Result<DataKey, CryptoError> {
        if wrapped.kek_id != self.id {
            return Err(CryptoError::BadKey);
        }
        let raw = open(&self.key, context, &wrapped.bytes)?;
        let raw: [u8; 32] = raw.as_slice().try_into().map_err(|_| CryptoError::BadKey)?;
        Ok(DataKey { key: aes_key(&raw)? })
    }
}

impl DataKey {
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        seal(&self.key, aad, plaintext)
    }
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        open(&self.key, aad, sealed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_binding() {
        let kek = Kek::from_bytes("k1", &[7u8; 32]).unwrap();
        let (dk, wrapped) = kek.new_data_key(b"subject-1").unwrap();
        let sealed = dk.seal(b"record-1|identity", "山田 花子".as_bytes()).unwrap();
        let dk2 = kek.unwrap_key(&wrapped, b"subject-1").unwrap();
        assert_eq!(dk2.open(b"record-1|identity", &sealed).unwrap(), "山田 花子".as_bytes());
        // Moved to another place, tampered, or unwrapped for another subject: refused.
        assert_eq!(
            dk2.open(b"record-2|identity", &sealed).unwrap_err(),
            CryptoError::Decrypt
        );
        let mut bad = sealed.clone();
        bad[20] ^= 1;
        assert_eq!(dk2.open(b"record-1|identity", &bad).unwrap_err(), CryptoError::Decrypt);
        assert!(kek.unwrap_key(&wrapped, b"subject-2").is_err());
        let other = Kek::from_bytes("k2", &[8u8; 32]).unwrap();
        assert!(other.unwrap_key(&wrapped, b"subject-1").is_err());
        // Plaintext never appears in the ciphertext.
        assert!(!sealed.windows(3).any(|w| w == &"山".as_bytes()[..3]));
    }
}
