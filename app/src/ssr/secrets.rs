//! Secrets Roster must keep and read back (an LDAP directory's password), sealed at rest with
//! XChaCha20-Poly1305 (the RustCrypto `chacha20poly1305` crate) under `ROSTER_SECRET_KEY`.
//!
//! A sealed value is a random 24-byte nonce followed by the ciphertext and its tag. The
//! associated data names what the value is and whose it is ([`ldap_password_context`]), so a
//! sealed password copied into another organization's or domain's row does not open there.

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use uuid::Uuid;

const NONCE_LEN: usize = 24;

/// `ROSTER_SECRET_KEY`: 32 random bytes. Never shown in `Debug`, never logged.
#[derive(Clone)]
pub struct SecretKey(XChaCha20Poly1305);

/// Why `ROSTER_SECRET_KEY` can't be used, in an operator's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretKeyError {
    #[error("ROSTER_SECRET_KEY is not valid base64. Make a key with: openssl rand -base64 32")]
    NotBase64,
    #[error("ROSTER_SECRET_KEY must be 32 bytes once decoded from base64, got {0}. Make a key with: openssl rand -base64 32")]
    WrongLength(usize),
}

/// A sealed value that does not open: another key, another row, or altered bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the sealed secret could not be opened (another ROSTER_SECRET_KEY, or it was altered)")]
pub struct OpenError;

impl SecretKey {
    /// Reads the key as `openssl rand -base64 32` prints it (surrounding spaces ignored).
    pub fn from_base64(text: &str) -> Result<SecretKey, SecretKeyError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| SecretKeyError::NotBase64)?;
        if bytes.len() != 32 {
            return Err(SecretKeyError::WrongLength(bytes.len()));
        }
        XChaCha20Poly1305::new_from_slice(&bytes)
            .map(SecretKey)
            .map_err(|_| SecretKeyError::WrongLength(bytes.len()))
    }

    /// Seals `plaintext` for `context` with a fresh random nonce: nonce || ciphertext.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Vec<u8> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let payload = Payload {
            msg: plaintext,
            aad: context.as_bytes(),
        };
        // Encryption fails only for messages beyond the cipher's limit (256 GiB).
        let sealed = self
            .0
            .encrypt(&nonce, payload)
            .unwrap_or_else(|_| unreachable!("a secret is far below XChaCha20's length limit"));
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens what [`SecretKey::seal`] sealed for the same `context`.
    pub fn open(&self, sealed: &[u8], context: &str) -> Result<Vec<u8>, OpenError> {
        if sealed.len() < NONCE_LEN {
            return Err(OpenError);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        self.0
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| OpenError)
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

/// The associated data of a domain's LDAP password (`ldap_connections.password_sealed`).
pub fn ldap_password_context(organization_id: Uuid, domain_id: Uuid) -> String {
    format!("roster:ldap_connections.password_sealed:v1:{organization_id}:{domain_id}")
}

/// The associated data of a domain's Google refresh token
/// (`google_connections.refresh_token_sealed`).
pub fn google_refresh_token_context(organization_id: Uuid, domain_id: Uuid) -> String {
    format!("roster:google_connections.refresh_token_sealed:v1:{organization_id}:{domain_id}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="; // 32 bytes
    const OTHER: &str = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=";

    #[test]
    fn a_sealed_secret_opens_with_its_key_and_context_only() {
        let key = SecretKey::from_base64(KEY).unwrap();
        let (org, domain) = (Uuid::new_v4(), Uuid::new_v4());
        let context = ldap_password_context(org, domain);
        let sealed = key.seal(b"hunter2", &context);
        assert!(!sealed.windows(7).any(|w| w == b"hunter2"));
        assert_eq!(key.open(&sealed, &context).unwrap(), b"hunter2");
        // A fresh nonce every time.
        assert_ne!(key.seal(b"hunter2", &context), sealed);
        // Another row's context, another key, altered bytes: nothing opens.
        let other_row = ldap_password_context(org, Uuid::new_v4());
        assert_eq!(key.open(&sealed, &other_row), Err(OpenError));
        let other_key = SecretKey::from_base64(OTHER).unwrap();
        assert_eq!(other_key.open(&sealed, &context), Err(OpenError));
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert_eq!(key.open(&altered, &context), Err(OpenError));
        assert_eq!(key.open(&sealed[..10], &context), Err(OpenError));
    }

    #[test]
    fn the_key_is_32_bytes_of_base64_and_never_shown() {
        let key = SecretKey::from_base64(&format!(" {KEY}\n")).unwrap();
        assert_eq!(format!("{key:?}"), "SecretKey(..)");
        assert_eq!(
            SecretKey::from_base64("not base64!").unwrap_err(),
            SecretKeyError::NotBase64
        );
        let short = SecretKey::from_base64("c2hvcnQ=").unwrap_err();
        assert_eq!(short, SecretKeyError::WrongLength(5));
        assert!(short.to_string().contains("openssl rand -base64 32"));
    }
}
