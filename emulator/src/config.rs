//! How an emulator is set up: the one registered app (client id and secret), its permissions,
//! token lifetime and the tenants to start with.
//!
//! The client secret is a `SecretString`: it never shows in `Debug` output or logs.

use crate::faults::FaultConfig;
use crate::generate::GenerateSpec;
use crate::model::TenantFile;
use secrecy::SecretString;
use std::net::SocketAddr;
use std::time::Duration;

/// The Graph application permissions the emulated app has configured; admin consent grants all.
pub const DEFAULT_PERMISSIONS: &[&str] = &[
    "User.Read.All",
    "Group.Read.All",
    "GroupMember.Read.All",
    "OrgContact.Read.All",
    "Organization.Read.All",
];

/// Everything `spawn` needs.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Where to listen; port 0 picks a free one.
    pub addr: SocketAddr,
    pub client_id: String,
    pub client_secret: SecretString,
    /// Application permissions granted by admin consent (`roles` in tokens).
    pub permissions: Vec<String>,
    /// Registered redirect URIs; empty accepts any (the emulator has no portal to register them).
    pub redirect_uris: Vec<String>,
    /// `expires_in` of issued tokens.
    pub token_ttl: Duration,
    /// Accept admin consent at once, without showing the page.
    pub auto_consent: bool,
    /// Page size when `$top` is absent (Graph: 100).
    pub default_page_size: usize,
    /// Objects per page of a delta round (Graph decides it; 100 here).
    pub delta_page_size: usize,
    /// How long a delta token may be replayed (Graph: about 7 days).
    pub delta_token_ttl: Duration,
    pub tenant_files: Vec<TenantFile>,
    pub generate: Vec<GenerateSpec>,
    pub faults: FaultConfig,
    /// Also serve the test DNS server (`dns.rs`) here (port 0: a free one); `None`: no DNS.
    pub dns_addr: Option<SocketAddr>,
}

impl EmulatorConfig {
    /// A config with Microsoft's defaults, listening on 127.0.0.1 with a free port, no tenants.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        EmulatorConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            client_id: client_id.into(),
            client_secret: SecretString::from(client_secret.into()),
            permissions: DEFAULT_PERMISSIONS.iter().map(|s| s.to_string()).collect(),
            redirect_uris: Vec::new(),
            token_ttl: Duration::from_secs(3599),
            auto_consent: false,
            default_page_size: 100,
            delta_page_size: 100,
            delta_token_ttl: Duration::from_secs(7 * 24 * 3600),
            tenant_files: Vec::new(),
            generate: Vec::new(),
            faults: FaultConfig::default(),
            dns_addr: None,
        }
    }

    pub fn with_tenant(mut self, file: TenantFile) -> Self {
        self.tenant_files.push(file);
        self
    }

    /// Serves the test DNS server on a free port of 127.0.0.1 ([`crate::RunningEmulator::dns_addr`]).
    pub fn with_dns(mut self) -> Self {
        self.dns_addr = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        self
    }

    pub fn with_generated(mut self, spec: GenerateSpec) -> Self {
        self.generate.push(spec);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_secret() {
        let config = EmulatorConfig::new("app", "very-secret-value");
        let shown = format!("{config:?}");
        assert!(!shown.contains("very-secret-value"));
    }
}
