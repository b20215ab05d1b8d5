//! Sealcam signaling: the front door every camera agent and viewer talks to.
//!
//! * `GET /ws` — the WebSocket protocol of the `protocol` crate. The first message is
//!   `hello` with a JWT access token (never in the URL); the token's grants decide what
//!   the connection may do: a camera token publishes exactly its own camera, a viewer
//!   token subscribes to and relays to the cameras it names.
//! * Key envelopes, key requests, pairing and owner messages are relayed as opaque
//!   payloads, size-capped and rate-limited: the server routes them by `camera_id` /
//!   `to` and never parses their bytes. Authorization to *join* is the server's;
//!   authorization to *see* is the camera's, which only seals media keys for its members.
//! * `GET /healthz`, `GET /metrics` (Prometheus), and the web viewer's static files at
//!   `/` with the MIME types and Content-Security-Policy the WASM decryptor needs.
//!
//! Design: one task per connection multiplexes its socket, a bounded outbox, pings, the
//! idle timer and the shutdown signal (`session`); a small routing table (`hub`)
//! under a mutex never held across an await; the SFU behind the [`MediaPlane`] trait.

mod auth;
mod config;
mod context;
mod dispatch;
mod embedded;
mod error;
mod hub;
mod idle_io;
mod limits;
mod listener;
mod media;
mod metrics;
mod pairing_limit;
mod routes;
mod secret;
mod server;
mod session;
mod socket;
mod upgrade;

pub use auth::{check_grant, parse_ttl, AuthFailure, Claims, Grant, TokenAuthority};
pub use config::{FileConfig, RateFile, ServerConfig, SfuFile};
pub use embedded::EmbeddedSfu;
pub use error::SignalingError;
pub use limits::{ConnectionLimits, RateConfig, TokenBucket};
pub use media::{MediaError, MediaEvent, MediaFuture, MediaPlane, MediaSessionId};
pub use metrics::Metrics;
pub use routes::{content_type_for, CONTENT_SECURITY_POLICY, TRANSPORT_MAX_MESSAGE_BYTES};
pub use secret::{random_hex, TokenSecret, MIN_SECRET_BYTES};
pub use server::{DrainOutcome, Server, ShutdownHandle};
