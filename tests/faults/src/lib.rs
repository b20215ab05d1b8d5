//! Faults, restarts, churn, soak and security tests across the whole Sealcam stack.
//!
//! The library holds what the tests in `tests/` share:
//! * [`stack`]: signaling with the SFU embedded, in-process, restartable on the same
//!   TCP and UDP addresses (what a process restart looks like to clients);
//! * [`camera`]: a real `camera-agent` run loop with its own state directory, plus the
//!   pairing and key-fetch steps a viewer device performs;
//! * [`viewer`]: a native viewer role that behaves like the web viewer — it reconnects on
//!   its own, asks for its key, subscribes once it holds one, decrypts and decodes;
//! * [`media`]: that viewer's receive-only WebRTC peer (test-support's, with the agent's
//!   H.264 profile);
//! * [`procstat`]: RSS, open descriptors and threads of this process, for the soak;
//! * [`netns`]: network namespaces with a veth pair, deleted on drop;
//! * [`impair`]: seeded loss and jitter for the clients in such a namespace (what
//!   `tc netem` would do, in userspace).
//!
//! The signaling client ([`test_support::ws::ViewerWs`]) and the H.264 reassembly come
//! from the workspace's `test-support` crate, shared with the other test crates.
//!
//! Every wait is a poll against a deadline that only fails the test when exceeded.

pub mod camera;
pub mod impair;
pub mod media;
pub mod netns;
pub mod procstat;
pub mod stack;
pub mod viewer;
pub mod wait;
