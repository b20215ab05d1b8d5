//! # sfu — Sealcam's media plane
//!
//! A selective forwarding unit on [str0m] 0.25 in **RTP mode** with **ICE-lite**: every
//! RTP packet a camera publishes is forwarded to each subscribed viewer with its payload
//! untouched (it is SFrame ciphertext) and only the RTP header rewritten. The crate
//! cannot decrypt: it depends on no payload cryptography, and `tests/crate_graph.rs`
//! fails if `e2ee`, `sframe`, `aes-gcm` or `hpke` ever enter its dependency graph.
//!
//! ## Shape
//! - [`Sfu::start`] binds **one UDP port** for all peers. A router task reads it and
//!   hands each datagram to the worker thread that owns the peer (by the ICE ufrag in
//!   STUN checks, then by source address). With one worker, the worker reads the port
//!   itself and sleeps on it (`ingest.rs`): one thread wake-up per burst, not two. A
//!   datagram routed to a peer that worker has not taken from its channel yet (a new
//!   viewer's first check) is kept until it has (`early.rs`).
//! - Peers are **sharded over worker threads** (default one per core). A publisher's
//!   packet becomes an `Arc` that its worker sends to every worker hosting subscribers of
//!   that camera: channels, no locks on the packet path.
//! - Per subscriber, [`forward`] decides purely from (packet, state, now): payload-type
//!   mapping by codec/packetization-mode/profile, sequence and timestamp rebasing
//!   (continuous across camera restarts), and pausing until a key frame.
//! - Key frames are detected from the clear codec bytes ([`keyframe`]: VP8 frame tag,
//!   H.264 NAL types incl. STAP-A and FU-A). Each worker keeps a bounded cache of the
//!   packets since the last key frame ([`cache`]) and replays it to a new subscriber,
//!   so its first picture does not wait for a round trip to the camera. Only when the
//!   cache cannot serve is a PLI sent upstream, and PLIs/FIRs from viewers are
//!   coalesced to at most one per camera per [`SfuConfig::pli_min_interval`] ([`pli`]).
//! - **Direct send path** ([`SfuConfig::direct_send`]): once a viewer's DTLS handshake is
//!   done (over UDP, with an AES-GCM SRTP profile), the SFU writes and seals its RTP
//!   packets itself, straight into the worker's send batch. str0m keeps ICE, DTLS and
//!   RTCP; the keys come from its DTLS through a wrapped crypto provider (`srtp_keys`).
//!   That viewer's NACKs are answered from a ring of the camera's recent packets, on its
//!   RTX stream when it has one. Other viewers go through str0m's send path and its
//!   per-stream retransmission cache. NACKs and receiver reports go upstream through
//!   str0m's receive side, which needs the publisher to negotiate RTX.
//! - Forwarding is per video frame: a camera's packets wait for the frame's marker bit
//!   ([`SfuConfig::frame_hold`] at most), then every viewer gets the whole frame, one
//!   viewer after another, so each viewer's share leaves as one segmented send.
//! - Every operation on one peer runs inside `catch_unwind`: a panic closes that peer,
//!   counts `sfu_peer_panics_total`, and leaves the others running.
//!
//! - A session that has not connected within [`SfuConfig::connect_timeout`] is closed.
//! - A subscriber is paused until the next key frame when its viewer reports too much
//!   loss, or when its live packets waited longer than [`SfuConfig::max_forward_delay`]
//!   inside the SFU (its worker fell behind): it then resumes at an on-time key frame
//!   instead of receiving a stream that only gets later.
//! - Sends are batched per worker poll round: `sendmmsg(2)` on Linux, and UDP
//!   segmentation offload (`UDP_SEGMENT`) for runs of equal-sized datagrams to one
//!   viewer. The crate's only `unsafe` code is system calls: those (`udp_sys.rs`)
//!   and the only worker's sleep and stamped reads (`ingest_sys.rs`).
//! - ICE-TCP fallback (RFC 6544): a passive TCP candidate on the same port number,
//!   RFC 4571 framing, routed like UDP by the ICE ufrag ([`SfuConfig::ice_tcp`]).
//! - [`Sfu::start_with_tap`] observes every payload written to a subscriber (tests that
//!   prove the SFU only carries ciphertext); [`fuzzing`] exposes the parsers of peer
//!   input to fuzz targets.
//!
//! ## Signalling contract
//! Both cameras and viewers send the offer; the SFU always answers ([`SfuHandle::publish`],
//! [`SfuHandle::subscribe`]). A viewer may subscribe before the camera publishes: it
//! connects, receives nothing, and gets media (starting with a key frame) once the camera
//! arrives. When the camera goes away the subscriber stays, and continues with the same
//! SSRC and continuous sequence numbers when the camera comes back.
//!
//! [str0m]: https://docs.rs/str0m/0.25.0

pub mod cache;
mod config;
mod direct_send;
mod directory;
mod early;
mod error;
mod fanout;
pub mod forward;
#[doc(hidden)]
pub mod fuzzing;
mod handle;
mod ingest;
#[cfg(target_os = "linux")]
mod ingest_sys;
#[cfg(not(target_os = "linux"))]
#[path = "ingest_sys_unsupported.rs"]
mod ingest_sys;
pub mod keyframe;
mod keyframe_requests;
mod metrics;
pub mod packet;
mod peer;
pub mod pli;
mod recent;
mod resend;
mod route_table;
mod router;
mod session;
mod sfu;
mod srtp_keys;
mod srtp_seal;
mod stun;
mod tap;
mod tcp;
mod udp_batch;
mod udp_port;
#[cfg(target_os = "linux")]
mod udp_sys;
mod worker;
mod worker_msg;

pub use crate::config::{SfuConfig, DEFAULT_PORT};
pub use crate::error::SfuError;
pub use crate::handle::SfuHandle;
pub use crate::sfu::{SessionId, Sfu, SfuEvent};
pub use crate::tap::{ForwardKind, ForwardTap, ForwardedPayload};
