//! One page's WebSocket: says hello, sends heartbeats, and answers every frame it cannot use with an error while
//! keeping the connection open.

use std::sync::Arc;
use std::time::Duration;

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
                Some(Ok(frame)) => reply_to(&frame),
            },
        };
        if let Some(reply) = reply {
            if tx.send(Message::text(page::encode(reply))).await.is_err() {
                break;
            }
        }
    }
    tracing::debug!("page disconnected");
}

/// What the node answers to one frame from the page, if anything.
fn reply_to(frame: &Message) -> Option<ServerMsg> {
    if frame.is_ping() || frame.is_pong() {
        return None; // answered by the WebSocket layer
    }
    let Ok(text) = frame.to_str() else {
        return Some(ServerMsg::Error {
            code: ErrorCode::BinaryFrame,
            message: "binary frames are not part of the protocol; send JSON text".into(),
        });
    };
    match page::decode_client(text) {
        Ok(ClientMsg::Heartbeat) => None,
        Err(err) => {
            tracing::debug!(%err, "bad frame from the page");
            Some(ServerMsg::Error {
                code: err.code(),
                message: err.to_string(),
            })
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
    fn bad_frames_get_an_error_with_the_right_code() {
        let code = |m: Message| match reply_to(&m) {
            Some(ServerMsg::Error { code, .. }) => code,
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
