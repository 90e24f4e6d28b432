//! One page's WebSocket: says hello, hands the page the ICE servers the node chose for it (its own STUN and TURN
//! with fresh credentials, or reachable nodes' with the credentials they lent) and how the node is seen from
//! outside, sends heartbeats, keeps the page's peers and users lists current, carries the page's gossip commands
//! (add/delete peer, send a private message) to the gossip task and private-message events back, and answers every
//! frame it cannot use with an error while keeping the connection open. Node-to-node messages never reach it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::{SinkExt, StreamExt};
use hearsay_shared::page::{
    self, ClientMsg, ErrorCode, GossipIdentity, HEARTBEAT_INTERVAL_MS, MessageId, PeerView,
    ServerMsg, UserDirectory, UserView,
};
use tokio::sync::broadcast::error::RecvError;
use warp::ws::{Message, WebSocket};

use super::NodeInfo;
use crate::gossip::shell::{GossipHandle, Snapshot};
use crate::gossip::{Command, Event};
use crate::traversal::IceChoice;

/// How often the peers list is re-sent so "last heard" stays current even when nothing else changes.
const PEERS_REFRESH: Duration = Duration::from_secs(2);

pub async fn run(socket: WebSocket, node: Arc<NodeInfo>) {
    let (mut tx, mut rx) = socket.split();
    let gossip = node.gossip.clone();
    let mut snapshots = gossip.snapshot();
    let mut events = gossip.events();
    let mut traversal = node.traversal.clone();
    let mut first = vec![
        ServerMsg::Hello(node.identity.clone()),
        ServerMsg::GossipInfo(GossipIdentity {
            key: gossip.key,
            fingerprint: gossip.key.fingerprint(),
            addr: gossip.local_addr.to_string(),
        }),
        ice_servers(&node),
        ServerMsg::Network(traversal.borrow_and_update().view.clone()),
    ];
    let snapshot = snapshots.borrow_and_update().clone();
    let mut last_users = users_of(&snapshot);
    first.push(peers_msg(&snapshot));
    first.extend(UserDirectory::frames_to(None, &last_users));
    for msg in first {
        if tx.send(Message::text(page::encode(msg))).await.is_err() {
            return;
        }
    }
    tracing::debug!("page connected");
    let mut heartbeat =
        tokio::time::interval(Duration::from_millis(u64::from(HEARTBEAT_INTERVAL_MS)));
    heartbeat.tick().await; // the first tick is immediate; hello already said we are here
    let mut refresh = tokio::time::interval(PEERS_REFRESH);
    refresh.tick().await;
    let mut fresh_credentials = tokio::time::interval(crate::turn::ice_servers::PAGE_REFRESH);
    fresh_credentials.tick().await;
    let stopping = node.tasks.stopping();
    loop {
        let replies: Vec<ServerMsg> = tokio::select! {
            _ = stopping.cancelled() => {
                // The node is stopping: say goodbye so the page shows "disconnected" at once.
                let _ = tx.send(Message::close()).await;
                break;
            }
            _ = heartbeat.tick() => vec![ServerMsg::Heartbeat {
                uptime_ms: u64::try_from(node.started.elapsed().as_millis()).unwrap_or(u64::MAX),
            }],
            _ = refresh.tick() => {
                let snapshot = snapshots.borrow().clone();
                vec![peers_msg(&snapshot)]
            }
            _ = fresh_credentials.tick() => vec![ice_servers(&node)],
            changed = traversal.changed() => {
                if changed.is_err() {
                    break;
                }
                let view = traversal.borrow_and_update().view.clone();
                vec![ice_servers(&node), ServerMsg::Network(view)]
            }
            changed = snapshots.changed() => {
                if changed.is_err() {
                    break; // the gossip task is gone: the node is shutting down
                }
                let snapshot = snapshots.borrow_and_update().clone();
                let users = users_of(&snapshot);
                let mut out = vec![peers_msg(&snapshot)];
                out.extend(UserDirectory::frames_to(Some(&last_users), &users));
                last_users = users;
                out
            }
            event = events.recv() => match event {
                Ok(event) => event_msg(event, &snapshots.borrow()).into_iter().collect(),
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "page fell behind on gossip events");
                    Vec::new()
                }
                Err(RecvError::Closed) => break,
            },
            frame = rx.next() => match frame {
                None => break,
                Some(Err(err)) => {
                    tracing::debug!(%err, "page WebSocket failed");
                    break;
                }
                Some(Ok(frame)) if frame.is_close() => break,
                Some(Ok(frame)) => match reply_to(&frame) {
                    Ok(None) => Vec::new(),
                    Ok(Some(ClientMsg::GetIceServers)) => vec![ice_servers(&node)],
                    Ok(Some(msg)) => handle(&gossip, msg).await,
                    Err(error) => vec![error],
                },
            },
        };
        for reply in replies {
            if tx.send(Message::text(page::encode(reply))).await.is_err() {
                tracing::debug!("page disconnected");
                return;
            }
        }
    }
    tracing::debug!("page disconnected");
}

fn peers_msg(snapshot: &Snapshot) -> ServerMsg {
    let now = std::time::Instant::now();
    ServerMsg::Peers {
        peers: snapshot
            .peers
            .iter()
            .map(|p| PeerView {
                addr: p.addr.to_string(),
                last_heard_ms: p
                    .last_heard
                    .map(|at| now.saturating_duration_since(at).as_millis() as u64),
                live: p.live,
                added_by_user: p.added_by_user,
            })
            .collect(),
    }
}

fn users_of(snapshot: &Snapshot) -> UserDirectory {
    snapshot
        .users
        .iter()
        .map(|u| UserView {
            key: u.key,
            name: u.name.clone(),
            fingerprint: u.key.fingerprint(),
            hops: u.hops,
            reachable: u.reachable,
        })
        .collect()
}

fn event_msg(event: Event, snapshot: &Snapshot) -> Option<ServerMsg> {
    match event {
        Event::PeersChanged | Event::UsersChanged => None, // carried by the snapshot
        Event::Received { payload, .. } if hearsay_shared::node_msg::is_node_msg(&payload) => None,
        Event::Received {
            from,
            message_id,
            payload,
        } => Some(ServerMsg::PrivateReceived {
            from,
            from_name: snapshot
                .users
                .iter()
                .find(|u| u.key == from)
                .map(|u| u.name.clone()),
            message_id: MessageId(message_id),
            payload: String::from_utf8_lossy(&payload).into_owned(),
        }),
        Event::Delivered { message_id, .. } => Some(ServerMsg::PrivateDelivered {
            message_id: MessageId(message_id),
        }),
        Event::Failed { message_id, .. } => Some(ServerMsg::PrivateFailed {
            message_id: MessageId(message_id),
        }),
    }
}

fn error(code: ErrorCode, message: impl Into<String>) -> ServerMsg {
    ServerMsg::Error {
        code,
        message: message.into(),
    }
}

/// The ICE servers the node chose for its page: its own with fresh credentials, or the relays' it was lent.
fn ice_servers(node: &NodeInfo) -> ServerMsg {
    let choice = node.traversal.borrow().ice.clone();
    ServerMsg::IceServers(match choice {
        IceChoice::Own => node.ice.for_page(SystemTime::now()),
        IceChoice::Relays(servers) => servers,
    })
}

/// Carries one decoded page message to the gossip task and says what to answer.
async fn handle(gossip: &GossipHandle, msg: ClientMsg) -> Vec<ServerMsg> {
    let (cmd, request) = match msg {
        ClientMsg::Heartbeat | ClientMsg::GetIceServers => return Vec::new(),
        ClientMsg::AddPeer { addr } => {
            let addr = addr.trim();
            if addr.is_empty() {
                return vec![error(
                    ErrorCode::BadAddress,
                    "type a peer address as host:port",
                )];
            }
            match crate::resolve_peer(addr, gossip.local_addr).await {
                Ok(resolved) => (Command::AddPeer(resolved), None),
                Err(err) => {
                    return vec![error(
                        ErrorCode::BadAddress,
                        format!("{err:#} (expected host:port, e.g. 192.168.1.20:5000)"),
                    )];
                }
            }
        }
        ClientMsg::DeletePeer { addr } => match addr.trim().parse::<SocketAddr>() {
            Ok(addr) => (Command::DeletePeer(addr), None),
            Err(_) => {
                return vec![error(
                    ErrorCode::BadAddress,
                    format!("{addr:?} is not a peer address (ip:port, as in the peers list)"),
                )];
            }
        },
        ClientMsg::SendPrivate {
            request,
            to,
            payload,
        } => (
            Command::Send {
                to,
                payload: payload.into_bytes(),
            },
            Some(request),
        ),
    };
    match gossip.command(cmd).await {
        Err(err) => vec![error(ErrorCode::Refused, format!("{err:#}"))],
        Ok(Err(err)) => {
            let prefix = request
                .map(|r| format!("request {r}: "))
                .unwrap_or_default();
            vec![error(ErrorCode::Refused, format!("{prefix}{err}"))]
        }
        Ok(Ok(Some(id))) => match request {
            Some(request) => vec![ServerMsg::PrivateAccepted {
                request,
                message_id: MessageId(id),
            }],
            None => Vec::new(),
        },
        Ok(Ok(None)) => Vec::new(),
    }
}

/// Decodes one frame from the page: `Ok(None)` for frames that need nothing (pings), the message, or the error to
/// answer with.
fn reply_to(frame: &Message) -> Result<Option<ClientMsg>, ServerMsg> {
    if frame.is_ping() || frame.is_pong() {
        return Ok(None); // answered by the WebSocket layer
    }
    let Ok(text) = frame.to_str() else {
        return Err(error(
            ErrorCode::BinaryFrame,
            "binary frames are not part of the protocol; send JSON text",
        ));
    };
    match page::decode_client(text) {
        Ok(msg) => Ok(Some(msg)),
        Err(err) => {
            tracing::debug!(%err, "bad frame from the page");
            Err(error(err.code(), err.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeat_decodes_to_a_message_that_needs_no_answer() {
        assert_eq!(
            reply_to(&Message::text(page::encode(ClientMsg::Heartbeat))),
            Ok(Some(ClientMsg::Heartbeat))
        );
    }

    #[test]
    fn bad_frames_get_an_error_with_the_right_code() {
        let code = |m: Message| match reply_to(&m) {
            Err(ServerMsg::Error { code, .. }) => code,
            other => panic!("expected an error, got {other:?}"),
        };
        assert_eq!(code(Message::text("{oops")), ErrorCode::NotJson);
        assert_eq!(code(Message::binary(vec![1, 2, 3])), ErrorCode::BinaryFrame);
        assert_eq!(
            code(Message::text(r#"{"v":1,"msg":{"type":"teleport"}}"#)),
            ErrorCode::UnknownType
        );
    }
}
