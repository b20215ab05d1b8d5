//! The HTTP accept loop, owned here instead of `warp::serve` so the slow-client limits
//! can be set: warp's own loop gives hyper no timer, which silently disables hyper's
//! request-head timeout, so a client that sends its headers one byte at a time (or
//! nothing at all) held a task and a file descriptor forever ("slowloris").
//!
//! * Every connection must send its first byte within
//!   [`ServerConfig::header_read_timeout`](crate::ServerConfig), and then a complete
//!   request head within the same time again; otherwise it is closed.
//! * HTTP/1.1 only (browsers never speak cleartext HTTP/2), and every socket is an
//!   [`IdleCut`]: an idle keep-alive connection is cut after `read_idle`.
//! * At most `max_tcp` HTTP connections are served at once; further ones are closed
//!   right after accept, so a flood of idle sockets cannot exhaust the process's
//!   descriptors. An upgraded WebSocket leaves this count (hyper hands its socket over)
//!   and is counted by the session cap, `max_connections`, instead.
//! * A valid WebSocket upgrade of `/ws` is answered here, before warp (see `upgrade.rs`);
//!   everything else is warp's.
//! * Shutdown stops accepting and lets upgraded and in-flight connections finish
//!   (hyper-util's graceful watcher), as `warp::serve(..).graceful(..)` did.

use crate::context::Context;
use crate::idle_io::IdleCut;
use crate::upgrade;
use futures_util::future::Either;
use hyper::body::Incoming;
use hyper::service::Service as _;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use warp::{Filter, Rejection, Reply};

/// Limits for raw connections, before any protocol is spoken.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TcpLimits {
    /// A request head must be complete within this time.
    pub(crate) header_read_timeout: Duration,
    /// Connections served at once.
    pub(crate) max_tcp: usize,
    /// A connection (upgraded or not) from which nothing arrives for this long is cut.
    pub(crate) read_idle: Duration,
}

/// Accepts until `stop` turns true, then waits for open connections to finish.
pub(crate) async fn serve<F, R>(
    listener: TcpListener,
    filter: F,
    ctx: Arc<Context>,
    limits: TcpLimits,
    mut stop: watch::Receiver<bool>,
) where
    F: Filter<Extract = (R,), Error = Rejection> + Clone + Send + Sync + 'static,
    R: Reply,
{
    let graceful = GracefulShutdown::new();
    let open = Arc::new(Semaphore::new(limits.max_tcp));
    let mut builder = Builder::new(TokioExecutor::new()).http1_only();
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stopped(&mut stop) => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(err) => {
                // EMFILE and friends: back off briefly instead of spinning on accept.
                tracing::warn!(%err, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        tune(&stream);
        let Ok(permit) = open.clone().try_acquire_owned() else {
            tracing::debug!("connection cap reached; closing a new connection");
            drop(stream);
            continue;
        };
        let routes = TowerToHyperService::new(warp::service(filter.clone()));
        let ctx = Arc::clone(&ctx);
        let service = hyper::service::service_fn(move |request: warp::http::Request<Incoming>| {
            if upgrade::wants(&request) {
                Either::Left(std::future::ready(Ok(upgrade::accept(request, &ctx))))
            } else {
                Either::Right(routes.call(request))
            }
        });
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let (first_byte_timeout, read_idle) = (limits.header_read_timeout, limits.read_idle);
        tokio::spawn(async move {
            // hyper's head timeout starts at the first byte; a socket that never sends
            // one is cut here instead.
            // `peek`, not `readable`: readiness may be reported spuriously.
            let mut probe = [0u8; 1];
            let first_byte =
                tokio::time::timeout(first_byte_timeout, stream.peek(&mut probe)).await;
            if matches!(first_byte, Ok(Ok(1..))) {
                let connection = builder
                    .serve_connection_with_upgrades(
                        TokioIo::new(IdleCut::new(stream, read_idle)),
                        service,
                    )
                    .into_owned();
                if let Err(err) = watcher.watch(connection).await {
                    tracing::debug!(%err, "http connection ended with an error");
                }
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Options for an accepted socket. Signaling is small messages, each answered at once:
/// with Nagle's algorithm on, a reply that left in two segments waited for the client's
/// delayed ACK (40 ms on Linux), and a join waited for that. In the load test's join storm
/// the median time to a viewer's first key frame fell from 46 ms to 5 ms without it.
fn tune(stream: &tokio::net::TcpStream) {
    if let Err(err) = stream.set_nodelay(true) {
        tracing::debug!(%err, "cannot turn off Nagle's algorithm on a connection");
    }
}

/// Resolves once shutdown is requested; the watch guard is dropped inside so the accept
/// loop stays `Send`.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_accepted_connection_sends_without_waiting_for_acks() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let _client = tokio::net::TcpStream::connect(address)
            .await
            .expect("connect");
        let (accepted, _) = listener.accept().await.expect("accept");
        assert!(!accepted.nodelay().expect("read TCP_NODELAY"));
        tune(&accepted);
        assert!(accepted.nodelay().expect("read TCP_NODELAY"));
    }
}
