//! App-only access tokens: minted by the token endpoint, checked by Graph.
//!
//! Tokens are opaque to Roster but look like Entra's JWTs (three base64url parts with the
//! usual claims) so logging or size assumptions hold. The signature part is random; the
//! emulator does not verify signatures, it looks the token up in its table of issued tokens,
//! which maps it to a tenant and an expiry. "Expire all tokens now" is then a table update.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;
use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What the emulator knows about an issued token.
#[derive(Clone, Debug)]
pub struct TokenRecord {
    pub tenant_id: String,
    pub expires_at: SystemTime,
}

/// Why a bearer token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenProblem {
    Missing,
    Malformed,
    Unknown,
    Expired,
}

#[derive(Debug, Default)]
pub struct TokenStore {
    tokens: HashMap<String, TokenRecord>,
}

impl TokenStore {
    /// Mints a token for the app in a tenant.
    pub fn issue(
        &mut self,
        tenant_id: &str,
        client_id: &str,
        roles: &[String],
        ttl: Duration,
    ) -> String {
        let now = SystemTime::now();
        // Expired tokens are kept an hour so Graph can say "expired" rather than "unknown".
        self.tokens
            .retain(|_, r| r.expires_at + Duration::from_secs(3600) > now);
        let iat = now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let header = json!({"typ": "JWT", "alg": "RS256", "x5t": "emulator", "kid": "emulator"});
        let claims = json!({
            "aud": "https://graph.microsoft.com",
            "iss": format!("https://sts.windows.net/{tenant_id}/"),
            "iat": iat,
            "nbf": iat,
            "exp": iat + ttl.as_secs(),
            "app_displayname": "Roster",
            "appid": client_id,
            "appidacr": "1",
            "idp": format!("https://sts.windows.net/{tenant_id}/"),
            "idtyp": "app",
            "oid": uuid::Uuid::new_v4().to_string(),
            "roles": roles,
            "sub": uuid::Uuid::new_v4().to_string(),
            "tid": tenant_id,
            "uti": uuid::Uuid::new_v4().simple().to_string(),
            "ver": "1.0",
        });
        let signature: [u8; 32] = rand::random();
        let token = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string()),
            URL_SAFE_NO_PAD.encode(signature)
        );
        self.tokens.insert(
            token.clone(),
            TokenRecord {
                tenant_id: tenant_id.to_string(),
                expires_at: now + ttl,
            },
        );
        token
    }

    /// The tenant a bearer token was issued for, if it is still good.
    pub fn check(&self, token: Option<&str>) -> Result<&TokenRecord, TokenProblem> {
        let token = token
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(TokenProblem::Missing)?;
        if token.split('.').count() != 3 {
            return Err(TokenProblem::Malformed);
        }
        let record = self.tokens.get(token).ok_or(TokenProblem::Unknown)?;
        if record.expires_at <= SystemTime::now() {
            return Err(TokenProblem::Expired);
        }
        Ok(record)
    }

    /// Expires every token issued so far (they stay known, so Graph says "expired").
    pub fn expire_all(&mut self) -> usize {
        let past = SystemTime::now() - Duration::from_secs(1);
        for record in self.tokens.values_mut() {
            record.expires_at = past;
        }
        self.tokens.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_look_like_jwts_and_expire() {
        let mut store = TokenStore::default();
        let token = store.issue(
            "t1",
            "app",
            &["User.Read.All".into()],
            Duration::from_secs(60),
        );
        assert_eq!(token.split('.').count(), 3);
        assert_eq!(
            store.check(Some(&token)).map(|r| r.tenant_id.clone()),
            Ok("t1".into())
        );
        assert_eq!(store.check(None).err(), Some(TokenProblem::Missing));
        assert_eq!(
            store.check(Some("abc")).err(),
            Some(TokenProblem::Malformed)
        );
        assert_eq!(
            store.check(Some("a.b.c")).err(),
            Some(TokenProblem::Unknown)
        );
        store.expire_all();
        assert_eq!(store.check(Some(&token)).err(), Some(TokenProblem::Expired));
    }
}
