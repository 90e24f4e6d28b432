//! The node's web side: an HTTPS server (rustls in front of warp) that serves the page and its `/ws` WebSocket.

mod assets;
mod https;
mod origin;
mod page_session;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use hearsay_shared::page::{MAX_FRAME_BYTES, NodeIdentity};
use warp::Filter;

pub use https::{serve_dev_http, serve_https};
pub use origin::AllowedOrigins;

/// What the web side knows about its node.
pub struct NodeInfo {
    pub identity: NodeIdentity,
    pub started: Instant,
    /// Mints the `iceServers` list of the node's own servers (STUN, TURN with fresh credentials).
    pub ice: crate::turn::ice_servers::IceServerSource,
    /// How the node is seen from outside, and whether the page uses its own servers or other nodes'.
    pub traversal: tokio::sync::watch::Receiver<std::sync::Arc<crate::traversal::Published>>,
    /// Commands to the gossip overlay, and its events and lists for the page.
    pub gossip: crate::gossip::shell::GossipHandle,
    /// Web origins whose pages may open the WebSocket.
    pub origins: AllowedOrigins,
    /// The node's tasks: page sessions are counted among them and end when the node stops.
    pub tasks: crate::tasks::Tasks,
}

/// WebSocket messages above this size are refused by the WebSocket layer itself, closing the connection. Between
/// [`MAX_FRAME_BYTES`] and this, the node answers with an error and keeps the connection.
const WS_HARD_LIMIT_BYTES: usize = 16 * MAX_FRAME_BYTES;

/// All routes: `/ws` for the page's WebSocket, everything else the page's files.
pub fn routes(
    node: Arc<NodeInfo>,
    assets_dir: Option<PathBuf>,
) -> impl Filter<Extract = (impl warp::Reply,), Error = std::convert::Infallible>
+ Clone
+ Send
+ Sync
+ 'static {
    let ws = warp::path("ws")
        .and(warp::path::end())
        .and(warp::ws())
        .and(warp::header::optional::<String>("origin"))
        .map(move |ws: warp::ws::Ws, origin: Option<String>| {
            use warp::Reply;
            if !node.origins.allows(origin.as_deref()) {
                tracing::warn!(?origin, "refused a WebSocket from another web origin");
                return warp::reply::with_status(
                    "This WebSocket is for the node's own page only (see --allow-origin).\n",
                    warp::http::StatusCode::FORBIDDEN,
                )
                .into_response();
            }
            let node = node.clone();
            ws.max_message_size(WS_HARD_LIMIT_BYTES)
                .max_frame_size(WS_HARD_LIMIT_BYTES)
                .on_upgrade(move |socket| {
                    let tasks = node.tasks.clone();
                    tasks.track(page_session::run(socket, node))
                })
                .into_response()
        });
    ws.or(assets::filter(assets_dir))
        .recover(|rejection: warp::Rejection| async move {
            let status = if rejection.is_not_found() {
                warp::http::StatusCode::NOT_FOUND
            } else {
                warp::http::StatusCode::BAD_REQUEST
            };
            Ok::<_, std::convert::Infallible>(warp::reply::with_status(
                format!("{status}\n"),
                status,
            ))
        })
}
