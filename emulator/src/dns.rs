//! A small authoritative DNS server for tests (`--dns-addr`): it answers TXT queries from
//! records set through the control API (`PUT /_emulator/dns/{name}`), so Roster's
//! domain-ownership check resolves real DNS over UDP and TCP against it
//! (`ROSTER_DNS_SERVER`). A name that was never set is NXDOMAIN; a set name answers its TXT
//! values (none: no data) and no data for other record types. Built on `hickory-server`.

use crate::state::EmulatorState;
use hickory_server::net::runtime::Time;
use hickory_server::proto::op::{Metadata, ResponseCode};
use hickory_server::proto::rr::rdata::TXT;
use hickory_server::proto::rr::{Name, RData, Record, RecordType};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;
use hickory_server::Server;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::net::{TcpListener, UdpSocket};

/// TXT records by lower-case name without the trailing dot.
#[derive(Debug, Default, Clone)]
pub struct DnsRecords {
    txt: BTreeMap<String, Vec<String>>,
}

impl DnsRecords {
    fn key(name: &str) -> String {
        name.trim().trim_end_matches('.').to_ascii_lowercase()
    }

    /// Sets the TXT values of a name (replacing any); an empty list makes the name exist
    /// with no TXT record.
    pub fn set_txt(&mut self, name: &str, values: Vec<String>) {
        self.txt.insert(Self::key(name), values);
    }

    /// Removes the name: queries for it get NXDOMAIN. `false` if it was not there.
    pub fn remove(&mut self, name: &str) -> bool {
        self.txt.remove(&Self::key(name)).is_some()
    }

    /// The TXT values of a name; `None`: the name does not exist.
    pub fn txt(&self, name: &str) -> Option<&[String]> {
        self.txt.get(&Self::key(name)).map(Vec::as_slice)
    }

    pub fn all(&self) -> &BTreeMap<String, Vec<String>> {
        &self.txt
    }
}

/// Answers from the emulator's records. Holds the state weakly: the server ends with it.
struct Handler {
    state: Weak<EmulatorState>,
}

#[async_trait::async_trait]
impl RequestHandler for Handler {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        let builder = MessageResponseBuilder::from_message_request(request);
        let mut metadata = Metadata::response_from_request(&request.metadata);
        metadata.authoritative = true;
        let (code, answers) = match (request.request_info(), self.state.upgrade()) {
            (Ok(info), Some(state)) => {
                let name = info.query.name().to_string();
                match state.dns().txt(&name) {
                    None => (ResponseCode::NXDomain, Vec::new()),
                    Some(_) if info.query.query_type() != RecordType::TXT => {
                        (ResponseCode::NoError, Vec::new())
                    }
                    Some(values) => {
                        let owner = Name::from_ascii(&name).unwrap_or_default();
                        let records = values
                            .iter()
                            .map(|v| {
                                Record::from_rdata(
                                    owner.clone(),
                                    0,
                                    RData::TXT(TXT::new(vec![v.clone()])),
                                )
                            })
                            .collect();
                        (ResponseCode::NoError, records)
                    }
                }
            }
            _ => (ResponseCode::ServFail, Vec::new()),
        };
        metadata.response_code = code;
        let response = builder.build(metadata, answers.iter(), None, None, None);
        match response_handle.send_response(response).await {
            Ok(info) => info,
            Err(error) => {
                tracing::warn!(%error, "could not send a DNS answer");
                let mut metadata = Metadata::response_from_request(&request.metadata);
                metadata.response_code = ResponseCode::ServFail;
                hickory_server::proto::op::Header {
                    metadata,
                    counts: Default::default(),
                }
                .into()
            }
        }
    }
}

/// A DNS server answering from an emulator's records; it stops when dropped.
pub struct DnsServer {
    addr: SocketAddr,
    _server: Server<Handler>,
}

impl DnsServer {
    /// The address it answers on (UDP and TCP).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// A UDP socket and a TCP listener on the same port. With port 0 the port is the one the
/// UDP bind picked, which a TCP socket (a client connection's local port, say) may already
/// hold: then another free port is tried.
async fn bind_pair(addr: SocketAddr) -> anyhow::Result<(UdpSocket, TcpListener)> {
    let mut tries = 0;
    loop {
        let udp = UdpSocket::bind(addr).await?;
        match TcpListener::bind(udp.local_addr()?).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(error)
                if addr.port() == 0
                    && error.kind() == std::io::ErrorKind::AddrInUse
                    && tries < 20 =>
            {
                tries += 1;
            }
            Err(error) => return Err(error.into()),
        }
    }
}

impl std::fmt::Debug for DnsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnsServer")
            .field("addr", &self.addr)
            .finish()
    }
}

/// Serves DNS on `addr` (UDP and TCP, the same port; port 0 picks a free one) in background
/// tasks of the current runtime.
pub async fn serve(addr: SocketAddr, state: &Arc<EmulatorState>) -> anyhow::Result<DnsServer> {
    let (udp, tcp) = bind_pair(addr).await?;
    let bound = udp.local_addr()?;
    let mut server = Server::new(Handler {
        state: Arc::downgrade(state),
    });
    server.register_socket(udp);
    server.register_listener(tcp, Duration::from_secs(5), 64);
    Ok(DnsServer {
        addr: bound,
        _server: server,
    })
}
