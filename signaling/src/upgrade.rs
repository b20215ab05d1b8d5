//! The WebSocket upgrade of `GET /ws`, done here rather than by warp's `ws()` filter so the
//! socket's buffers can be sized.
//!
//! tungstenite's default read buffer is 128 KiB, and it is zero-filled on the first read,
//! so every connected camera and viewer held 128 KiB that a signaling socket never uses.
//! Messages are at most a few KiB, and the cap is [`TRANSPORT_MAX_MESSAGE_BYTES`]. That
//! buffer was about a quarter of the server's memory per subscriber, measured with
//! `perf record -e page-faults`. warp 0.4 does not expose the setting, so valid upgrades
//! to `/ws` are taken out of the request stream before warp sees them. Every other
//! request, including a malformed upgrade, still goes to warp's routes and gets the same
//! answers as before.

use crate::context::Context;
use crate::routes::{token_in_query, TRANSPORT_MAX_MESSAGE_BYTES};
use crate::session::serve_socket;
use crate::socket::WebSocket;
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;
use warp::http::header::{
    HeaderMap, HeaderValue, CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY,
    SEC_WEBSOCKET_VERSION, UPGRADE,
};
use warp::http::{Method, Request, StatusCode};
use warp::reply::Response;

/// Bytes read from the socket at a time. A message larger than this takes several reads.
const READ_BUFFER_BYTES: usize = 4 * 1024;

/// The buffers and limits of every signaling WebSocket.
fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_message_size(Some(TRANSPORT_MAX_MESSAGE_BYTES))
        .max_frame_size(Some(TRANSPORT_MAX_MESSAGE_BYTES))
}

/// True for a well-formed WebSocket upgrade of `GET /ws` (RFC 6455 section 4.2.1) that
/// carries no token in its URL. Anything else is left to warp's routes, which answer it
/// as they always have.
pub(crate) fn wants<B>(request: &Request<B>) -> bool {
    let uri = request.uri();
    let headers = request.headers();
    request.method() == Method::GET
        && uri.path() == "/ws"
        && !uri.query().is_some_and(token_in_query)
        && has_token(headers, &CONNECTION, "upgrade")
        && headers
            .get(UPGRADE)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"))
        && headers
            .get(SEC_WEBSOCKET_VERSION)
            .is_some_and(|v| v.as_bytes() == b"13")
        && headers
            .get(SEC_WEBSOCKET_KEY)
            .is_some_and(|v| !v.is_empty())
}

/// Whether a comma-separated header such as `Connection: keep-alive, Upgrade` lists
/// `token` (case-insensitive).
fn has_token(headers: &HeaderMap, name: &warp::http::header::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|value| {
        value.to_str().is_ok_and(|v| {
            v.split(',')
                .any(|part| part.trim().eq_ignore_ascii_case(token))
        })
    })
}

/// Answers an upgrade that [`wants`] took with `101 Switching Protocols`, and serves the
/// socket once hyper hands it over. The connection permit is taken here, before the
/// upgrade completes, so the cap counts sockets rather than finished handshakes.
pub(crate) fn accept<B>(mut request: Request<B>, ctx: &Arc<Context>) -> Response {
    let Some(accept_key) = request
        .headers()
        .get(SEC_WEBSOCKET_KEY)
        .map(|key| derive_accept_key(key.as_bytes()))
    else {
        return status(StatusCode::BAD_REQUEST);
    };
    let Ok(accept_value) = HeaderValue::from_str(&accept_key) else {
        return status(StatusCode::BAD_REQUEST);
    };
    let permit = ctx.connections.clone().try_acquire_owned().ok();
    let on_upgrade = hyper::upgrade::on(&mut request);
    let ctx = Arc::clone(ctx);
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let io = TokioIo::new(upgraded);
                let socket: WebSocket =
                    WebSocketStream::from_raw_socket(io, Role::Server, Some(config())).await;
                serve_socket(socket, ctx, permit).await;
            }
            Err(err) => tracing::debug!(%err, "websocket upgrade did not complete"),
        }
    });
    let mut response = status(StatusCode::SWITCHING_PROTOCOLS);
    let headers = response.headers_mut();
    headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(SEC_WEBSOCKET_ACCEPT, accept_value);
    response
}

fn status(code: StatusCode) -> Response {
    let mut response = Response::default();
    *response.status_mut() = code;
    response
}

/// `accept` is covered end to end: every WebSocket test client (tokio-tungstenite, and
/// Chromium in the browser tests) checks the `101` and its `Sec-WebSocket-Accept`.
#[cfg(test)]
mod tests {
    use super::*;

    fn upgrade(path: &str) -> warp::http::request::Builder {
        upgrade_version(path, "13")
    }

    fn upgrade_version(path: &str, version: &str) -> warp::http::request::Builder {
        Request::builder()
            .method(Method::GET)
            .uri(path)
            .header(CONNECTION, "keep-alive, Upgrade")
            .header(UPGRADE, "websocket")
            .header(SEC_WEBSOCKET_VERSION, version)
            .header(SEC_WEBSOCKET_KEY, "dGhlIHNhbXBsZSBub25jZQ==")
    }

    #[test]
    fn a_well_formed_upgrade_of_ws_is_taken() {
        assert!(wants(&upgrade("/ws").body(()).expect("request")));
        assert!(wants(&upgrade("/ws?lang=en").body(()).expect("request")));
    }

    #[test]
    fn everything_else_is_left_to_the_routes() {
        let not_taken = [
            upgrade("/ws?token=secret").body(()),
            upgrade("/ws/").body(()),
            upgrade("/index.html").body(()),
            upgrade("/ws").method(Method::POST).body(()),
            upgrade_version("/ws", "8").body(()),
            Request::builder()
                .uri("/ws")
                .header(UPGRADE, "websocket")
                .header(CONNECTION, "Upgrade")
                .header(SEC_WEBSOCKET_VERSION, "13")
                .body(()),
            Request::builder().uri("/ws").body(()),
        ];
        for request in not_taken {
            let request = request.expect("request");
            assert!(!wants(&request), "{} {}", request.method(), request.uri());
        }
    }
}
