//! The TXT lookup of a domain-ownership check, with `hickory-resolver`: against one DNS server
//! (`ROSTER_DNS_SERVER`, an `ip:port`; tests run their own) or the system's resolver
//! configuration. A resolver is built for each check and keeps no cache, so a record the admin
//! just added is seen as soon as the DNS server has it.

use super::{check_txt_records, OwnershipError};
use crate::DomainName;
use hickory_resolver::config::{NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;
use hickory_resolver::{ResolverBuilder, TokioResolver};
use std::net::SocketAddr;
use std::time::Duration;

/// Where TXT lookups go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DnsSettings {
    /// One DNS server (UDP, then TCP for long answers); `None`: the system's resolvers.
    pub server: Option<SocketAddr>,
}

impl DnsSettings {
    /// Parses `ROSTER_DNS_SERVER` (`ip:port`, or a bare IP for port 53).
    pub fn parse_server(value: &str) -> Result<SocketAddr, String> {
        let value = value.trim();
        value
            .parse::<SocketAddr>()
            .or_else(|_| {
                value
                    .parse::<std::net::IpAddr>()
                    .map(|ip| SocketAddr::new(ip, 53))
            })
            .map_err(|_| format!("ROSTER_DNS_SERVER must be an IP address and port such as 127.0.0.1:53, got {value:?}"))
    }

    fn resolver(&self) -> Result<TokioResolver, hickory_resolver::net::NetError> {
        let provider = TokioRuntimeProvider::default();
        let mut builder: ResolverBuilder<TokioRuntimeProvider> = match self.server {
            Some(addr) => {
                let mut server = NameServerConfig::udp_and_tcp(addr.ip());
                for connection in &mut server.connections {
                    connection.port = addr.port();
                }
                let mut config = ResolverConfig::default();
                config.add_name_server(server);
                TokioResolver::builder_with_config(config, provider)
            }
            None => TokioResolver::builder(provider)?,
        };
        let options = builder.options_mut();
        options.cache_size = 0;
        options.timeout = Duration::from_secs(3);
        options.attempts = 2;
        builder.build()
    }

    /// The TXT strings at the domain's apex; `Ok(None)` when the name does not exist.
    async fn txt_records(
        &self,
        domain: &DomainName,
    ) -> Result<Option<Vec<String>>, OwnershipError> {
        let unreachable = |error: &dyn std::fmt::Display| {
            tracing::warn!(domain = %domain, server = ?self.server, %error, "DNS lookup for the ownership check failed");
            OwnershipError::ResolverUnavailable {
                domain: domain.to_string(),
            }
        };
        let resolver = self.resolver().map_err(|e| unreachable(&e))?;
        // Fully qualified: no search domains appended.
        let name = format!("{}.", domain.as_str());
        match resolver.txt_lookup(name).await {
            Ok(lookup) => Ok(Some(
                lookup
                    .answers()
                    .iter()
                    .filter_map(|record| match &record.data {
                        // A TXT record's strings are one value split in 255-byte chunks.
                        RData::TXT(txt) => Some(
                            txt.txt_data
                                .iter()
                                .map(|part| String::from_utf8_lossy(part))
                                .collect::<String>(),
                        ),
                        _ => None,
                    })
                    .collect(),
            )),
            Err(e) if e.is_nx_domain() => Ok(None),
            Err(e) if e.is_no_records_found() => Ok(Some(Vec::new())),
            Err(e) => Err(unreachable(&e)),
        }
    }

    /// Looks up the domain's TXT records and checks them against its token.
    pub async fn verify(&self, domain: &DomainName, token: &str) -> Result<(), OwnershipError> {
        match self.txt_records(domain).await? {
            None => Err(OwnershipError::NoSuchDomain {
                domain: domain.to_string(),
            }),
            Some(records) => check_txt_records(domain.as_str(), &records, token),
        }
    }
}
