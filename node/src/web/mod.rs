//! The node's web side: an HTTPS server (rustls in front of warp) that serves the page and its `/ws` WebSocket, to
//! the user only ([`access`]: a token per start, the page's own origin, the node's own host names).

pub mod access;
mod assets;
mod https;
mod page_session;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use hearsay_shared::page::{MAX_FRAME_BYTES, NodeIdentity};
use warp::Filter;

pub use access::{Access, Refusal};
pub use https::{serve_dev_http, serve_https};

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
    /// Who may open the WebSocket: the token, the origins, the hosts.
    pub access: Access,
    /// The node's tasks: page sessions are counted among them and end when the node stops.
    pub tasks: crate::tasks::Tasks,
}

/// WebSocket messages above this size are refused by the WebSocket layer itself, closing the connection. Between
/// [`MAX_FRAME_BYTES`] and this, the node answers with an error and keeps the connection.
const WS_HARD_LIMIT_BYTES: usize = 16 * MAX_FRAME_BYTES;

/// A request refused by [`Access`], answered 403 with the reason.
#[derive(Debug)]
struct Refused(Refusal);

impl warp::reject::Reject for Refused {}

/// All routes: `/ws` for the page's WebSocket, `/login` and `/session` for its token, everything else the page's
/// files; every response with the page's security headers. `secure`: served over HTTPS (the cookie is marked so).
pub fn routes(
    node: Arc<NodeInfo>,
    assets_dir: Option<PathBuf>,
    secure: bool,
) -> impl Filter<Extract = (impl warp::Reply,), Error = std::convert::Infallible>
+ Clone
+ Send
+ Sync
+ 'static {
    use warp::Reply;
    let host_is_ours = {
        let node = node.clone();
        warp::header::optional::<String>("host")
            .and_then(move |host: Option<String>| {
                let node = node.clone();
                async move {
                    node.access.check_host(host.as_deref()).map_err(|refusal| {
                        let host = host.unwrap_or_default();
                        warp::reject::custom(Refused(node.access.refused(
                            "a request",
                            refusal,
                            &host,
                        )))
                    })
                }
            })
            .untuple_one()
    };
    let ws = {
        let node = node.clone();
        warp::path("ws")
            .and(warp::path::end())
            .and(warp::ws())
            .and(warp::header::optional::<String>("host"))
            .and(warp::header::optional::<String>("origin"))
            .and(warp::header::optional::<String>("cookie"))
            .map(
                move |ws: warp::ws::Ws,
                      host: Option<String>,
                      origin: Option<String>,
                      cookie: Option<String>| {
                    let access = &node.access;
                    if let Err(refusal) =
                        access.check_socket(host.as_deref(), origin.as_deref(), cookie.as_deref())
                    {
                        let detail = format!("origin {origin:?}");
                        access.refused("a WebSocket", refusal, &detail);
                        return refused(refusal);
                    }
                    let node = node.clone();
                    ws.max_message_size(WS_HARD_LIMIT_BYTES)
                        .max_frame_size(WS_HARD_LIMIT_BYTES)
                        .on_upgrade(move |socket| {
                            let tasks = node.tasks.clone();
                            tasks.track(page_session::run(socket, node))
                        })
                        .into_response()
                },
            )
    };
    let login = {
        let node = node.clone();
        warp::path(access::LOGIN_PATH)
            .and(warp::path::end())
            .and(warp::get())
            .and(warp::query::<std::collections::HashMap<String, String>>())
            .map(move |query: std::collections::HashMap<String, String>| {
                let access = &node.access;
                match query.get("token") {
                    Some(token) if access.is_token(token) => {
                        use warp::http::header::{CACHE_CONTROL, LOCATION, SET_COOKIE};
                        let see_other = warp::reply::with_status(
                            warp::reply(),
                            warp::http::StatusCode::SEE_OTHER,
                        );
                        // Relative, so that behind `trunk serve` the browser stays on trunk's origin.
                        let reply = warp::reply::with_header(see_other, LOCATION, "/");
                        let reply =
                            warp::reply::with_header(reply, SET_COOKIE, access.cookie(secure));
                        warp::reply::with_header(reply, CACHE_CONTROL, "no-store").into_response()
                    }
                    _ => {
                        access.refused("a login", Refusal::NoToken, "wrong or missing token");
                        refused(Refusal::NoToken)
                    }
                }
            })
    };
    let session = {
        let node = node.clone();
        warp::path(access::SESSION_PATH)
            .and(warp::path::end())
            .and(warp::get())
            .and(warp::header::optional::<String>("cookie"))
            .map(move |cookie: Option<String>| {
                let status = match node.access.check_cookie(cookie.as_deref()) {
                    Ok(()) => warp::http::StatusCode::NO_CONTENT,
                    Err(_) => warp::http::StatusCode::UNAUTHORIZED,
                };
                warp::reply::with_header(
                    warp::reply::with_status(warp::reply(), status),
                    warp::http::header::CACHE_CONTROL,
                    "no-store",
                )
                .into_response()
            })
    };
    let headers = assets::security_headers(assets_dir.as_deref());
    host_is_ours
        .and(
            ws.or(login)
                .unify()
                .or(session)
                .unify()
                .or(assets::filter(assets_dir))
                .unify(),
        )
        .recover(|rejection: warp::Rejection| async move {
            if let Some(Refused(refusal)) = rejection.find() {
                return Ok::<_, std::convert::Infallible>(refused(*refusal));
            }
            let status = if rejection.is_not_found() {
                warp::http::StatusCode::NOT_FOUND
            } else {
                warp::http::StatusCode::BAD_REQUEST
            };
            Ok(warp::reply::with_status(format!("{status}\n"), status).into_response())
        })
        .with(warp::reply::with::headers(headers))
}

/// The 403 answer to a refused request.
fn refused(refusal: Refusal) -> warp::reply::Response {
    use warp::Reply;
    warp::reply::with_status(refusal.message(), warp::http::StatusCode::FORBIDDEN).into_response()
}
