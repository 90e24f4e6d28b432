//! The page's WebSocket to a node, spoken from Rust: for tests and benchmarks that drive a node as its page would
//! (peers, users, private messages) without a browser.
//!
//! [`PageSocket::connect`] trusts exactly the node's own self-signed certificate (read from its data dir), so the
//! TLS is checked for real. The socket keeps the last peers and users lists the node sent, and every wait is
//! bounded.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use hearsay_shared::gossip::PublicKey;
use hearsay_shared::page::{self, ClientMsg, MessageId, PeerView, ServerMsg, UserView};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use crate::Node;

pub struct PageSocket {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The node's key, from its `GossipInfo`.
    pub key: PublicKey,
    /// The last peers list the node sent.
    pub peers: Vec<PeerView>,
    /// The last users list the node sent.
    pub users: Vec<UserView>,
}

impl PageSocket {
    /// Opens `wss://<node>/ws` as a program would (no `Origin`) and reads the greeting (`Hello`, `GossipInfo`).
    pub async fn connect(node: &Node) -> anyhow::Result<Self> {
        Self::connect_from(node, None).await
    }

    /// Opens `wss://<node>/ws` as a page from `origin` would.
    pub async fn connect_from(node: &Node, origin: Option<&str>) -> anyhow::Result<Self> {
        let cert_path = node.data_dir().join(hearsay_shared::startup::WEB_CERT_FILE);
        let cert = CertificateDer::from_pem_file(&cert_path)
            .with_context(|| format!("reading {}", cert_path.display()))?;
        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert)?;
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let url = format!("wss://{}/ws", node.web);
        let mut request = url.as_str().into_client_request()?;
        if let Some(origin) = origin {
            request.headers_mut().insert("origin", origin.parse()?);
        }
        let (ws, _) = tokio::time::timeout(
            Duration::from_secs(10),
            tokio_tungstenite::connect_async_tls_with_config(
                request,
                None,
                true, // no Nagle: small messages, one at a time, as the browser's own socket sends them
                Some(Connector::Rustls(Arc::new(config))),
            ),
        )
        .await
        .with_context(|| format!("connecting to {url}"))??;
        let mut socket = Self {
            ws,
            key: PublicKey([0; 32]),
            peers: Vec::new(),
            users: Vec::new(),
        };
        socket.key = socket
            .wait_for(
                "the node's GossipInfo",
                Duration::from_secs(10),
                |m| match m {
                    ServerMsg::GossipInfo(info) => Some(info.key),
                    _ => None,
                },
            )
            .await?;
        Ok(socket)
    }

    pub async fn send(&mut self, msg: ClientMsg) -> anyhow::Result<()> {
        self.ws.send(Message::text(page::encode(msg))).await?;
        Ok(())
    }

    /// The next message from the node (peers and users lists are also kept in `self`).
    pub async fn recv(&mut self) -> anyhow::Result<ServerMsg> {
        loop {
            let frame = self
                .ws
                .next()
                .await
                .context("the node closed the WebSocket")??;
            let Message::Text(text) = frame else { continue };
            let msg = page::decode_server(text.as_str())?;
            match &msg {
                ServerMsg::Peers { peers } => self.peers = peers.clone(),
                ServerMsg::Users { users } => self.users = users.clone(),
                _ => {}
            }
            return Ok(msg);
        }
    }

    /// Reads messages until `pick` returns something, for at most `limit`.
    pub async fn wait_for<T>(
        &mut self,
        what: &str,
        limit: Duration,
        mut pick: impl FnMut(&ServerMsg) -> Option<T>,
    ) -> anyhow::Result<T> {
        tokio::time::timeout(limit, async {
            loop {
                let msg = self.recv().await?;
                if let Some(found) = pick(&msg) {
                    return anyhow::Ok(found);
                }
            }
        })
        .await
        .with_context(|| format!("waited {limit:?} for {what}"))?
    }

    /// Waits until the node's users list satisfies `ok` (checked on the last list first).
    pub async fn wait_users(
        &mut self,
        what: &str,
        limit: Duration,
        mut ok: impl FnMut(&[UserView]) -> bool,
    ) -> anyhow::Result<()> {
        if ok(&self.users) {
            return Ok(());
        }
        self.wait_for(what, limit, |m| match m {
            ServerMsg::Users { users } if ok(users) => Some(()),
            _ => None,
        })
        .await
    }

    /// Waits until the node's peers list satisfies `ok` (checked on the last list first).
    pub async fn wait_peers(
        &mut self,
        what: &str,
        limit: Duration,
        mut ok: impl FnMut(&[PeerView]) -> bool,
    ) -> anyhow::Result<()> {
        if ok(&self.peers) {
            return Ok(());
        }
        self.wait_for(what, limit, |m| match m {
            ServerMsg::Peers { peers } if ok(peers) => Some(()),
            _ => None,
        })
        .await
    }

    /// Whether the user with `key` is listed as reachable.
    pub fn reachable(&self, key: PublicKey) -> bool {
        self.users.iter().any(|u| u.key == key && u.reachable)
    }

    /// Sends `payload` to `to` and returns the node's message id once it has been accepted.
    pub async fn send_private(
        &mut self,
        to: PublicKey,
        payload: &str,
    ) -> anyhow::Result<MessageId> {
        static REQUEST: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
        let request = REQUEST.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.send(ClientMsg::SendPrivate {
            request,
            to,
            payload: payload.to_owned(),
        })
        .await?;
        self.wait_for(
            "the node to accept the private message",
            Duration::from_secs(10),
            |m| match m {
                ServerMsg::PrivateAccepted {
                    request: r,
                    message_id,
                } if *r == request => Some(Ok(*message_id)),
                ServerMsg::Error { message, .. } => Some(Err(anyhow::anyhow!(
                    "the node refused the message: {message}"
                ))),
                _ => None,
            },
        )
        .await?
    }
}
