//! The emulator's ID-token signing key: one RSA key per process, generated at start, published
//! as a JWKS at `/{tenant}/discovery/v2.0/keys` and used for RS256 signatures through
//! `jsonwebtoken`, as Microsoft signs ID tokens.
//!
//! One key per process (not per emulator): generating an RSA key costs a noticeable fraction of
//! a second, and tests start many emulators in one process.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// The signing key and what the JWKS publishes about it.
pub struct SigningKey {
    /// `kid` of the JWKS entry and of every token's header.
    pub kid: String,
    encoding: EncodingKey,
    /// Modulus and exponent, base64url without padding (the JWK's `n` and `e`).
    n: String,
    e: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

static KEY: OnceLock<SigningKey> = OnceLock::new();

/// The process's signing key, generated on first use (the emulator asks for it at start).
pub fn signing_key() -> &'static SigningKey {
    KEY.get_or_init(|| {
        // A 2048-bit key, as Microsoft's. Failing here means the OS has no randomness.
        let key = RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048)
            .expect("generating the emulator's RSA signing key");
        let der = key
            .to_pkcs1_der()
            .expect("encoding the emulator's RSA signing key");
        let n_bytes = key.n().to_bytes_be();
        let kid = URL_SAFE_NO_PAD.encode(&Sha256::digest(&n_bytes)[..12]);
        SigningKey {
            kid,
            encoding: EncodingKey::from_rsa_der(der.as_bytes()),
            n: URL_SAFE_NO_PAD.encode(n_bytes),
            e: URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
        }
    })
}

impl SigningKey {
    /// The JWKS document (`{"keys": [...]}`) with this one key, in Microsoft's shape.
    pub fn jwks(&self, issuer: &str) -> Value {
        json!({
            "keys": [{
                "kty": "RSA",
                "use": "sig",
                "kid": self.kid,
                "n": self.n,
                "e": self.e,
                "issuer": issuer,
            }]
        })
    }

    /// An RS256 JWT of `claims` with this key's `kid`.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use jsonwebtoken::jwk::Jwk;
    use jsonwebtoken::{DecodingKey, Validation};

    #[test]
    fn tokens_verify_against_the_published_key() {
        let key = signing_key();
        let token = key
            .sign(&json!({"sub": "x", "exp": 4_000_000_000u64}))
            .unwrap();
        let jwks = key.jwks("https://issuer.example");
        let jwk: Jwk = serde_json::from_value(jwks["keys"][0].clone()).unwrap();
        let decoding = DecodingKey::from_jwk(&jwk).unwrap();
        let data =
            jsonwebtoken::decode::<Value>(&token, &decoding, &Validation::new(Algorithm::RS256))
                .unwrap();
        assert_eq!(data.claims["sub"], "x");
        assert_eq!(data.header.kid.as_deref(), Some(key.kid.as_str()));
    }
}
