//! What a browser needs to load the viewer and its WASM: correct MIME types and a CSP that
//! allows same-origin scripts plus WebAssembly compilation, and nothing inline.

mod common;

use common::{config, http_get, start_with};
use signaling::CONTENT_SECURITY_POLICY;
use std::path::PathBuf;

/// A throwaway static directory with the kinds of files the web viewer ships.
fn static_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "sealcam-static-{}",
        signaling::random_hex(8).expect("random")
    ));
    std::fs::create_dir_all(dir.join("pkg")).expect("mkdir");
    std::fs::write(dir.join("index.html"), "<!doctype html><title>t</title>").expect("write");
    std::fs::write(dir.join("app.mjs"), "export const x = 1;\n").expect("write");
    std::fs::write(dir.join("worker.js"), "self.onmessage = () => {};\n").expect("write");
    // The 8-byte WebAssembly header: magic + version 1.
    std::fs::write(dir.join("pkg/decrypt_bg.wasm"), b"\0asm\x01\0\0\0").expect("write");
    dir
}

#[tokio::test]
async fn static_files_carry_browser_mime_types_and_security_headers() {
    let dir = static_dir();
    let mut config = config();
    config.static_dir = dir.clone();
    let server = start_with(config).await;

    let cases = [
        (
            "/",
            "text/html; charset=utf-8",
            "<!doctype html><title>t</title>",
        ),
        (
            "/app.mjs",
            "text/javascript; charset=utf-8",
            "export const x = 1;\n",
        ),
        (
            "/worker.js",
            "text/javascript; charset=utf-8",
            "self.onmessage = () => {};\n",
        ),
        (
            "/pkg/decrypt_bg.wasm",
            "application/wasm",
            "\0asm\u{1}\0\0\0",
        ),
    ];
    for (path, mime, body) in cases {
        let response = http_get(server.addr, path).await;
        assert_eq!(response.status, 200, "{path}");
        assert_eq!(response.headers["content-type"], mime, "{path}");
        assert_eq!(response.body, body, "{path}");
        assert_eq!(
            response.headers["content-security-policy"], CONTENT_SECURITY_POLICY,
            "{path}"
        );
        assert_eq!(response.headers["x-content-type-options"], "nosniff");
        assert_eq!(response.headers["referrer-policy"], "no-referrer");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn csp_allows_wasm_and_same_origin_scripts_only() {
    let directives: Vec<&str> = CONTENT_SECURITY_POLICY.split("; ").collect();
    assert!(directives.contains(&"default-src 'self'"));
    assert!(directives.contains(&"script-src 'self' 'wasm-unsafe-eval'"));
    assert!(directives.contains(&"object-src 'none'"));
    assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-inline"));
    assert!(!CONTENT_SECURITY_POLICY.contains("'unsafe-eval'"));
}

#[tokio::test]
async fn path_traversal_token_in_url_health_and_metrics() {
    let dir = static_dir();
    let mut config = config();
    config.static_dir = dir.join("pkg");
    let server = start_with(config).await;
    assert_eq!(http_get(server.addr, "/../index.html").await.status, 404);
    assert_eq!(
        http_get(server.addr, "/%2e%2e/index.html").await.status,
        404
    );
    assert_eq!(http_get(server.addr, "/nope.js").await.status, 404);

    let refused = http_get(server.addr, "/ws?camera=a&token=secret").await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("hello"), "{}", refused.body);

    let health = http_get(server.addr, "/healthz").await;
    assert_eq!((health.status, health.body.as_str()), (200, "ok\n"));

    let (_viewer, _) = server.join(protocol::Role::Viewer, &["front-door"]).await;
    let metrics = http_get(server.addr, "/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(metrics.headers["content-type"].starts_with("text/plain"));
    for name in [
        "sealcam_signaling_connections{role=\"viewer\"} 1",
        "sealcam_signaling_messages_total{type=\"hello\"} 1",
    ] {
        assert!(
            metrics.body.contains(name),
            "{name} missing in:\n{}",
            metrics.body
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}
