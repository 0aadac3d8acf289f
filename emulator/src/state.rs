//! The emulator's whole state: tenants and consents, issued tokens, faults and counters.
//!
//! Each part has its own lock, held only while no `.await` is pending, so std locks do. The
//! directory is behind a `RwLock`: Graph requests read it concurrently and page through it
//! in place; edits take the write lock briefly. Tests reach all of it through `RunningEmulator::state()`.

use crate::config::EmulatorConfig;
use crate::counters::Counters;
use crate::dns::DnsRecords;
use crate::faults::{FaultConfig, Faults};
use crate::generate::{generate, GenerateSpec};
use crate::identity::id_token::{IdTokenFault, SignIns};
use crate::model::TenantFile;
use crate::tenant::{DirectoryError, Tenant};
use crate::tokens::TokenStore;
use secrecy::SecretString;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

/// Admin consent given to the app in one tenant.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Consent {
    /// The application permissions granted (the token's `roles`).
    pub roles: Vec<String>,
    pub granted_at: String,
}

/// All loaded tenants and the app's consent in each.
#[derive(Debug, Default)]
pub struct Directory {
    pub tenants: BTreeMap<String, Tenant>,
    /// Tenant ids in the order they were first loaded ("the first tenant").
    order: Vec<String>,
    consents: HashMap<String, Consent>,
}

impl Directory {
    /// Finds a tenant by GUID or by one of its verified domains (case-insensitive).
    pub fn resolve(&self, key: &str) -> Option<&Tenant> {
        let key = key.trim().to_ascii_lowercase();
        self.tenants
            .get(&key)
            .or_else(|| self.tenants.values().find(|t| t.has_domain(&key)))
    }

    pub fn resolve_mut(&mut self, key: &str) -> Option<&mut Tenant> {
        let id = self.resolve(key)?.id.clone();
        self.tenants.get_mut(&id)
    }

    /// Adds or replaces a tenant. A verified domain belongs to one tenant only.
    pub fn insert(&mut self, tenant: Tenant) -> Result<(), DirectoryError> {
        for other in self.tenants.values().filter(|t| t.id != tenant.id) {
            if let Some(d) = tenant.domains.iter().find(|d| other.has_domain(&d.name)) {
                return Err(DirectoryError::Conflict(format!(
                    "the domain {} is already verified in tenant {}",
                    d.name, other.id
                )));
            }
        }
        if !self.tenants.contains_key(&tenant.id) {
            self.order.push(tenant.id.clone());
        }
        self.tenants.insert(tenant.id.clone(), tenant);
        Ok(())
    }

    pub fn remove(&mut self, id: &str) -> Option<Tenant> {
        self.consents.remove(id);
        self.order.retain(|t| t != id);
        self.tenants.remove(id)
    }

    /// Tenant ids in load order.
    pub fn ids(&self) -> &[String] {
        &self.order
    }

    pub fn consent(&self, tenant_id: &str) -> Option<&Consent> {
        self.consents.get(tenant_id)
    }

    pub fn grant(&mut self, tenant_id: &str, roles: Vec<String>) {
        let granted_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        self.consents
            .insert(tenant_id.to_string(), Consent { roles, granted_at });
    }

    /// Withdraws consent (deletes the app's service principal); `false` if there was none.
    pub fn revoke(&mut self, tenant_id: &str) -> bool {
        self.consents.remove(tenant_id).is_some()
    }
}

/// A short description of a tenant (CLI output and `GET /_emulator/tenants`).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantSummary {
    pub id: String,
    pub display_name: String,
    pub default_domain: String,
    pub verified_domains: Vec<String>,
    pub users: usize,
    pub groups: usize,
    pub contacts: usize,
    pub consented: bool,
    /// UPNs of the users who may grant admin consent.
    pub admins: Vec<String>,
}

/// The app registration and the fixed behaviour of this emulator.
#[derive(Debug)]
pub struct Settings {
    pub client_id: String,
    pub client_secret: SecretString,
    pub permissions: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub token_ttl: Duration,
    pub auto_consent: bool,
    pub default_page_size: usize,
    pub delta_page_size: usize,
    pub delta_token_ttl: Duration,
}

/// Everything a running emulator holds.
#[derive(Debug)]
pub struct EmulatorState {
    pub settings: Settings,
    directory: RwLock<Directory>,
    tokens: Mutex<TokenStore>,
    faults: Mutex<Faults>,
    counters: Mutex<Counters>,
    /// Identity sessions, authorization codes, the next ID token's fault.
    sign_ins: Mutex<SignIns>,
    /// TXT records served by the test DNS server (`dns.rs`).
    dns: Mutex<DnsRecords>,
}

impl EmulatorState {
    /// Builds the state and loads the configured tenants (files first, then generated ones).
    pub fn new(config: &EmulatorConfig) -> Result<EmulatorState, DirectoryError> {
        let state = EmulatorState {
            settings: Settings {
                client_id: config.client_id.clone(),
                client_secret: config.client_secret.clone(),
                permissions: config.permissions.clone(),
                redirect_uris: config.redirect_uris.clone(),
                token_ttl: config.token_ttl,
                auto_consent: config.auto_consent,
                default_page_size: config.default_page_size.clamp(1, 999),
                delta_page_size: config.delta_page_size.max(1),
                delta_token_ttl: config.delta_token_ttl,
            },
            directory: RwLock::new(Directory::default()),
            tokens: Mutex::new(TokenStore::default()),
            faults: Mutex::new(Faults::new(config.faults.clone())),
            counters: Mutex::new(Counters::default()),
            sign_ins: Mutex::new(SignIns::default()),
            dns: Mutex::new(DnsRecords::default()),
        };
        // The ID-token key is made now, not on the first sign-in.
        crate::identity::keys::signing_key();
        for file in &config.tenant_files {
            state.load_tenant(file.clone())?;
        }
        for spec in &config.generate {
            state.generate_tenant(spec)?;
        }
        Ok(state)
    }

    pub fn directory(&self) -> RwLockReadGuard<'_, Directory> {
        self.directory
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub fn directory_mut(&self) -> RwLockWriteGuard<'_, Directory> {
        self.directory
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub fn tokens(&self) -> MutexGuard<'_, TokenStore> {
        self.tokens.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn sign_ins(&self) -> MutexGuard<'_, SignIns> {
        self.sign_ins.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes the next ID token wrong in one way (`None` clears it).
    pub fn set_id_token_fault(&self, fault: Option<IdTokenFault>) {
        self.sign_ins().set_fault(fault);
    }

    pub fn counters(&self) -> MutexGuard<'_, Counters> {
        self.counters.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The TXT records of the test DNS server.
    pub fn dns(&self) -> MutexGuard<'_, DnsRecords> {
        self.dns.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Loads a tenant file, replacing a tenant with the same id (its delta tokens die with it).
    /// Consent is kept on replace unless the file says `consented`.
    pub fn load_tenant(&self, file: TenantFile) -> Result<TenantSummary, DirectoryError> {
        let consented = file.consented;
        let tenant = Tenant::from_file(file)?;
        let id = tenant.id.clone();
        let mut dir = self.directory_mut();
        dir.insert(tenant)?;
        match consented {
            Some(true) => dir.grant(&id, self.settings.permissions.clone()),
            Some(false) => {
                dir.revoke(&id);
            }
            None => {}
        }
        Ok(summarize(&dir, &id))
    }

    pub fn generate_tenant(&self, spec: &GenerateSpec) -> Result<TenantSummary, DirectoryError> {
        self.load_tenant(generate(spec))
    }

    pub fn summaries(&self) -> Vec<TenantSummary> {
        let dir = self.directory();
        dir.ids().iter().map(|id| summarize(&dir, id)).collect()
    }

    pub fn summary(&self, key: &str) -> Option<TenantSummary> {
        let dir = self.directory();
        let id = dir.resolve(key)?.id.clone();
        Some(summarize(&dir, &id))
    }

    /// Grants admin consent in a tenant (all configured permissions unless `roles` is given).
    pub fn grant_consent(
        &self,
        key: &str,
        roles: Option<Vec<String>>,
    ) -> Result<String, DirectoryError> {
        let mut dir = self.directory_mut();
        let id = dir
            .resolve(key)
            .map(|t| t.id.clone())
            .ok_or_else(|| DirectoryError::NotFound(format!("tenant {key} not found")))?;
        dir.grant(
            &id,
            roles.unwrap_or_else(|| self.settings.permissions.clone()),
        );
        Ok(id)
    }

    /// Revokes consent: new token requests fail (AADSTS700016), tokens already issued get 403.
    pub fn revoke_consent(&self, key: &str) -> Result<bool, DirectoryError> {
        let mut dir = self.directory_mut();
        let id = dir
            .resolve(key)
            .map(|t| t.id.clone())
            .ok_or_else(|| DirectoryError::NotFound(format!("tenant {key} not found")))?;
        Ok(dir.revoke(&id))
    }

    pub fn set_faults(&self, config: FaultConfig) {
        self.faults().set(config);
    }

    /// Makes every token issued so far expired; returns how many there were.
    pub fn expire_tokens(&self) -> usize {
        self.tokens().expire_all()
    }

    pub fn counter_snapshot(&self) -> Counters {
        self.counters().clone()
    }

    pub fn reset_counters(&self) {
        *self.counters() = Counters::default();
    }
}

fn summarize(dir: &Directory, id: &str) -> TenantSummary {
    let Some(t) = dir.tenants.get(id) else {
        return TenantSummary {
            id: id.to_string(),
            display_name: String::new(),
            default_domain: String::new(),
            verified_domains: vec![],
            users: 0,
            groups: 0,
            contacts: 0,
            consented: false,
            admins: vec![],
        };
    };
    TenantSummary {
        id: t.id.clone(),
        display_name: t.display_name.clone(),
        default_domain: t.default_domain().to_string(),
        verified_domains: t.domains.iter().map(|d| d.name.clone()).collect(),
        users: t.users.len(),
        groups: t.groups.len(),
        contacts: t.contacts.len(),
        consented: dir.consent(&t.id).is_some(),
        admins: t.admins().map(|u| u.user_principal_name.clone()).collect(),
    }
}
