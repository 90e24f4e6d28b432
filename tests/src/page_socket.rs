//! The page's WebSocket to a node, spoken from Rust: for tests and benchmarks that drive a node as its page would
//! (peers, users, private messages) without a browser.
//!
//! [`PageSocket::connect`] speaks as the node's own page does (its origin, the token's cookie) and trusts exactly
//! the node's own self-signed certificate (read from its data dir), so the TLS is checked for real.
//! [`PageSocket::connect_with`] sends whatever headers an attacker would. The socket keeps the last peers and users lists the node sent, and every wait is
//! bounded.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use hearsay_shared::gossip::PublicKey;
use hearsay_shared::page::{
    self, ClientMsg, MessageId, PeerView, ServerMsg, UserDirectory, UserView,
};
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
    /// The users list as the node's frames have built it so far.
    pub users: Vec<UserView>,
    directory: UserDirectory,
    /// The longest text frame the node sent on this socket, in bytes.
    pub largest_frame: usize,
}

/// The headers of a WebSocket upgrade that decide whether the node lets it in.
#[derive(Debug, Clone, Default)]
pub struct Handshake {
    pub origin: Option<String>,
    pub cookie: Option<String>,
    /// `None`: the one the URL gives (the address connected to).
    pub host: Option<String>,
}

impl Handshake {
    /// What the node's own page sends, once logged in from the node's URL as its user would be.
    pub async fn as_page(node: &Node) -> anyhow::Result<Self> {
        Ok(Self {
            origin: Some(node.origin().to_owned()),
            cookie: Some(login(node, &node.url).await?),
            host: None,
        })
    }
}

/// The node's TLS, trusting exactly its own self-signed certificate (read from its data dir).
fn tls_config(node: &Node) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let cert_path = node.data_dir().join(hearsay_shared::startup::WEB_CERT_FILE);
    let cert = CertificateDer::from_pem_file(&cert_path)
        .with_context(|| format!("reading {}", cert_path.display()))?;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert)?;
    Ok(Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth(),
    ))
}

/// Opens `login_url` (a node's printed URL, or a forged one) as a browser would and returns the cookie the node
/// set, as a `Cookie` header value (`name=value`). Fails with the HTTP status if the node refused.
pub async fn login(node: &Node, login_url: &str) -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let path = login_url
        .strip_prefix(node.origin())
        .context("a login URL of another node")?;
    let tcp = TcpStream::connect(node.web).await?;
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1")?;
    let mut tls = tokio_rustls::TlsConnector::from(tls_config(node)?)
        .connect(name, tcp)
        .await?;
    let host = node.origin().trim_start_matches("https://");
    tls.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await?;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut answer))
        .await
        .context("the node did not answer the login")??;
    let answer = String::from_utf8_lossy(&answer);
    let status = answer.lines().next().unwrap_or_default();
    anyhow::ensure!(status.contains(" 303 "), "login refused: {status}");
    answer
        .lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("set-cookie")
                .then(|| value.trim().split(';').next().unwrap_or("").to_owned())
        })
        .context("the login set no cookie")
}

/// The HTTP status a refused upgrade got, if that is why `connect` failed.
pub fn refused_status(err: &anyhow::Error) -> Option<u16> {
    err.chain().find_map(|e| match e.downcast_ref() {
        Some(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Some(response.status().as_u16())
        }
        _ => None,
    })
}

impl PageSocket {
    /// Opens `wss://<node>/ws` as the node's own page would (its origin, the token cookie) and reads the greeting
    /// (`Hello`, `GossipInfo`).
    pub async fn connect(node: &Node) -> anyhow::Result<Self> {
        Self::connect_with(node, &Handshake::as_page(node).await?).await
    }

    /// Opens `wss://<node>/ws` with exactly these headers (an attacker's choice of them, in the access tests).
    pub async fn connect_with(node: &Node, handshake: &Handshake) -> anyhow::Result<Self> {
        let config = tls_config(node)?;
        let url = format!("wss://{}/ws", node.web);
        let mut request = url.as_str().into_client_request()?;
        let headers = request.headers_mut();
        for (name, value) in [
            ("origin", &handshake.origin),
            ("cookie", &handshake.cookie),
            ("host", &handshake.host),
        ] {
            if let Some(value) = value {
                headers.insert(name, value.parse()?);
            }
        }
        let (ws, _) = tokio::time::timeout(
            Duration::from_secs(10),
            tokio_tungstenite::connect_async_tls_with_config(
                request,
                None,
                true, // no Nagle: small messages, one at a time, as the browser's own socket sends them
                Some(Connector::Rustls(config)),
            ),
        )
        .await
        .with_context(|| format!("connecting to {url}"))??;
        let mut socket = Self {
            ws,
            key: PublicKey([0; 32]),
            peers: Vec::new(),
            users: Vec::new(),
            directory: UserDirectory::default(),
            largest_frame: 0,
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
            self.largest_frame = self.largest_frame.max(text.len());
            let msg = page::decode_server(text.as_str())?;
            match &msg {
                ServerMsg::Peers { peers } => self.peers = peers.clone(),
                ServerMsg::Users {
                    reset,
                    upsert,
                    remove,
                } => {
                    self.directory.apply(*reset, upsert, remove);
                    self.users = self.directory.iter().cloned().collect();
                }
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
        tokio::time::timeout(limit, async {
            loop {
                if let ServerMsg::Users { .. } = self.recv().await?
                    && ok(&self.users)
                {
                    return anyhow::Ok(());
                }
            }
        })
        .await
        .with_context(|| format!("waited {limit:?} for {what}"))?
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
