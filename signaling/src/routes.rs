//! HTTP surface: `GET /ws`, `/healthz`, `/metrics`, and the web viewer's static files,
//! every response carrying the security headers a secure-context page needs.

use crate::context::Context;
use protocol::MAX_MESSAGE_BYTES;
use std::path::Path;
use std::sync::Arc;
use warp::http::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

/// Content-Security-Policy for everything served: scripts only from this origin, plus
/// `'wasm-unsafe-eval'` so the decrypt module can be compiled; no inline script, no
/// plugins, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' \
     'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self'; img-src 'self' data:; \
     style-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; \
     form-action 'none'";

/// Frames above this are cut by the WebSocket layer itself (the connection drops). It is
/// larger than the protocol cap so that a message between the two still gets a polite
/// `message_too_large` and the socket stays open.
pub const TRANSPORT_MAX_MESSAGE_BYTES: usize = 4 * MAX_MESSAGE_BYTES;

/// Longest request path served; longer ones get 414.
const MAX_PATH_BYTES: usize = 1024;

/// MIME types browsers insist on: module scripts must be JavaScript, and
/// `WebAssembly.instantiateStreaming` requires `application/wasm`.
#[must_use]
pub fn content_type_for(path: &Path) -> Option<&'static str> {
    let ext = path.extension()?.to_str()?;
    Some(match ext {
        "wasm" => "application/wasm",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "webmanifest" => "application/manifest+json",
        _ => return None,
    })
}

fn security_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    headers
}

fn static_file(file: warp::fs::File) -> Response {
    let content_type = content_type_for(file.path());
    let mut response = file.into_response();
    if let Some(content_type) = content_type {
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    response
}

/// Whether a raw query string has a `token` parameter. Tokens belong in `hello`: a URL
/// ends up in proxy logs and browser history.
pub(crate) fn token_in_query(query: &str) -> bool {
    query
        .split('&')
        .any(|pair| pair.split('=').next() == Some("token"))
}

/// Every route of one server.
pub(crate) fn routes(
    ctx: &Arc<Context>,
) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone + Send + Sync + 'static {
    // A client that puts a token in the URL is told so instead of being upgraded.
    let token_in_url = warp::path("ws")
        .and(warp::path::end())
        .and(warp::query::raw())
        .and_then(|query: String| async move {
            if token_in_query(&query) {
                Ok(warp::reply::with_status(
                    "Send the access token in the `hello` message, never in the URL.\n",
                    StatusCode::BAD_REQUEST,
                ))
            } else {
                Err(warp::reject::not_found())
            }
        });

    // A path longer than any file name the viewer ships is refused before it reaches
    // the file system (which answers an over-long name with a 500).
    let long_path = warp::path::full().and_then(|path: warp::path::FullPath| async move {
        if path.as_str().len() > MAX_PATH_BYTES {
            Ok(warp::reply::with_status(
                "Path too long.\n",
                StatusCode::URI_TOO_LONG,
            ))
        } else {
            Err(warp::reject::not_found())
        }
    });

    // Valid upgrades never get here: the listener takes them first (upgrade.rs) to size
    // the socket's buffers. What reaches warp is a malformed upgrade, which `ws()`
    // refuses with 400; one that `ws()` would accept but the listener did not is
    // refused too, rather than served with different buffers.
    let ws = warp::path("ws")
        .and(warp::path::end())
        .and(warp::ws())
        .map(|_: warp::ws::Ws| {
            warp::reply::with_status(
                "Not a WebSocket upgrade this server accepts.\n",
                StatusCode::BAD_REQUEST,
            )
        });

    let health_ctx = ctx.clone();
    let healthz = warp::path("healthz")
        .and(warp::path::end())
        .and(warp::get())
        .map(move || {
            if *health_ctx.shutdown.borrow() {
                warp::reply::with_status("draining\n", StatusCode::SERVICE_UNAVAILABLE)
            } else {
                warp::reply::with_status("ok\n", StatusCode::OK)
            }
        });

    let metrics_ctx = ctx.clone();
    let metrics = warp::path("metrics")
        .and(warp::path::end())
        .and(warp::get())
        .map(move || {
            let mut text = metrics_ctx.metrics.text();
            text.push_str(&metrics_ctx.media.metrics_text());
            warp::reply::with_header(text, CONTENT_TYPE, "text/plain; version=0.0.4")
        });

    let files = warp::fs::dir(ctx.config.static_dir.clone()).map(static_file);

    long_path
        .or(token_in_url)
        .or(ws)
        .or(healthz)
        .or(metrics)
        .or(files)
        .with(warp::reply::with::headers(security_headers()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_critical_mime_types() {
        assert_eq!(
            content_type_for(Path::new("a/b.wasm")),
            Some("application/wasm")
        );
        assert_eq!(
            content_type_for(Path::new("app.mjs")),
            Some("text/javascript; charset=utf-8")
        );
        assert_eq!(
            content_type_for(Path::new("worker.js")),
            Some("text/javascript; charset=utf-8")
        );
        assert_eq!(content_type_for(Path::new("README")), None);
    }
}
