//! The HTTPS accept loop: TLS by tokio-rustls, HTTP/1.1 (with upgrades, for the WebSocket) by hyper, requests by
//! the warp filter. warp 0.4 dropped its own TLS support, so this small loop takes its place.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use warp::Filter;

/// A client that has not finished its TLS handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `filter` over TLS on `listener` until `shutdown` resolves. Connections run among the node's `tasks` and
/// end when it stops.
pub async fn serve_https<F>(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    filter: F,
    shutdown: impl Future<Output = ()>,
    tasks: &crate::tasks::Tasks,
) where
    F: Filter<Error = std::convert::Infallible> + Clone + Send + Sync + 'static,
    F::Extract: warp::Reply,
    F::Future: Send,
{
    let acceptor = TlsAcceptor::from(tls);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, remote) = tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    // Usually out of file descriptors: back off instead of spinning.
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        // The WebSocket carries small signaling messages one at a time: without this, Nagle's algorithm holds a
        // message back until the previous one is acknowledged, and delayed ACKs make that ~40 ms.
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(%err, "could not set TCP_NODELAY");
        }
        let acceptor = acceptor.clone();
        let service = TowerToHyperService::new(warp::service(filter.clone()));
        tasks.spawn(async move {
            let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(err)) => {
                    tracing::debug!(%remote, %err, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%remote, "TLS handshake timed out");
                    return;
                }
            };
            if let Err(err) = auto::Builder::new(TokioExecutor::new())
                .http1_only()
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%remote, %err, "connection ended with an error");
            }
        });
    }
}

/// Serves `filter` over plain HTTP on `listener` (loopback only: the command line refuses anything else), for
/// `trunk serve`'s proxy during page development, which cannot take the node's self-signed certificate. Runs until
/// the node stops.
pub async fn serve_dev_http<F>(listener: TcpListener, filter: F, tasks: crate::tasks::Tasks)
where
    F: Filter<Error = std::convert::Infallible> + Clone + Send + Sync + 'static,
    F::Extract: warp::Reply,
    F::Future: Send,
{
    loop {
        let Ok((tcp, remote)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let service = TowerToHyperService::new(warp::service(filter.clone()));
        tasks.spawn(async move {
            if let Err(err) = auto::Builder::new(TokioExecutor::new())
                .http1_only()
                .serve_connection_with_upgrades(TokioIo::new(tcp), service)
                .await
            {
                tracing::debug!(%remote, %err, "dev connection ended with an error");
            }
        });
    }
}
