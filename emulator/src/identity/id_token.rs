//! Who is signed in at the emulator's identity platform, the authorization codes issued to them,
//! and the RS256 ID tokens those codes are redeemed for — with one-shot faults that make the next
//! ID token wrong in one way (another tenant, wrong nonce, expired, badly signed).
//!
//! As at Microsoft, accepting admin consent signs the admin in: the browser gets the session
//! cookie [`SESSION_COOKIE`], and a following `/authorize` answers at once with a code.

use super::keys::signing_key;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The identity platform's session cookie (Microsoft's is also `ESTSAUTH`).
pub const SESSION_COOKIE: &str = "ESTSAUTH";
/// Directory role template id of Global Administrator (in `wids`).
pub const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";
/// The role template every member of a tenant has ("User"), as Entra lists it in `wids`.
const MEMBER_ROLE: &str = "b79fbf4d-3ef9-4689-8143-76b194e85509";
/// How long an authorization code can be redeemed.
const CODE_TTL: Duration = Duration::from_secs(300);
/// `exp - iat` of an ID token (Microsoft: one hour).
const ID_TOKEN_TTL: u64 = 3600;

/// A signed-in account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub tenant_id: String,
    /// The user's object id (`oid`).
    pub oid: String,
    /// `preferred_username`: the user principal name.
    pub username: String,
    pub name: String,
    pub global_admin: bool,
}

/// An authorization code waiting to be redeemed at the token endpoint.
#[derive(Clone, Debug)]
pub struct PendingCode {
    pub account: Account,
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    /// `S256` or `plain`.
    pub code_challenge_method: String,
    expires_at: SystemTime,
    redeemed: bool,
}

impl PendingCode {
    pub fn new(
        account: Account,
        client_id: String,
        redirect_uri: String,
        scope: String,
        nonce: Option<String>,
        code_challenge: Option<String>,
        code_challenge_method: Option<String>,
    ) -> Self {
        PendingCode {
            account,
            client_id,
            redirect_uri,
            scope,
            nonce,
            code_challenge,
            code_challenge_method: code_challenge_method.unwrap_or_else(|| "plain".into()),
            expires_at: SystemTime::now() + CODE_TTL,
            redeemed: false,
        }
    }
}

/// Why a code was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeProblem {
    Unknown,
    Expired,
    AlreadyRedeemed,
}

/// What the next ID token gets wrong (the body of `PUT /_emulator/faults/id-token`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum IdTokenFault {
    /// Issued by and for another tenant (`tid` and `iss`).
    OtherTenant,
    /// A `nonce` other than the one the app sent.
    WrongNonce,
    /// Expired an hour ago.
    Expired,
    /// Signed, then given another token's signature.
    BadSignature,
}

/// Sessions, codes and the pending ID-token fault.
#[derive(Debug, Default)]
pub struct SignIns {
    sessions: HashMap<String, Account>,
    codes: HashMap<String, PendingCode>,
    fault: Option<IdTokenFault>,
}

impl SignIns {
    /// Signs an account in; returns the session cookie's value.
    pub fn start_session(&mut self, account: Account) -> String {
        let id = random_token();
        self.sessions.insert(id.clone(), account);
        id
    }

    pub fn session(&self, id: &str) -> Option<&Account> {
        self.sessions.get(id)
    }

    pub fn issue_code(&mut self, pending: PendingCode) -> String {
        let now = SystemTime::now();
        self.codes
            .retain(|_, c| c.expires_at + Duration::from_secs(3600) > now);
        let code = random_token();
        self.codes.insert(code.clone(), pending);
        code
    }

    /// Takes a code: good once, for five minutes.
    pub fn redeem(&mut self, code: &str) -> Result<PendingCode, CodeProblem> {
        let pending = self.codes.get_mut(code).ok_or(CodeProblem::Unknown)?;
        if pending.redeemed {
            return Err(CodeProblem::AlreadyRedeemed);
        }
        pending.redeemed = true;
        if pending.expires_at <= SystemTime::now() {
            return Err(CodeProblem::Expired);
        }
        Ok(pending.clone())
    }

    pub fn set_fault(&mut self, fault: Option<IdTokenFault>) {
        self.fault = fault;
    }

    pub fn fault(&self) -> Option<IdTokenFault> {
        self.fault
    }

    /// The pending fault, cleared: each fault spoils one token.
    pub fn take_fault(&mut self) -> Option<IdTokenFault> {
        self.fault.take()
    }
}

/// Whether `verifier` answers `challenge` (RFC 7636: S256 = base64url(SHA-256(verifier))).
pub fn pkce_matches(method: &str, challenge: &str, verifier: &str) -> bool {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use sha2::{Digest, Sha256};
    match method {
        "S256" => URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == challenge,
        "plain" => verifier == challenge,
        _ => false,
    }
}

/// The ID token for a redeemed code, issued by `{base}/{tid}/v2.0`; `other_tenant` is the id
/// an [`IdTokenFault::OtherTenant`] token claims to come from.
pub fn id_token(
    base: &str,
    code: &PendingCode,
    fault: Option<IdTokenFault>,
    other_tenant: &str,
) -> Result<String, jsonwebtoken::errors::Error> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let account = &code.account;
    let tid = match fault {
        Some(IdTokenFault::OtherTenant) => other_tenant,
        _ => account.tenant_id.as_str(),
    };
    let iat = match fault {
        Some(IdTokenFault::Expired) => now - 2 * ID_TOKEN_TTL,
        _ => now,
    };
    let nonce = match fault {
        Some(IdTokenFault::WrongNonce) => Some(random_token()),
        _ => code.nonce.clone(),
    };
    let mut wids = vec![MEMBER_ROLE];
    if account.global_admin {
        wids.insert(0, GLOBAL_ADMINISTRATOR);
    }
    let mut claims = json!({
        "aud": code.client_id,
        "iss": format!("{base}/{tid}/v2.0"),
        "iat": iat,
        "nbf": iat,
        "exp": iat + ID_TOKEN_TTL,
        "name": account.name,
        "oid": account.oid,
        "preferred_username": account.username,
        "rh": "0.emulator",
        "sub": account.oid.replace('-', ""),
        "tid": tid,
        "uti": random_token(),
        "ver": "2.0",
        "wids": wids,
    });
    if let Some(nonce) = nonce {
        claims["nonce"] = json!(nonce);
    }
    let key = signing_key();
    let token = key.sign(&claims)?;
    if fault != Some(IdTokenFault::BadSignature) {
        return Ok(token);
    }
    // A real signature, of other claims: valid base64url, wrong for this token.
    claims["uti"] = json!(random_token());
    let other = key.sign(&claims)?;
    let (signed, _) = token.rsplit_once('.').unwrap_or((&token, ""));
    let (_, signature) = other.rsplit_once('.').unwrap_or(("", ""));
    Ok(format!("{signed}.{signature}"))
}

fn random_token() -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 24]>())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn account() -> Account {
        Account {
            tenant_id: "t1".into(),
            oid: "o1".into(),
            username: "adele@contoso.com".into(),
            name: "Adele".into(),
            global_admin: true,
        }
    }

    #[test]
    fn codes_are_good_once() {
        let mut s = SignIns::default();
        let code = s.issue_code(PendingCode::new(
            account(),
            "app".into(),
            "https://r".into(),
            "openid".into(),
            None,
            None,
            None,
        ));
        assert!(s.redeem(&code).is_ok());
        assert_eq!(s.redeem(&code).err(), Some(CodeProblem::AlreadyRedeemed));
        assert_eq!(s.redeem("nope").err(), Some(CodeProblem::Unknown));
    }

    #[test]
    fn pkce_s256() {
        // RFC 7636, appendix B.
        assert!(pkce_matches(
            "S256",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        ));
        assert!(!pkce_matches(
            "S256",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "other"
        ));
        assert!(!pkce_matches("S512", "a", "a"));
    }

    #[test]
    fn a_bad_signature_fault_keeps_the_claims_and_spoils_the_signature() {
        let code = PendingCode::new(
            account(),
            "app".into(),
            "https://r".into(),
            "openid".into(),
            Some("n".into()),
            None,
            None,
        );
        let good = id_token("http://e", &code, None, "t2").unwrap();
        let bad = id_token("http://e", &code, Some(IdTokenFault::BadSignature), "t2").unwrap();
        let payload = |t: &str| t.split('.').nth(1).unwrap().len();
        assert_eq!(payload(&good), payload(&bad));
        assert_ne!(good.rsplit('.').next(), bad.rsplit('.').next());
    }
}
