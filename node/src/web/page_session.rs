//! One page's WebSocket: says hello, hands the page its ICE servers (own STUN, own TURN with fresh credentials),
//! sends heartbeats, and answers every frame it cannot use with an error while keeping the connection open.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::{SinkExt, StreamExt};
use hearsay_shared::page::{self, ClientMsg, ErrorCode, HEARTBEAT_INTERVAL_MS, ServerMsg};
use warp::ws::{Message, WebSocket};

use super::NodeInfo;

pub async fn run(socket: WebSocket, node: Arc<NodeInfo>) {
    let (mut tx, mut rx) = socket.split();
    let hello = ServerMsg::Hello(node.identity.clone());
    if tx.send(Message::text(page::encode(hello))).await.is_err() {
        return;
    }
    if tx
        .send(Message::text(page::encode(ice_servers(&node))))
        .await
        .is_err()
    {
        return;
    }
    tracing::debug!("page connected");
    let mut heartbeat =
        tokio::time::interval(Duration::from_millis(u64::from(HEARTBEAT_INTERVAL_MS)));
    heartbeat.tick().await; // the first tick is immediate; hello already said we are here
    loop {
        let reply = tokio::select! {
            _ = heartbeat.tick() => Some(ServerMsg::Heartbeat {
                uptime_ms: u64::try_from(node.started.elapsed().as_millis()).unwrap_or(u64::MAX),
            }),
            frame = rx.next() => match frame {
                None => break,
                Some(Err(err)) => {
                    tracing::debug!(%err, "page WebSocket failed");
                    break;
                }
                Some(Ok(frame)) if frame.is_close() => break,
                Some(Ok(frame)) => reply_to(&frame).map(|reply| match reply {
                    Reply::Msg(msg) => msg,
                    Reply::IceServers => ice_servers(&node),
                }),
            },
        };
        if let Some(reply) = reply
            && tx.send(Message::text(page::encode(reply))).await.is_err()
        {
            break;
        }
    }
    tracing::debug!("page disconnected");
}

/// A fresh ICE server list for this node's page.
fn ice_servers(node: &NodeInfo) -> ServerMsg {
    ServerMsg::IceServers(node.ice.fresh(
        "page",
        SystemTime::now(),
        crate::turn::ice_servers::PAGE_CREDENTIAL_TTL,
    ))
}

/// What the node answers to one frame: a ready message, or fresh ICE servers (minted by the caller, who has the
/// node's secret).
#[derive(Debug, PartialEq)]
enum Reply {
    Msg(ServerMsg),
    IceServers,
}

/// What the node answers to one frame from the page, if anything.
fn reply_to(frame: &Message) -> Option<Reply> {
    if frame.is_ping() || frame.is_pong() {
        return None; // answered by the WebSocket layer
    }
    let Ok(text) = frame.to_str() else {
        return Some(Reply::Msg(ServerMsg::Error {
            code: ErrorCode::BinaryFrame,
            message: "binary frames are not part of the protocol; send JSON text".into(),
        }));
    };
    match page::decode_client(text) {
        Ok(ClientMsg::Heartbeat) => None,
        Ok(ClientMsg::GetIceServers) => Some(Reply::IceServers),
        // No overlay to carry it yet: say so at once rather than let the caller ring into the void.
        Ok(ClientMsg::SendSignal { to, signal }) => {
            Some(Reply::Msg(ServerMsg::SignalUndeliverable {
                to,
                call: signal.call(),
            }))
        }
        Err(err) => {
            tracing::debug!(%err, "bad frame from the page");
            Some(Reply::Msg(ServerMsg::Error {
                code: err.code(),
                message: err.to_string(),
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeat_needs_no_answer() {
        assert_eq!(
            reply_to(&Message::text(page::encode(ClientMsg::Heartbeat))),
            None
        );
    }

    #[test]
    fn asking_for_ice_servers_gets_fresh_ones() {
        assert_eq!(
            reply_to(&Message::text(page::encode(ClientMsg::GetIceServers))),
            Some(Reply::IceServers)
        );
    }

    #[test]
    fn bad_frames_get_an_error_with_the_right_code() {
        let code = |m: Message| match reply_to(&m) {
            Some(Reply::Msg(ServerMsg::Error { code, .. })) => code,
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
