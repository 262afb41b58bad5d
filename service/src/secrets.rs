//! Secrets at rest (integration tokens, secret settings): AES-256-GCM with a key from the
//! environment (`ATLAS_SECRET_KEY`), so a database dump alone reveals none of them.
use std::sync::OnceLock;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::{Result, ServiceError};

static CIPHER: OnceLock<Aes256Gcm> = OnceLock::new();

/// Set the key once at start-up; any passphrase works (its SHA-256 is the key).
pub fn configure(passphrase: &str) {
    let key = Sha256::digest(passphrase.as_bytes());
    let _ = CIPHER.set(Aes256Gcm::new(&key));
}

fn cipher() -> Result<&'static Aes256Gcm> {
    CIPHER.get().ok_or_else(|| ServiceError::internal("secrets key not configured (ATLAS_SECRET_KEY)"))
}

/// `nonce (12 bytes) || ciphertext+tag`.
pub fn encrypt(plain: &str) -> Result<Vec<u8>> {
    let mut nonce = [0u8; 12];
    rand::rng().fill_bytes(&mut nonce);
    let sealed = cipher()?
        .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
        .map_err(|_| ServiceError::internal("could not encrypt a secret"))?;
    Ok([nonce.as_slice(), &sealed].concat())
}

pub fn decrypt(stored: &[u8]) -> Result<String> {
    if stored.len() < 12 {
        return Err(ServiceError::internal("a stored secret is truncated"));
    }
    let (nonce, sealed) = stored.split_at(12);
    let plain = cipher()?
        .decrypt(Nonce::from_slice(nonce), sealed)
        .map_err(|_| ServiceError::internal("a stored secret does not open with ATLAS_SECRET_KEY"))?;
    String::from_utf8(plain).map_err(|_| ServiceError::internal("a stored secret is not UTF-8"))
}
