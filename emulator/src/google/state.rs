//! The Google emulator's state: Workspaces, the OAuth grants and tokens issued, faults and
//! request counters, behind one mutex (requests are short; tests are the load).

use super::model::{Workspace, WorkspaceError, WorkspaceFile};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Google's issuer, the default `iss` of ID tokens.
pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";

/// How the emulator is set up. The secret is never printed (no `Debug` of it).
#[derive(Clone)]
pub struct GoogleConfig {
    pub addr: SocketAddr,
    pub client_id: String,
    pub client_secret: String,
    /// Registered redirect URIs; empty = any is accepted.
    pub redirect_uris: Vec<String>,
    /// `iss` of ID tokens and the discovery document; `None` = the emulator's own base URL.
    pub issuer: Option<String>,
    /// `expires_in` of access tokens.
    pub token_ttl: u64,
    /// The Cloud project number named in `accessNotConfigured`.
    pub project_number: String,
    pub workspaces: Vec<WorkspaceFile>,
    pub generated: Option<super::generate::GenerateSpec>,
}

impl std::fmt::Debug for GoogleConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleConfig")
            .field("addr", &self.addr)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl GoogleConfig {
    /// 127.0.0.1:0, Google's issuer, tokens for 3599 s, no Workspace yet.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        GoogleConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            redirect_uris: Vec::new(),
            issuer: Some(GOOGLE_ISSUER.into()),
            token_ttl: 3599,
            project_number: "123456789012".into(),
            workspaces: Vec::new(),
            generated: None,
        }
    }

    pub fn with_workspace(mut self, file: WorkspaceFile) -> Self {
        self.workspaces.push(file);
        self
    }

    pub fn with_generated(mut self, spec: super::generate::GenerateSpec) -> Self {
        self.generated = Some(spec);
        self
    }
}

/// The faults (body of `PUT /_emulator/faults`); all off by default.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GoogleFaults {
    /// `userRateLimitExceeded` / `quotaExceeded` (403), `rateLimitExceeded` (429) or
    /// `backendError` (503).
    pub throttle: Option<ThrottleKind>,
    /// Throttle the next N Directory requests (0 with a probability: none by count).
    pub throttle_count: u64,
    /// Or each Directory request with this probability (seeded).
    pub throttle_probability: f64,
    pub seed: u64,
    /// 403 `accessNotConfigured` on every Directory request.
    pub api_not_enabled: bool,
    /// 403 `forbidden` as if the granting user were no longer an admin.
    pub grantor_not_admin: bool,
    /// Added to every Directory request (and to each batch part), milliseconds.
    pub latency_ms: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ThrottleKind {
    UserRateLimitExceeded,
    QuotaExceeded,
    RateLimitExceeded,
    BackendError,
}

/// Request counters (`GET /_emulator/counters`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GoogleCounters {
    pub total: u64,
    pub oauth: u64,
    pub directory: u64,
    pub throttled: u64,
    pub unauthorized: u64,
    pub forbidden: u64,
    pub tokens_issued: u64,
    pub by_kind: BTreeMap<String, u64>,
}

/// An authorization request shown on the consent page, waiting for Allow or Cancel.
#[derive(Clone, Debug)]
pub struct PendingAuth {
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: String,
    pub offline: bool,
    /// `prompt=consent`: a refresh token even when the user granted the app before.
    pub prompt_consent: bool,
}

/// An authorization code waiting for the token endpoint.
#[derive(Clone, Debug)]
pub struct PendingCode {
    pub auth: PendingAuth,
    pub customer_id: String,
    pub user_id: String,
    pub expires_at: SystemTime,
}

/// What a user granted the app: the refresh token's and access tokens' source.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Grant {
    pub id: String,
    pub customer_id: String,
    pub user_id: String,
    pub email: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    #[serde(skip)]
    pub refresh_token: Option<String>,
    pub has_refresh_token: bool,
    pub revoked: bool,
    pub created_at: u64,
    #[serde(skip)]
    pub nonce: Option<String>,
}

/// An issued access token.
#[derive(Clone, Debug)]
pub struct AccessToken {
    pub grant_id: String,
    pub expires_at: SystemTime,
}

/// Everything behind the mutex.
#[derive(Debug)]
pub struct Inner {
    pub workspaces: Vec<Workspace>,
    pub auths: HashMap<String, PendingAuth>,
    pub codes: HashMap<String, PendingCode>,
    pub grants: BTreeMap<String, Grant>,
    pub access_tokens: HashMap<String, AccessToken>,
    pub faults: GoogleFaults,
    rng: StdRng,
    pub counters: GoogleCounters,
}

/// The shared state of one Google emulator.
#[derive(Debug)]
pub struct GoogleState {
    pub config: GoogleConfig,
    inner: Mutex<Inner>,
}

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A random URL-safe token with a prefix in Google's style (`ya29.`, `1//`, `4/0`).
pub fn random_token(prefix: &str) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    format!(
        "{prefix}{}",
        URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
    )
}

impl GoogleState {
    pub fn new(config: GoogleConfig) -> Result<GoogleState, WorkspaceError> {
        let mut workspaces: Vec<Workspace> = Vec::new();
        let mut files = config.workspaces.clone();
        if let Some(spec) = &config.generated {
            files.push(super::generate::generate(spec));
        }
        for file in files {
            let ws = Workspace::load(file)?;
            check_unique(&workspaces, &ws)?;
            workspaces.push(ws);
        }
        Ok(GoogleState {
            config,
            inner: Mutex::new(Inner {
                workspaces,
                auths: HashMap::new(),
                codes: HashMap::new(),
                grants: BTreeMap::new(),
                access_tokens: HashMap::new(),
                faults: GoogleFaults::default(),
                rng: StdRng::seed_from_u64(0),
                counters: GoogleCounters::default(),
            }),
        })
    }

    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Loads a Workspace, replacing one with the same customer id (which stays as it was when
    /// the new one is refused).
    pub fn load_workspace(&self, file: WorkspaceFile) -> Result<(), WorkspaceError> {
        let ws = Workspace::load(file)?;
        self.lock().put(ws)
    }

    /// Edits the Workspace `key` (customer id or domain) in its file form and reloads it, under
    /// one lock: checked as a load is; nothing changes when the edit or the check fails.
    pub fn edit_workspace<T>(
        &self,
        key: &str,
        edit: impl FnOnce(&mut WorkspaceFile) -> Result<T, WorkspaceError>,
    ) -> Result<T, WorkspaceError> {
        let mut inner = self.lock();
        let mut file = inner
            .workspace_mut(key)
            .ok_or_else(|| WorkspaceError::NotFound(format!("Workspace {key}")))?
            .export();
        let result = edit(&mut file)?;
        inner.put(Workspace::load(file)?)?;
        Ok(result)
    }

    pub fn set_faults(&self, faults: GoogleFaults) {
        let mut inner = self.lock();
        inner.rng = StdRng::seed_from_u64(faults.seed);
        inner.faults = faults;
    }

    pub fn counters(&self) -> GoogleCounters {
        self.lock().counters.clone()
    }

    /// Expires every issued access token now; how many.
    pub fn expire_tokens(&self) -> usize {
        let mut inner = self.lock();
        let past = SystemTime::now() - Duration::from_secs(1);
        inner
            .access_tokens
            .values_mut()
            .map(|t| t.expires_at = past)
            .count()
    }

    /// Revokes every grant (as a user removing the app's access): refresh answers
    /// `invalid_grant`, access tokens 401. How many were live.
    pub fn revoke_all_grants(&self) -> usize {
        let mut inner = self.lock();
        inner
            .grants
            .values_mut()
            .filter(|g| !g.revoked)
            .map(|g| g.revoked = true)
            .count()
    }
}

impl Inner {
    /// Adds `ws`, or replaces the one with its customer id, if its domains are its own.
    fn put(&mut self, ws: Workspace) -> Result<(), WorkspaceError> {
        check_unique(
            self.workspaces
                .iter()
                .filter(|w| w.customer_id != ws.customer_id),
            &ws,
        )?;
        match self
            .workspaces
            .iter_mut()
            .find(|w| w.customer_id == ws.customer_id)
        {
            Some(slot) => *slot = ws,
            None => self.workspaces.push(ws),
        }
        Ok(())
    }

    pub fn workspace(&self, customer_id: &str) -> Option<&Workspace> {
        self.workspaces
            .iter()
            .find(|w| w.customer_id == customer_id)
    }

    pub fn workspace_mut(&mut self, key: &str) -> Option<&mut Workspace> {
        self.workspaces
            .iter_mut()
            .find(|w| w.customer_id == key || w.domains().iter().any(|d| d == key))
    }

    /// The Workspace and user id of an account by email.
    pub fn account(&self, email: &str) -> Option<(&Workspace, String)> {
        self.workspaces
            .iter()
            .find_map(|w| w.user(email).map(|u| (w, u.id.clone())))
    }

    /// The throttling fault for the next Directory request, if any.
    pub fn next_throttle(&mut self) -> Option<ThrottleKind> {
        let kind = self.faults.throttle?;
        if self.faults.throttle_count > 0 {
            self.faults.throttle_count -= 1;
            return Some(kind);
        }
        (self.faults.throttle_probability > 0.0
            && self.rng.gen::<f64>() < self.faults.throttle_probability)
            .then_some(kind)
    }
}

fn check_unique<'a>(
    existing: impl IntoIterator<Item = &'a Workspace>,
    ws: &Workspace,
) -> Result<(), WorkspaceError> {
    for other in existing {
        if other.customer_id == ws.customer_id {
            return Err(WorkspaceError::Invalid(format!(
                "customer {} is loaded twice",
                ws.customer_id
            )));
        }
        for d in ws.domains() {
            if other.domains().contains(&d) {
                return Err(WorkspaceError::Invalid(format!(
                    "domain {d} already belongs to customer {}",
                    other.customer_id
                )));
            }
        }
    }
    Ok(())
}
