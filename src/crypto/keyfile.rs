//! Reading secret key files: one line of standard base64 holding exactly N bytes. Errors name the
//! file, never its content.

use std::path::Path;

use base64::Engine;

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read key file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("key file {path} must hold {expected} bytes as one line of base64")]
    Format { path: String, expected: usize },
}

/// Reads a base64 key file of exactly `N` bytes.
pub fn read_key<const N: usize>(path: &Path) -> Result<[u8; N], KeyFileError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| KeyFileError::Read {
        path: shown.clone(),
        source,
    })?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| KeyFileError::Format {
            path: shown.clone(),
            expected: N,
        })?;
    <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| KeyFileError::Format {
        path: shown,
        expected: N,
    })
}
