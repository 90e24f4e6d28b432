//! The link to the page's own node: opens `wss://<same origin>/ws`, reports its state as [`Action`]s, hands every
//! message from the node to a callback, sends what is put in its [`NodeSender`], sends heartbeats, and reconnects
//! with backoff when the node goes away, or says it is locked out when the node refuses it for want of its token.
//! Dropping the [`NodeLink`] stops it.

use std::time::Duration;

use futures::channel::{mpsc, oneshot};
use futures::{FutureExt, SinkExt, StreamExt, select};
use gloo_net::websocket::Message;
use gloo_net::websocket::futures::WebSocket;
use gloo_timers::future::sleep;
use hearsay_shared::page::{self, ClientMsg, HEARTBEAT_INTERVAL_MS};
use yew::Callback;

use crate::state::{Action, retry_delay_ms};

/// With no frame from the node for this long (three missed heartbeats), the link counts as dead.
const SILENCE_LIMIT: Duration = Duration::from_millis(3 * HEARTBEAT_INTERVAL_MS as u64);

/// A running link; dropping it closes the WebSocket and stops reconnecting.
pub struct NodeLink {
    _stop: oneshot::Sender<()>,
}

/// Sends messages to the node over whichever connection is up. Messages sent while the link is down wait for the
/// next connection.
#[derive(Clone)]
pub struct NodeSender(mpsc::UnboundedSender<ClientMsg>);

impl PartialEq for NodeSender {
    fn eq(&self, other: &Self) -> bool {
        self.0.same_receiver(&other.0)
    }
}

impl NodeSender {
    pub fn send(&self, msg: ClientMsg) {
        // Fails only when the link has stopped, i.e. the page is going away.
        let _ = self.0.unbounded_send(msg);
    }
}

/// The receiving end of a [`NodeSender`], handed to [`NodeLink::start`].
pub struct Outbox(mpsc::UnboundedReceiver<ClientMsg>);

/// A sender for messages to the node, and the outbox the link will drain.
pub fn channel() -> (NodeSender, Outbox) {
    let (tx, rx) = mpsc::unbounded();
    (NodeSender(tx), Outbox(rx))
}

impl NodeLink {
    /// Starts the link. Link state changes go to `dispatch`; every message from the node goes to `on_message`;
    /// messages put in `outbox`'s sender go to the node.
    pub fn start(
        dispatch: Callback<Action>,
        on_message: Callback<page::ServerMsg>,
        outbox: Outbox,
    ) -> Self {
        let (stop_tx, stop_rx) = oneshot::channel();
        wasm_bindgen_futures::spawn_local(run(ws_url(), dispatch, on_message, outbox.0, stop_rx));
        Self { _stop: stop_tx }
    }
}

/// The node's WebSocket on the page's own origin: `wss://` under HTTPS, `ws://` under `trunk serve`'s HTTP.
fn ws_url() -> String {
    let location = web_sys::window().map(|w| w.location());
    let host = location
        .as_ref()
        .and_then(|l| l.host().ok())
        .unwrap_or_else(|| "127.0.0.1:8443".into());
    let secure = location
        .and_then(|l| l.protocol().ok())
        .is_none_or(|p| p == "https:");
    format!("{}://{host}/ws", if secure { "wss" } else { "ws" })
}

async fn run(
    url: String,
    dispatch: Callback<Action>,
    on_message: Callback<page::ServerMsg>,
    mut outbox: mpsc::UnboundedReceiver<ClientMsg>,
    stop: oneshot::Receiver<()>,
) {
    let mut stop = stop.fuse();
    let mut attempt = 0u32;
    loop {
        dispatch.emit(Action::Connecting { attempt });
        let mut locked = false;
        match WebSocket::open(&url) {
            Ok(ws) => {
                let outcome = select! {
                    said_hello = drive(ws, &dispatch, &on_message, &mut outbox).fuse() => said_hello,
                    _ = stop => return,
                };
                if outcome {
                    attempt = 0;
                } else {
                    locked = refused_for_token().await;
                }
            }
            Err(err) => dispatch.emit(Action::BadFrame(format!("cannot open {url}: {err}"))),
        }
        attempt = attempt.saturating_add(1);
        let delay = retry_delay_ms(attempt, js_sys::Math::random());
        dispatch.emit(if locked {
            Action::NeedsToken
        } else {
            Action::Lost {
                attempt,
                retry_in_ms: delay,
            }
        });
        select! {
            _ = sleep(Duration::from_millis(u64::from(delay))).fuse() => {}
            _ = stop => return,
        }
    }
}

/// Whether the node says this browser lacks its token (a browser does not show a refused WebSocket's status, so the
/// page asks `/session`, which answers 401 then). A node that is down answers nothing: that is not a refusal.
async fn refused_for_token() -> bool {
    matches!(
        gloo_net::http::Request::get("/session").send().await,
        Ok(response) if response.status() == 401
    )
}

/// Runs one connection until it ends; returns whether the node said hello on it.
async fn drive(
    ws: WebSocket,
    dispatch: &Callback<Action>,
    on_message: &Callback<page::ServerMsg>,
    outbox: &mut mpsc::UnboundedReceiver<ClientMsg>,
) -> bool {
    let (mut tx, rx) = ws.split();
    let mut rx = rx.fuse();
    let mut said_hello = false;
    let heartbeat_every = Duration::from_millis(u64::from(HEARTBEAT_INTERVAL_MS));
    let mut next_beat = sleep(heartbeat_every).fuse();
    let mut silence = sleep(SILENCE_LIMIT).fuse();
    loop {
        select! {
            frame = rx.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    silence = sleep(SILENCE_LIMIT).fuse();
                    match page::decode_server(&text) {
                        Ok(msg) => {
                            said_hello |= matches!(msg, page::ServerMsg::Hello(_));
                            on_message.emit(msg);
                        }
                        Err(err) => dispatch.emit(Action::BadFrame(err.to_string())),
                    }
                }
                Some(Ok(Message::Bytes(_))) => dispatch.emit(Action::BadFrame("binary frame".into())),
                Some(Err(_)) | None => return said_hello,
            },
            _ = next_beat => {
                if tx.send(Message::Text(page::encode(ClientMsg::Heartbeat))).await.is_err() {
                    return said_hello;
                }
                next_beat = sleep(heartbeat_every).fuse();
            }
            msg = outbox.next() => {
                let Some(msg) = msg else { return said_hello };
                if tx.send(Message::Text(page::encode(msg))).await.is_err() {
                    return said_hello;
                }
            }
            _ = silence => return said_hello,
        }
    }
}
