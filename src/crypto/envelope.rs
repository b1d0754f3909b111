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
        let raw = self.unwrap_raw(wrapped, context)?;
        Ok(DataKey { key: aes_key(&raw)? })
    }

    fn unwrap_raw(&self, wrapped: &WrappedKey, context: &[u8]) -> Result<[u8; 32], CryptoError> {
        if wrapped.kek_id != self.id {
            return Err(CryptoError::BadKey);
        }
        let raw = open(&self.key, context, &wrapped.bytes)?;
        raw.as_slice().try_into().map_err(|_| CryptoError::BadKey)
    }
}

/// The key-encryption keys a hub holds: the **current** one wraps every new data key; the
/// others — only during a rotation — still unwrap the data keys they wrapped, until
/// `tsunagi keys rotate-kek` has re-wrapped every one under the current KEK.
#[derive(Debug)]
pub struct KekRing {
    current: Kek,
    others: Vec<Kek>,
}

impl From<Kek> for KekRing {
    fn from(current: Kek) -> Self {
        Self {
            current,
            others: Vec::new(),
        }
    }
}

impl KekRing {
    /// `current` and the KEKs still accepted for unwrapping; their ids must differ.
    pub fn new(current: Kek, others: Vec<Kek>) -> Result<Self, CryptoError> {
        let mut ids: Vec<&str> = others.iter().map(|k| k.id.as_str()).collect();
        ids.push(&current.id);
        ids.sort_unstable();
        if ids.windows(2).any(|w| w.first() == w.get(1)) {
            return Err(CryptoError::BadKey);
        }
        Ok(Self { current, others })
    }

    /// The id of the KEK that wraps new data keys.
    pub fn current_id(&self) -> &str {
        &self.current.id
    }

    /// The ids of every held KEK, the current one first.
    pub fn ids(&self) -> Vec<&str> {
        std::iter::once(&self.current)
            .chain(&self.others)
            .map(|k| k.id.as_str())
            .collect()
    }

    /// A new data key, wrapped under the current KEK.
    pub fn new_data_key(&self, context: &[u8]) -> Result<(DataKey, WrappedKey), CryptoError> {
        self.current.new_data_key(context)
    }

    fn kek(&self, id: &str) -> Result<&Kek, CryptoError> {
        std::iter::once(&self.current)
            .chain(&self.others)
            .find(|k| k.id == id)
            .ok_or(CryptoError::BadKey)
    }

    /// Unwraps with whichever held KEK wrapped it (`BadKey` if none).
    pub fn unwrap_key(&self, wrapped: &WrappedKey, context: &[u8]) -> Result<DataKey, CryptoError> {
        self.kek(&wrapped.kek_id)?.unwrap_key(wrapped, context)
    }

    /// The same data key, wrapped under the current KEK instead (content sealed with it stays
    /// readable; nothing else changes).
    pub fn rewrap(&self, wrapped: &WrappedKey, context: &[u8]) -> Result<WrappedKey, CryptoError> {
        let raw = self.kek(&wrapped.kek_id)?.unwrap_raw(wrapped, context)?;
        Ok(WrappedKey {
            kek_id: self.current.id.clone(),
            bytes: seal(&self.current.key, context, &raw)?,
        })
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
    fn a_ring_unwraps_with_the_kek_that_wrapped_and_rewraps_under_the_current_one() {
        let old = Kek::from_bytes("kek-1", &[7u8; 32]).unwrap();
        let (dk, wrapped) = old.new_data_key(b"subject-1").unwrap();
        let sealed = dk.seal(b"aad", b"content").unwrap();
        let ring = KekRing::new(
            Kek::from_bytes("kek-2", &[9u8; 32]).unwrap(),
            vec![Kek::from_bytes("kek-1", &[7u8; 32]).unwrap()],
        )
        .unwrap();
        assert_eq!(
            ring.unwrap_key(&wrapped, b"subject-1")
                .unwrap()
                .open(b"aad", &sealed)
                .unwrap(),
            b"content"
        );
        let rewrapped = ring.rewrap(&wrapped, b"subject-1").unwrap();
        assert_eq!(rewrapped.kek_id, "kek-2");
        let only_new = KekRing::from(Kek::from_bytes("kek-2", &[9u8; 32]).unwrap());
        assert_eq!(
            only_new
                .unwrap_key(&rewrapped, b"subject-1")
                .unwrap()
                .open(b"aad", &sealed)
                .unwrap(),
            b"content"
        );
        assert!(
            only_new.unwrap_key(&wrapped, b"subject-1").is_err(),
            "the old KEK is gone"
        );
        assert!(ring.rewrap(&wrapped, b"subject-2").is_err(), "bound to its subject");
        assert!(
            KekRing::new(
                Kek::from_bytes("k", &[1u8; 32]).unwrap(),
                vec![Kek::from_bytes("k", &[2u8; 32]).unwrap()]
            )
            .is_err(),
            "ids are unique"
        );
    }

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
