//! Starts the `turn` crate's server on a bound UDP socket, behind the [`Gate`], with
//! hearsay's credentials and relay ports. The crate is third-party async code; this is the shell that wires it.
//!
//! Drive it with [`TurnServer::start`] and stop it with [`TurnServer::close`].

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use tokio::net::UdpSocket;

use super::credentials::Credentials;
use super::gate::{Gate, GatedConn, Quotas};
use super::peer_policy::{OwnServices, PeerPolicy};

/// The realm every hearsay node's TURN server uses.
pub const REALM: &str = "hearsay";
use super::relay_ports::RelayPorts;

/// Everything the TURN server runs with.
#[derive(Debug, Clone)]
pub struct TurnSettings {
    /// RFC 5389 realm: the same for every node ([`REALM`]), so probing a node's TURN port does not tell its user's
    /// name.
    pub realm: String,
    pub credentials: Credentials,
    pub policy: PeerPolicy,
    /// The node's own services, never relayed to.
    pub own: OwnServices,
    pub quotas: Quotas,
    pub relay: RelayPorts,
}

/// A running TURN server.
pub struct TurnServer {
    server: ::turn::server::Server,
    gate: Arc<Mutex<Gate>>,
    local_addr: SocketAddr,
    ledger: tokio::task::JoinHandle<()>,
}

impl TurnServer {
    /// Serves TURN on `socket`, and over TCP on `tcp` if given, until [`TurnServer::close`].
    pub async fn start(
        socket: UdpSocket,
        tcp: Option<tokio::net::TcpListener>,
        settings: TurnSettings,
    ) -> anyhow::Result<Self> {
        let local_addr = socket.local_addr()?;
        let gate = Arc::new(Mutex::new(
            Gate::new(
                settings.policy,
                settings.quotas,
                settings.credentials.clone(),
                settings.realm.clone(),
            )
            .with_own_services(settings.own.clone()),
        ));
        let (closed_tx, mut closed_rx) =
            tokio::sync::mpsc::channel::<::turn::allocation::AllocationInfo>(256);
        let ledger = tokio::spawn({
            let gate = gate.clone();
            async move {
                while let Some(info) = closed_rx.recv().await {
                    tracing::debug!(client = %info.five_tuple.src_addr, user = %info.username, "turn: allocation closed");
                    gate.lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .allocation_closed(info.five_tuple.src_addr);
                }
            }
        });
        let mut conn_configs = vec![::turn::server::config::ConnConfig {
            conn: Arc::new(GatedConn::udp(socket, gate.clone())),
            relay_addr_generator: Box::new(settings.relay.clone()),
        }];
        if let Some(listener) = tcp {
            let mux = super::tcp::TcpMuxConn::start(listener)?;
            conn_configs.push(::turn::server::config::ConnConfig {
                conn: Arc::new(GatedConn::new(Arc::new(mux), gate.clone())),
                relay_addr_generator: Box::new(settings.relay),
            });
        }
        let server = ::turn::server::Server::new(::turn::server::config::ServerConfig {
            conn_configs,
            realm: settings.realm,
            auth_handler: Arc::new(settings.credentials),
            channel_bind_timeout: Duration::from_secs(600),
            alloc_close_notify: Some(closed_tx),
        })
        .await
        .context("starting the TURN server")?;
        Ok(Self {
            server,
            gate,
            local_addr,
            ledger,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Live allocations, as the gate counts them.
    pub fn live_allocations(&self) -> usize {
        self.gate
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .live_allocations()
    }

    /// Closes every allocation and stops serving.
    pub async fn close(self) {
        if let Err(err) = self.server.close().await {
            tracing::debug!(%err, "turn: close");
        }
        self.ledger.abort();
    }
}
